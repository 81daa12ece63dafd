"""`alerting state publish` (the workflow's last step: commit and push `state/`) and
`alerting state check` (every state file against its schema and references)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alerting.cliargs import add_command, add_group, add_root, at_least


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
        help="describe the commit from the run's changes to state/ (the default); with FILE "
        "(the run's ALERTING_RUN_RESULT JSON, or any text), add that run summary to the body",
    )
    parser.add_argument(
        "--retries",
        type=at_least(0),
        default=3,
        help="rebase-and-push retries after a non-fast-forward rejection (default 3)",
    )
    parser.add_argument("--remote", default="origin", help="remote to push to (default origin)")
    parser.add_argument("--branch", help="branch to push to (default: the current branch)")
    add_root(parser)
    _add_check(state)


def _add_check(state) -> None:
    parser = add_command(
        state,
        "check",
        "check every file under state/ against its schema and the references between records; "
        "print each problem as FILE:LINE or FILE: /JSON/pointer (exit 1 when there is any)",
        run_check,
    )
    add_root(parser)
    parser.add_argument(
        "--format",
        choices=("text", "github"),
        default="text",
        help="github: problems as workflow annotations on the pull request (default: text)",
    )


def run_check(args: argparse.Namespace) -> int:
    from alerting.alerts.check import check_state
    from alerting.errors import UserError
    from alerting.gitops.annotations import annotation
    from alerting.settings import load_settings

    state_dir = args.state or args.root / load_settings(args.root).state_dir
    if not state_dir.is_dir():
        raise UserError(f"{state_dir}: no such state directory (pass --root DIR)")
    result = check_state(state_dir)
    for problem in result.problems:
        if args.format == "github":
            title = problem.pointer if problem.pointer is not None else ""
            print(annotation(problem.file, problem.line or 1, title, problem.message))
        else:
            print(problem)
    if not args.quiet:
        for item in result.quarantined:
            print(f"note: {state_dir / item.file} awaits a person (was {item.original})")
        files = {p.file for p in result.problems}
        print(
            f"{len(result.problems)} problem(s) in {len(files)} of {result.checked} file(s)"
            if result.problems
            else f"ok: {result.checked} state file(s), no problems"
        )
    return 1 if result.problems else 0


def run_publish(args: argparse.Namespace) -> int:
    from alerting.gitops.message import run_summary_text
    from alerting.gitops.publish import PublishError, publish
    from alerting.settings import load_settings

    state_dir = str(args.state) if args.state else load_settings(args.root).state_dir
    run_summary = ""
    if args.message_from_run:
        # A run that failed early may have written no result; its state is published anyway
        # (a bug it filed must be recorded), described from the diff alone.
        try:
            raw = Path(args.message_from_run).read_text(encoding="utf-8")
            run_summary = run_summary_text(raw)
        except (OSError, UnicodeDecodeError) as error:
            print(
                f"alerting: warning: --message-from-run {args.message_from_run}: {error}; "
                "describing the commit from the state/ diff only",
                file=sys.stderr,
            )
    try:
        result = publish(
            args.root,
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
