"""The argparse pieces every command shares: common flags, subcommands, date arguments.

Kept apart from `alerting.cli` so command modules depend on these helpers, never on the entry
point that imports them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
from pathlib import Path

from alerting.errors import UserError


def add_verbosity(parser: argparse.ArgumentParser) -> None:
    """`-v`/`-q` on the top level and on every subcommand, so either position works."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-v", "--verbose", action="count", default=None, help="more output")
    group.add_argument("-q", "--quiet", action="store_true", default=None, help="errors only")


def add_command(subparsers, name: str, help_text: str, handler) -> argparse.ArgumentParser:
    """A subcommand parser with the common flags and its handler attached."""
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    add_verbosity(parser)
    parser.set_defaults(func=handler)
    return parser


def add_group(subparsers, name: str, help_text: str):
    """A command with subcommands of its own (`alerting probes validate`)."""
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    add_verbosity(parser)
    parser.set_defaults(func=None, group_parser=parser)
    return parser.add_subparsers(dest=f"{name}_command", metavar="COMMAND")


def iso_date(text: str) -> dt.date:
    """argparse type for `YYYY-MM-DD` options: a bad date is a usage error (exit 2)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def add_date(parser: argparse.ArgumentParser, help_text: str, *old_names: str) -> None:
    """`--date YYYY-MM-DD` (the one name for a day across commands); earlier spellings keep
    working but are not shown."""
    parser.add_argument("--date", type=iso_date, default=None, metavar="YYYY-MM-DD", help=help_text)
    for name in old_names:
        parser.add_argument(name, dest="date", type=iso_date, default=None, help=argparse.SUPPRESS)


def add_root(parser: argparse.ArgumentParser) -> None:
    """`--root DIR`, the alerting repository (the one name across commands); the earlier
    `--state DIR` (the state directory itself) keeps working but is not shown."""
    parser.add_argument(
        "--root",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="the alerting repository (default: the current directory)",
    )
    parser.add_argument("--state", type=Path, default=None, help=argparse.SUPPRESS)


def repository(root: Path):
    """The settings of the alerting repository at `root`, or a clear error when `root` is not
    one (no probes folder, state folder or alerting.toml)."""
    from alerting.settings import CONFIG_FILE, load_settings

    settings = load_settings(root)
    marks = (root / settings.probes_dir, root / settings.state_dir, root / CONFIG_FILE)
    if not any(p.exists() for p in marks):
        raise UserError(
            f"{root.resolve()} is not an alerting repository (no {settings.probes_dir}/, "
            f"{settings.state_dir}/ or {CONFIG_FILE} there); run from the repository's root "
            "or pass --root DIR"
        )
    return settings


def state_dir(args: argparse.Namespace) -> Path:
    """The state directory: `--state` when given, else the repository's (`--root`)."""
    if args.state is not None:
        if not args.state.is_dir():
            raise UserError(f"{args.state}: no such state directory")
        return args.state
    return args.root / repository(args.root).state_dir


def at_least(minimum: int, at_most: int | None = None):
    """argparse type for a whole number of `minimum` or more, and `at_most` or less when
    given (a usage error otherwise)."""

    def whole_number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more")
        if at_most is not None and value > at_most:
            raise argparse.ArgumentTypeError(f"must be {at_most:,} or less, not {value:,}")
        return value

    return whole_number


def seconds(text: str) -> float:
    """argparse type for a duration: a finite number of seconds, 0 or more (`nan` would never
    time out, `inf` wait for ever; a usage error either way)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds, 0 or more: {text!r}")
    return value
