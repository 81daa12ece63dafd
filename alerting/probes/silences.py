"""Silences and expected changes (`probes/silences.yaml`): what owners know that the detector
cannot, kept as reviewed configuration rather than as clicks in a tool.

A *silence* quiets the alerts of matching series whose change starts on or before `until`: they
are still recorded, but nobody is notified. An *expected change* names the bug of a landing
that moves a probe on purpose: a matching alert whose change starts inside the window is
recorded as expected and reported as a comment on that bug instead of a new bug or an email.

Pure: matching and the expiry list read nothing; `silences_file` loads and checks the file.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass

SILENCES_FILE = "silences.yaml"  # in the probes folder; never read as a metrics file
MAX_SILENCE_DAYS = 90  # a silence must be renewed in review at least this often
EXPIRING_DAYS = 7  # the run summary lists silences that end this soon


@dataclass(frozen=True)
class Scope:
    """Which series an entry covers: a glob over dotted probe names, optionally narrowed."""

    probes: str
    platforms: tuple[str, ...] | None = None
    labels: tuple[str, ...] | None = None
    channels: tuple[str, ...] | None = None

    def covers_series(self, probe: str, platform: str, label: str, channel: str) -> bool:
        return (
            fnmatch.fnmatchcase(probe, self.probes)
            and (self.platforms is None or platform in self.platforms)
            and (self.labels is None or label in self.labels)
            and (self.channels is None or channel in self.channels)
        )


@dataclass(frozen=True)
class Silence:
    scope: Scope
    until: dt.date
    reason: str
    bug: int | None = None
    file: str = ""
    line: int = 0

    kind = "silenced"

    def covers(self, change: Change) -> bool:
        """Changes that start on or before `until`: the noise happened while it was declared."""
        return change.date <= self.until and self.scope.covers_series(*change.series)


@dataclass(frozen=True)
class Expected:
    scope: Scope
    start: dt.date  # `from` in the file
    end: dt.date  # `to` in the file
    bug: int
    reason: str
    direction: str | None = None
    file: str = ""
    line: int = 0

    kind = "expected"

    def covers(self, change: Change) -> bool:
        return (
            self.start <= change.date <= self.end
            and (self.direction is None or change.direction == self.direction)
            and self.scope.covers_series(*change.series)
        )


Rule = Silence | Expected


@dataclass(frozen=True)
class Change:
    """What a rule is matched against: one detected change on one series."""

    probe: str
    platform: str
    label: str
    channel: str
    date: dt.date
    direction: str

    @property
    def series(self) -> tuple[str, str, str, str]:
        return (self.probe, self.platform, self.label, self.channel)


@dataclass(frozen=True)
class Silences:
    silences: tuple[Silence, ...] = ()
    expected: tuple[Expected, ...] = ()

    def rule_for(self, change: Change) -> Rule | None:
        """The entry that decides what happens to `change`, or None when nothing covers it.

        An expected change wins over a silence: it is a statement about this very change and
        someone waits for its comment on the landing bug. Within a list the first entry wins.
        """
        for rule in (*self.expected, *self.silences):
            if rule.covers(change):
                return rule
        return None

    def expiring(self, today: dt.date, days: int = EXPIRING_DAYS) -> list[Silence]:
        """Silences still running that end within `days` of `today`, soonest first."""
        last = today + dt.timedelta(days=days)
        soon = [s for s in self.silences if today <= s.until <= last]
        return sorted(soon, key=lambda s: (s.until, s.line))


def describe(rule: Rule) -> str:
    """One line naming an entry, for summaries and reviews."""
    scope = rule.scope
    parts = [scope.probes]
    for name in ("platforms", "labels", "channels"):
        values = getattr(scope, name)
        if values is not None:
            parts.append(f"{name} {', '.join(values)}")
    if isinstance(rule, Silence):
        parts.append(f"until {rule.until}")
    else:
        parts.append(f"{rule.start} to {rule.end}")
        if rule.direction:
            parts.append(rule.direction)
    if rule.bug:
        parts.append(f"bug {rule.bug}")
    return "; ".join(parts)
