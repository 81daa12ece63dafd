"""Read GLAM rows from files: JSON lines, CSV, Parquet, and GLAM HTTP API responses.

Readers stream rows so a year of data never sits in memory twice. Each row carries where it
came from (`FILE:LINE`, or `FILE:row N` / `FILE:response[N]` where there are no lines) so a
bad row can be named and skipped while the rest is used. A file that is missing or cannot
be read at all is a `UserError`: nothing useful can come from it.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson

from alerting.data.model import DailySeries, SeriesKey
from alerting.data.series import PROBLEM, WHERE, series_from_rows
from alerting.errors import UserError

JSON_LINES = "jsonl"
JSON_DOCUMENT = "json"
CSV = "csv"
PARQUET = "parquet"

_SUFFIXES = {
    ".jsonl": JSON_LINES,
    ".ndjson": JSON_LINES,
    ".json": JSON_DOCUMENT,
    ".csv": CSV,
    ".parquet": PARQUET,
    ".pq": PARQUET,
}


def read_rows(paths: Iterable[str | Path]) -> tuple[list[dict], list[str]]:
    """All rows of all files, and "FILE:LINE: reason" for each line that is not a row.

    Checks of the row contents (build id, histogram) happen when series are built; use
    `load_series` to get every problem.
    """
    rows: list[dict] = []
    problems: list[str] = []
    for row in _all_rows(paths):
        if PROBLEM in row:
            problems.append(f"{row[WHERE]}: {row[PROBLEM]}")
        else:
            rows.append(row)
    return rows, problems


def load_series(paths: Iterable[str | Path]) -> tuple[dict[SeriesKey, DailySeries], list[str]]:
    """Daily series from GLAM row files, and one "FILE:LINE: reason" per skipped row.

    Raises `UserError` when a file cannot be read, or when not one row was usable.
    """
    problems: list[str] = []
    series = series_from_rows(_all_rows(paths), problems)
    if not series and problems:
        shown = "\n  ".join(problems[:5])
        more = f"\n  ... and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise UserError(f"no usable GLAM row in the input:\n  {shown}{more}")
    return series, problems


def _all_rows(paths: Iterable[str | Path]) -> Iterator[dict]:
    paths = list(paths)
    for path in paths:  # fail on a missing file before reading any
        if not Path(path).is_file():
            raise UserError(f"{path}: no such file")
    return itertools.chain.from_iterable(iter_rows(Path(p)) for p in paths)


def iter_rows(path: Path) -> Iterator[dict]:
    """Rows of one file; lines that are not rows come as {WHERE, PROBLEM} markers."""
    kind = file_kind(path)
    try:
        if kind == PARQUET:
            yield from _parquet_rows(path)
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
            data = handle.read()
            try:
                document = orjson.loads(data)
            except orjson.JSONDecodeError:
                document = None
            if document is not None:
                yield from _document_rows(path, document)
                return
            handle = io.BytesIO(data)  # not one JSON document: try it as JSON lines
        yield from _json_lines(path, handle)


def _json_lines(path: Path, handle) -> Iterator[dict]:
    loads = orjson.loads
    any_row = False
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
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
        reader = csv.DictReader(text)
        if not reader.fieldnames or "build_id" not in reader.fieldnames:
            raise UserError(f"{path}: not a GLAM CSV file (no header with a build_id column)")
        try:
            for row in reader:
                row[WHERE] = f"{path}:{reader.line_num}"
                if None in row:  # more cells than header columns
                    del row[None]
                    row[PROBLEM] = "more cells than header columns"
                yield row
        except csv.Error as error:
            raise UserError(f"{path}:{reader.line_num}: not valid CSV: {error}") from None


def _parquet_rows(path: Path) -> Iterator[dict]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        batches = parquet.iter_batches(batch_size=65536)
        number = 0
        for batch in batches:
            for row in batch.to_pylist():
                number += 1
                row[WHERE] = f"{path}:row {number}"
                yield row
    except (pa.ArrowException, ValueError) as error:
        raise UserError(f"{path}: not a readable Parquet file: {error}") from None
