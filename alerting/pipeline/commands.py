"""`alerting run`: the daily job, with its summary on stdout and in the GitHub job summary."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from alerting.cliargs import add_command, add_date, add_root, seconds
from alerting.statelock import LOCK_WAIT


def register(subparsers) -> None:
    run = add_command(subparsers, "run", "run the daily pipeline", run_command)
    add_date(run, "as-of date (default: the latest day with data)", "--as-of")
    run.add_argument(
        "--probe",
        metavar="GLOB",
        help="detect only on probes whose dotted name matches, e.g. 'networking.*' (bugs and "
        "emails still owed for other probes are delivered as usual)",
    )
    run.add_argument("--dry-run", action="store_true", help="write nothing under state/")
    add_root(run)
    run.add_argument(
        "--estimate",
        action="store_true",
        help="only print the bytes the run's BigQuery queries would scan (a dry run: nothing "
        "is read, billed, detected or written)",
    )
    run.add_argument(
        "--lock-wait",
        type=seconds,
        default=LOCK_WAIT,
        metavar="SECONDS",
        help="how long to wait for another run or publish using the same state/ "
        f"(default {LOCK_WAIT:g})",
    )


def run_command(args: argparse.Namespace) -> int:
    from alerting.alerts.render import run_summary
    from alerting.cliargs import repository
    from alerting.pipeline.run import run

    settings = repository(args.root)
    if args.estimate:
        print(_estimate_line(settings, args.root, args.probe))
        return 0
    estimate = _estimate_line(settings, args.root, args.probe) if _bills(settings) else ""
    result = run(
        settings,
        root=args.root,
        as_of=args.date,
        probe_glob=args.probe,
        dry_run=args.dry_run,
        progress=_progress(args),
        lock_wait=args.lock_wait,
    )
    ending = f"\n{estimate}\n" if estimate else ""
    if not args.quiet:
        print(run_summary(result, plain=True) + ending, end="")
        print(f"\n{what_next(result)}")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(run_summary(result) + ending)
    return 1 if result.errors else 0


def what_next(result) -> str:
    """How many alerts exist after the run and which command shows them."""
    noun = "alert" if result.alerts_total == 1 else "alerts"
    counts = f"{result.alerts_total} {noun} ({result.alerts_open} open)"
    if result.dry_run:
        return (
            f"Dry run: nothing written; {counts} counting the {len(result.created)} it would add."
        )
    if not result.alerts_total:
        return "No alerts yet."
    return (
        f"{counts} in state/. Next: `alerting alerts list`, `alerting alerts show ID`, "
        "or `alerting report --out site` for the dashboard."
    )


def _bills(settings) -> bool:
    return settings.data.source == "bigquery"


def _estimate_line(settings, root: str, probe_glob: str | None) -> str:
    """What the run's queries scan, from BigQuery dry runs of the same queries."""
    from alerting.data.source import describe_bytes, estimate_bytes
    from alerting.pipeline.detect import BATCH
    from alerting.pipeline.run import select_configs
    from alerting.probes.config import collect_for

    if not _bills(settings):
        return f"Data source {settings.data.source!r}: no BigQuery query, nothing billed."
    configs, _ = collect_for(settings, [Path(root) / settings.probes_dir])
    configs = select_configs(configs, probe_glob)
    batches = [configs[i : i + BATCH] for i in range(0, len(configs), BATCH)]
    total = estimate_bytes(settings, batches) or 0
    limit = describe_bytes(settings.data.maximum_bytes_billed)
    return (
        f"BigQuery: the run's queries scan {describe_bytes(total)} for {len(configs)} "
        f"probe(s) (dry-run estimate; each query may bill at most {limit})."
    )


def _progress(args: argparse.Namespace):
    """A progress bar on an interactive terminal; plain iteration elsewhere (CI, pipes)."""
    if args.quiet or not sys.stderr.isatty():
        return lambda items, label: items
    from tqdm import tqdm

    # The bar redraws itself with carriage returns, which the command's safe stderr escapes.
    stderr = getattr(sys.stderr, "inner", sys.stderr)
    return lambda items, label: tqdm(
        items, desc=label, unit="batch", leave=False, delay=2, file=stderr
    )
