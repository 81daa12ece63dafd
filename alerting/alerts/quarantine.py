"""`state/quarantine/`: records that could not be used, set aside for a person, never deleted.

A state file that is unreadable or fails its schema is moved here by the daily run (same path
below `quarantine/`, plus `<file>.problems` saying what is wrong) instead of being overwritten.
While an alert's file sits here the run neither re-creates nor re-notifies that alert. A person
resolves it by fixing the file and moving it back (then deleting the `.problems` note), or by
deleting both, which lets the run raise the alert afresh.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

FOLDER = "quarantine"
NOTE = ".problems"
COPY = re.compile(r"^(.*)~[0-9]+(\.[^.]*)$")
HOW_TO_RESOLVE = (
    "Set aside by the daily run because it could not be used. Fix it and move it back to "
    "{original} (and delete this note), or delete both files to let the run start over.\n"
)


@dataclass(frozen=True)
class Quarantined:
    """One file awaiting a person; paths are relative to the state directory."""

    file: str  # e.g. quarantine/alerts/<id>.json
    original: str  # e.g. alerts/<id>.json
    problems: tuple[str, ...] = ()
    # What identifies the alert's change, when the file still says (probe, platform, label,
    # channel, date): the run skips the same change even if its date moved by a day or two.
    change: tuple[str, str, str, str, str] | None = None
    # Not moved (a folder named like a record, or a file under a symbolic link): it stays at
    # `original`, reported on every run until a person moves or deletes it.
    in_place: bool = False

    @property
    def alert_id(self) -> str | None:
        folder, _, name = self.original.partition("/")
        return name.removesuffix(".json") if folder == "alerts" else None

    def __str__(self) -> str:
        why = "; ".join(self.problems) or "see the .problems note"
        if self.in_place:
            return f"{self.original} (left in place): {why}"
        return f"{self.file} (was {self.original}): {why}"


def _target(root: Path, original: str) -> Path:
    """A free name under quarantine/: an earlier quarantined copy is never replaced."""
    target = root / FOLDER / original
    stem, suffix, n = target.stem, target.suffix, 2
    while os.path.lexists(target) or os.path.lexists(target.with_name(target.name + NOTE)):
        target = target.with_name(f"{stem}~{n}{suffix}")
        n += 1
    return target


def move_aside(root: Path, original: str, problems: list[str]) -> Quarantined:
    """Move `root/original` under `root/quarantine/`, with a note of its problems (a symbolic
    link is moved itself: renaming never follows it)."""
    target = _target(root, original)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(root / original, target)
    note = HOW_TO_RESOLVE.format(original=original) + "".join(f"- {p}\n" for p in problems)
    target.with_name(target.name + NOTE).write_text(note, encoding="utf-8")
    return Quarantined(str(target.relative_to(root)), original, tuple(problems), _change(target))


def listing(root: Path) -> list[Quarantined]:
    """Every file awaiting a person, in path order."""
    base = root / FOLDER
    if base.is_symlink() or not base.is_dir():  # a link could lead anywhere: never listed
        return []
    found = []
    # A symbolic link set aside in place of a record is listed too (never followed: rglob
    # does not descend into one, and its content is not read), so its alert stays set aside.
    kept = (p for p in base.rglob("*") if _record_link(p) or (p.is_file() and not p.is_symlink()))
    for path in sorted(p for p in kept if not p.name.endswith(NOTE)):
        inside = path.relative_to(base)
        original = inside.with_name(original_name(inside.name)).as_posix()
        note = path.with_name(path.name + NOTE)
        problems = _problems(note)
        found.append(Quarantined(str(path.relative_to(root)), original, problems, _change(path)))
    return found


def _record_link(path: Path) -> bool:
    return path.is_symlink() and path.suffix == ".json"  # every record file is *.json


def original_name(name: str) -> str:
    """`<stem>~2.json` -> `<stem>.json` (the numbered copies `_target` makes)."""
    return COPY.sub(r"\1\2", name)


def _problems(note: Path) -> tuple[str, ...]:
    if note.is_symlink() or not note.is_file():
        return ()
    try:
        lines = note.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ()
    return tuple(line[2:] for line in lines if line.startswith("- "))


def _change(path: Path) -> tuple[str, str, str, str, str] | None:
    if path.is_symlink():  # never read through a link
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # ValueError: JSON or a too long integer
        return None
    keys = ("probe", "platform", "label", "channel", "date")
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in keys):
        return None
    try:
        dt.date.fromisoformat(data["date"])
    except ValueError:
        return None
    return tuple(data[k] for k in keys)  # type: ignore[return-value]
