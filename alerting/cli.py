"""The `alerting` command: one entry point, a subcommand per pipeline step.

Each step's package owns its subcommands in a `commands` module exposing
`register(subparsers)`; handlers take the parsed arguments and return the exit status
(0 success, 1 findings or errors, 2 usage errors). Heavy imports stay inside handlers so
`--help` is quick.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from alerting import __version__
from alerting.cliargs import add_verbosity
from alerting.errors import UserError

# One line per step package; each adds its subcommands.
COMMAND_MODULES: tuple[str, ...] = (
    "alerting.pipeline.commands",
    "alerting.probes.commands",
    "alerting.report.commands",
    "alerting.detect.commands",
    "alerting.gitops.commands",
    "alerting.alerts.commands",
    "alerting.data.commands",
    "alerting.review.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alerting",
        description="Telemetry alerting for Firefox Glean probes (GLAM nightly aggregates).",
    )
    parser.add_argument("--version", action="version", version=f"alerting {__version__}")
    add_verbosity(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def configure_logging(args: argparse.Namespace) -> None:
    level = logging.WARNING
    if getattr(args, "quiet", None):
        level = logging.ERROR
    elif getattr(args, "verbose", None):
        level = logging.INFO if args.verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args)
    func = getattr(args, "func", None)
    if func is None:
        # A group command (`alerting probes`) without its subcommand: show its help.
        (getattr(args, "group_parser", None) or parser).print_help(sys.stderr)
        return 2
    try:
        return int(func(args) or 0)
    except UserError as error:
        print(f"alerting: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `alerting alerts list | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
