"""`alerting report`: the static dashboard of `state/`, for people who would rather look."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alerting.cliargs import add_command, add_root, state_dir


def register(subparsers) -> None:
    parser = add_command(
        subparsers,
        "report",
        "build a static HTML site (alerts, plots, filters) from state/",
        run_report,
    )
    parser.add_argument(
        "--out", required=True, type=Path, metavar="DIR", help="directory to write the site to"
    )
    add_root(parser)


def run_report(args: argparse.Namespace) -> int:
    from alerting.alerts.thresholds import command_thresholds
    from alerting.report.site import build_site  # matplotlib/jinja2 only when used
    from alerting.settings import load_settings

    state = state_dir(args)
    thresholds = command_thresholds(args, load_settings(args.root))
    result = build_site(state, args.out, thresholds)
    # A broken record is reported and left out; the rest of the site still deploys.
    for problem in result.skipped:
        print(f"alerting: warning: skipped {problem}", file=sys.stderr)
    print(
        f"wrote {result.pages} pages for {result.alerts} alerts to {args.out} "
        f"({result.drawn} figures drawn, {result.reused} unchanged)"
    )
    return 0
