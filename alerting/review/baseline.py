"""The monitor configs of `probes/` at another git commit, for comparing a change with its base.

Files are read with `git show REF:path` into a temporary folder with the same relative paths
(the path decides desktop vs mobile), and collected by the same code as the working tree.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from pathlib import Path

from alerting.errors import Problem, UserError
from alerting.gitops.git import git, show, toplevel
from alerting.probes.config import DEFAULT_PROBES_DIR, collect_for
from alerting.probes.model import MonitorConfig
from alerting.settings import Settings


def base_and_current(
    ref: str, paths: list[str] | None, settings: Settings
) -> tuple[list[MonitorConfig], list[MonitorConfig], list[Problem]]:
    """(configs at `ref`, configs now, problems now) of `paths` (default `probes/`)."""
    old, _ = configs_at(ref, paths, settings)
    new, problems = collect_for(settings, paths)
    return old, new, problems


def configs_at(
    ref: str, paths: list[str] | None = None, settings: Settings | None = None
) -> tuple[list[MonitorConfig], list[Problem]]:
    """`collect()` over `paths` (default `probes/`) as they were at commit `ref`."""
    cwd = Path.cwd()
    root, sha = resolve_base(ref)
    wanted = [_repo_relative(root, cwd, p) for p in (paths or [str(DEFAULT_PROBES_DIR)])]
    listing = git(root, "ls-tree", "-r", "-z", "--name-only", "--full-tree", sha, "--", *wanted)
    files = [f for f in listing.stdout.split("\0") if f]
    with tempfile.TemporaryDirectory(prefix="alerting-base-") as tmp:
        copies = []
        for name in files:
            if not name.endswith(".yaml") and name not in wanted:
                continue
            data = show(root, f"{sha}:{name}")
            if data is None:
                continue
            Path(tmp, name).parent.mkdir(parents=True, exist_ok=True)
            Path(tmp, name).write_bytes(data)
            copies.append(name)
        present = [w for w in wanted if Path(tmp, w).exists()]
        if not copies or not present:
            return [], []
        # Collected from inside the copy with the paths as given, repository-relative, exactly
        # as the working tree is, so the path-based desktop/mobile rule agrees.
        with contextlib.chdir(tmp):
            configs, problems = collect_for(settings or Settings(), present)
    as_given = {name: os.path.relpath(root / name, cwd) for name in copies}
    configs = [dataclasses.replace(c, file=as_given[c.file]) for c in configs]
    problems = [dataclasses.replace(p, file=as_given.get(p.file, p.file)) for p in problems]
    return configs, problems


def resolve_base(ref: str) -> tuple[Path, str]:
    """(root of the repository around the working directory, commit of `ref` in it)."""
    root = toplevel(Path.cwd())
    commit = git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if commit.returncode != 0:
        raise UserError(
            f"--base {ref}: no such commit here; fetch it first "
            "(in a workflow: actions/checkout with fetch-depth: 0)"
        )
    return root, commit.stdout.strip()


def text_at(ref: str, path: Path | str) -> str | None:
    """The text of `path` (relative to the working directory) at commit `ref`; None when it
    did not exist there."""
    root, sha = resolve_base(ref)
    data = show(root, f"{sha}:{_repo_relative(root, Path.cwd(), str(path))}")
    return None if data is None else data.decode("utf-8", errors="replace")


def _repo_relative(root: Path, cwd: Path, path: str) -> str:
    absolute = (cwd / path).resolve()
    try:
        return absolute.relative_to(root.resolve()).as_posix()
    except ValueError:
        raise UserError(f"{path}: outside the git repository {root}") from None
