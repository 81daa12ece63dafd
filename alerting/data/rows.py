"""Read GLAM rows from files: JSON lines, CSV, Parquet, and GLAM HTTP API responses.

Readers stream rows so a year of data never sits in memory twice. Each row carries where it
came from (`FILE:LINE`, or `FILE:row N` / `FILE:response[N]` where there are no lines) so a
bad row can be named and skipped while the rest is used. A file that is missing or cannot
be read at all is a `UserError`: nothing useful can come from it.
"""

from __future__ import annotations

import bisect
import csv
import gzip
import io
import itertools
import os
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import orjson

from alerting.data.merge import merge_series
from alerting.data.model import DailySeries, SeriesKey
from alerting.data.parquet_rows import (
    batch_rows,
    parquet_batches,
    parquet_file,
    parquet_rows,
    parquet_size,
)
from alerting.data.row_batch import PROBLEM, ROW_COLUMNS, WHERE, RowBatch, batches_of_rows
from alerting.data.series import series_from_batches, series_from_rows
from alerting.data.series_transfer import SentSeries, discard, receive, send
from alerting.errors import UserError

JSON_LINES = "jsonl"
JSON_DOCUMENT = "json"
CSV = "csv"
PARQUET = "parquet"

# One line (a row of JSON lines or CSV) is read into memory at most this big; a longer one is
# reported and skipped without ever being held whole (a gzip file can hide gigabytes in one).
MAX_LINE_BYTES = 64 << 20
# csv's own cell limit (128 KiB) is below real histogram cells; lines are bounded instead.
csv.field_size_limit(MAX_LINE_BYTES)
# What a CSV line over the limit is read as: one cell no real file starts a line with.
_CSV_TOO_LONG = "\x1ftoo long\n"
# A whole-document JSON file (a GLAM API response) is read at most this big.
MAX_DOCUMENT_BYTES = 256 << 20

_SUFFIXES = {
    ".jsonl": JSON_LINES,
    ".ndjson": JSON_LINES,
    ".json": JSON_DOCUMENT,
    ".csv": CSV,
    ".parquet": PARQUET,
    ".pq": PARQUET,
}


def read_series(paths: Iterable[str | Path]) -> tuple[dict[SeriesKey, DailySeries], list[str]]:
    """Daily series from GLAM row files, and one "FILE:LINE: reason" per skipped row.

    Raises `UserError` when a file cannot be read, or when not one row was usable.
    """
    paths = existing_files(paths)
    parts = _parts(paths)
    workers = min(len(parts), os.cpu_count() or 1)
    if workers > 1:
        results = _load_parts(parts, workers)
        problems = [problem for _, part_problems in results for problem in part_problems]
        series = merge_series((part for part, _ in results), problems)
    else:
        problems = []
        series = series_from_batches(_all_batches(paths), problems)
    if not series and problems:
        raise no_usable_row(problems)
    return series, problems


def no_usable_row(problems: list[str]) -> UserError:
    """The error of an input whose every row was skipped, showing the first reasons."""
    shown = "\n  ".join(problems[:5])
    more = f"\n  ... and {len(problems) - 5} more" if len(problems) > 5 else ""
    return UserError(f"no usable GLAM row in the input:\n  {shown}{more}")


def existing_files(paths: Iterable[str | Path]) -> list[Path]:
    """The paths, after checking they all exist (so a typo fails before any reading)."""
    paths = [Path(p) for p in paths]
    for path in paths:
        if not path.is_file():
            raise UserError(f"{path}: no such file")
    return paths


def _all_batches(paths: list[Path]) -> Iterator[RowBatch]:
    """The rows of all files as batches, numbered on from file to file."""
    first = 1
    for path in paths:
        if file_kind(path) == PARQUET:
            batches = parquet_batches(path)
        else:
            batches = batches_of_rows(iter_rows(path, ROW_COLUMNS), batch_rows())
        for batch in batches:
            batch.first = first
            first += len(batch)
            yield batch


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


def _load_parts(parts: list[_Part], workers: int) -> list[tuple[dict, list[str]]]:
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
            others = [(receive(sent), problems) for sent, problems in (f.result() for f in futures)]
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


def _send_part(part: _Part) -> tuple[SentSeries | dict, list[str]]:
    series, problems = _load_part(part)
    return send(series), problems


def _load_part(part: _Part) -> tuple[dict[SeriesKey, DailySeries], list[str]]:
    problems: list[str] = []
    if part.kind == PARQUET:
        batches = parquet_batches(part.path, rows=range(part.start, part.end))
        return series_from_batches(batches, problems), problems
    with open(part.path, "rb") as handle:
        handle.seek(part.start)
        lines = binary_lines(handle, part.end - part.start)
        series = series_from_rows(json_line_rows(part.path, lines, first=part.line), problems)
    return series, problems


# Binary files are read in blocks of this size and split into lines: far fewer calls than a
# `readline` per line.
BLOCK_BYTES = 1 << 20


def binary_lines(handle, size: int | None = None) -> Iterator[bytes]:
    """The lines (without their line ending) of a binary file, or of its next `size` bytes,
    with `TOO_LONG` standing for each one over `MAX_LINE_BYTES` (never held whole)."""
    limit = MAX_LINE_BYTES
    left = -1 if size is None else size
    carry: list[bytes] = []  # the start of a line whose end is in a later block
    carried = 0
    skipping = False  # in a line already found too long
    while left:
        block = handle.read(BLOCK_BYTES if left < 0 else min(BLOCK_BYTES, left))
        if not block:
            break
        if left > 0:
            left -= len(block)
        lines = block.split(b"\n")
        tail = lines.pop()
        if lines and skipping:  # the long line ends in this block
            lines[0], skipping = TOO_LONG, False
        elif lines and carry:
            lines[0] = b"".join(carry) + lines[0]
            carry, carried = [], 0
        for line in lines:
            yield line if len(line) <= limit else TOO_LONG
        if not skipping:
            carry.append(tail)
            carried += len(tail)
            if carried > limit:
                carry, carried, skipping = [], 0, True
    if skipping:
        yield TOO_LONG
    elif carried:
        yield b"".join(carry)


def bounded_lines(handle, too_long) -> Iterator:
    """The lines of a file (binary or text) with `too_long` standing for each one over
    `MAX_LINE_BYTES`."""
    while (line := bounded_line(handle, too_long)) is not None:
        yield line


def bounded_line(handle, too_long):
    """The next line, or `too_long` for one over `MAX_LINE_BYTES` (read past in bounded
    pieces, never held whole), or None at the end."""
    limit = MAX_LINE_BYTES
    line = handle.readline(limit + 1)
    if not line:
        return None
    ending = "\n" if isinstance(line, str) else b"\n"
    if len(line) <= limit or line.endswith(ending):
        return line
    while line and not line.endswith(ending):
        line = handle.readline(limit)
    return too_long


# What a binary line over the limit is read as: compared by identity, so no line read can
# be taken for it.
TOO_LONG = b"\x00line too long"


def iter_rows(path: Path, columns: Collection[str] | None = None) -> Iterator[dict]:
    """Rows of one file; lines that are not rows come as {WHERE, PROBLEM} markers.

    `columns` may name the only columns needed (a hint: formats read row by row ignore it).
    """
    kind = file_kind(path)
    try:
        if kind == PARQUET:
            yield from parquet_rows(path, columns)
        elif kind == CSV:
            yield from _csv_rows(path)
        else:
            yield from _json_rows(path, kind)
    except OSError as error:
        raise UserError(f"{path}: cannot read: {error.strerror or error}") from None
    except (UnicodeDecodeError, EOFError, gzip.BadGzipFile) as error:
        raise UserError(f"{path}: cannot read: {error}") from None


def file_kind(path: Path) -> str:
    """The format by extension (`.gz` allowed around text formats), else by content."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in _SUFFIXES:
        return _SUFFIXES[suffixes[-1]]
    try:
        with _open_binary(path) as handle:
            head = handle.read(4096)
    except OSError as error:
        raise UserError(f"{path}: cannot read: {error.strerror or error}") from None
    if head.startswith(b"PAR1"):
        return PARQUET
    text = head.lstrip()
    if text.startswith(b"{"):
        first_line = text.split(b"\n", 1)[0]
        try:
            orjson.loads(first_line)
        except orjson.JSONDecodeError:
            return JSON_DOCUMENT
        return JSON_LINES
    if text.startswith(b"["):
        return JSON_DOCUMENT
    return CSV


def _open_binary(path: Path):
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rb")
    return open(path, "rb")


def _json_rows(path: Path, kind: str) -> Iterator[dict]:
    with _open_binary(path) as handle:
        if kind == JSON_DOCUMENT:
            data = handle.read(MAX_DOCUMENT_BYTES + 1)
            if len(data) > MAX_DOCUMENT_BYTES:
                raise UserError(
                    f"{path}: over {MAX_DOCUMENT_BYTES >> 20} MiB as one JSON document; "
                    "write big inputs as JSON lines (one row a line) or Parquet"
                )
            try:
                document = orjson.loads(data)
            except orjson.JSONDecodeError:
                document = None
            if document is not None:
                yield from _document_rows(path, document)
                return
            handle = io.BytesIO(data)  # not one JSON document: try it as JSON lines
        yield from json_line_rows(path, handle)


def json_line_rows(path: Path, handle, first: int = 1) -> Iterator[dict]:
    loads = orjson.loads
    any_row = first > 1
    lines = binary_lines(handle) if hasattr(handle, "read") else handle
    prefix = f"{path}:"
    for number, line in enumerate(lines, start=first):
        where = f"{prefix}{number}"
        if line is TOO_LONG:
            yield {WHERE: where, PROBLEM: f"line over {MAX_LINE_BYTES:,} bytes; skipped"}
            continue
        if not line or line.isspace():  # (no copy of the line, unlike strip)
            continue
        try:
            row = loads(line)
        except orjson.JSONDecodeError:
            if number == 1 and not any_row and not line.lstrip().startswith(b"{"):
                raise UserError(
                    f"{path}: not GLAM rows (expected JSON lines, CSV, Parquet or a GLAM API "
                    "response)"
                ) from None
            yield {WHERE: where, PROBLEM: "not valid JSON"}
            continue
        if not isinstance(row, dict):
            yield {WHERE: where, PROBLEM: "row is not a JSON object"}
            continue
        any_row = True
        row[WHERE] = where
        yield row


def _document_rows(path: Path, document: object) -> Iterator[dict]:
    """A GLAM API response `{"response": [...]}`, or a plain JSON list of rows."""
    if isinstance(document, dict) and isinstance(document.get("response"), list):
        items, label = document["response"], "response"
    elif isinstance(document, list) and not all(isinstance(x, str) for x in document):
        items, label = document, "rows"
    elif isinstance(document, list):
        raise UserError(f"{path}: a GLAM API error response: {'; '.join(document)[:300]}")
    else:
        raise UserError(f'{path}: JSON without GLAM rows (expected {{"response": [...]}})')
    for index, row in enumerate(items):
        where = f"{path}:{label}[{index}]"
        if not isinstance(row, dict):
            yield {WHERE: where, PROBLEM: "row is not a JSON object"}
            continue
        row[WHERE] = where
        yield row


def _csv_rows(path: Path) -> Iterator[dict]:
    with _open_binary(path) as binary, io.TextIOWrapper(binary, encoding="utf-8") as text:
        reader = csv.DictReader(bounded_lines(text, _CSV_TOO_LONG))
        try:
            header = reader.fieldnames
        except csv.Error as error:
            raise UserError(f"{path}:1: not valid CSV: {error}") from None
        if not header or "build_id" not in header:
            raise UserError(f"{path}: not a GLAM CSV file (no header with a build_id column)")
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:  # this row only (a cell over the limit, a stray quote)
                yield {WHERE: f"{path}:{reader.line_num}", PROBLEM: f"not valid CSV: {error}"}
                continue
            row[WHERE] = f"{path}:{reader.line_num}"
            if row[header[0]] == _CSV_TOO_LONG[:-1]:
                row[PROBLEM] = f"line over {MAX_LINE_BYTES:,} bytes; skipped"
            elif None in row:  # more cells than header columns
                del row[None]
                row[PROBLEM] = "more cells than header columns"
            yield row
