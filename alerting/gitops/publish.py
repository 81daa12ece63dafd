"""`alerting state publish`: commit `state/` and push it, safely when runs race.

GitOps tools have lost commits to concurrent pushes and reported success when a push was
rejected; here a non-fast-forward rejection is fetched, rebased and retried, and any push that
does not land is an error. Only `state/` is ever published: a checkout whose branch holds
other commits not on the remote yet is refused (pushing it would publish them too), and so is
a remote that does not exist. The publish holds the state lock, so no run writes meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alerting.errors import UserError
from alerting.gitops.git import git, show, toplevel
from alerting.gitops.message import StateChange, commit_message
from alerting.statelock import LOCK_WAIT, state_lock

# `git push --porcelain` reasons that mean "someone pushed first": fetch, rebase, try again.
# The last two are a push that lost the race on the server, between its check and its update.
_RETRYABLE = ("non-fast-forward", "fetch first", "failed to update ref", "cannot lock ref")


class PublishError(Exception):
    """State could not be published; the message says why and what to do."""


@dataclass
class PublishResult:
    commit: str | None  # the new commit, None when nothing changed
    message: str  # the commit message ("" when nothing changed)
    pushed: bool
    attempts: int  # pushes tried


def publish(
    repo: Path | str = ".",
    state_dir: str = "state",
    remote: str = "origin",
    branch: str | None = None,
    retries: int = 3,
    run_summary: str = "",
    lock_wait: float = LOCK_WAIT,
) -> PublishResult:
    """Stage `state_dir` only, commit what changed, push; retry `retries` times on a race."""
    root = toplevel(repo)
    state = _relative_state(root, Path(repo), state_dir)
    try:
        _check_remote(root, remote)
        branch = branch or _current_branch(root)
        with state_lock(root / state, lock_wait):
            return _publish(root, state, remote, branch, retries, run_summary)
    except UserError as error:  # git's own errors, or the state lock held too long
        raise PublishError(str(error)) from None


def _publish(
    root: Path, state: str, remote: str, branch: str, retries: int, run_summary: str
) -> PublishResult:
    base = _remote_head(root, remote, branch)
    if base is not None:
        _refuse_other_commits(root, base, state, f"{remote}/{branch}")
    # Hidden files under state/ are the lock and what an interrupted write left behind, never
    # records. A glob, not the lock's own name: git refuses an explicit path it ignores, and
    # the repository ignores the lock.
    git(root, "add", "--all", "--", state, f":(exclude,glob){state}/**/.*")
    changes = staged_changes(root, state)
    commit = None
    message = ""
    if changes:
        message = commit_message(changes, run_summary)
        # The pathspec keeps anything else someone staged out of the state commit.
        git(root, "commit", "--quiet", "--file=-", "--", state, input_text=message)
        commit = git(root, "rev-parse", "HEAD").stdout.strip()
    elif base is None or not _ahead(root, base):
        return PublishResult(commit=None, message="", pushed=False, attempts=0)
    ahead = _count(root, base or "", "HEAD")
    attempts = 0
    while True:
        attempts, rebased = _push_with_rebase(root, remote, branch, retries, attempts)
        if not rebased:
            break
        # Another run pushed first and ours now sits on top of it: what is left of it.
        left = _count(root, "FETCH_HEAD", "HEAD")
        if commit and left == 0:  # the other run had published exactly these bytes
            return PublishResult(commit=None, message="", pushed=False, attempts=attempts)
        if commit and left == ahead:
            message = _describe_again(root, state, message, run_summary)
        ahead = left
    commit = git(root, "rev-parse", "HEAD").stdout.strip() if commit else None
    return PublishResult(commit=commit, message=message, pushed=True, attempts=attempts)


def _describe_again(root: Path, state: str, message: str, run_summary: str) -> str:
    """The message of the state commit at HEAD, rewritten when a rebase left fewer changes in
    it than it was written for (files the other run had already published the same)."""
    again = commit_message(_changes(root, state, ["HEAD~1", "HEAD"], "HEAD~1", "HEAD"), run_summary)
    if again != message:
        git(root, "commit", "--amend", "--quiet", "--file=-", input_text=again)
    return again


def _count(root: Path, base: str, head: str) -> int:
    """Commits on `head` that are not on `base` (all of them without a base)."""
    spec = f"{base}..{head}" if base else head
    return int(git(root, "rev-list", "--count", spec).stdout.strip() or 0)


def staged_changes(root: Path, state: str) -> list[StateChange]:
    """Old (HEAD) and new (index) bytes of every staged file under `state`."""
    has_head = git(root, "rev-parse", "--verify", "--quiet", "HEAD", check=False).returncode == 0
    return _changes(root, state, ["--cached"], "HEAD" if has_head else None, "")


def _changes(
    root: Path, state: str, compared: list[str], old: str | None, new: str
) -> list[StateChange]:
    """The files under `state` that `git diff *compared` names, with their bytes at revision
    `old` (None: there is none) and at `new` ("": the index)."""
    listing = git(root, "diff", *compared, "--name-only", "--no-renames", "-z", "--", state)
    return [
        StateChange(
            path=Path(path).relative_to(state).as_posix(),
            old=show(root, f"{old}:{path}") if old else None,
            new=show(root, f"{new}:{path}"),
        )
        for path in listing.stdout.split("\0")
        if path
    ]


def _push_with_rebase(
    root: Path, remote: str, branch: str, retries: int, attempts: int
) -> tuple[int, bool]:
    """Push HEAD; on a race, rebase onto the remote and say so (True), for the caller to look
    at what is left before pushing again. Returns the attempts so far and whether it rebased."""
    attempts += 1
    result = git(root, "push", "--porcelain", remote, f"HEAD:refs/heads/{branch}", check=False)
    if result.returncode == 0:
        return attempts, False
    output = f"{result.stdout}\n{result.stderr}".strip()
    if not any(reason in output for reason in _RETRYABLE):
        raise PublishError(
            f"push to {remote} {branch} was rejected and nothing was published:\n{output}"
        )
    if attempts > retries:
        raise PublishError(
            f"push to {remote} {branch} still rejected after {attempts} attempts "
            f"(others kept pushing first); nothing was published. Rerun the publish step.\n"
            f"{output}"
        )
    _rebase_onto_remote(root, remote, branch)
    return attempts, True


def _rebase_onto_remote(root: Path, remote: str, branch: str) -> None:
    git(root, "fetch", "--quiet", remote, branch)
    rebase = git(root, "rebase", "--autostash", "FETCH_HEAD", check=False)
    if rebase.returncode != 0:
        git(root, "rebase", "--abort", check=False)
        detail = (rebase.stdout + rebase.stderr).strip()
        raise PublishError(
            f"another run changed the same state files on {remote} {branch}; rebasing onto it "
            f"failed and nothing was published. Rerun this job after the other one finished.\n"
            f"{detail}"
        )


def _current_branch(root: Path) -> str:
    result = git(root, "symbolic-ref", "--short", "--quiet", "HEAD", check=False)
    if result.returncode != 0:
        raise PublishError("HEAD is detached: pass --branch to say where to push")
    return result.stdout.strip()


def _check_remote(root: Path, remote: str) -> None:
    if git(root, "remote", "get-url", remote, check=False).returncode != 0:
        names = git(root, "remote").stdout.split()
        known = f"this repository has {', '.join(names)}" if names else "it has none"
        raise PublishError(f"no remote named {remote!r} ({known}); pass --remote NAME")


def _remote_head(root: Path, remote: str, branch: str) -> str | None:
    """The commit `branch` is at on `remote` (fetched now), or None when it does not exist yet."""
    result = git(root, "fetch", "--quiet", remote, f"refs/heads/{branch}", check=False)
    if result.returncode != 0:
        if "couldn't find remote ref" in result.stderr:
            return None
        raise PublishError(f"cannot read {branch} from {remote}: {result.stderr.strip()}")
    return git(root, "rev-parse", "FETCH_HEAD").stdout.strip()


def _refuse_other_commits(root: Path, base: str, state: str, where: str) -> None:
    """Local commits not on the remote that change anything outside `state` would be pushed
    along with the state commit: refuse. Earlier state-only commits (a failed push) may go."""
    listing = git(
        root,
        "log",
        "--full-history",
        "--format=%h %s",
        f"{base}..HEAD",
        "--",
        ".",
        f":(exclude){state}",
    ).stdout.strip()
    if listing:
        commits = listing.splitlines()
        shown = "\n".join(f"  {line}" for line in commits[:5])
        more = f"\n  ... and {len(commits) - 5} more" if len(commits) > 5 else ""
        raise PublishError(
            f"HEAD holds {len(commits)} commit(s) not on {where} that change files outside "
            f"{state}/; publishing would push them too. Push or drop them first, or publish "
            f"from a clean checkout:\n{shown}{more}"
        )


def _ahead(root: Path, base: str) -> bool:
    """Local commits not on the remote yet (an earlier push failed): push them now."""
    count = git(root, "rev-list", "--count", f"{base}..HEAD").stdout.strip()
    return int(count or 0) > 0


def _relative_state(root: Path, repo: Path, state_dir: str) -> str:
    state = (repo / state_dir).resolve()
    try:
        return state.relative_to(root.resolve()).as_posix()
    except ValueError:
        raise PublishError(f"state directory {state} is outside the repository {root}") from None
