"""The files GLAM rows come in, and their rows one by one: JSON lines, CSV, Parquet, and
GLAM HTTP API responses (a JSON document).

Readers stream rows so a year of data never sits in memory twice. Each row carries where it
came from (`FILE:LINE`, or `FILE:row N` / `FILE:response[N]` where there are no lines) so a
bad row can be named and skipped while the rest is used. A missing file is a `UserError`
before anything is read. A file that cannot be read (a truncated or corrupt gzip file, a
disk error) is a problem of that file, reported like a bad row, so the other files are
still used; a CSV line with bytes that are not UTF-8 loses only its row.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import zlib
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

import orjson

from alerting.data.parquet_rows import parquet_rows
from alerting.data.row_batch import PROBLEM, ROW_COLUMNS, WHERE
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
# What Excel's "CSV UTF-8" and some JSON exports put before the first line: not part of it.
BOM = codecs.BOM_UTF8

_SUFFIXES = {
    ".jsonl": JSON_LINES,
    ".ndjson": JSON_LINES,
    ".json": JSON_DOCUMENT,
    ".csv": CSV,
    ".parquet": PARQUET,
    ".pq": PARQUET,
}


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
    A file that cannot be read on ends with one marker naming it and how far it was read.
    """
    kind = file_kind(path)
    if kind == PARQUET:
        rows = parquet_rows(path, columns)
    elif kind == CSV:
        rows = _csv_rows(path)
    else:
        rows = _json_rows(path, kind)
    last = None
    try:
        for last in rows:  # noqa: B007 (the last row read is named if reading fails)
            yield last
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as error:
        reason = (error.strerror if isinstance(error, OSError) else None) or error
        if last is None:
            read = "none of its rows are used"
        else:
            read = f"rows up to {last[WHERE]} are used, the rest is not"
        yield {
            WHERE: str(path),
            PROBLEM: f"cannot read: {reason}; {read} (check the file is complete and in the "
            "format its name says, e.g. copy or download it again)",
        }


def unused_file(error: UserError) -> str:
    """The problem of a file that cannot be read (on): the rows read before are used."""
    return f"{error}; the rest of this file is not used"


def existing_files(paths: Iterable[str | Path]) -> list[Path]:
    """The paths, after checking they all exist (so a typo fails before any reading)."""
    paths = [Path(p) for p in paths]
    for path in paths:
        if path.is_dir():
            raise UserError(f"{path}: a folder, not a file; name the files in it instead")
        if not path.is_file():
            raise UserError(f"{path}: no such file")
    return paths


def repeated_files(paths: list[Path]) -> dict[int, str]:
    """The files given more than once (the same path, or another name of the same file):
    position in `paths` -> the problem naming it. Each file is read once: its rows read twice
    would count twice."""
    first: dict[tuple[int, int], Path] = {}
    repeats = {}
    for n, path in enumerate(paths):
        try:
            stat = path.stat()
        except OSError:  # reading it says why
            continue
        earlier = first.setdefault((stat.st_dev, stat.st_ino), path)
        if earlier is not path:
            same = "given twice" if str(earlier) == str(path) else f"the same file as {earlier}"
            repeats[n] = f"{path}: {same}; its rows are read once"
    return repeats


def file_kind(path: Path) -> str:
    """The format by extension (`.gz` allowed around text formats), else by content. A gzip
    file whose start cannot be decompressed is taken as JSON lines: reading it reports why, as
    a problem of that file only (gzip files are only ever read whole, by `iter_rows`)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in _SUFFIXES:
        kind = _SUFFIXES[suffixes[-1]]
        # BigQuery's newline-delimited exports are named *.json: one row a line.
        return JSON_LINES if kind == JSON_DOCUMENT and _first_line_is_a_row(path) else kind
    try:
        with _open_binary(path) as handle:
            head = handle.read(4096)
    except (gzip.BadGzipFile, EOFError, zlib.error):
        return JSON_LINES
    except OSError as error:
        raise UserError(f"{path}: cannot read: {error.strerror or error}") from None
    if head.startswith(b"PAR1"):
        return PARQUET
    text = head.removeprefix(BOM).lstrip()
    if text.startswith(b"{"):
        return JSON_LINES if _first_line_is_a_row(path) else JSON_DOCUMENT
    if text.startswith(b"["):
        return JSON_DOCUMENT
    return CSV


def _first_line_is_a_row(path: Path) -> bool:
    """Whether the file's first line is a whole GLAM row (a JSON object with a `build_id` or
    `metric`): a file of JSON lines, however long its lines (read up to MAX_LINE_BYTES, never
    whole)."""
    try:
        with _open_binary(path) as handle:
            line = bounded_line(handle, TOO_LONG)
    except (OSError, EOFError, zlib.error):
        return False
    if line is None or line is TOO_LONG:
        return False
    try:
        first = orjson.loads(line.removeprefix(BOM))
    except orjson.JSONDecodeError:
        return False
    return isinstance(first, dict) and ("build_id" in first or "metric" in first)


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
                document = orjson.loads(data.removeprefix(BOM))
            except orjson.JSONDecodeError:
                document = None
            if document is not None:
                yield from _document_rows(path, document)
                return
            handle = io.BytesIO(data)  # not one JSON document: try it as JSON lines
        yield from json_line_rows(path, handle)


def json_line_rows(path: Path, handle, first: int = 1) -> Iterator[dict]:
    """The rows of JSON lines (a binary file, or its lines numbered from `first`); a byte-order
    mark before the file's first line is dropped, as it is not part of the row."""
    loads = orjson.loads
    any_row = first > 1
    lines = binary_lines(handle) if hasattr(handle, "read") else handle
    prefix = f"{path}:"
    for number, line in enumerate(lines, start=first):
        where = f"{prefix}{number}"
        if line is TOO_LONG:
            yield {WHERE: where, PROBLEM: f"line over {MAX_LINE_BYTES:,} bytes; skipped"}
            continue
        if number == 1:
            line = line.removeprefix(BOM)
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
    for index in range(len(items)):
        # Each row let go once read (`items` holds them all, and each grows by its place).
        row, items[index] = items[index], None
        where = f"{path}:{label}[{index}]"
        if not isinstance(row, dict):
            yield {WHERE: where, PROBLEM: "row is not a JSON object"}
            continue
        row[WHERE] = where
        yield row


def _csv_rows(path: Path) -> Iterator[dict]:
    # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") is not part of the first column's name.
    # surrogateescape: a byte that is not UTF-8 costs its row only (see `_marking_undecodable`).
    with (
        _open_binary(path) as binary,
        io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape") as text,
    ):
        undecodable = [0]
        reader = csv.DictReader(
            _marking_undecodable(bounded_lines(text, _CSV_TOO_LONG), undecodable)
        )
        try:
            header = reader.fieldnames
        except csv.Error as error:
            raise UserError(f"{path}:1: not valid CSV: {error}") from None
        if not header or "build_id" not in header:
            raise UserError(f"{path}: not a GLAM CSV file (no header with a build_id column)")
        _check_header(path, header, reader.line_num)
        row_start = reader.line_num  # the last line before the next row
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:  # this row only (a cell over the limit, a stray quote)
                yield {WHERE: f"{path}:{reader.line_num}", PROBLEM: f"not valid CSV: {error}"}
                row_start = reader.line_num
                continue
            row[WHERE] = f"{path}:{reader.line_num}"
            if row[header[0]] == _CSV_TOO_LONG[:-1]:
                row[PROBLEM] = f"line over {MAX_LINE_BYTES:,} bytes; skipped"
            elif undecodable[0] > row_start:
                row[PROBLEM] = "bytes that are not UTF-8 text; skipped (save the file as UTF-8)"
            elif None in row:  # more cells than header columns
                del row[None]
                row[PROBLEM] = "more cells than header columns"
            row_start = reader.line_num
            yield row


def _check_header(path: Path, header: list[str], line: int) -> None:
    """Refuse a header naming a column rows are read by twice: each row would keep only the
    last column's cell, so every row would look wrong while the mistake is in the header.
    Other columns are never read, and may repeat."""
    first: dict[str, int] = {}
    for number, name in enumerate(header, start=1):
        if name in ROW_COLUMNS and name in first:
            raise UserError(
                f"{path}:{line}: the header names column {name!r} twice (columns "
                f"{first[name]} and {number}); give each column its own name"
            )
        first.setdefault(name, number)


def _marking_undecodable(lines: Iterable[str], undecodable: list[int]) -> Iterator[str]:
    """The lines (decoded with surrogateescape), keeping in `undecodable[0]` the number of the
    last one read that had bytes that are not UTF-8, so the row holding it can be refused."""
    for number, line in enumerate(lines, start=1):
        if not line.isascii():  # (constant time: most lines cost nothing more)
            try:
                line.encode()
            except UnicodeEncodeError:  # only an escaped byte does not encode back
                undecodable[0] = number
        yield line
