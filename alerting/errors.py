"""Errors a user can fix, kept apart from bugs so the CLI never shows a traceback for them."""

from __future__ import annotations

from dataclasses import dataclass


class UserError(Exception):
    """A mistake in input or invocation; the CLI prints the message and exits 1."""


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
