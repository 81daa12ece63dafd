"""Rows of Parquet files, read column by column with pyarrow (imported only when needed)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path

from alerting.data import series
from alerting.data.row_batch import HISTOGRAM_TEXTS, ROW_COLUMNS, ROW_NUMBER, WHERE, RowBatch
from alerting.errors import UserError


def batch_rows() -> int:
    """Rows in a batch: the series step's chunk, read when called (so it can be changed)."""
    return series.CHUNK_ROWS


def parquet_size(path: Path) -> int:
    """Bytes of a Parquet file's data once decoded (what reading it costs)."""
    metadata = parquet_file(path).metadata
    return sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))


def used_columns(parquet, path: Path, wanted: Collection[str] | None = ROW_COLUMNS) -> list[str]:
    """The columns of a Parquet file to read, in file order: those in `wanted` (None: all).
    A file with two columns of one of those names is a `UserError` naming it: read by name,
    either could be taken for the other (and pyarrow returns both, shifting the others), so
    every row would look wrong while the mistake is in the file's columns. A column no row is
    read by may repeat (it is not read)."""
    names = parquet.schema_arrow.names
    first: dict[str, int] = {}
    repeated = set()
    for number, name in enumerate(names, start=1):
        if name in first:
            repeated.add(name)
            if wanted is None or name in wanted:
                raise UserError(
                    f"{path}: the file has two columns named {name!r} (columns "
                    f"{first[name]} and {number}); give each column its own name"
                )
        first.setdefault(name, number)
    return [n for n in first if n not in repeated and (wanted is None or n in wanted)]


def parquet_rows(
    path: Path,
    columns: Collection[str] | None = None,
    row_groups: Iterable[int] | None = None,
    first: int = 1,
) -> Iterator[dict]:
    """Rows of a Parquet file (or of some of its row groups, the first numbered `first`),
    converted column by column (much faster than row by row); only `columns` (those the
    file has) when given."""
    import pyarrow as pa

    try:
        parquet = parquet_file(path)
        names = used_columns(parquet, path, columns)
        groups = None if row_groups is None else list(row_groups)
        number = first - 1
        for batch in group_batches(parquet, names, groups, 8192):
            values = [batch.column(name).to_pylist() for name in names]
            for row_values in zip(*values, strict=True):
                number += 1
                row = dict(zip(names, row_values, strict=True))
                row[WHERE] = f"{path}:row {number}"
                yield row
    except (pa.ArrowException, ValueError, OSError) as error:  # OSError: damaged pages
        raise UserError(f"{path}: not a readable Parquet file: {error}") from None


def parquet_batches(
    path: Path,
    row_groups: Iterable[int] | None = None,
    first: int = 1,
    select: Callable | None = None,
    name: Path | None = None,
    numbered: bool = False,
    rows: range | None = None,
) -> Iterator[RowBatch]:
    """The rows of a Parquet file (or of some of its row groups, the first numbered `first`;
    or its rows `rows`, counted from 0) as batches: only the columns series are made of, each
    turned into a list at once, and no dict per row. With `select`, only the rows
    `select(record batch)` marks (a boolean array), still named by their place in the file.
    A regrouped file (`numbered`) carries each row's number in the file `name` it was copied
    from, and its rows are named so. The histogram texts stay a pyarrow array (see
    `RowBatch`)."""
    import pyarrow as pa

    try:
        parquet = parquet_file(path)
        names = used_columns(parquet, path)
        groups = None if row_groups is None else list(row_groups)
        if rows is not None:
            groups, first = _groups_of(parquet.metadata, rows)
        number, prefix = first, f"{name or path}:row "
        columns = [*names, ROW_NUMBER] if numbered else names
        for batch in group_batches(parquet, columns, groups, batch_rows()):
            start, number = number, number + batch.num_rows
            if rows is not None:  # only those rows (numbered from 1 here)
                lo = max(rows.start + 1 - start, 0)
                hi = min(rows.stop + 1 - start, batch.num_rows)
                if hi <= 0:
                    return
                if lo >= hi:
                    continue
                if hi - lo < batch.num_rows:
                    batch, start = batch.slice(lo, hi - lo), start + lo
            if numbered:
                numbers = batch.column(ROW_NUMBER).to_pylist()
            else:
                numbers = range(start, start + batch.num_rows)
            if select is not None:
                kept = select(batch).nonzero()[0]
                batch, numbers = batch.take(kept), [numbers[i] for i in kept]
                if not len(numbers):
                    continue
            size = batch.num_rows
            columns = {name: _values(batch.column(name), name) for name in names}
            columns.update((name, [None] * size) for name in ROW_COLUMNS - set(names))
            where = [f"{prefix}{n}" for n in numbers]
            yield RowBatch(columns, where, {}, numbers[0], str(name or path))
    except (pa.ArrowException, ValueError, OSError) as error:  # OSError: damaged pages
        raise UserError(f"{path}: not a readable Parquet file: {error}") from None


def group_batches(parquet, columns: list[str], groups: Iterable[int] | None, size: int):
    """The record batches of some row groups (None: all), read one row group at a time: one
    pyarrow reader over many row groups keeps what it decoded until it is done (gigabytes for
    a big file). One thread: the decoding is a small part of the work, and threads that take
    turns with this one cost more CPU (and page faults) than they save."""
    for group in range(parquet.metadata.num_row_groups) if groups is None else groups:
        yield from parquet.iter_batches(
            batch_size=size, columns=columns, row_groups=[group], use_threads=False
        )


def _groups_of(metadata, rows: range) -> tuple[list[int], int]:
    """The row groups that hold `rows`, and the number (from 1) of the first one's first
    row."""
    groups, first, start = [], 1, 0
    for group in range(metadata.num_row_groups):
        end = start + metadata.row_group(group).num_rows
        if start < rows.stop and end > rows.start:
            if not groups:
                first = start + 1
            groups.append(group)
        start = end
    return groups, first


def _values(column, name: str):
    """A column as a list; histogram texts stay an array (most are parsed from it in bulk)."""
    if name == HISTOGRAM_TEXTS:
        return column
    return column.to_pylist()


def parquet_file(path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, ValueError) as error:
        raise UserError(f"{path}: not a readable Parquet file: {error}") from None
    except OSError as error:
        raise UserError(f"{path}: cannot read: {error.strerror or error}") from None
