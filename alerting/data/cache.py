"""Daily series of data files kept between runs, so a rerun on unchanged files skips reading.

Reading a fleet's GLAM rows costs most of a run; a second run on the same files (a retry, a
rerun with other settings) needs the very same series. The series are stored as plain numpy
arrays (no pickle: nothing in the folder can run code when loaded), under a name made of the
files' paths, sizes and modification times, so a changed file is read again. Only the latest
entry is kept: the next day's data replaces it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from alerting.data.model import DailySeries, SeriesKey

log = logging.getLogger(__name__)

FORMAT = 3  # bump when series are made differently, so older entries are not used
Loaded = tuple[dict[SeriesKey, DailySeries], list[str]]


def cached_load(folder: Path, paths: list[str], load: Callable[[list[str]], Loaded]) -> Loaded:
    """`load(paths)`, or what it gave last time for the same unchanged files."""
    entry = folder / f"series-{_fingerprint(paths)}.npz"
    if entry.is_file():
        try:
            return _read(entry)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:  # damaged
            log.warning("%s: unusable cache entry (%s); reading the data files", entry, error)
    found = load(paths)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write(entry, *found)
        for old in folder.glob("series-*.npz"):
            if old != entry:
                old.unlink()
    except OSError as error:  # a cache that cannot be written only costs time
        log.warning("cannot keep the series in %s: %s", folder, error)
    return found


def _fingerprint(paths: list[str]) -> str:
    text = json.dumps([FORMAT, files_identity(paths)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def files_identity(paths: list[str] | list[Path]) -> list:
    """What tells the files' contents apart without reading them: path, size and the time
    of the last change of each."""
    files = []
    for path in paths:
        stat = Path(path).stat()
        files.append([str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns])
    return files


def _write(entry: Path, series: dict[SeriesKey, DailySeries], problems: list[str]) -> None:
    arrays: dict[str, np.ndarray] = {}
    meta = {"problems": problems, "series": series_to_arrays(list(series.values()), arrays)}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    temporary = entry.with_suffix(".tmp.npz")
    np.savez(temporary, **arrays)
    os.replace(temporary, entry)


def series_to_arrays(series: list[DailySeries], arrays: dict[str, np.ndarray]) -> list:
    """Series as plain arrays (added to `arrays`) and what to store beside them as JSON."""
    for i, s in enumerate(series):
        arrays[f"counts{i}"], arrays[f"buckets{i}"] = s.counts, s.buckets
        arrays[f"present{i}"] = s.present
    return [
        [list(dataclasses.astuple(s.key)), s.metric_type, s.start.isoformat(), list(s.build_ids)]
        for s in series
    ]


def series_from_arrays(described: list, stored) -> list[DailySeries]:
    """The series `series_to_arrays` stored (`stored`: the loaded arrays)."""
    series = []
    for i, (key, metric_type, start, build_ids) in enumerate(described):
        series.append(
            DailySeries(
                key=SeriesKey(*key),
                metric_type=metric_type,
                start=dt.date.fromisoformat(start),
                buckets=stored[f"buckets{i}"],
                counts=stored[f"counts{i}"],
                present=stored[f"present{i}"],
                build_ids=tuple(build_ids),
            )
        )
    return series


def _read(entry: Path) -> Loaded:
    with np.load(entry, allow_pickle=False) as stored:
        meta = json.loads(stored["meta"].tobytes())
        series = series_from_arrays(meta["series"], stored)
    return {s.key: s for s in series}, meta["problems"]
