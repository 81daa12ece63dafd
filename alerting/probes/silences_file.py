"""Reading and checking `probes/silences.yaml`, which arrives in pull requests like any probe
file: loaded with the safe loader, every mistake reported as FILE:LINE, a bad entry dropped on
its own while the good ones still apply.

`until` is checked against `today`, the day the command runs (`probes validate` and the daily
run both take the calendar date, never the data's last day, so both judge the file alike): more
than `MAX_SILENCE_DAYS` ahead is an error, already past is a warning so the file gets cleaned
up. An entry too far ahead is still applied, with its error: the owner's intent to silence is
plain, and dropping the entry would notify about the very series it names.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from alerting.alerts.ids import MAX_BUG_ID
from alerting.data.model import CHANNELS
from alerting.errors import Problem
from alerting.probes.model import ALL_PLATFORMS, DESKTOP_PLATFORMS, MOBILE_PLATFORMS
from alerting.probes.silences import (
    MAX_SILENCE_DAYS,
    Expected,
    Scope,
    Silence,
    Silences,
)
from alerting.probes.yamlsafe import (
    BadValue,
    YamlFileError,
    line_of,
    load_file,
    written_twice,
)

PLATFORMS = (*DESKTOP_PLATFORMS, *MOBILE_PLATFORMS, ALL_PLATFORMS)
DIRECTIONS = ("up", "down")
SCOPE_KEYS = ("probes", "platforms", "labels")
SILENCE_KEYS = frozenset({*SCOPE_KEYS, "channels", "until", "reason", "bug"})
EXPECTED_KEYS = frozenset({*SCOPE_KEYS, "from", "to", "direction", "bug", "reason"})
GLOB = re.compile(r"[a-z0-9_.*?\[\]!-]+")
EXAMPLE_DATE = "a date written YYYY-MM-DD, e.g. 2026-12-31"
STILL_APPLIED = " (until then the daily run applies the entry as written and reports this error)"


@dataclass
class SilencesCheck:
    """What a silences file says, and what is wrong with it."""

    silences: Silences = field(default_factory=Silences)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


class _Entry:
    """One list item being checked; collects its problems instead of raising."""

    def __init__(self, file: str, data: dict, line: int, kind: str, check: SilencesCheck):
        self.file, self.data, self.line, self.kind, self.check = file, data, line, kind, check
        self.ok = True
        glob = data.get("probes")
        self.name = f"{kind} {glob}" if isinstance(glob, str) else kind

    def problem(self, key: str, message: str, warning: bool = False, applied: bool = False) -> None:
        """Record a problem; an error drops the entry unless `applied` (an error the entry is
        still applied with: it says what to fix, but the entry means what it says)."""
        where = line_of(self.data, key, self.line) if key in self.data else self.line
        found = Problem(self.file, where, self.name, key, message)
        if warning:
            self.check.warnings.append(found)
        else:
            self.check.problems.append(found)
            self.ok = self.ok and applied

    def required(self, key: str, hint: str) -> object:
        if key not in self.data or self.data[key] in (None, ""):
            self.problem(key, f"missing; {hint}")
            return None
        return self.data[key]

    def names(self, key: str, allowed: Iterable[str] | None, hint: str) -> tuple | None:
        """An optional list of names (platforms, labels, channels)."""
        if key not in self.data:
            return None
        value = self.data[key]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            self.problem(key, f"must be a list of names, e.g. [{hint}]")
            return None
        unknown = [v for v in value if allowed is not None and v not in allowed]
        if unknown:
            self.problem(
                key,
                f"unknown {', '.join(map(repr, unknown))}; use {', '.join(allowed or ())}",
            )
            return None
        return tuple(value)

    def date(self, key: str, required: bool = True) -> dt.date | None:
        if key not in self.data and not required:
            return None
        value = self.required(key, EXAMPLE_DATE)
        if value is None:
            return None
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, BadValue):
            self.problem(key, f"{value.reason}; use {EXAMPLE_DATE}")
            return None
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        self.problem(key, f"{_shown(value)} is not {EXAMPLE_DATE}")
        return None

    def bug(self, required: bool) -> int | None:
        if "bug" not in self.data and not required:
            return None
        value = self.required("bug", "the bug number, e.g. 1234567")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_BUG_ID:
            self.problem("bug", f"{_shown(value)} is not a bug number; write it as e.g. 1234567")
            return None
        return value

    def text(self, key: str, hint: str) -> str:
        value = self.required(key, hint)
        if value is not None and not isinstance(value, str):
            self.problem(key, f"must be text; {hint}")
            return ""
        return value or ""

    def scope(self, known: list[str], channels: bool) -> Scope | None:
        glob = self.required("probes", 'a glob over dotted probe names, e.g. "networking.trr_*"')
        if glob is not None and not _check_glob(self, glob, known):
            glob = None
        platforms = self.names("platforms", PLATFORMS, "Windows, Darwin")
        labels = self.names("labels", None, "h2")
        chosen = self.names("channels", CHANNELS, "nightly") if channels else None
        return Scope(glob, platforms, labels, chosen) if glob is not None else None


def _shown(value: object) -> str:
    """A value as written: text quoted, anything else (numbers, timestamps) plain."""
    return repr(value) if isinstance(value, str) else str(value)


def _check_glob(entry: _Entry, glob: object, known: list[str]) -> bool:
    if not isinstance(glob, str) or not GLOB.fullmatch(glob) or not _brackets_closed(glob):
        entry.problem(
            "probes",
            f"{glob!r} is not a glob over dotted probe names: use lower-case letters, digits, "
            '"_", "." and the wildcards "*", "?" and "[...]", e.g. "networking.trr_*"',
        )
        return False
    if known and not any(fnmatch.fnmatchcase(probe, glob) for probe in known):
        entry.problem(
            "probes",
            f"{glob!r} matches no monitored probe; check the name (`alerting probes list` "
            "shows them)",
        )
        return False
    return True


def _brackets_closed(glob: str) -> bool:
    depth = 0
    for char in glob:
        if char == "[":
            if depth:
                return False
            depth = 1
        elif char == "]":
            if not depth:
                return False
            depth = 0
    return depth == 0


def _silence(entry: _Entry, known: list[str], today: dt.date) -> Silence | None:
    scope = entry.scope(known, channels=True)
    until = entry.date("until")
    reason = entry.text("reason", 'say why, e.g. "TRR rework: noisy until it lands"')
    bug = entry.bug(required=False)
    if until is not None:
        last = today + dt.timedelta(days=MAX_SILENCE_DAYS)
        if until > last:
            entry.problem(
                "until",
                f"{until} is more than {MAX_SILENCE_DAYS} days ahead; silence until {last} at "
                f"the latest and renew it in a later change if still needed{STILL_APPLIED}",
                applied=True,
            )
        elif until < today:
            entry.problem(
                "until",
                f"this silence ended on {until}; remove the entry",
                warning=True,
            )
    if not entry.ok or scope is None or until is None:
        return None
    return Silence(scope, until, reason, bug, entry.file, entry.line)


def _expected(entry: _Entry, known: list[str], today: dt.date) -> Expected | None:
    scope = entry.scope(known, channels=False)
    start, end = entry.date("from"), entry.date("to")
    if start and end and start > end:
        entry.problem("to", f"{end} is before from ({start}); the window runs from..to")
    elif start and end and (end - start).days > MAX_SILENCE_DAYS:
        # A landing's change starts within days; a longer window would mute like a silence
        # that is never renewed.
        entry.problem(
            "to",
            f"the window from {start} to {end} is longer than {MAX_SILENCE_DAYS} days; an "
            "expected change starts within days of its landing: narrow it",
        )
    elif end and end > today + dt.timedelta(days=MAX_SILENCE_DAYS):
        entry.problem(
            "to",
            f"{end} is more than {MAX_SILENCE_DAYS} days ahead; add the entry when the landing "
            f"is near{STILL_APPLIED}",
            applied=True,
        )
    direction = entry.data.get("direction")
    if direction is not None and direction not in DIRECTIONS:
        entry.problem("direction", f"{direction!r}: use up or down, or leave it out")
    bug = entry.bug(required=True)
    reason = entry.text("reason", 'say what lands, e.g. "bigger IPC buffers on purpose"')
    if not entry.ok or scope is None or start is None or end is None or bug is None:
        return None
    return Expected(scope, start, end, bug, reason, direction, entry.file, entry.line)


def check_document(document: object, file: str, known: list[str], today: dt.date) -> SilencesCheck:
    """Check a loaded silences document; `known` are the monitored probes' dotted names."""
    check = SilencesCheck()
    if document is None:
        return check
    if not isinstance(document, dict):
        check.problems.append(
            Problem(
                file,
                line_of(document, 0),
                "",
                "",
                "expected a mapping with `silences:` and/or `expected:` lists",
            )
        )
        return check
    _duplicates(check, file, "", document)
    for key in document:
        if key not in ("silences", "expected"):
            check.problems.append(
                Problem(
                    file,
                    line_of(document, key),
                    "",
                    str(key),
                    "unknown key; the file has `silences:` and `expected:` lists",
                )
            )
    silences, expected = [], []
    for kind, allowed in (("silences", SILENCE_KEYS), ("expected", EXPECTED_KEYS)):
        items = document.get(kind)
        if items is None:
            continue
        if not isinstance(items, list):
            check.problems.append(
                Problem(file, line_of(document, kind), "", kind, "must be a list of entries")
            )
            continue
        for index, data in enumerate(items):
            line = line_of(items, index)
            if not isinstance(data, dict):
                check.problems.append(
                    Problem(file, line, kind, "", "an entry is a mapping (probes:, reason:, ...)")
                )
                continue
            entry = _Entry(file, data, line, "silence" if kind == "silences" else "expected", check)
            if _duplicates(check, file, entry.name, data):
                entry.ok = False  # which of the two values was meant is unknown
            for key in data:
                if key not in allowed:
                    entry.problem(
                        str(key),
                        f"unknown key; an entry of `{kind}` has {', '.join(sorted(allowed))}",
                    )
            if kind == "silences":
                silence = _silence(entry, known, today)
                silences += [silence] if silence else []
            else:
                rule = _expected(entry, known, today)
                expected += [rule] if rule else []
    check.silences = Silences(tuple(silences), tuple(expected))
    check.problems.sort()
    check.warnings.sort()
    return check


def _duplicates(check: SilencesCheck, file: str, name: str, data: object) -> bool:
    """Report each key written twice (YAML drops the first value, for `expected:` a whole
    list of entries); True when there was one."""
    repeats = written_twice(data)
    for key, line, message in repeats:
        check.problems.append(Problem(file, line, name, key, message))
    return bool(repeats)


def read_silences(path: Path | str, known: list[str], today: dt.date) -> SilencesCheck:
    """The checked file at `path`; a missing file silences nothing."""
    path = Path(path)
    if not path.is_file():
        return SilencesCheck()
    try:
        document = load_file(path)
    except YamlFileError as error:
        return SilencesCheck(problems=[Problem(str(path), error.line, "", "", error.message)])
    return check_document(document, str(path), known, today)
