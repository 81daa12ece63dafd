"""The `state/` directory: deterministic JSON records, written atomically, read checked.

Deterministic means sorted keys, two-space indentation and one trailing newline, so a rerun
that changes nothing leaves every byte (and so `git status`) unchanged. Every record is read
through `alerting.alerts.schema` (upgraded to the current version and validated); a file that
fails is reported and listed in `StateStore.failed`, and `quarantine_failed()` sets it aside
in `state/quarantine/` (see `alerting.alerts.quarantine`) so nothing overwrites it; what
cannot be moved there (a folder named like a record) is left in place and listed all the same,
so its alert is neither re-created nor delivered again. A folder records live in that is a
symbolic link or no folder stops the reader (`StateFolderError`): nothing there can be kept.
A record holding a value the reader refuses before any schema check (NaN, Infinity, an
integer no float holds, nesting past `schema.MAX_DEPTH`) is never written (`StateValueError`);
the writer does not validate against the JSON Schema, so a record the schema would refuse (a
missing field, a wrong type) is written, and fails its next read as described above.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import tempfile
from pathlib import Path

from alerting.alerts import quarantine, schema
from alerting.alerts.model import Alert, FirstSeen, Plot, Summary
from alerting.alerts.quarantine import Quarantined
from alerting.alerts.schema import Problem
from alerting.errors import UserError

NAME_BYTES = 255  # the longest file name common file systems accept
WIDTH = 120  # a list or object of plain values fitting in this many columns takes one line
LISTED = 5  # fields named in a refused record's error; the rest are counted


class StateValueError(ValueError):
    """A record holds a value the reader refuses whatever the schema says (see
    `schema.shape_problems`: NaN, Infinity, an integer no float holds, nesting too deep): it
    is not written, so its file keeps what it held instead of being set aside on the next
    read."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        named = [f"{p.pointer or '/'}: {p.message}" for p in problems[:LISTED]]
        if len(problems) > LISTED:
            named.append(f"{len(problems) - LISTED} more")
        super().__init__(f"{file}: {'; '.join(named)}")
        self.file = file
        self.problems = problems


def dumps(data: object, width: int | None = WIDTH, file: str = "record") -> str:
    """Indented JSON in which every list or object of plain values that fits in `width`
    columns (any width with None) stays on one line: a history event or a before/after
    summary reads as one line of a diff, and a plot series is one line, not hundreds.

    Written here rather than by a formatting library because these bytes are what git
    compares: a formatter's new release must never rewrite every record. A lone surrogate (a
    `\\ud800` escape in a GLAM row or a hand-edited record) is written as that JSON escape,
    which reads back the same and, unlike the character itself, can be stored as UTF-8.

    Only the values the reader refuses before any schema check (NaN, Infinity, an integer
    no float holds, nesting past `schema.MAX_DEPTH`) are refused here: StateValueError,
    naming `file` and each field. The JSON Schema is not checked on writing."""
    problems = schema.shape_problems(data, file)
    if problems:
        raise StateValueError(file, problems)
    text = _format(data, 0, 0, width) + "\n"
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _format(value: object, indent: int, column: int, width: int | None) -> str:
    """`value` as it appears at `column` of a line within a block indented by `indent`."""
    flat = json.dumps(value, sort_keys=True, ensure_ascii=False)
    if not isinstance(value, dict | list) or not value:
        return flat
    members = list(value.values()) if isinstance(value, dict) else value
    plain = all(not isinstance(m, dict | list) or not m for m in members)
    if plain and (width is None or column + len(flat) <= width):
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        names = {key: json.dumps(key, ensure_ascii=False) + ": " for key in value}
        items = [
            pad + names[key] + _format(value[key], len(pad), len(pad + names[key]), width)
            for key in sorted(value)
        ]
        opening, closing = "{", "}"
    else:
        items = [pad + _format(item, len(pad), len(pad), width) for item in value]
        opening, closing = "[", "]"
    return opening + "\n" + ",\n".join(items) + "\n" + " " * indent + closing


def encoded(text: str) -> bytes:
    """The UTF-8 bytes a state file holds (a character UTF-8 cannot hold is escaped)."""
    return text.encode("utf-8", errors="backslashreplace")


def write_text_atomic(path: Path, text: str) -> bool:
    """Write `text` unless the file already holds it; returns whether anything changed.

    The temporary file sits beside the target and is renamed over it, so a crash leaves either
    the old or the new file, never half of one. Bytes are compared, so a hand-edited file that
    is not UTF-8 is simply replaced.
    """
    data = encoded(text)
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


class StatePathError(ValueError):
    """A record's file name would leave `state/` or is not a file name at all (a hostile or
    broken probe or alert name): that one record is refused, the run goes on."""


def plain_names(relative: str) -> None:
    """Refuse (StatePathError) a path with a part that is no plain file name."""
    for part in relative.split("/"):
        if part in ("", ".", "..") or "\\" in part or not part.isprintable():
            raise StatePathError(f"refused state file name {relative!r}: not a plain file name")
        try:
            size = len(part.encode("utf-8"))
        except UnicodeEncodeError:
            raise StatePathError(f"refused state file name {relative!r}: not valid text") from None
        if size > NAME_BYTES:
            raise StatePathError(
                f"refused state file name {relative[:80]!r}…: longer than {NAME_BYTES} bytes"
            )


class StateFolderError(UserError):
    """A folder records live in is a symbolic link or not a folder at all: none of its records
    can be read or kept, so nothing that depends on them is created or delivered."""


def state_path(root: Path, relative: str) -> Path:
    """`root / relative`, refused unless it names a file inside `root` with plain names and
    no symbolic link on the way.

    Every path of the store is built here, so no name from a YAML file, a data row or a
    record can reach a file outside `state/`.
    """
    plain_names(relative)
    parts = relative.split("/")
    path = root
    for part in parts:
        path = path / part
        if path.is_symlink():  # a link committed into state/ could lead anywhere
            raise StatePathError(
                f"refused state file {relative!r}: {path} is a symbolic link; state/ holds "
                "plain files and folders only"
            )
    return path


def folder_problem(root: Path, folder: str) -> str | None:
    """Why `root/folder` cannot hold records (a symbolic link, or something other than a
    folder, on the way); None when it is a plain folder or not there yet."""
    path = root
    for part in folder.split("/"):
        path = path / part
        if path.is_symlink():
            return f"{path} is a symbolic link; state/ holds plain files and folders only"
        if not path.exists():
            return None
        if not path.is_dir():
            return f"{path} is not a folder"
    return None


class StateStore:
    """Reads and writes the records under one `state/` directory.

    Reading never changes a file: problems go to `errors` (one located line each) and the files
    that cannot be used to `failed`, for the caller to `quarantine_failed()` or just report.
    With `dry_run` nothing is written; the writers still report what would have changed.
    """

    def __init__(self, root: Path | str, dry_run: bool = False) -> None:
        self.root = Path(root)
        self.dry_run = dry_run
        self.errors: list[str] = []  # every problem met while reading, "FILE...: what"
        self.failed: dict[str, list[Problem]] = {}  # unusable file (relative) -> its problems
        self.set_aside: list[Quarantined] = []  # moved to quarantine/ (dry run: would be)
        self.held: list[Quarantined] = []  # unusable, but could not be moved: left in place

    # -- generic ---------------------------------------------------------------------------
    def path(self, relative: str) -> Path:
        return state_path(self.root, relative)

    def write_json(self, relative: str, data: object, width: int | None = WIDTH) -> bool:
        """Write one record; one the reader would refuse is not written (StateValueError)."""
        return self.write_text(relative, self._dumps(relative, data, width))

    def _dumps(self, relative: str, data: object, width: int | None = WIDTH) -> str:
        return dumps(data, width, file=str(self.root / relative))

    def write_text(self, relative: str, text: str) -> bool:
        """Write one file; a file that failed to read is set aside first, never overwritten."""
        if self.dry_run:
            if relative in self.failed:
                return True  # would be set aside and written anew
            path = self.path(relative)
            return not (path.is_file() and path.read_bytes() == encoded(text))
        if relative in self.failed:
            self._move_aside(relative)  # before `path`: it may be a symbolic link, set aside
        if any(h.original == relative for h in self.held):  # unusable, and not moved aside
            raise FileExistsError(
                errno.EEXIST,
                "kept for a person: it could not be set aside",
                str(self.root / relative),
            )
        return write_text_atomic(self.path(relative), text)

    def _report(self, relative: str, problems: list[Problem]) -> None:
        if problems:
            self.failed.setdefault(relative, []).extend(problems)
            self.errors += [str(p) for p in problems]

    def _read(self, kind: str, relative: str) -> schema.Loaded:
        """One record; a file that cannot be used (a symbolic link too) is reported and listed
        in `failed`."""
        try:
            path = self.path(relative)
        except StatePathError as error:
            loaded = schema.Loaded(problems=[Problem(str(self.root / relative), str(error))])
        else:
            loaded = schema.load(kind, path, str(path))
        self._report(relative, loaded.problems)
        return loaded

    def require_folders(
        self, *folders: str, refused: str = "no alert is read, created or delivered"
    ) -> None:
        """Refuse (StateFolderError, saying what is `refused`) when `state/` or one of its
        `folders` is a symbolic link or not a folder: the records there can be neither read
        nor kept, and a run that went on would create and deliver again, on every run, what
        it cannot remember."""
        if self.root.exists() and not self.root.is_dir():
            raise StateFolderError(f"{self.root} is not a folder: no state can be kept there")
        for folder in folders:
            problem = folder_problem(self.root, folder)
            if problem is not None:
                raise StateFolderError(
                    f"{problem}: the records under state/{folder}/ can be neither read nor "
                    f"kept, so {refused}. Make it a plain folder (move "
                    f"it away, then `git checkout -- {self.root / folder}`); "
                    "`alerting state check` lists what else is wrong"
                )

    def _each(self, kind: str) -> list[tuple[str, dict, dict]]:
        """(relative path, current record, split-off records) of every usable `kind` file."""
        folder, pattern = schema.LAYOUT[kind].split("/", 1)
        self.require_folders(folder)
        directory = self.root / folder
        if not directory.is_dir():
            return []
        found = []
        for path in sorted(directory.glob(pattern)):
            relative = f"{folder}/{path.name}"
            loaded = self._read(kind, relative)
            if loaded.data is not None:
                found.append((relative, loaded.data, loaded.split))
        return found

    # -- alerts and their plots --------------------------------------------------------------
    def alerts(self) -> dict[str, Alert]:
        """Every usable alert, its plot attached (from its plot file, or from an older record
        that still held it, which the next `save_alert` moves to its own file)."""
        # Where an alert's plot and its record, once set aside, are kept: without them an
        # alert could be created and delivered again on every run.
        self.require_folders("plots", quarantine.FOLDER, f"{quarantine.FOLDER}/alerts")
        found = {}
        for _, data, split in self._each("alert"):
            plot = Plot.from_json(split["plot"]) if "plot" in split else self.plot(data["id"])
            found[data["id"]] = Alert.from_json(data, plot)
        return found

    def plot(self, alert_id: str) -> Plot:
        """The alert's plot; empty (and reported) when its file is missing or unusable."""
        relative = f"plots/{alert_id}.json"
        path = self.root / relative
        if not (path.is_symlink() or path.exists()):
            self.errors.append(f"{path}: missing: alert {alert_id} has no plot")
            return Plot()
        data = self._read("plot", relative).data
        return Plot.from_json(data) if data is not None else Plot()

    def save_alert(self, alert: Alert) -> bool:
        """Write the alert record, and its plot file if there is none yet (a plot is written
        once: it shows the change as first reported)."""
        wrote_plot = False
        plot_file, alert_file = f"plots/{alert.id}.json", f"alerts/{alert.id}.json"
        record = self._dumps(alert_file, alert.to_json())  # refused: no plot file is left either
        if not alert.plot.is_empty() and not self.path(plot_file).exists():
            wrote_plot = self.write_json(plot_file, alert.plot.to_json(alert.id), width=None)
        return self.write_text(alert_file, record) or wrote_plot

    # -- summaries and first-seen dates ------------------------------------------------------
    def summaries(self) -> dict[str, Summary]:
        return {data["id"]: Summary.from_json(data) for _, data, _ in self._each("summary")}

    def save_summary(self, summary: Summary) -> bool:
        return self.write_json(f"summaries/{summary.id}.json", summary.to_json())

    def first_seen(self, probe: str) -> FirstSeen | None:
        """When the probe's series were first monitored; None when never (or unusable)."""
        relative = f"probes/{probe}.json"
        self.require_folders("probes", refused="no probe is checked for new changes")
        plain_names(relative)  # a hostile probe name is refused before anything is read
        path = self.root / relative
        if not (path.is_symlink() or path.exists()):
            return None
        data = self._read("first_seen", relative).data
        return FirstSeen.from_json(data) if data is not None else None

    def save_first_seen(self, record: FirstSeen) -> bool:
        return self.write_json(f"probes/{record.probe}.json", record.to_json())

    # -- quarantine ----------------------------------------------------------------------------
    def quarantine_failed(self) -> list[Quarantined]:
        """Move every file that failed while reading to `state/quarantine/` (kept for a person,
        never deleted); returns what was (in a dry run: would be) moved. What cannot be moved
        (a folder where a record belongs, a file under a symbolic link) is left in place and
        listed in `held`: its alert is not re-created either."""
        moved = [self._move_aside(relative) for relative in sorted(self.failed)]
        return [m for m in moved if m is not None and not m.in_place]

    def _move_aside(self, relative: str) -> Quarantined | None:
        problems = [str(p) for p in self.failed.pop(relative, [])]
        path = self.root / relative
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return None
        except OSError as error:
            return self._hold(relative, problems, f"cannot be looked at: {error.strerror}")
        why = self._unmovable(relative, mode)
        if why is not None:
            return self._hold(relative, problems, why)
        if self.dry_run:
            moved = Quarantined(f"{quarantine.FOLDER}/{relative}", relative, tuple(problems))
        else:
            try:
                moved = quarantine.move_aside(self.root, relative, problems)
            except OSError as error:
                why = f"could not be moved to {quarantine.FOLDER}/: {error.strerror or error}"
                return self._hold(relative, problems, why)
        self.set_aside.append(moved)
        return moved

    def _unmovable(self, relative: str, mode: int) -> str | None:
        """Why `relative` is not moved to `quarantine/`; None when renaming it is safe (a file,
        or a symbolic link itself, which renaming never follows)."""
        if stat.S_ISDIR(mode):
            return "a folder is never moved aside: move or delete it"
        if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            return "only files are moved aside: move or delete it"
        folder = relative.rpartition("/")[0]
        target = f"{quarantine.FOLDER}/{folder}" if folder else quarantine.FOLDER
        try:
            for inside in (folder, target) if folder else (target,):
                state_path(self.root, inside)  # from and to plain folders only
        except StatePathError as error:
            return f"not moved through a symbolic link ({error})"
        return None

    def _hold(self, relative: str, problems: list[str], why: str) -> Quarantined:
        held = Quarantined(relative, relative, (*problems, why), in_place=True)
        if all(h.file != relative for h in self.held):
            self.held.append(held)
        return held

    def quarantined(self) -> list[Quarantined]:
        """Files awaiting a person in `state/quarantine/` (in a dry run, also those that would
        have been moved there), and those left in place because they could not be moved."""
        pending = self.set_aside if self.dry_run else []
        return quarantine.listing(self.root) + pending + self.held
