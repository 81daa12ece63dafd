"""Errors a user can fix, kept apart from bugs so the CLI never shows a traceback for them."""

from __future__ import annotations

from dataclasses import dataclass


class UserError(Exception):
    """A mistake in input or invocation; the CLI prints the message and exits 1."""


@dataclass(frozen=True, order=True)
class Problem:
    """One finding in a user's file, printed as `FILE:LINE: PROBE: FIELD: message`."""

    file: str
    line: int
    probe: str
    field: str
    message: str

    def __str__(self) -> str:
        parts = [f"{self.file}:{self.line}"]
        if self.probe:
            parts.append(self.probe)
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)
