"""The `alerting` command: one entry point, a subcommand per pipeline step.

Each step's package owns its subcommands in a `commands` module exposing
`register(subparsers)`; handlers take the parsed arguments and return the exit status
(0 success, 1 findings or errors, 2 usage errors, 3 an unexpected failure: one line, and the
traceback with `-v`). Heavy imports stay inside handlers so `--help` is quick. Everything
printed goes through `alerting.terminal`, so no input can put control characters on a terminal.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback

# numpy asks the kernel for transparent huge pages for every big array; the command's arrays
# are many and short-lived (a chunk of rows at a time), and zeroing a huge page for each costs
# more system time than the fewer page faults save. Set before numpy is first imported.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

from alerting import __version__  # noqa: E402
from alerting.cliargs import add_verbosity  # noqa: E402
from alerting.errors import UserError  # noqa: E402
from alerting.terminal import SafeStream  # noqa: E402

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
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = SafeStream(sys.stdout), SafeStream(sys.stderr)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = streams


def _main(argv: list[str] | None) -> int:
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
    except Exception as error:  # last resort: state writes are atomic, so nothing is half-written
        if getattr(args, "verbose", None):
            traceback.print_exc(file=sys.stderr)
        hint = "" if getattr(args, "verbose", None) else " (run again with -v for the traceback)"
        print(
            f"alerting: unexpected error in `{args.command}`: {type(error).__name__}: {error}{hint}",
            file=sys.stderr,
        )
        return 3
