"""One writer at a time in a `state/` directory: `state/.lock`, held with `flock`.

Two runs in one checkout would both draft the same new alerts and the later save would drop
the earlier run's history; the workflow's `concurrency` setting covers only GitHub Actions.
The lock is released by the kernel when its process ends, however it ends, so a crashed run
never blocks the next one; a run that ends normally removes the file, so it never shows up in
`git status` or a state commit (a file left by a crash is empty and harmless).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from alerting.errors import UserError

LOCK_NAME = ".lock"
LOCK_WAIT = 60.0  # seconds a second run waits for the first before giving up


@contextlib.contextmanager
def state_lock(state_dir: Path | str, wait: float = LOCK_WAIT) -> Iterator[None]:
    """Hold `state_dir/.lock` while the block runs; wait up to `wait` seconds for it."""
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / LOCK_NAME
    deadline = time.monotonic() + wait
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                raise UserError(
                    f"{state_dir} is in use by another `alerting run` or `state publish` "
                    f"(it holds {path}); waited {wait:g} s. Run again once it has finished"
                ) from None
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
            continue
        if _same_file(fd, path):
            break
        os.close(fd)  # the holder removed this file as we got it: lock the new one
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # before unlocking, so a waiting process sees a stale file
        os.close(fd)  # closing the descriptor releases the lock


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False
