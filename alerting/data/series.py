"""GLAM rows -> daily histogram series: the hot path of every run.

Rows are read one by one only to pull out their fields; validation and the per-day sums are
done on flat numpy arrays (one entry per bucket of every row), so a year of a thousand series
aggregates in seconds. Buckets are aligned by their key, never by position: GLAM drops empty
buckets, so positions differ between rows.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from alerting.data import buildids
from alerting.data.buildids import build_id_problem, build_times
from alerting.data.entries import Entries, plain_number
from alerting.data.merge import merge_series, too_big
from alerting.data.model import DailySeries, SeriesKey

# Rows may carry their origin under this key ("FILE:LINE"); readers set it so problems can
# name the line. Rows without it are named by their position. A reader that found a line
# that is no row at all passes {WHERE, PROBLEM} on, so problems stay in input order.
WHERE = "_where"
PROBLEM = "_problem"

# The columns of a GLAM row that series are made of (readers may skip the others).
ROW_COLUMNS = frozenset(
    ("app_id", "channel", "metric", "metric_type", "os", "metric_key", "build_id")
    + ("non_norm_histogram", "histogram", "total_sample", "total_users")
)

# `build_id = '*'` rows aggregate a whole version, not a build.
VERSION_AGGREGATE = "*"

_EPOCH = dt.date(1970, 1, 1)
# The series a row belongs to is named by these columns; each must be text (or absent).
KEY_COLUMNS = ("os", "metric_key", "app_id", "channel")

try:  # orjson parses the per-row histogram text several times faster than json.
    import orjson

    _loads = orjson.loads
    _JSONError: tuple[type[Exception], ...] = (orjson.JSONDecodeError,)
except ImportError:  # pragma: no cover - orjson is a dependency, json is the safety net
    _loads = json.loads
    _JSONError = (json.JSONDecodeError,)


@dataclass
class _Flat:
    """The accepted rows and their bucket entries as parallel arrays."""

    keys: list[SeriesKey]  # one per series code
    metric_types: list[str]  # one per series code
    series: np.ndarray  # int64 per row: series code
    day: np.ndarray  # int64 per row: days since 1970-01-01
    stamp: np.ndarray  # int64 per row: build time, orders builds within a day
    build_ids: np.ndarray  # object per row
    entry_row: np.ndarray  # int64 per entry: row index
    entry_bucket: np.ndarray  # int64 per entry: index into `buckets`
    entry_count: np.ndarray  # float64 per entry
    buckets: np.ndarray  # float64, ascending bucket lower bounds over all rows


# At most this many buckets in one row's histogram (GLAM's have a few hundred at most).
MAX_ROW_BUCKETS = 10_000
# Problems about a whole series sort after those about rows.
SERIES_PROBLEM = 1 << 62

# Rows turned into series at a time: bounds the per-bucket arrays of a big input (about 100
# MB for rows of 100 buckets) while keeping the per-chunk overhead negligible.
CHUNK_ROWS = 1 << 14


def series_from_rows(
    rows: Iterable[Mapping], problems: list[str] | None = None
) -> dict[SeriesKey, DailySeries]:
    """Group GLAM rows into series and sum each day's builds bucket by bucket.

    Series are (metric, os, metric_key, app_id, channel); `os = '*'` rows are the `All`
    series of their own and `build_id = '*'` rows are skipped. A bad row (missing or
    malformed build id, histogram that is not an object of numeric keys and finite
    non-negative counts) is skipped and described once in `problems` as "WHERE: reason".
    """
    found: list[tuple[int, str]] = []
    parts = []
    rows = iter(rows)
    first = 1
    seen: dict[tuple, str] = {}  # (series, build id) -> where its row was
    last_day = (buildids.latest_build_day() - _EPOCH).days
    while True:
        chunk = _Counted(itertools.islice(rows, CHUNK_ROWS))
        parts.append(_aggregate(_flatten(chunk, found, first, seen, last_day), found))
        first += chunk.count
        if chunk.count < CHUNK_ROWS:
            break
    merged: list[str] = []
    series = parts[0] if len(parts) == 1 else merge_series(parts, merged)
    if problems is not None:
        problems.extend(message for _, message in sorted(found, key=lambda p: p[0]))
        problems.extend(merged)
    return series


class _Counted:
    """An iterator that counts what it yields."""

    def __init__(self, items: Iterator) -> None:
        self.items, self.count = items, 0

    def __iter__(self):
        for item in self.items:
            self.count += 1
            yield item


def histogram_of(row: Mapping) -> tuple[object, float]:
    """The row's histogram and the weight its counts need to become sample counts.

    `non_norm_histogram` holds counts. Older API rows only have the normalized `histogram`
    (shares); weighting it by the row's sample count (or, failing that, its users) gives
    comparable magnitudes so builds of a day still sum sensibly.
    """
    hist = row.get("non_norm_histogram")
    if hist is not None and hist != "":
        return hist, 1.0
    hist = row.get("histogram")
    if hist is None or hist == "":
        return None, 1.0
    for column in ("total_sample", "total_users"):
        weight = _number(row.get(column))
        if weight is not None and weight > 0:
            return hist, weight
    return hist, 1.0


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _is_text(value: object) -> bool:
    """Absent, text, or a plain number (which names the series as its digits)."""
    return value is None or type(value) in (str, int, float)


def _flatten(
    rows: Iterable[Mapping],
    problems: list[tuple[int, str]],
    first: int,
    seen: dict[tuple, str],
    last_day: int,
) -> _Flat:
    """Accepted rows as arrays; `problems` gets (position, "WHERE: reason") per bad row.

    `seen` remembers every accepted (series, build id) across chunks: a second row for the
    same build of a series is reported and not counted again. Build days after `last_day`
    (days since 1970) are refused."""
    codes: dict[tuple[str, str, str, str, str], int] = {}
    metric_types: list[str] = []
    row_series: list[int] = []
    row_ids: list[str] = []
    row_where: list[str] = []
    row_position: list[int] = []
    row_weight: list[float] = []
    lengths: list[int] = []
    entries = Entries()
    bad: dict[int, str] = {}  # accepted-row index -> reason found by the vectorized checks

    for position, row in enumerate(rows, start=first):
        if type(row) is not dict and not isinstance(row, Mapping):
            problems.append((position, f"row {position}: row is not an object"))
            continue
        where = row.get(WHERE) or f"row {position}"
        if PROBLEM in row:
            problems.append((position, f"{where}: {row[PROBLEM]}"))
            continue
        build_id = row.get("build_id")
        if build_id == VERSION_AGGREGATE:
            continue
        if type(build_id) is not str or not (len(build_id) in (10, 14) and build_id.isdigit()):
            reason = build_id_problem(build_id)
            if reason:
                problems.append((position, f"{where}: {reason}"))
                continue
            build_id = str(build_id)
        metric = row.get("metric")
        if not metric or type(metric) is not str:
            problems.append((position, f"{where}: missing metric"))
            continue
        hist, weight = histogram_of(row)
        if hist is None:
            problems.append((position, f"{where}: no non_norm_histogram or histogram"))
            continue
        plain = False
        if type(hist) is str or type(hist) is bytes:
            # Without the letters of true, false, null, NaN or Infinity, counts are numbers
            # or strings, which the bulk path tells apart.
            plain = type(hist) is str and "e" not in hist and "n" not in hist
            try:
                hist = _loads(hist)
            except _JSONError:
                problems.append((position, f"{where}: histogram is not valid JSON"))
                continue
        if type(hist) is not dict:
            problems.append(
                (position, f"{where}: histogram is not an object ({type(hist).__name__})")
            )
            continue
        if len(hist) > MAX_ROW_BUCKETS:
            problems.append(
                (position, f"{where}: {len(hist):,} buckets; at most {MAX_ROW_BUCKETS:,} a row")
            )
            continue
        key = (metric, *(row.get(column) for column in KEY_COLUMNS))
        wrong = next(
            (c for c, v in zip(KEY_COLUMNS, key[1:], strict=True) if not _is_text(v)), None
        )
        if wrong:
            kind = type(row.get(wrong)).__name__
            problems.append((position, f"{where}: {wrong} is {kind}, expected text"))
            continue
        code = codes.get(key)
        if code is None:
            code = codes[key] = len(codes)
            metric_types.append(_text(row.get("metric_type")))
        row_series.append(code)
        row_ids.append(build_id)
        row_where.append(where)
        row_position.append(position)
        row_weight.append(weight)
        lengths.append(len(hist))
        entries.add(hist, plain)

    n_rows = len(row_ids)
    series_keys = list(codes)
    entry_row = np.repeat(np.arange(n_rows), np.asarray(lengths, dtype=np.int64))
    key_codes, key_names, counts, raw_counts = entries.arrays()

    # Build ids -> calendar day and a sortable build time; impossible dates are bad rows.
    day, stamp_int, valid = build_times(row_ids)
    for i in np.flatnonzero(~valid):
        bad.setdefault(int(i), f"build_id {row_ids[i]!r} is not a valid date and hour")
    first_day = (buildids.FIRST_BUILD_DAY - _EPOCH).days
    for i in np.flatnonzero(valid & ((day < first_day) | (day > last_day))):
        latest = _EPOCH + dt.timedelta(days=last_day)
        bad.setdefault(
            int(i),
            f"build_id {row_ids[i]!r} is not between {buildids.FIRST_BUILD_DAY} and {latest}",
        )

    # Bucket keys: each distinct one converted once.
    key_values = np.array([_key_value(k) for k in key_names], dtype=float).reshape(-1)
    key_ok = np.isfinite(key_values)
    entry_key_ok = key_ok[key_codes]
    for e in _first_entry_per_row(~entry_key_ok, entry_row):
        bad.setdefault(int(entry_row[e]), f"bucket key {key_names[key_codes[e]]!r} is not a number")

    with np.errstate(invalid="ignore"):
        negative = counts < 0
    for e in _first_entry_per_row(~np.isfinite(counts), entry_row):
        value = raw_counts(e)
        what = "not a number" if math.isnan(plain_number(value)) else "not finite"
        key_name = key_names[key_codes[e]]
        bad.setdefault(int(entry_row[e]), f"count {value!r} for bucket {key_name!r} is {what}")
    for e in _first_entry_per_row(negative, entry_row):
        key_name = key_names[key_codes[e]]
        bad.setdefault(
            int(entry_row[e]), f"count {raw_counts(e)!r} for bucket {key_name!r} is negative"
        )

    # A second row of the same build of a series (after the checks above, so a bad row is
    # named for what is wrong with it) is reported and not counted again.
    for i, (code, build_id) in enumerate(zip(row_series, row_ids, strict=True)):
        if i in bad:
            continue
        earlier = seen.setdefault((series_keys[code], build_id), row_where[i])
        if earlier != row_where[i]:
            bad[i] = f"same series and build {build_id} as {earlier}; counted once"

    for i in sorted(bad):
        problems.append((row_position[i], f"{row_where[i]}: {bad[i]}"))

    row_ok = np.ones(n_rows, dtype=bool)
    row_ok[list(bad)] = False

    # Distinct bucket values in ascending order; "1" and "1.0" are one bucket. Bad keys get
    # +inf, sort last and are cut off (their rows are dropped anyway).
    buckets, inverse = np.unique(np.where(key_ok, key_values, np.inf), return_inverse=True)
    if len(buckets) and not np.isfinite(buckets[-1]):
        buckets = buckets[:-1]
    entry_bucket = inverse.reshape(-1).astype(np.int32)[key_codes]
    weights = np.asarray(row_weight, dtype=float)
    if not (weights == 1.0).all():
        counts = counts * weights[entry_row]

    flat = _Flat(
        keys=[SeriesKey(*(_text(v) for v in key)) for key in codes],
        metric_types=metric_types,
        series=np.asarray(row_series, dtype=np.int64),
        day=day,
        stamp=stamp_int,
        build_ids=np.asarray(row_ids, dtype=object),
        entry_row=entry_row,
        entry_bucket=entry_bucket,
        entry_count=counts,
        buckets=buckets,
    )
    return _without_rows(flat, row_ok) if bad else flat  # usually no copies of the entries


def _without_rows(flat: _Flat, row_ok: np.ndarray) -> _Flat:
    """The same arrays with only the rows that are ok (and their entries)."""
    entry_ok = row_ok[flat.entry_row]
    return _Flat(
        keys=flat.keys,
        metric_types=flat.metric_types,
        series=flat.series[row_ok],
        day=flat.day[row_ok],
        stamp=flat.stamp[row_ok],
        build_ids=flat.build_ids[row_ok],
        entry_row=_renumber(flat.entry_row[entry_ok], row_ok),
        entry_bucket=flat.entry_bucket[entry_ok],
        entry_count=flat.entry_count[entry_ok],
        buckets=flat.buckets,
    )


def _key_value(key: object) -> float:
    number = _number(key)
    return math.nan if number is None else number


def _first_entry_per_row(mask: np.ndarray, entry_row: np.ndarray) -> np.ndarray:
    """Index of the first flagged entry of every row that has one."""
    flagged = np.flatnonzero(mask)
    if not len(flagged):
        return flagged
    rows = entry_row[flagged]
    first = np.r_[True, rows[1:] != rows[:-1]]
    return flagged[first]


def _renumber(entry_row: np.ndarray, row_ok: np.ndarray) -> np.ndarray:
    """Row indices after dropping the rows not ok."""
    new_index = np.cumsum(row_ok) - 1
    return new_index[entry_row]


def _aggregate(flat: _Flat, problems: list[tuple[int, str]]) -> dict[SeriesKey, DailySeries]:
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
    n_buckets_all = max(len(flat.buckets), 1)
    # Entry -> (series, bucket) as one flat index into a series x all-buckets table.
    series_bucket = s_row.astype(np.int64)[flat.entry_row]
    series_bucket *= n_buckets_all
    series_bucket += flat.entry_bucket
    used = np.zeros(n_series * n_buckets_all, dtype=bool)
    used[series_bucket] = True
    used = used.reshape(n_series, n_buckets_all)
    local = (np.cumsum(used, axis=1, dtype=np.int64) - 1).reshape(-1)
    n_buckets = used.sum(axis=1)
    for code in np.flatnonzero(has_rows):
        refused = too_big(flat.keys[code], int(n_days[code]), int(n_buckets[code]))
        if refused:
            problems.append((SERIES_PROBLEM, refused))
            has_rows[code] = False
            n_days[code] = n_buckets[code] = 0
    keep = has_rows[s_row]
    if not keep.all():  # refused series: their rows and entries take no room
        return _aggregate(_without_rows(flat, keep), problems)

    # One flat buffer holds every series' (days x buckets) block; each row starts at its
    # day's line of its series' block and each entry adds its bucket's column.
    sizes = n_days * n_buckets
    block = np.concatenate([[0], np.cumsum(sizes)])
    row_start = block[s_row] + (flat.day - first_day[s_row]) * n_buckets[s_row]
    cell = local[series_bucket]
    del series_bucket
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

    result: dict[SeriesKey, DailySeries] = {}
    for code in sorted(np.flatnonzero(has_rows), key=lambda c: flat.keys[c]):
        d0, d1 = int(day_block[code]), int(day_block[code + 1])
        counts = totals[int(block[code]) : int(block[code + 1])].reshape(
            int(n_days[code]), int(n_buckets[code])
        )
        result[flat.keys[code]] = DailySeries(
            key=flat.keys[code],
            metric_type=flat.metric_types[code],
            start=_EPOCH + dt.timedelta(days=int(first_day[code])),
            buckets=flat.buckets[used[code, : len(flat.buckets)]],
            counts=counts,
            present=present[d0:d1],
            build_ids=tuple(day_build[d0:d1]),
        )
    return result
