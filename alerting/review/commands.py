"""Pull-request review commands: `alerting probes diff` (added to the probes group) and
`alerting backtest`; both print Markdown for the job summary."""

from __future__ import annotations

import argparse

from alerting.cliargs import add_command


def register(subparsers) -> None:
    parser = add_command(
        subparsers,
        "backtest",
        "the alerts the changed probes' new configs would have raised over recent days, "
        "compared with their configs at --base (Markdown)",
        run_backtest,
    )
    _add_base_and_paths(parser)
    parser.add_argument(
        "--days", type=_positive, default=90, help="how many days back to test (default 90)"
    )
    parser.add_argument("--end", help="last day tested, YYYY-MM-DD (default: the data's last day)")


def add_diff(probes_group) -> None:
    """`alerting probes diff`, registered by the probes group."""
    parser = add_command(
        probes_group,
        "diff",
        "which probes start, stop or change monitoring compared with --base, and how (Markdown)",
        run_diff,
    )
    _add_base_and_paths(parser)


def _add_base_and_paths(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", required=True, metavar="REF", help="git commit to compare with")
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="metrics.yaml files or folders (default: probes/)",
    )


def run_diff(args: argparse.Namespace) -> int:
    from alerting.review.baseline import base_and_current
    from alerting.review.diff import diff_configs, diff_markdown
    from alerting.settings import load_settings

    old, new, problems = base_and_current(args.base, args.paths or None, load_settings())
    print(diff_markdown(diff_configs(old, new, problems), args.base), end="")
    return 0


def run_backtest(args: argparse.Namespace) -> int:
    from alerting.review.backtest import backtest_command

    return backtest_command(args)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value
