"""Text for a terminal or a CI log: no raw control characters, never an encoding error.

Probe names, labels, descriptions and server answers reach the output; an ESC or a carriage
return in them could recolour, hide or rewrite lines, and a lone surrogate would stop Python's
`print`. The command line wraps stdout and stderr once, so no print can forget it.
"""

from __future__ import annotations

import re
from typing import TextIO

# C0 and C1 controls, lone surrogates, the bidirectional overrides and isolates that reorder
# how a line reads without changing its text, and the invisible marks and zero-width
# characters that make two different names look the same.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)


def printable(text: str, keep: str = "\n\t") -> str:
    """`text` with every control character (except those in `keep`), lone surrogate and bidi
    override written as a visible escape such as `\\x1b` or `\\ud800`."""

    def escape(match: re.Match) -> str:
        char = match.group()
        return char if char in keep else ascii(char)[1:-1]

    return _UNSAFE.sub(escape, text)


class SafeStream:
    """A text stream whose writes go through `printable`; everything else is the wrapped one."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        return self.inner.write(printable(text))

    def __getattr__(self, name: str):
        return getattr(self.inner, name)
