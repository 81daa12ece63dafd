"""Git through subprocess with explicit argument lists (never a shell), so refs, paths and
messages can't be interpreted as anything but arguments."""

from __future__ import annotations

import subprocess
from pathlib import Path

from alerting.errors import UserError


class GitError(UserError):
    """A git command failed; the message carries the command and git's own words, and the
    CLI shows it as an error (not a traceback): the cause is the repository, not a bug."""


def git(
    repo: Path | str, *args: str, check: bool = True, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `git -C repo args...`; with `check`, a non-zero exit raises `GitError`."""
    result = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        input=input_text,
        check=False,
    )
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise GitError(f"git {' '.join(args)} failed: {detail}")
    return result


def show(repo: Path | str, spec: str) -> bytes | None:
    """The bytes of `REF:path` (or `:path` for the index); None when it does not exist there."""
    result = subprocess.run(
        ["git", "-C", str(repo), "show", spec], capture_output=True, check=False
    )
    return result.stdout if result.returncode == 0 else None


def toplevel(path: Path | str) -> Path:
    """The root of the work tree containing `path`."""
    result = git(path, "rev-parse", "--show-toplevel", check=False)
    if result.returncode != 0:
        where = Path(path).resolve()
        raise GitError(
            f"{where}: not a git repository; run this in a checkout of the alerting "
            "repository (the command works with its history)"
        )
    return Path(result.stdout.strip())
