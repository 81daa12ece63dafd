"""The `state/` directory: deterministic JSON files, written atomically.

Deterministic means sorted keys, two-space indentation and one trailing newline, so a rerun
that changes nothing leaves every byte (and so `git status`) unchanged.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from alerting.alerts.model import Alert, Summary


def dumps(data: object) -> str:
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def write_text_atomic(path: Path, text: str) -> bool:
    """Write `text` unless the file already holds it; returns whether anything changed.

    The temporary file sits beside the target and is renamed over it, so a crash leaves either
    the old or the new file, never half of one.
    """
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


class StateStore:
    """Reads and writes the records under one `state/` directory.

    With `dry_run` nothing is written; the writers still report what would have changed.
    """

    def __init__(self, root: Path | str, dry_run: bool = False) -> None:
        self.root = Path(root)
        self.dry_run = dry_run
        self.errors: list[str] = []  # unreadable files, reported by the run and left alone

    # -- generic ---------------------------------------------------------------------------
    def write_json(self, relative: str, data: object) -> bool:
        path = self.root / relative
        text = dumps(data)
        if self.dry_run:
            return not (path.is_file() and path.read_text(encoding="utf-8") == text)
        return write_text_atomic(path, text)

    def write_text(self, relative: str, text: str) -> bool:
        path = self.root / relative
        if self.dry_run:
            return not (path.is_file() and path.read_text(encoding="utf-8") == text)
        return write_text_atomic(path, text)

    def read_json(self, relative: str) -> object | None:
        path = self.root / relative
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            self.errors.append(f"{path}: unreadable JSON, left untouched: {error}")
            return None

    def _records(self, folder: str) -> list[tuple[Path, dict]]:
        directory = self.root / folder
        if not directory.is_dir():
            return []
        records = []
        for path in sorted(directory.glob("*.json")):
            data = self.read_json(f"{folder}/{path.name}")
            if isinstance(data, dict):
                records.append((path, data))
            elif data is not None:
                self.errors.append(f"{path}: not a JSON object, left untouched")
        return records

    # -- alerts and summaries --------------------------------------------------------------
    def _load(self, folder: str, record: type[Alert] | type[Summary], what: str) -> dict:
        found = {}
        for path, data in self._records(folder):
            try:
                item = record.from_json(data)
            except (KeyError, TypeError) as error:
                self.errors.append(f"{path}: not {what} record, left untouched: {error}")
                continue
            found[item.id] = item
        return found

    def alerts(self) -> dict[str, Alert]:
        return self._load("alerts", Alert, "an alert")

    def save_alert(self, alert: Alert) -> bool:
        return self.write_json(f"alerts/{alert.id}.json", alert.to_json())

    def summaries(self) -> dict[str, Summary]:
        return self._load("summaries", Summary, "a summary")

    def save_summary(self, summary: Summary) -> bool:
        return self.write_json(f"summaries/{summary.id}.json", summary.to_json())
