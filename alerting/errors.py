"""Errors a user can fix, kept apart from bugs so the CLI never shows a traceback for them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class UserError(Exception):
    """A mistake in input or invocation; the CLI prints the message and exits 1."""


@contextlib.contextmanager
def writing_to(folder: Path | str) -> Iterator[None]:
    """What the block fails to write under `folder` (a folder that cannot be made, a file
    where a folder should be, no permission, a full disk) as a UserError naming it."""
    try:
        yield
    except OSError as error:
        # A rename (the atomic writers' last step) names the temporary file first and the
        # target second: the target is what the user knows and can fix.
        name = error.filename if error.filename2 is None else error.filename2
        where = ""
        if name is not None and Path(name) != Path(folder):
            where = f" ({name})"
        raise UserError(
            f"cannot write to {folder}{where}: {error.strerror or error}; "
            "choose a folder you can write to"
        ) from None


MAX_MESSAGE = 500  # characters of a problem's message that are shown


@dataclass(frozen=True, order=True)
class Problem:
    """One finding in a user's file, printed as `FILE:LINE: PROBE: FIELD: message`."""

    file: str
    line: int
    probe: str
    field: str
    message: str
    # A warning: shown with the problems, but nothing is refused for it (the probe is still
    # monitored). `collect` hands warnings back apart from the problems.
    warning: bool = False

    def __post_init__(self) -> None:
        # A message quotes what it found; an aliased value can unfold to megabytes of text.
        if len(self.message) > MAX_MESSAGE:
            object.__setattr__(self, "message", self.message[: MAX_MESSAGE - 1] + "…")

    def __str__(self) -> str:
        parts = [f"{self.file}:{self.line}"]
        if self.probe:
            parts.append(self.probe)
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)
