"""Daily series of data files kept between runs, so a rerun on unchanged files skips reading.

Reading a fleet's GLAM rows costs most of a run; a second run on the same files (a retry, a
rerun with other settings) needs the very same series. The series are stored as plain numpy
arrays (no pickle: nothing in the folder can run code when loaded), under a name made of the
files' paths, sizes and modification times, so a changed file is read again. Only the latest
entry is kept: the next day's data replaces it.

An entry is used only if it is exactly what was written: `save_arrays` stores the sha256 of
every array with them and `load_arrays` checks it, and the decoded series are checked for
their types, shapes and dates. Anything else (a cut, edited or foreign file) is a cache miss:
the data is read again, with a warning naming the entry. The findings cache of `alerting run`
(`pipeline/detect_files.py`) keeps its files the same way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import io
import json
import logging
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from alerting.data import buildids
from alerting.data.model import DailySeries, SeriesKey

log = logging.getLogger(__name__)

FORMAT = 4  # bump when series are made or kept differently, so older entries are not used
Loaded = tuple[dict[SeriesKey, DailySeries], list[str]]
DIGEST = "sha256"  # the member of a kept file holding the digest of all the others
# What reading a kept file can raise when the file is not what was written: a cache miss.
DAMAGED = (OSError, ValueError, KeyError, TypeError, IndexError, EOFError, zipfile.BadZipFile)


class DamagedEntry(ValueError):
    """A kept file is not exactly what the cache wrote."""


def cached_load(folder: Path, paths: list[str], load: Callable[[list[str]], Loaded]) -> Loaded:
    """`load(paths)`, or what it gave last time for the same unchanged files."""
    entry = folder / f"series-{_fingerprint(paths)}.npz"
    if entry.is_file():
        try:
            return _read(entry)
        except DAMAGED as error:  # damaged: a miss
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
    arrays["meta"] = json_array(meta)
    save_arrays(entry, arrays)


def json_array(value: object) -> np.ndarray:
    """`value` as JSON text in an array of bytes (what `json_of` reads back)."""
    return np.frombuffer(json.dumps(value).encode(), dtype=np.uint8)


def json_of(stored: dict[str, np.ndarray], name: str = "meta") -> object:
    """The JSON value `json_array` stored as `stored[name]`."""
    array = stored[name]
    expect(array.dtype == np.uint8 and array.ndim == 1, f"{name} is not JSON text")
    return json.loads(array.tobytes())


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write `arrays` to `path` as an uncompressed .npz (`np.load` reads it) that also holds
    the sha256 of every array, atomically."""
    digest = hashlib.sha256()
    temporary = path.with_name(path.name + ".tmp")
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            for name in sorted(arrays):
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.asanyarray(arrays[name]), allow_pickle=False)
                with buffer.getbuffer() as raw:
                    _add(digest, name, raw)
                    archive.writestr(f"{name}.npy", raw)
            archive.writestr(DIGEST, digest.hexdigest())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays `save_arrays` wrote to `path`, or DamagedEntry (or OSError) when the file
    is anything else: cut short, changed, written by other code or made to be unpacked into
    more than its size."""
    size = path.stat().st_size
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        names = [m.filename for m in members]
        expect(len(set(names)) == len(names), "a member is there twice")
        expect(all(m.compress_type == zipfile.ZIP_STORED for m in members), "compressed member")
        expect(sum(m.file_size for m in members) <= size, "members larger than the file")
        expect(DIGEST in names, "no digest")
        kept = archive.read(DIGEST)
        digest = hashlib.sha256()
        arrays = {}
        for name in sorted(n for n in names if n != DIGEST):
            expect(name.endswith(".npy"), f"unexpected member {name!r}")
            raw = archive.read(name)
            _add(digest, name[: -len(".npy")], raw)
            arrays[name[: -len(".npy")]] = np.lib.format.read_array(
                io.BytesIO(raw), allow_pickle=False
            )
            del raw
    expect(hmac.compare_digest(kept, digest.hexdigest().encode()), "digest does not match")
    return arrays


def _add(digest, name: str, raw: bytes | memoryview) -> None:
    digest.update(name.encode() + b"\0" + len(raw).to_bytes(8, "big"))
    digest.update(raw)


def expect(condition: bool, what: str) -> None:
    """A check of a kept file: DamagedEntry saying `what` is wrong when it fails."""
    if not condition:
        raise DamagedEntry(what)


def is_list_of(value: object, kind: type, length: int | None = None) -> bool:
    """Whether `value` is a list of `kind` values (of `length` of them, if given)."""
    return (
        isinstance(value, list)
        and (length is None or len(value) == length)
        and all(type(v) is kind for v in value)
    )


def kept_day(text: object) -> dt.date:
    """A day a kept file names, which the data could have held (DamagedEntry otherwise)."""
    expect(isinstance(text, str), "a day is not text")
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise DamagedEntry(f"{text!r} is not a day") from None
    return within_data(day)


def within_data(day: dt.date) -> dt.date:
    """`day`, if rows may hold it (FIRST_BUILD_DAY to tomorrow); DamagedEntry otherwise."""
    last = buildids.latest_build_day()  # looked up when called, as the row reader does
    expect(buildids.FIRST_BUILD_DAY <= day <= last, f"day {day} outside the data's range")
    return day


def series_to_arrays(series: list[DailySeries], arrays: dict[str, np.ndarray]) -> list:
    """Series as plain arrays (added to `arrays`) and what to store beside them as JSON."""
    for i, s in enumerate(series):
        arrays[f"counts{i}"], arrays[f"buckets{i}"] = s.counts, s.buckets
        arrays[f"present{i}"] = s.present
    return [
        [list(dataclasses.astuple(s.key)), s.metric_type, s.start.isoformat(), list(s.build_ids)]
        for s in series
    ]


def series_from_arrays(described: object, stored: dict[str, np.ndarray]) -> list[DailySeries]:
    """The series `series_to_arrays` stored (`stored`: the loaded arrays), each checked for
    what a series read from rows is (DamagedEntry otherwise)."""
    expect(isinstance(described, list), "series is not a list")
    n_keys = len(dataclasses.fields(SeriesKey))
    series = []
    for i, item in enumerate(described):
        expect(isinstance(item, list) and len(item) == 4, f"series {i} is not 4 values")
        key, metric_type, start, build_ids = item
        expect(is_list_of(key, str, n_keys) and type(metric_type) is str, f"series {i} key")
        buckets, counts = stored[f"buckets{i}"], stored[f"counts{i}"]
        present = stored[f"present{i}"]
        expect(buckets.dtype == np.float64 and buckets.ndim == 1, f"buckets{i}")
        expect(counts.dtype == np.float64 and counts.ndim == 2, f"counts{i}")
        n_days = counts.shape[0]
        expect(counts.shape[1] == buckets.size, f"counts{i} and buckets{i} disagree")
        expect(bool(np.all(np.diff(buckets) > 0)) and _finite(buckets), f"buckets{i}")
        expect(_finite(counts) and counts.min(initial=0.0) >= 0, f"counts{i}")
        expect(present.dtype == np.bool_ and present.shape == (n_days,), f"present{i}")
        expect(is_list_of(build_ids, str, n_days), f"series {i} build ids")
        first = kept_day(start)
        if n_days:
            within_data(first + dt.timedelta(days=n_days - 1))
        series.append(
            DailySeries(
                key=SeriesKey(*key),
                metric_type=metric_type,
                start=first,
                buckets=buckets,
                counts=counts,
                present=present,
                build_ids=tuple(build_ids),
            )
        )
    return series


def _finite(values: np.ndarray) -> bool:
    return bool(np.isfinite(values).all())


def _read(entry: Path) -> Loaded:
    stored = load_arrays(entry)
    meta = json_of(stored)
    expect(isinstance(meta, dict) and meta.keys() == {"problems", "series"}, "meta")
    expect(is_list_of(meta["problems"], str), "problems are not a list of text")
    series = series_from_arrays(meta["series"], stored)
    expect(len(stored) == 1 + 3 * len(series), "arrays of no series")
    return {s.key: s for s in series}, meta["problems"]
