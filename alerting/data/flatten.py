"""Rows of a batch -> the accepted rows and their bucket entries as flat arrays.

When the reader hands the histogram texts over as an array (Parquet), the plain ones (digit
keys, integer counts: nearly all) are parsed first, all at once (`plain_histograms`). Each
row is then looked at once, in a loop over plain lists that does only what needs a row: pull
out its fields, parse its histogram text if that is not done yet, look up its series and its
set of keys. The checks of every build id, bucket key and count are then done on arrays for
the whole batch, and a bad row is named once, for the first thing wrong with it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from alerting.data import buildids
from alerting.data.buildids import build_id_problem, build_times
from alerting.data.entries import Entries, plain_number
from alerting.data.model import CHANNELS, SeriesKey
from alerting.data.ping_types import LeftOut, Tag, count_left_out, row_ranks
from alerting.data.plain_histograms import PARSED, parsed_column
from alerting.data.row_batch import HISTOGRAM_TEXTS, RowBatch
from alerting.data.values import shown

# `build_id = '*'` rows aggregate a whole version, not a build.
VERSION_AGGREGATE = "*"

EPOCH = dt.date(1970, 1, 1)
# The series a row belongs to is named by these columns; each must be text (or absent).
KEY_COLUMNS = ("os", "metric_key", "app_id", "channel")
# How a bucket key is written: a decimal number in ASCII, as JSON writes one.
_DECIMAL = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?", re.ASCII)
# At most this many buckets in one row's histogram (GLAM's have a few hundred at most).
MAX_ROW_BUCKETS = 10_000

try:  # orjson parses the per-row histogram text several times faster than json.
    import orjson

    _loads = orjson.loads
    _JSONError: tuple[type[Exception], ...] = (orjson.JSONDecodeError,)
except ImportError:  # pragma: no cover - orjson is a dependency, json is the safety net
    _loads = json.loads
    _JSONError = (json.JSONDecodeError,)


@dataclass
class Flat:
    """The accepted rows and their bucket entries as parallel arrays."""

    keys: list[SeriesKey]  # one per series code
    metric_types: list[str]  # one per series code
    ranks: list[int]  # one per series code: the rank of its rows' ping type (`ping_types`)
    series: np.ndarray  # int64 per row: series code
    day: np.ndarray  # int64 per row: days since 1970-01-01
    stamp: np.ndarray  # int64 per row: build time, orders builds within a day
    build_ids: np.ndarray  # object per row
    entry_row: np.ndarray  # int64 per entry: row index
    entry_bucket: np.ndarray  # int64 per entry: index into `buckets`
    entry_count: np.ndarray  # float64 per entry
    buckets: np.ndarray  # float64, ascending bucket lower bounds over all rows


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


def _not_text(column: str, value: object) -> str:
    return f"{column} is {type(value).__name__}, expected text"


def _is_text(value: object) -> bool:
    """Absent, text, or a plain number (which names the series as its digits)."""
    return type(value) in _TEXT_TYPES


_TEXT_TYPES = frozenset((str, int, float, type(None)))
# What `histogram_of` reads when a row has no `non_norm_histogram`.
_NORMALIZED = ("histogram", "total_sample", "total_users")


def flatten(
    batch: RowBatch,
    problems: list[tuple[int, str, Tag]],
    seen: dict[tuple, str],
    last_day: int,
    left_out: LeftOut,
) -> Flat:
    """Accepted rows as arrays; `problems` gets (position, "WHERE: reason", tag) per bad row,
    the tag naming the row's file and ping type of its series where it has one.

    Each ping type of a series is a series of its own here (see `ping_types`); rows of other
    ping types or aggregations are counted in `left_out`, nothing else. `seen` remembers
    every accepted (series, ping type, build id) across batches: a second row for the same
    build is reported and not counted again. Build days after `last_day` (days since 1970)
    are refused."""
    reported = len(problems)
    codes: dict[tuple, int] = {}
    metric_types: list[str] = []
    code_ranks: list[int] = []
    row_series: list[int] = []
    row_ids: list[str] = []
    row_where: list[str] = []
    row_position: list[int] = []
    row_weight: list[float] = []
    lengths: list[int] = []
    columns = batch.columns
    hists, parsed = parsed_column(columns[HISTOGRAM_TEXTS], MAX_ROW_BUCKETS)
    entries = Entries(parsed)
    add_entries, add_parsed = entries.add, entries.parsed_rows.append
    parsed_lengths = parsed.lengths.tolist() if parsed is not None else []
    bad: dict[int, str] = {}  # accepted-row index -> reason found by the vectorized checks
    text_types = _TEXT_TYPES
    where_of, marked, first = batch.where, batch.problems, batch.first
    ranks = row_ranks(columns, len(batch))
    left: list[int] = []  # rows of other ping types or aggregations

    for i, (build_id, metric, hist, rank, os_, metric_key, app_id, channel) in enumerate(
        zip(
            columns["build_id"],
            columns["metric"],
            hists,
            ranks,
            *(columns[c] for c in KEY_COLUMNS),
            strict=True,
        )
    ):
        if i in marked:
            problems.append((first + i, f"{where_of[i]}: {marked[i]}"))
            continue
        if build_id == VERSION_AGGREGATE:
            continue
        if rank < 0:
            left.append(i)
            continue
        if type(build_id) is not str or not (len(build_id) in (10, 14) and build_id.isdigit()):
            reason = build_id_problem(build_id)
            if reason:
                problems.append((first + i, f"{where_of[i]}: {reason}"))
                continue
            build_id = str(build_id)
        if not metric or type(metric) is not str:
            reason = "missing metric" if metric in (None, "") else _not_text("metric", metric)
            problems.append((first + i, f"{where_of[i]}: {reason}"))
            continue
        weight = 1.0
        quotes = -1  # of a text without the letters of true, false or null: its quotes
        if hist is PARSED:
            size = parsed_lengths[i]
        else:
            if hist is None or hist == "":
                hist, weight = histogram_of({c: columns[c][i] for c in _NORMALIZED})
                if hist is None:
                    reason = "no non_norm_histogram or histogram"
                    problems.append((first + i, f"{where_of[i]}: {reason}"))
                    continue
            text = None
            if type(hist) is str or type(hist) is bytes:
                if type(hist) is str and "e" not in hist and "n" not in hist:
                    quotes = hist.count('"')
                try:
                    text, hist = hist, _loads(hist)
                except _JSONError:
                    problems.append((first + i, f"{where_of[i]}: histogram is not valid JSON"))
                    continue
            if type(hist) is not dict:
                kind = type(hist).__name__
                reason = f"histogram is not an object ({kind})"
                problems.append((first + i, f"{where_of[i]}: {reason}"))
                continue
            size = len(hist)
            if size > MAX_ROW_BUCKETS:
                reason = f"{size:,} buckets; at most {MAX_ROW_BUCKETS:,} a row"
                problems.append((first + i, f"{where_of[i]}: {reason}"))
                continue
            try:
                repeated = _repeated_key(text, size) if text is not None else None
            except RecursionError:  # (orjson reads up to 1,024 levels, json fewer)
                reason = "histogram nested too deep; expected one object of bucket counts"
                problems.append((first + i, f"{where_of[i]}: {reason}"))
                continue
            if repeated is not None:
                reason = (
                    f"bucket key {repeated!r} appears twice; give each bucket once, "
                    "with the sum of its counts"
                )
                problems.append((first + i, f"{where_of[i]}: {reason}"))
                continue
        key = (metric, os_, metric_key, app_id, channel, rank)
        if not (
            type(os_) in text_types
            and type(metric_key) in text_types
            and type(app_id) in text_types
            and type(channel) in text_types
        ):
            wrong, value = next(
                (c, v) for c, v in zip(KEY_COLUMNS, key[1:5], strict=True) if not _is_text(v)
            )
            problems.append((first + i, f"{where_of[i]}: {_not_text(wrong, value)}"))
            continue
        if (channel is None or channel == "") and app_id in CHANNELS:
            channel = app_id  # (see `_channel`)
            key = (metric, os_, metric_key, app_id, channel, rank)
        if not (type(os_) is type(metric_key) is type(app_id) is type(channel) is str):
            # A number or an absent value names the series as its text does (1 and "1").
            key = (metric, _text(os_), _text(metric_key), _text(app_id), _text(channel), rank)
        code = codes.get(key)
        if code is None:
            code = codes[key] = len(codes)
            metric_type = columns["metric_type"][i]  # not text: unknown (it only names units)
            metric_types.append(_text(metric_type) if type(metric_type) in text_types else "")
            code_ranks.append(rank)
        row_series.append(code)
        row_ids.append(build_id)
        row_where.append(where_of[i])
        row_position.append(first + i)
        row_weight.append(weight)
        lengths.append(size)
        if hist is PARSED:
            add_parsed(i)
        else:  # only keys' quotes: every count is a number, which `Entries` relies on
            add_entries(hist, quotes == 2 * size)

    n_rows = len(row_ids)
    series_keys = list(codes)
    entry_row = np.repeat(np.arange(n_rows, dtype=np.int32), np.asarray(lengths, dtype=np.int64))
    key_codes, key_names, counts, raw_counts = entries.arrays()

    # Build ids -> calendar day and a sortable build time; impossible dates are bad rows.
    day, stamp_int, valid = build_times(row_ids)
    for i in np.flatnonzero(~valid):
        bad.setdefault(int(i), f"build_id {row_ids[i]!r} is not a valid date and hour")
    first_day = (buildids.FIRST_BUILD_DAY - EPOCH).days
    for i in np.flatnonzero(valid & ((day < first_day) | (day > last_day))):
        latest = EPOCH + dt.timedelta(days=last_day)
        bad.setdefault(
            int(i),
            f"build_id {row_ids[i]!r} is not between {buildids.FIRST_BUILD_DAY} and {latest}",
        )

    # Bucket keys: each distinct one converted once.
    key_values = np.array([_key_value(k) for k in key_names], dtype=float).reshape(-1)
    key_ok = np.isfinite(key_values)
    if not key_ok.all():
        for e in _first_entry_per_row(~key_ok[key_codes], entry_row):
            key_name = key_names[key_codes[e]]
            bad.setdefault(int(entry_row[e]), f"bucket key {key_name!r} is not a number")

    # One pass tells whether any count is odd (NaN and -inf fail it, +inf sums to +inf).
    with np.errstate(over="ignore"):  # finite counts that sum past the float range
        total = counts.sum()
    if not (counts.min(initial=0.0) >= 0.0 and np.isfinite(total)):
        _count_problems(counts, raw_counts, key_names, key_codes, entry_row, bad)

    # Counts past 2**53 (beyond which a float no longer counts one by one) come from a broken
    # or wrapped counter and would swamp the day. (A row's total_sample is not the limit: how
    # GLAM counts it is not documented, and a wrong guess would refuse every row.)
    _total_problems(counts, raw_counts, entry_row, len(row_position), key_names, key_codes, bad)

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
    _tag(problems, reported, batch, ranks)
    if left:
        count_left_out(batch.source, columns, ranks, left, left_out)

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

    flat = Flat(
        keys=[SeriesKey(*(_text(v) for v in key[:5])) for key in codes],
        metric_types=metric_types,
        ranks=code_ranks,
        series=np.asarray(row_series, dtype=np.int64),
        day=day,
        stamp=stamp_int,
        build_ids=np.asarray(row_ids, dtype=object),
        entry_row=entry_row,
        entry_bucket=entry_bucket,
        entry_count=counts,
        buckets=buckets,
    )
    return without_rows(flat, row_ok) if bad else flat  # usually no copies of the entries


def _tag(problems: list, start: int, batch: RowBatch, ranks: list[int]) -> None:
    """Give the problems from `start` on (found in `batch`) the tag of their row: its file
    and the ping type of its series, so a row of a ping type left out is not reported."""
    columns, first = batch.columns, batch.first
    for n in range(start, len(problems)):
        position, message = problems[n]
        i = position - first
        values = [columns[c][i] for c in ("metric", *KEY_COLUMNS)]
        usable = type(values[0]) is str and values[0] and all(map(_is_text, values[1:]))
        if usable:
            values[4] = _channel(values[3], values[4])
        version = (SeriesKey(*map(_text, values)), ranks[i]) if usable else None
        tag = (batch.source, version) if version and i not in batch.problems else None
        problems[n] = (position, message, tag)


def _channel(app_id: object, channel: object) -> object:
    """The channel of a row: its own, or when it names none (GLAM API rows, and exports
    without the column, name it in `app_id` only) the one its `app_id` names, so that its
    rows and the rows that name the channel make one series (which the channel is monitored
    as either way)."""
    return app_id if (channel is None or channel == "") and app_id in CHANNELS else channel


def _count_problems(counts, raw_counts, key_names, key_codes, entry_row, bad) -> None:
    """The first count of each row that is not a finite non-negative number, named."""
    with np.errstate(invalid="ignore"):
        negative = counts < 0
    for e in _first_entry_per_row(~np.isfinite(counts), entry_row):
        value = raw_counts(e)
        what = "not a number" if math.isnan(plain_number(value)) else "not finite"
        key_name = key_names[key_codes[e]]
        reason = f"count {shown(value)} for bucket {key_name!r} is {what}"
        bad.setdefault(int(entry_row[e]), reason)
    for e in _first_entry_per_row(negative, entry_row):
        key_name = key_names[key_codes[e]]
        bad.setdefault(
            int(entry_row[e]), f"count {shown(raw_counts(e))} for bucket {key_name!r} is negative"
        )


# Counts of a row may sum to at most this (exact integers in float64).
MAX_ROW_TOTAL = float(2**53)


def _total_problems(
    counts: np.ndarray,
    raw_counts,
    entry_row: np.ndarray,
    n_rows: int,
    key_names: list,
    key_codes: np.ndarray,
    bad: dict[int, str],
) -> None:
    """Name the bucket at which a row's counts pass 2**53."""
    finite = np.nan_to_num(counts)  # bad counts are named already; here they count as 0
    with np.errstate(over="ignore"):
        sums = np.bincount(entry_row, weights=finite, minlength=n_rows)
    over = np.flatnonzero(~(sums <= MAX_ROW_TOTAL))
    if not len(over):
        return
    starts = np.searchsorted(entry_row, over).tolist()  # a row's entries are consecutive
    ends = np.searchsorted(entry_row, over, side="right").tolist()
    for row, start, end in zip(over.tolist(), starts, ends, strict=True):
        if row in bad:
            continue
        with np.errstate(over="ignore"):
            running = np.cumsum(finite[start:end])
        e = start + int(np.argmax(running > MAX_ROW_TOTAL))
        bucket = _key_value(key_names[key_codes[e]])  # named by value: bulk keys are ints
        key_name = str(int(bucket)) if bucket.is_integer() else repr(bucket)
        bad[row] = (
            f"count {raw_counts(e)!r} for bucket {key_name!r} takes the row's counts past "
            "2**53; fix the row's counts"
        )


def without_rows(flat: Flat, row_ok: np.ndarray) -> Flat:
    """The same arrays with only the rows that are ok (and their entries)."""
    entry_ok = row_ok[flat.entry_row]
    return Flat(
        keys=flat.keys,
        metric_types=flat.metric_types,
        ranks=flat.ranks,
        series=flat.series[row_ok],
        day=flat.day[row_ok],
        stamp=flat.stamp[row_ok],
        build_ids=flat.build_ids[row_ok],
        entry_row=_renumber(flat.entry_row[entry_ok], row_ok),
        entry_bucket=flat.entry_bucket[entry_ok],
        entry_count=flat.entry_count[entry_ok],
        buckets=flat.buckets,
    )


def _repeated_key(text: str | bytes, size: int) -> str | None:
    """The first bucket key written more than once in a histogram text whose object has `size`
    keys, or None. The JSON parser keeps only a repeated key's last count, and BigQuery's query
    skips such a row, so it is refused rather than read either way. A text with no more colons
    than keys repeats none: only then is it parsed again."""
    if text.count(":" if type(text) is str else b":") <= size:
        return None
    found: list[str] = []

    def pairs(items: list[tuple[str, object]]) -> dict:
        # Called for every object, the outermost last: only its keys are the buckets.
        found.clear()
        seen: set[str] = set()
        for key, _ in items:
            if key in seen:
                found.append(key)
                break
            seen.add(key)
        return {}

    json.loads(text, object_pairs_hook=pairs)
    return found[0] if found else None


def _key_value(key: object) -> float:
    """A bucket key's lower bound; NaN unless it is written as a plain decimal number.

    Python's float() also reads "1_000", " 12 ", "infinity" and non-ASCII digits, none of
    which a histogram written by GLAM holds: such a key is a damaged row, not a bucket.
    """
    if isinstance(key, str):
        return float(key) if _DECIMAL.fullmatch(key) else math.nan
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
