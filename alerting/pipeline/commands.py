"""`alerting run`: the daily job, with its summary on stdout and in the GitHub job summary."""

from __future__ import annotations

import argparse
import os
import sys

from alerting.cliargs import add_command, add_date, add_root


def register(subparsers) -> None:
    run = add_command(subparsers, "run", "run the daily pipeline", run_command)
    add_date(run, "as-of date (default: the latest day with data)", "--as-of")
    run.add_argument(
        "--probe", metavar="GLOB", help="only probes whose dotted name matches, e.g. 'networking.*'"
    )
    run.add_argument("--dry-run", action="store_true", help="write nothing under state/")
    add_root(run)


def run_command(args: argparse.Namespace) -> int:
    from alerting.alerts.render import run_summary
    from alerting.cliargs import repository
    from alerting.pipeline.run import run

    settings = repository(args.root)
    result = run(
        settings,
        root=args.root,
        as_of=args.date,
        probe_glob=args.probe,
        dry_run=args.dry_run,
        progress=_progress(args),
    )
    summary = run_summary(result)
    if not args.quiet:
        print(summary, end="")
        print(f"\n{what_next(result)}")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(summary)
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


def _progress(args: argparse.Namespace):
    """A progress bar on an interactive terminal; plain iteration elsewhere (CI, pipes)."""
    if args.quiet or not sys.stderr.isatty():
        return lambda items, label: items
    from tqdm import tqdm

    return lambda items, label: tqdm(items, desc=label, unit="batch", leave=False, delay=2)
