"""The argparse pieces every command shares: common flags, subcommands, date arguments.

Kept apart from `alerting.cli` so command modules depend on these helpers, never on the entry
point that imports them.
"""

from __future__ import annotations

import argparse
import datetime as dt


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
