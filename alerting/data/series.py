"""GLAM rows -> daily histogram series: the hot path of every run.

Rows come in batches (`row_batch`) and are looked at one by one only to pull out their
fields (`flatten`); validation and the per-day sums are done on flat numpy arrays (one entry
per bucket of every row), so a year of a thousand series aggregates in seconds. Buckets are
aligned by their key, never by position: GLAM drops empty buckets, so positions differ
between rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

import numpy as np

from alerting.data import buildids
from alerting.data.flatten import EPOCH, Flat, flatten, without_rows
from alerting.data.merge import merge_series, too_big
from alerting.data.model import DailySeries, SeriesKey
from alerting.data.ping_types import LeftOut, Version, Versions, chosen
from alerting.data.problems import RowProblems
from alerting.data.row_batch import PROBLEM, ROW_COLUMNS, WHERE, RowBatch, batches_of_rows

__all__ = ["PROBLEM", "ROW_COLUMNS", "WHERE", "series_from_batches", "series_from_rows"]

# Problems about a whole series sort after those about rows.
SERIES_PROBLEM = 1 << 62

# Rows turned into series at a time. A chunk's per-bucket arrays (about 25 MB for rows of 100
# buckets) stay small enough for the allocators to reuse their memory from one chunk to the
# next: chunks four times as big had their arrays mapped afresh each time, and the page faults
# took about a fifth of reading's CPU time (peak memory was 60 % higher). The per-chunk overhead
# stays negligible.
CHUNK_ROWS = 1 << 12


def series_from_rows(
    rows: Iterable[Mapping], problems: list[str] | None = None, seen: dict | None = None
) -> dict[SeriesKey, DailySeries]:
    """Group GLAM rows into series and sum each day's builds bucket by bucket.

    Series are (metric, os, metric_key, app_id, channel); `os = '*'` rows are the `All`
    series of their own and `build_id = '*'` rows are skipped. Of the rows' ping types and
    aggregations, only those the BigQuery query selects are used (see `ping_types`). A bad
    row (missing or malformed build id, histogram that is not an object of numeric keys and
    finite non-negative counts) is skipped and described once in `problems` as "WHERE:
    reason".
    `seen` (series, build id) -> where its row was, is filled in as rows are accepted (given,
    a caller learns which rows were used; a row already there is a duplicate).
    """
    return series_from_batches(batches_of_rows(rows, CHUNK_ROWS), problems, seen)


def series_from_batches(
    batches: Iterable[RowBatch],
    problems: list[str] | None = None,
    seen: dict | None = None,
    left_out: LeftOut | None = None,
) -> dict[SeriesKey, DailySeries]:
    """`series_from_rows` of rows given as batches (in input order, numbered on); the rows
    left out for their ping type or aggregation are counted in `left_out`."""
    return chosen(versions_from_batches(batches, seen), problems, left_out)


def versions_from_batches(batches: Iterable[RowBatch], seen: dict | None = None) -> Versions:
    """The series of each ping type of the rows given as batches (see `ping_types`)."""
    found = RowProblems()
    parts = []
    rows: Counter = Counter()
    left_out: LeftOut = Counter()
    seen = {} if seen is None else seen  # (series, build id) -> where its row was
    last_day = (buildids.latest_build_day() - EPOCH).days
    batches = iter(batches)
    while True:
        with _no_cycle_collection():  # the reader's work, in `next`, too
            batch = next(batches, None)
            if batch is None:
                break
            batch_problems: list = []
            flat = flatten(batch, batch_problems, seen, last_day, left_out)
        _count_rows(flat, batch.source, rows)
        parts.append(_aggregate(flat, batch_problems))
        found.add(batch_problems, batch.source)
    merged: list[str] = []
    series = parts[0] if len(parts) == 1 else merge_series(parts, merged) if parts else {}
    problems = found.in_order() + [(message, None, None) for message in merged]
    return Versions(series, problems, rows, left_out, found.more)


def _count_rows(flat: Flat, source: str, rows: Counter) -> None:
    """Add the rows each series (of a ping type) got from `source`: how many are left out
    when another ping type of the series is used."""
    per_code = np.bincount(flat.series, minlength=len(flat.keys)).tolist()
    for key, rank, count in zip(flat.keys, flat.ranks, per_code, strict=True):
        if count:
            rows[(source, (key, rank))] += count


@contextlib.contextmanager
def _no_cycle_collection():
    """Reading rows makes millions of short-lived dicts (a row, its histogram) that hold no
    cycles; the cycle collector would walk through every one of their entries for nothing,
    about a sixth of the whole reading time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _aggregate(flat: Flat, problems: list[tuple[int, str, object]]) -> dict[Version, DailySeries]:
    n_series = len(flat.keys)
    if not len(flat.series):
        return {}
    s_row = flat.series
    first_day = np.full(n_series, np.iinfo(np.int64).max)
    last_day = np.full(n_series, np.iinfo(np.int64).min)
    np.minimum.at(first_day, s_row, flat.day)
    np.maximum.at(last_day, s_row, flat.day)
    has_rows = np.zeros(n_series, dtype=bool)
    has_rows[s_row] = True
    n_days = np.where(has_rows, last_day - first_day + 1, 0)

    # Each series' own buckets: the union of the keys its rows use, ascending.
    cell, n_buckets, buckets_of = _series_buckets(flat, n_series)
    for code in np.flatnonzero(has_rows):
        refused = too_big(flat.keys[code], int(n_days[code]), int(n_buckets[code]))
        if refused:
            problems.append((SERIES_PROBLEM, refused, (None, (flat.keys[code], flat.ranks[code]))))
            has_rows[code] = False
            n_days[code] = n_buckets[code] = 0
    keep = has_rows[s_row]
    if not keep.all():  # refused series: their rows and entries take no room
        return _aggregate(without_rows(flat, keep), problems)

    # One flat buffer holds every series' (days x buckets) block; each row starts at its
    # day's line of its series' block and each entry adds its bucket's column.
    sizes = n_days * n_buckets
    block = np.concatenate([[0], np.cumsum(sizes)])
    row_start = block[s_row] + (flat.day - first_day[s_row]) * n_buckets[s_row]
    cell += row_start[flat.entry_row]
    totals = np.bincount(cell, weights=flat.entry_count, minlength=int(block[-1]))
    del cell

    day_block = np.concatenate([[0], np.cumsum(n_days)])
    day_cell = day_block[s_row] + flat.day - first_day[s_row]
    present = np.zeros(int(day_block[-1]), dtype=bool)
    present[day_cell] = True
    # The earliest build of each day names the day.
    order = np.lexsort((flat.stamp, day_cell))
    sorted_cells = day_cell[order]
    first = order[np.r_[True, sorted_cells[1:] != sorted_cells[:-1]]]
    day_build = np.full(int(day_block[-1]), "", dtype=object)
    day_build[day_cell[first]] = flat.build_ids[first]

    result: dict[Version, DailySeries] = {}
    for code in sorted(np.flatnonzero(has_rows), key=lambda c: (flat.keys[c], flat.ranks[c])):
        d0, d1 = int(day_block[code]), int(day_block[code + 1])
        counts = totals[int(block[code]) : int(block[code + 1])].reshape(
            int(n_days[code]), int(n_buckets[code])
        )
        result[(flat.keys[code], flat.ranks[code])] = DailySeries(
            key=flat.keys[code],
            metric_type=flat.metric_types[code],
            start=EPOCH + dt.timedelta(days=int(first_day[code])),
            buckets=buckets_of(code),
            counts=counts,
            present=present[d0:d1],
            build_ids=tuple(day_build[d0:d1]),
        )
    return result


# A series x all-buckets table of a chunk is used when it has at most this many cells per
# bucket entry (or at most `_SMALL_TABLE` cells): the usual chunk, a few series sharing one
# bucketing, takes far less. Chunks whose series each use buckets of their own (every
# series a new table's worth of columns) are sorted instead, in memory proportional to
# their entries.
_CELLS_PER_ENTRY = 4
_SMALL_TABLE = 1 << 16


def _series_buckets(
    flat: Flat, n_series: int
) -> tuple[np.ndarray, np.ndarray, Callable[[int], np.ndarray]]:
    """Per entry, its bucket's place among its series' buckets (the union of the keys the
    series' rows use, ascending); per series, how many buckets it has; and a function giving
    a series' buckets (by code)."""
    n_buckets_all = max(len(flat.buckets), 1)
    # Entry -> (series, bucket) as one flat index into a series x all-buckets table.
    series_bucket = (flat.series * n_buckets_all)[flat.entry_row]
    series_bucket += flat.entry_bucket
    cells = n_series * n_buckets_all
    if cells <= max(_CELLS_PER_ENTRY * len(series_bucket), _SMALL_TABLE):
        used = np.zeros(cells, dtype=bool)
        used[series_bucket] = True
        used = used.reshape(n_series, n_buckets_all)
        local = (np.cumsum(used, axis=1, dtype=np.int64) - 1).reshape(-1)
        n_buckets = used.sum(axis=1)
        cell = local[series_bucket]
        del local
        return cell, n_buckets, lambda code: flat.buckets[used[code, : len(flat.buckets)]]
    # The (series, bucket) pairs the entries use, sorted: by series, then by bucket.
    pairs, pair_of_entry = np.unique(series_bucket, return_inverse=True)
    del series_bucket
    n_buckets = np.bincount(pairs // n_buckets_all, minlength=n_series)
    first_pair = np.concatenate([[0], np.cumsum(n_buckets)])
    cell = pair_of_entry.reshape(-1).astype(np.int64)
    cell -= first_pair[flat.series][flat.entry_row]
    series_buckets = flat.buckets[pairs % n_buckets_all]
    return (
        cell,
        n_buckets,
        lambda code: series_buckets[first_pair[code] : first_pair[code + 1]],
    )
