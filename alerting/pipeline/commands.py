"""`alerting run`: the daily job, with its summary on stdout and in the GitHub job summary."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from alerting.cliargs import add_command, iso_date


def register(subparsers) -> None:
    run = add_command(subparsers, "run", "run the daily pipeline", run_command)
    run.add_argument("--date", type=iso_date, help="as-of date (default: latest day with data)")
    run.add_argument("--probe", metavar="GLOB", help="only probes whose dotted name matches")
    run.add_argument("--dry-run", action="store_true", help="write nothing under state/")
    run.add_argument("--root", default=".", help="repository root (default: .)")


def run_command(args: argparse.Namespace) -> int:
    from alerting.alerts.render import run_summary
    from alerting.alerts.store import StateStore
    from alerting.pipeline.run import run
    from alerting.settings import load_settings

    settings = load_settings(args.root)
    result = run(
        settings,
        root=args.root,
        as_of=args.date,
        probe_glob=args.probe,
        dry_run=args.dry_run,
        progress=_progress(args),
    )
    alerts = StateStore(Path(args.root) / settings.state_dir).alerts() if not args.dry_run else {}
    summary = run_summary(result, alerts)
    if not args.quiet:
        print(summary, end="")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(summary)
    return 1 if result.errors else 0


def _progress(args: argparse.Namespace):
    """A progress bar on an interactive terminal; plain iteration elsewhere (CI, pipes)."""
    if args.quiet or not sys.stderr.isatty():
        return lambda items, label: items
    from tqdm import tqdm

    return lambda items, label: tqdm(items, desc=label, unit="probe", leave=False)
