"""Where each metric's rows are in the data files, so a batch of probes reads only its rows.

A fleet's rows do not fit in memory as series at once. One pass over the files records, per
metric, the runs of lines (JSON lines) or the row groups (Parquet) holding its rows; a batch
of probes then reads only those and builds only its own series. Rows without a usable metric
are gathered under `NO_METRIC`, so they are still read once and reported. A file that cannot
be read (on) is a problem of that file only, reported by the batch that reads those rows, as
when the files are read whole; the other files are still used.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alerting.data.model import DailySeries, SeriesKey
from alerting.data.parquet_rows import batch_rows, parquet_batches, parquet_file, used_columns
from alerting.data.ping_types import LeftOut
from alerting.data.row_batch import PROBLEM, RowBatch, batches_of_rows
from alerting.data.row_files import (
    BLOCK_BYTES,
    JSON_LINES,
    PARQUET,
    TOO_LONG,
    binary_lines,
    bounded_lines,
    existing_files,
    file_kind,
    json_line_rows,
    repeated_files,
    unused_file,
)
from alerting.data.rows import PARALLEL_BYTES, line_starts
from alerting.data.series import series_from_batches
from alerting.errors import UserError

# Rows whose metric is missing, empty or not text: read by one batch of their own, which
# reports them ("missing metric", "not valid JSON", ...) and builds nothing from them.
NO_METRIC = ""

# `"metric": "name"` in a JSON line. When a line holds exactly one such key and its value is
# plain text (no escapes), that is the row's metric (or, if the key is nested in another
# object, the row has no metric and its reader reports it); any other line is parsed whole.
_METRIC = re.compile(rb'"metric"\s*:\s*(?:"([^"\\\n]*)")?')

Span = tuple[int, int, int]  # JSON lines: (start byte, end byte, first line number)
# Parquet: (row group, its first row number, 0)


@dataclass
class FileIndex:
    """Where each metric's rows are in one file, in the order metrics first appear."""

    path: Path
    kind: str
    places: dict[str, list[Span]]
    # Why the file, or its part after the places found, cannot be read ("": it can).
    problem: str = ""


@dataclass(frozen=True)
class Slice:
    """The rows of some metrics in one file: what one batch reads of it."""

    path: Path
    kind: str
    spans: tuple[Span, ...]
    metrics: frozenset[str]
    # A file holding only these metrics' rows, copied from `source` with each row's number
    # there (see `regroup`): its rows are all read, and named after `source`.
    source: Path | None = None
    problem: str = ""  # the file's problem (`FileIndex.problem`), reported by this slice


def indexable(paths: Iterable[Path]) -> bool:
    """Whether every file can be read by parts: plain (not gzipped) JSON lines or Parquet (a
    file that cannot be read at all is: indexing it says why). A missing file is a
    `UserError`."""
    return all(p.suffix.lower() != ".gz" and _kind(p) in (JSON_LINES, PARQUET) for p in paths)


def _kind(path: Path) -> str:
    if not path.is_file():
        existing_files([path])  # the error of a missing file
    try:
        return file_kind(path)
    except UserError:
        return JSON_LINES


def index_files(paths: Iterable[Path]) -> list[FileIndex]:
    """One pass over each file: where each metric's rows are. A file that cannot be read (not
    GLAM rows at all, a damaged Parquet file) is indexed with its `problem` (and the places
    found before the damage): the batch that reads the rows without a metric reports it, as
    reading the files whole does, and the other files are still used. So is a file given
    more than once, whose rows are read once."""
    paths = list(paths)
    repeated = repeated_files(paths)
    indexes = []
    for n, path in enumerate(paths):
        if n in repeated:  # read once: only its problem to report
            indexes.append(FileIndex(path, JSON_LINES, {NO_METRIC: []}, repeated[n]))
            continue
        kind, problem = JSON_LINES, ""
        try:
            kind = file_kind(path)
            if kind == PARQUET:
                places, problem = _parquet_places(path)
            else:
                places = _json_line_places(path)
        except UserError as error:
            places, problem = {}, unused_file(error)
        except OSError as error:  # a disk error
            places = {}
            problem = unused_file(UserError(f"{path}: cannot read: {error.strerror or error}"))
        if problem:
            places.setdefault(NO_METRIC, [])
        indexes.append(FileIndex(path, kind, places, problem))
    return indexes


def slices_for(indexes: list[FileIndex], metrics: Collection[str]) -> list[Slice]:
    """What to read of each file for the rows of `metrics` (NO_METRIC included if named)."""
    wanted = frozenset(metrics)
    slices = []
    for index in indexes:
        spans = sorted({s for m in wanted for s in index.places.get(m, ())})
        problem = index.problem if NO_METRIC in wanted else ""
        if spans or problem:
            slices.append(Slice(index.path, index.kind, tuple(spans), wanted, problem=problem))
    return slices


def read_slices(
    slices: list[Slice], left_out: LeftOut | None = None
) -> tuple[dict[SeriesKey, DailySeries], list[str]]:
    """The series of the selected rows, and one "FILE:LINE: reason" per skipped row; the
    rows left out for their ping type or aggregation are counted in `left_out`."""
    problems: list[str] = []
    batches = _slice_batches(slices, problems)
    return series_from_batches(batches, problems, None, left_out), problems


def _slice_batches(slices: list[Slice], problems: list[str]) -> Iterator[RowBatch]:
    """The selected rows as batches, numbered on in reading order (as a whole input is). A
    file that cannot be read (on) is one of `problems`; the other slices go on."""
    first = 1
    for part in slices:
        if part.problem:
            problems.append(part.problem)
        try:
            for batch in _batches(part):
                batch.first = first
                first += len(batch)
                yield batch
        except UserError as error:
            problems.append(unused_file(error))


def _batches(part: Slice) -> Iterator[RowBatch]:
    if not part.spans and part.source is None:  # only a problem to report
        return
    if part.source is not None:
        yield from parquet_batches(part.path, name=part.source, numbered=True)
        return
    if part.kind == PARQUET:
        select = _selector(part.metrics)
        for group, first, _ in part.spans:
            yield from parquet_batches(part.path, [group], first, select)
        return
    with open(part.path, "rb") as handle:
        yield from batches_of_rows(_slice_lines(part, handle), batch_rows(), str(part.path))


def _slice_lines(part: Slice, handle) -> Iterator[dict]:
    for start, end, first in part.spans:
        handle.seek(start)
        yield from json_line_rows(part.path, binary_lines(handle, end - start), first)


def _json_line_places(path: Path) -> dict[str, list[Span]]:
    """Runs of consecutive lines of one metric; blank lines join the run they follow. A big
    file is indexed by every core, a range of lines each (a run across two ranges is two)."""
    size = path.stat().st_size
    starts = line_starts(path, size, (os.cpu_count() or 1) if size >= PARALLEL_BYTES else 1)
    ranges = list(zip(starts, [*starts[1:], size], strict=True))
    # Lines are numbered from 2 in every range but the first, so that only the file's first
    # line is read as a first line; the numbers are made the file's own after.
    bases = [1] + [2] * (len(ranges) - 1)
    if len(ranges) == 1:
        found = [_places_in(path, 0, size, 1)]
    else:
        with ProcessPoolExecutor(max_workers=len(ranges)) as pool:
            lows, highs = zip(*ranges, strict=True)
            found = list(pool.map(_places_in, [path] * len(ranges), lows, highs, bases))
    places: dict[str, list[Span]] = {}
    first = 1  # the file's number of each range's first line
    for (part, lines), base in zip(found, bases, strict=True):
        for metric, spans in part.items():
            places.setdefault(metric, []).extend((a, b, n - base + first) for a, b, n in spans)
        first += lines
    return places


def _places_in(path: Path, start: int, end: int, base: int) -> tuple[dict[str, list[Span]], int]:
    """The runs of the lines in bytes [start, end) of a file, numbered from `base`, and how
    many lines there are."""
    places: dict[str, list[Span]] = {}
    run: list[int] | None = None  # [start, end, first line] of the current run
    metric = None
    offset = start
    number = base - 1
    # Read in big blocks: lines are taken one by one, and a small buffer would cost a system
    # call every few lines.
    with open(path, "rb", buffering=BLOCK_BYTES) as handle:
        handle.seek(start)
        for number, line in enumerate(bounded_lines(handle, TOO_LONG), start=base):
            if offset >= end:
                number -= 1
                break
            stop = handle.tell() if line is TOO_LONG else offset + len(line)
            blank = line is not TOO_LONG and not line.strip()
            if not blank or run is None:
                found = NO_METRIC if blank else _metric_of(path, line, number)
                if run is None or found != metric:
                    if run is not None:
                        places.setdefault(metric, []).append((run[0], run[1], run[2]))
                    run, metric = [offset, stop, number], found
            run[1] = offset = stop
    if run is not None:
        places.setdefault(metric, []).append((run[0], run[1], run[2]))
    return places, number - base + 1


def _metric_of(path: Path, line: bytes, number: int) -> str:
    """The metric of a JSON line (NO_METRIC when it has none that is usable)."""
    if number > 1 and line is not TOO_LONG:
        found = _METRIC.findall(line)
        if len(found) == 1 and found[0]:
            try:
                return found[0].decode()
            except UnicodeDecodeError:
                pass
    # Parsed as its reader will parse it (the first line of a file that is not JSON at all
    # is refused here, as there).
    row = next(json_line_rows(path, [line], number), None)
    value = row.get("metric") if row is not None and PROBLEM not in row else None
    return value if type(value) is str and value else NO_METRIC


def _parquet_places(path: Path) -> tuple[dict[str, list[Span]], str]:
    """The row groups holding each metric's rows (read from the `metric` column alone), and
    why the row groups after those cannot be read ("" when all can). A file that cannot be
    opened is a `UserError`."""
    import pyarrow as pa

    places: dict[str, list[Span]] = {}
    parquet = parquet_file(path)
    has_metric = "metric" in used_columns(parquet, path)  # (a file refused: a `UserError`)
    try:
        first = 1
        for group in range(parquet.metadata.num_row_groups):
            values = [None]
            if has_metric:
                column = parquet.read_row_group(group, columns=["metric"]).column(0)
                values = column.unique().to_pylist()
            for value in values:
                key = value if type(value) is str and value else NO_METRIC
                spans = places.setdefault(key, [])
                if not spans or spans[-1][0] != group:
                    spans.append((group, first, 0))
            first += parquet.metadata.row_group(group).num_rows
    except (pa.ArrowException, ValueError, OSError) as error:  # OSError: damaged pages
        problem = UserError(f"{path}: not a readable Parquet file: {error}")
        return places, unused_file(problem)
    return places, ""


def _selector(metrics: frozenset[str]):
    """The rows of a Parquet record batch whose metric is one of `metrics`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    names = pa.array(sorted(m for m in metrics if m != NO_METRIC), pa.string())
    orphans = NO_METRIC in metrics

    def select(batch) -> np.ndarray:
        field = batch.schema.get_field_index("metric")
        if field < 0 or not _is_text(batch.schema.types[field]):
            return np.full(batch.num_rows, orphans)  # no row here has a usable metric
        column = batch.column(field)
        mask = pc.is_in(column, value_set=names)
        if orphans:
            mask = pc.or_(mask, pc.fill_null(pc.equal(column, ""), True))
        return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)

    return select


def _is_text(kind) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)
