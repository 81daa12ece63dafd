"""Parquet files whose metrics are spread over their row groups, regrouped once per batch.

A batch of probes reads only the row groups holding its metrics. A file written in another
order (by day, as an export may be) has every metric in nearly every row group, so each batch
would decode nearly the whole file. Such a file is read once instead (by every core, a range
of row groups each), and its rows written, in their order, to files of their own per batch
together with each row's number in the original file, so problems still name the original
file and row. Each batch then reads its own files.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from alerting.data.arrow_arrays import arrow_numbers, arrow_strings, numpy_bools, numpy_numbers
from alerting.data.parquet_rows import batch_rows, group_batches, parquet_file, used_columns
from alerting.data.row_batch import ROW_NUMBER
from alerting.data.row_index import NO_METRIC, PARQUET, FileIndex, Slice, slices_for
from alerting.errors import UserError

# Regroup when the batches together would decode the file more than this many times over.
SPREAD = 2.0
# Files written at once by one pass over a spread file (each holds a descriptor open); more
# batches than this take more passes.
OPEN_FILES = 200


def spread(index: FileIndex, units: Sequence[Collection[str]]) -> bool:
    """Whether reading `index`'s Parquet file batch by batch would decode it over and over."""
    if index.kind != PARQUET:
        return False
    groups = {span[0] for spans in index.places.values() for span in spans}
    touched = sum(
        len({span[0] for metric in metrics for span in index.places.get(metric, ())})
        for metrics in units
    )
    return len(groups) > 1 and touched > SPREAD * len(groups)


def regroup(
    index: FileIndex, units: Sequence[Collection[str]], folder: Path, workers: int = 1
) -> list[list[Slice]]:
    """The rows of each unit (a set of metrics, NO_METRIC for rows without a usable one) in
    files of their own under `folder`, in file order: per unit, the Slices to read. The file
    is read in `workers` processes, each a range of row groups (and its memory freed after)."""
    folder.mkdir(parents=True, exist_ok=True)
    groups = parquet_file(index.path).metadata.num_row_groups
    ranges = [range(groups * i // workers, groups * (i + 1) // workers) for i in range(workers)]
    unit_of = {metric: u for u, metrics in enumerate(units) for metric in metrics}
    jobs = [(index.path, unit_of, len(units), folder, part) for part in ranges if part]
    if len(jobs) < 2:  # no process to start for one range
        written = [_regroup_part(*job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=len(jobs)) as pool:
            written = list(pool.map(_regroup_part, *zip(*jobs, strict=True)))
    return [
        [
            Slice(paths[u], PARQUET, (), frozenset(metrics), source=index.path)
            for paths in written
            if u in paths
        ]
        for u, metrics in enumerate(units)
    ]


def _regroup_part(
    source: Path, unit_of: dict[str, int], units: int, folder: Path, groups: range
) -> dict[int, Path]:
    """Some row groups of `source` copied unit by unit, in passes of OPEN_FILES units: the
    file written for each unit."""
    import pyarrow as pa

    paths: dict[int, Path] = {}
    try:
        for start in range(0, units, OPEN_FILES):
            wanted = range(start, min(start + OPEN_FILES, units))
            paths.update(_one_pass(source, unit_of, wanted, folder, groups))
    except (pa.ArrowException, ValueError, OSError) as error:  # OSError: damaged pages
        raise UserError(f"{source}: not a readable Parquet file: {error}") from None
    return paths


def _one_pass(
    source: Path, unit_of: dict[str, int], wanted: range, folder: Path, groups: range
) -> dict[int, Path]:
    """Read some row groups of `source` once; write the rows of the units in `wanted`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = parquet_file(source)
    names = used_columns(parquet, source)
    writers: dict[int, pq.ParquetWriter] = {}
    paths: dict[int, Path] = {}
    metrics = [metric for metric in unit_of if metric != NO_METRIC]
    # The unit of each metric, then -1 for a metric of no unit.
    lookup = np.array([unit_of[metric] for metric in metrics] + [-1], dtype=np.int64)
    value_set, orphans = arrow_strings(metrics), unit_of.get(NO_METRIC, -1)
    number = 1 + sum(parquet.metadata.row_group(g).num_rows for g in range(groups.start))
    try:
        for batch in group_batches(parquet, names, groups, batch_rows()):
            units = _units_of(batch, value_set, lookup, orphans)
            numbers = arrow_numbers(np.arange(number, number + batch.num_rows, dtype=np.int64))
            number += batch.num_rows
            batch = pa.RecordBatch.from_arrays(
                [*batch.columns, numbers], names=[*batch.schema.names, ROW_NUMBER]
            )
            order = np.argsort(units, kind="stable")  # each unit's rows together, in order
            ends = np.searchsorted(units[order], np.arange(wanted.start, wanted.stop + 1))
            for u, lo, hi in zip(wanted, ends[:-1], ends[1:], strict=True):
                if hi > lo:
                    if u not in writers:
                        paths[u] = folder / f"{source.stem}-{groups.start:06d}-{u:05d}.parquet"
                        writers[u] = pq.ParquetWriter(
                            paths[u], batch.schema, write_statistics=False
                        )
                    writers[u].write_batch(batch.take(arrow_numbers(order[lo:hi])))
    finally:
        for writer in writers.values():
            writer.close()
    return paths


def _units_of(batch, metrics, lookup: np.ndarray, orphans: int) -> np.ndarray:
    """The unit of each row of a record batch by its metric: `lookup[i]` for `metrics[i]`
    (an Arrow string array), `orphans` for a row without a usable metric, -1 for others."""
    import pyarrow as pa
    import pyarrow.compute as pc

    field = batch.schema.get_field_index("metric")
    kind = batch.schema.types[field] if field >= 0 else None
    if kind is not None and pa.types.is_dictionary(kind):
        column, kind = batch.column(field).dictionary_decode(), kind.value_type
    elif kind is not None:
        column = batch.column(field)
    if kind is None or not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return np.full(batch.num_rows, orphans)  # no row here has a usable metric
    # (Arrays read through their buffers, nulls from their validity: comparing with a
    # Python value would import pandas.)
    found = pc.index_in(column, value_set=metrics)
    places = numpy_numbers(found, np.int32).copy()
    places[~numpy_bools(pc.is_valid(found))] = len(metrics)
    units = lookup[places]
    empty = numpy_numbers(pc.binary_length(column), np.int32) == 0
    units[empty | ~numpy_bools(pc.is_valid(column))] = orphans
    return units


def slices_per_unit(
    indexes: list[FileIndex], units: Sequence[Collection[str]], folder: Path, workers: int = 1
) -> list[list[Slice]]:
    """What each unit reads of each file: the row groups or runs of lines holding its
    metrics, or, of a spread Parquet file, its own regrouped copy (written under `folder` by
    `workers` processes)."""
    per_unit: list[list[Slice]] = [[] for _ in units]
    for n, index in enumerate(indexes):
        parts = None
        if spread(index, units):  # a folder per file: two files may have the same name
            try:
                parts = regroup(index, units, folder / f"file-{n:04d}", workers)
            except UserError:  # damaged: read by parts, which report it as the file's problem
                parts = None
        if parts is None:
            parts = [slices_for([index], metrics) for metrics in units]
        for unit, part in zip(per_unit, parts, strict=True):
            unit.extend(part)
    return per_unit
