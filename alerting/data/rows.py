"""Daily series from files of GLAM rows, read by all cores when the input is big: JSON lines
files in ranges of lines, Parquet files in ranges of rows, each range by its own process.

The rows themselves come from `row_files`, which names every bad row where it is.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import itertools
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alerting.data.merge import merge_series
from alerting.data.model import DailySeries, SeriesKey
from alerting.data.parquet_rows import batch_rows, parquet_batches, parquet_file, parquet_size
from alerting.data.ping_types import LeftOut, Versions, chosen, log_notes
from alerting.data.problems import counted
from alerting.data.row_batch import ROW_COLUMNS, RowBatch, batches_of_rows
from alerting.data.row_files import (
    JSON_LINES,
    PARQUET,
    TOO_LONG,
    binary_lines,
    bounded_line,
    existing_files,
    file_kind,
    iter_rows,
    json_line_rows,
    repeated_files,
    unused_file,
)
from alerting.data.series import series_from_batches, versions_from_batches
from alerting.data.series_transfer import SentSeries, discard, receive, send
from alerting.errors import UserError


def read_series(paths: Iterable[str | Path]) -> tuple[dict[SeriesKey, DailySeries], list[str]]:
    """Daily series from GLAM row files, and one "FILE:LINE: reason" per skipped row.

    A file that cannot be read, or holds no GLAM rows, is one problem and the other files
    are still used; so is a file given more than once, whose rows are read once. Rows of ping types or aggregations series are not made of (see
    `ping_types`) are no problems: a note per file in the log says how many were left out.
    Raises `UserError` when a file is missing, or when not one row was usable (so also when
    no file could be read).
    """
    paths = existing_files(paths)
    repeated = repeated_files(paths)
    problems: list[str] = list(repeated.values())
    paths = [path for n, path in enumerate(paths) if n not in repeated]
    left_out: LeftOut = Counter()
    versions = _read_in_parallel(paths)
    if versions is None:
        series = series_from_batches(_all_batches(paths, problems), problems, None, left_out)
    else:
        series = chosen(versions, problems, left_out)
    notes = log_notes(left_out)
    if not series and (problems or notes):
        raise no_usable_row(problems + notes)
    return series, problems


def _read_in_parallel(paths: list[Path]) -> Versions | None:
    """What a big input gave read by all cores, or None when it is to be read in one go: a
    small input, a file the parts cannot take, or a row repeated in another part (counted
    once and named only by reading in one go)."""
    try:
        parts = _parts(paths)
        workers = min(len(parts), os.cpu_count() or 1)
        if workers < 2:
            return None
        results = _load_parts(parts, workers)
    except UserError:
        return None
    if _repeated_across_parts([keys for _, keys in results]):
        return None
    return merge_versions([versions for versions, _ in results])


def merge_versions(parts: list[Versions]) -> Versions:
    """What separate parts of the rows gave, as one (problems in the parts' order)."""
    problems = [problem for part in parts for problem in part.problems]
    merged: list[str] = []
    series = merge_series((part.series for part in parts), merged)
    problems += [(message, None, None) for message in merged]
    rows: Counter = sum((part.rows for part in parts), Counter())
    left_out: LeftOut = sum((part.left_out for part in parts), Counter())
    more: Counter = sum((part.more for part in parts), Counter())
    return Versions(series, problems, rows, left_out, more)


def no_usable_row(problems: list[str]) -> UserError:
    """The error of an input whose every row was skipped, showing the first reasons."""
    listed = [problem for problem in problems if not counted(problem)]
    left = len(listed) - 5 + sum(map(counted, problems))
    shown = "\n  ".join(listed[:5])
    more = f"\n  ... and {left:,} more" if left > 0 else ""
    return UserError(f"no usable GLAM row in the input:\n  {shown}{more}")


def _all_batches(paths: list[Path], problems: list[str]) -> Iterator[RowBatch]:
    """The rows of all files as batches, numbered on from file to file. A file refused as a
    whole (no GLAM rows, a damaged Parquet file) is one of `problems`; the others go on."""
    first = 1
    for path in paths:
        try:
            if file_kind(path) == PARQUET:
                batches = parquet_batches(path)
            else:
                batches = batches_of_rows(iter_rows(path, ROW_COLUMNS), batch_rows(), str(path))
            for batch in batches:
                batch.first = first
                first += len(batch)
                yield batch
        except UserError as error:
            problems.append(unused_file(error))


# Big inputs are read by all cores: JSON lines files in ranges of lines, Parquet files in
# ranges of rows. Smaller inputs are not worth starting processes for.
PARALLEL_BYTES = 64 << 20


@dataclass(frozen=True)
class _Part:
    """Lines [start, end) (byte offsets) of a JSON lines file, or rows [start, end) (from 0)
    of a Parquet file; its first line or row is numbered `line`."""

    path: Path
    start: int
    end: int
    line: int
    kind: str = JSON_LINES


def _parts(paths: list[Path]) -> list[_Part]:
    """Split the input for parallel reading; [] when it should be read in one go."""
    cores = os.cpu_count() or 1
    kinds = [file_kind(p) for p in paths]
    if cores < 2 or any(k not in (JSON_LINES, PARQUET) for k in kinds):
        return []
    if any(p.suffix.lower() == ".gz" for p in paths):
        return []
    sizes = [
        parquet_size(p) if k == PARQUET else p.stat().st_size
        for p, k in zip(paths, kinds, strict=True)
    ]
    total = sum(sizes)
    if total < PARALLEL_BYTES:
        return []
    parts = []
    for path, kind, size in zip(paths, kinds, sizes, strict=True):
        pieces = max(1, round(cores * size / total))
        if kind == PARQUET:
            parts += _parquet_parts(path, pieces)
            continue
        offsets = [*line_starts(path, size, pieces), size]
        with open(path, "rb") as handle:
            line = 1
            for start, end in itertools.pairwise(offsets):
                parts.append(_Part(path, start, end, line))
                if end < size:  # the lines after the last part need no counting
                    line += _count_lines(handle, end - start)
    return parts


def line_starts(path: Path, size: int, pieces: int) -> list[int]:
    """Where up to `pieces` ranges of about the same size of a file of lines start, each at
    the start of a line (a long line is read past in bounded pieces, never held whole)."""
    starts = [0]
    with open(path, "rb") as handle:
        for i in range(1, pieces):
            handle.seek(max(starts[-1], size * i // pieces))
            if bounded_line(handle, TOO_LONG) is None:  # to the start of the next line
                break
            if starts[-1] < handle.tell() < size:
                starts.append(handle.tell())
    return starts


def _parquet_parts(path: Path, pieces: int) -> list[_Part]:
    """`pieces` ranges of rows that cost about the same to read. A range may start inside a
    row group: its reader first decodes and drops the group's rows before it, so it is given
    fewer rows."""
    metadata = parquet_file(path).metadata
    group_starts = list(
        itertools.accumulate(
            (metadata.row_group(i).num_rows for i in range(metadata.num_row_groups - 1)), initial=0
        )
    )

    def skipped(start: int) -> int:
        return start - group_starts[bisect.bisect_right(group_starts, start) - 1]

    ends = _balanced_ends(metadata.num_rows, pieces, skipped)
    starts = [0, *ends[:-1]]
    return [
        _Part(path, start, end, start + 1, PARQUET)
        for start, end in zip(starts, ends, strict=True)
        if end > start
    ]


# Decoding a Parquet row and dropping it costs about this share of reading it (0.1-0.13 on
# rows of full histograms).
SKIPPED_ROW_COST = 0.1


def _balanced_ends(rows: int, pieces: int, skipped: Callable[[int], int]) -> list[int]:
    """Where `pieces` consecutive ranges of `rows` rows end so that the costliest one costs
    least, a range costing its rows plus `SKIPPED_ROW_COST` for each of the `skipped(start)`
    rows it decodes and drops first."""

    def ends_within(cost: float) -> list[int]:
        ends, start = [], 0
        for _ in range(pieces):
            start = min(rows, start + max(1, int(cost - SKIPPED_ROW_COST * skipped(start))))
            ends.append(start)
        return ends

    low, high = rows / pieces, float(rows)  # what the costliest range costs lies between
    while high - low > 1:
        middle = (low + high) / 2
        low, high = (low, middle) if ends_within(middle)[-1] >= rows else (middle, high)
    return ends_within(high)


def _count_lines(handle, size: int) -> int:
    count = 0
    while size > 0:
        block = handle.read(min(size, 16 << 20))
        if not block:
            break
        count += block.count(b"\n")
        size -= len(block)
    return count


# What a part gave, and the hashes of the (series, build id) of its accepted rows, to find the
# same row in another part (a false match is as likely as a collision among 2**64 values).
PartResult = tuple[Versions, np.ndarray]


def _repeated_across_parts(keys: list[np.ndarray]) -> bool:
    """Whether a row of one part has the series and build of a row in another (each part's
    own keys are distinct: a repeat within a part is already counted once)."""
    every = np.concatenate(keys) if keys else np.zeros(0, np.uint64)
    return len(np.unique(every)) < len(every)


def _key_hash(key: tuple) -> int:
    """The same in every process (unlike `hash`, randomized per interpreter)."""
    return int.from_bytes(hashlib.blake2b(repr(key).encode(), digest_size=8).digest(), "little")


def _load_parts(parts: list[_Part], workers: int) -> list[PartResult]:
    """Each part's series and problems, in order, read by `workers` processes. This process
    reads the first part itself instead of waiting idle for the others: it is the cheapest
    (a later part of a Parquet file first decodes and drops the start of the row group it
    shares with the part before), and this process still has the others' series to take in
    and merge when it is done. They come back through files (`series_transfer`), removed
    however reading ends."""
    _import_readers()
    with ProcessPoolExecutor(max_workers=workers - 1) as pool:
        futures = [pool.submit(_send_part, part) for part in parts[1:]]
        try:
            mine = _load_part(parts[0])
            others = [
                (dataclasses.replace(versions, series=receive(sent)), keys)
                for sent, versions, keys in (f.result() for f in futures)
            ]
        finally:
            for future in futures:
                if not future.cancel() and future.exception() is None:
                    discard(future.result()[0])
    return [mine, *others]


def _import_readers() -> None:
    """Import what reading a part needs before the reading processes are forked, so they
    inherit it instead of each importing it again."""
    import pyarrow.compute  # noqa: F401
    import pyarrow.csv  # noqa: F401
    import pyarrow.parquet  # noqa: F401


def _send_part(part: _Part) -> tuple[SentSeries | dict, Versions, np.ndarray]:
    """A part's series through a file, the rest of what it gave through the pool."""
    versions, keys = _load_part(part)
    return send(versions.series), dataclasses.replace(versions, series={}), keys


def _load_part(part: _Part) -> PartResult:
    seen: dict[tuple, str] = {}
    if part.kind == PARQUET:
        batches = parquet_batches(part.path, rows=range(part.start, part.end))
        versions = versions_from_batches(batches, seen)
    else:
        with open(part.path, "rb") as handle:
            handle.seek(part.start)
            lines = binary_lines(handle, part.end - part.start)
            rows = json_line_rows(part.path, lines, first=part.line)
            versions = versions_from_batches(
                batches_of_rows(rows, batch_rows(), str(part.path)), seen
            )
    return versions, np.fromiter((_key_hash(key) for key in seen), np.uint64, len(seen))
