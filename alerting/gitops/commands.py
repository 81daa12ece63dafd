"""`alerting state publish`: the workflow's last step, commit and push `state/`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alerting.cli import add_command, add_group
from alerting.errors import UserError


def register(subparsers) -> None:
    state = add_group(subparsers, "state", "the alert state kept in the repository")
    parser = add_command(
        state,
        "publish",
        "commit state/ with a message saying what changed, push, rebase and retry on a race",
        run_publish,
    )
    parser.add_argument(
        "--message-from-run",
        nargs="?",
        const="",
        default=None,
        metavar="FILE",
        help="describe the commit from the run's changes to state/ (the default); with FILE, "
        "add that run summary to the commit message body",
    )
    parser.add_argument(
        "--retries",
        type=_non_negative,
        default=3,
        help="rebase-and-push retries after a non-fast-forward rejection (default 3)",
    )
    parser.add_argument("--remote", default="origin", help="remote to push to (default origin)")
    parser.add_argument("--branch", help="branch to push to (default: the current branch)")
    parser.add_argument("--state", help="state directory (default: from settings, state/)")


def run_publish(args: argparse.Namespace) -> int:
    from alerting.gitops.publish import PublishError, publish
    from alerting.settings import load_settings

    state_dir = args.state or load_settings().state_dir
    run_summary = ""
    if args.message_from_run:
        try:
            run_summary = Path(args.message_from_run).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise UserError(f"--message-from-run {args.message_from_run}: {error}") from None
    try:
        result = publish(
            ".",
            state_dir=state_dir,
            remote=args.remote,
            branch=args.branch,
            retries=args.retries,
            run_summary=run_summary,
        )
    except PublishError as error:
        print(f"alerting: error: state NOT published: {error}", file=sys.stderr)
        return 1
    if not result.pushed:
        print("nothing to publish: state/ is unchanged")
    elif result.commit:
        subject = result.message.splitlines()[0]
        print(f"published {result.commit[:12]} ({result.attempts} push attempts): {subject}")
    else:
        print("pushed earlier local state commits")
    return 0


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value
