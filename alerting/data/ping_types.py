"""Which GLAM rows series are made of: those the BigQuery query selects.

GLAM's aggregates hold, for a series and build, the all-pings aggregate (`ping_type = '*'`)
and a row per ping (`metrics`, `baseline`, ...), and rows of other aggregations than
`summed_histogram`. A series is made of its `*` rows where the input has any, else of its
`metrics` rows (Fenix), else of rows that name no ping type (older exports). Rows of other
ping types or aggregations are left out: not problems of the input, but counted, a note per
file. Each ping type of a series is read as a series of its own and the one to use is chosen
once all rows are read, so the choice does not depend on the rows' order or on how the input
was split to be read; a row left out is never named a bad row or a duplicate.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from alerting.data.model import DailySeries, SeriesKey
from alerting.data.problems import Listing, more_problems, versions_counted
from alerting.data.values import shown

log = logging.getLogger(__name__)

PING_TYPE = "ping_type"
CLIENT_AGG_TYPE = "client_agg_type"
ALL_PINGS = "*"
METRICS = "metrics"
SUMMED_HISTOGRAM = "summed_histogram"

# The ping types a series may be made of, by rank: the highest one the input has is used.
NO_PING_TYPE = 0
RANKS = {ALL_PINGS: 2, METRICS: 1, "": NO_PING_TYPE}
NAMES = {rank: name for name, rank in RANKS.items()}
# Ranks of rows left out whatever else the input holds.
OTHER_PING = -1
OTHER_AGGREGATION = -2

# A ping type of a series (the series, the rank of its ping type).
Version = tuple[SeriesKey, int]
# A problem that may belong to a ping type left out: the row's file (None: no row of its own,
# such as a series too big to hold) and version.
Tag = tuple[str | None, Version] | None
# Rows left out: (file, column, value) -> how many.
LeftOut = Counter


@dataclass
class Versions:
    """What reading rows gave before a ping type is chosen for each series."""

    series: dict[Version, DailySeries] = field(default_factory=dict)
    # (message, tag, file) in input order; the file None: not one of a file's problems
    # listed at most `problems.LIMIT` times.
    problems: list[tuple[str, Tag, str | None]] = field(default_factory=list)
    rows: Counter = field(default_factory=Counter)  # (file, version) -> rows used
    left_out: LeftOut = field(default_factory=Counter)
    # (file, version or None) -> problems not kept, only counted (`problems.RowProblems`)
    more: Counter = field(default_factory=Counter)


def row_ranks(columns: Mapping[str, Any], size: int) -> list[int]:
    """Per row: the rank of its ping type, or OTHER_PING / OTHER_AGGREGATION for a row left
    out. A batch of one ping type and aggregation (the usual case) costs a few list scans."""
    pings, aggregations = columns[PING_TYPE], columns[CLIENT_AGG_TYPE]
    same = _same_rank(pings, size)
    if same is not None and _all_summed(aggregations, size):
        return [same] * size
    return [_rank(p, a) for p, a in zip(pings, aggregations, strict=True)]


def _same_rank(pings: list, size: int) -> int | None:
    for value in (None, ALL_PINGS, METRICS, ""):
        if pings.count(value) == size:
            return NO_PING_TYPE if value is None else RANKS[value]
    return None


def _all_summed(aggregations: list, size: int) -> bool:
    summed = (None, SUMMED_HISTOGRAM, "")
    return sum(aggregations.count(value) for value in summed) == size


def _rank(ping: object, aggregation: object) -> int:
    if not (aggregation is None or aggregation == SUMMED_HISTOGRAM or aggregation == ""):
        return OTHER_AGGREGATION
    if ping is None:
        return NO_PING_TYPE
    return RANKS.get(ping, OTHER_PING) if type(ping) is str else OTHER_PING


def count_left_out(
    source: str, columns: Mapping[str, Any], ranks: Sequence[int], rows: list[int], into: LeftOut
) -> None:
    """Count `rows` (left out for their ping type or aggregation) by the value that left
    them out."""
    for i in rows:
        column = CLIENT_AGG_TYPE if ranks[i] == OTHER_AGGREGATION else PING_TYPE
        into[(source, column, _label(columns[column][i]))] += 1


def _label(value: object) -> str:
    return value if type(value) is str else shown(value)


def chosen(
    versions: Versions, problems: list[str] | None = None, left_out: LeftOut | None = None
) -> dict[SeriesKey, DailySeries]:
    """Each series made of the highest-ranked ping type the input has for it, whether or not
    its rows were usable (a damaged `*` row is no reason to fall back to `metrics`). The
    problems of the rows of the other ping types are dropped; those rows are counted in
    `left_out`. Of the others, at most `problems.LIMIT` per file are listed, then a line
    counting the rest."""
    best: dict[SeriesKey, int] = {}
    read = [*versions.series, *(version for _, version in versions.rows)]
    read += [tag[1] for _, tag, _ in versions.problems if tag is not None]
    read += versions_counted(versions.more)
    for key, rank in read:
        best[key] = max(rank, best.get(key, rank))
    series = {key: s for (key, rank), s in versions.series.items() if rank == best[key]}
    counts = Counter(versions.left_out)
    for (source, (key, rank)), rows in versions.rows.items():
        if rank < best.get(key, rank):
            counts[(source, PING_TYPE, NAMES[rank])] += rows
    kept = []
    listing = Listing()
    for message, tag, source in versions.problems:
        if tag is not None and tag[1][1] < best[tag[1][0]]:
            if tag[0] is not None:
                counts[(tag[0], PING_TYPE, NAMES[tag[1][1]])] += 1
            continue
        if source is None or listing.lists(source):
            kept.append(message)
    for (source, version), count in versions.more.items():
        if version is not None and version[1] < best[version[0]]:
            counts[(source, PING_TYPE, NAMES[version[1]])] += count
        else:
            listing.more[source] += count
    kept += [more_problems(source, count) for source, count in listing.more.items()]
    if problems is not None:
        problems.extend(kept)
    if left_out is not None:
        left_out.update(counts)
    return series


def notes(left_out: LeftOut) -> list[str]:
    """One line per file: how many rows were left out, and for which ping types and
    aggregations."""
    by_file: dict[str, dict[str, Counter]] = {}
    for (source, column, value), rows in left_out.items():
        by_file.setdefault(source, {}).setdefault(column, Counter())[value] += rows
    lines = []
    for source, columns in by_file.items():
        parts = [_part(column, columns.get(column)) for column in (PING_TYPE, CLIENT_AGG_TYPE)]
        said = " and ".join(p for p in parts if p)
        lines.append(f"{source or 'input'}: {said} left out")
    return lines


def _part(column: str, values: Counter | None) -> str:
    if not values:
        return ""
    total = sum(values.values())
    if column == CLIENT_AGG_TYPE and len(values) == 1:
        return f"{_rows(total)} of client_agg_type {next(iter(values))!r}"
    ordered = sorted(values.items(), key=lambda item: (-item[1], item[0]))
    listed = ", ".join(f"{v or 'none'} {n:,}" for v, n in ordered)
    what = "other ping types" if column == PING_TYPE else "other client_agg_types"
    return f"{_rows(total)} of {what} ({listed})"


def _rows(count: int) -> str:
    return f"{count:,} row" if count == 1 else f"{count:,} rows"


def log_notes(left_out: LeftOut) -> list[str]:
    """The notes of the rows left out, also written to the log (a note, not a problem)."""
    lines = notes(left_out)
    for line in lines:
        log.info("%s", line)
    return lines
