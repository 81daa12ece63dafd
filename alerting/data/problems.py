"""The problems of bad rows, at most `LIMIT` listed per file.

A file of millions of bad rows (a gzip file of a few kilobytes can hold them) must cost no
more than a few hundred messages, and a person reads the first ones anyway: fixing what they
say usually fixes the rest. The rest of a file's problems are counted, one line per file.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

# A problem's tag (`ping_types.Tag`): None, or (its row's file or None, (series, rank)).
Tag = tuple | None

# Problems listed per file; the others are counted.
LIMIT = 100


class RowProblems:
    """Problems found while reading rows, as (position, "WHERE: reason", tag, file).

    Of each file, the first `LIMIT` problems of rows of each ping type (and of rows without
    a usable series) are kept whole, since those of a ping type left out are dropped later
    (`ping_types.chosen`); the others are only counted, per file and series (the ping type
    chosen for a series does not depend on how many of its rows were bad): their memory grows
    with the series they name, as that of good rows does, not with their number. Problems of
    no row (a series too big to hold: one per series at most) are all kept.
    """

    def __init__(self) -> None:
        self.kept: list[tuple[int, str, Tag, str | None]] = []
        self.more: Counter = Counter()  # (file, version or None) -> problems only counted
        self._seen: Counter = Counter()  # (file, rank or None) -> problems found

    def add(self, found: Iterable[tuple[int, str, Tag]], source: str) -> None:
        """The problems found in a batch of rows of the file `source`."""
        for position, message, tag in sorted(found, key=lambda problem: problem[0]):
            if tag is not None and tag[0] is None:  # no row's
                self.kept.append((position, message, tag, None))
                continue
            version = tag[1] if tag is not None else None
            kind = (source, version[1] if version is not None else None)
            self._seen[kind] += 1
            if self._seen[kind] <= LIMIT:
                self.kept.append((position, message, tag, source))
            else:
                self.more[(source, version)] += 1

    def in_order(self) -> list[tuple[str, Tag, str | None]]:
        """The problems kept, in input order (those of no row last)."""
        return [(m, tag, src) for _, m, tag, src in sorted(self.kept, key=lambda p: p[0])]


class Listing:
    """Problems listed per file up to `LIMIT`; `more` counts the others per file."""

    def __init__(self) -> None:
        self.shown: Counter = Counter()
        self.more: Counter = Counter()

    def lists(self, source: str) -> bool:
        """Whether one more problem of the file `source` is listed (else it is counted)."""
        self.shown[source] += 1
        if self.shown[source] <= LIMIT:
            return True
        self.more[source] += 1
        return False


def more_problems(source: str, count: int) -> str:
    """The line that stands for the problems of a file not listed."""
    where = source or "the input"
    problems = "problem" if count == 1 else "problems"
    return (
        f"{count:,} more {problems} in {where} not listed (only the first {LIMIT} of a file "
        "are); fix those and run again to see the rest"
    )


_MORE = re.compile(r"([\d,]+) more problems? in (.*) not listed \(only the first \d+ of a file")


def counted(problem: str) -> int:
    """How many problems a line of `more_problems` stands for (0 for any other problem)."""
    found = _MORE.match(problem)
    return int(found.group(1).replace(",", "")) if found else 0


def listed(problems: Sequence[str], paths: Sequence[object]) -> list[str]:
    """Problems of several reads of the same files (in file order) as one list: at most
    `LIMIT` per file (a problem belongs to the file it starts with), the others counted
    with those the reads counted already."""
    prefixes = [(str(path), f"{path}:") for path in paths]
    listing = Listing()
    out = []
    for problem in problems:
        counted = _MORE.match(problem)
        if counted:
            listing.more[counted.group(2)] += int(counted.group(1).replace(",", ""))
            continue
        source = next((path for path, prefix in prefixes if problem.startswith(prefix)), None)
        if source is None or listing.lists(source):
            out.append(problem)
    order = {path: n for n, (path, _) in enumerate(prefixes)}
    for source in sorted(listing.more, key=lambda s: order.get(s, len(order))):
        out.append(more_problems(source, listing.more[source]))
    return out


def versions_counted(more: Counter) -> list[tuple]:
    """The series (and ping types) of the problems only counted."""
    return [version for (_, version) in more if version is not None]
