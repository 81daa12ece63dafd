"""Series built from separate parts of the rows (files, chunks, queries) put together."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from typing import TypeVar

import numpy as np

from alerting.data.model import DailySeries, SeriesKey

# A series is at most this many day x bucket cells (160 MB of counts): a year of a
# 1,000-bucket histogram is 365,000. Anything bigger comes from hostile or broken rows, and
# is dropped with a problem instead of exhausting memory.
MAX_SERIES_CELLS = 20_000_000

# What series are looked up by: their key, or their key and ping type (`ping_types`).
Key = TypeVar("Key")


def too_big(key: SeriesKey, n_days: int, n_buckets: int) -> str:
    """Why a series of this size is refused, or "" when it is fine."""
    if n_days * n_buckets <= MAX_SERIES_CELLS:
        return ""
    where = "/".join(v for v in (key.metric, key.os, key.metric_key, key.channel) if v)
    return (
        f"series {where}: {n_days:,} days x {n_buckets:,} buckets is more than "
        f"{MAX_SERIES_CELLS:,} cells; dropped (check the rows' build ids and bucket keys)"
    )


def merge_series(
    parts: Iterable[dict[Key, DailySeries]], problems: list[str] | None = None
) -> dict[Key, DailySeries]:
    """Series built from separate parts of the rows (files, chunks) as one.

    Days and buckets are unions, counts add up, and the earliest build names a day. Each
    series is assembled once from all its parts, however many there are. A union too big to
    hold is left out and described in `problems`.
    """
    pieces: dict[Key, list[DailySeries]] = defaultdict(list)
    for part in parts:
        for key, series in part.items():
            pieces[key].append(series)
    merged = {}
    for key in sorted(pieces):
        series = _merge(pieces[key])
        if isinstance(series, str):
            if problems is not None:
                problems.append(series)
        else:
            merged[key] = series
    return merged


def _merge(parts: list[DailySeries]) -> DailySeries | str:
    if len(parts) == 1:
        return parts[0]
    start = min(p.start for p in parts)
    end = max(p.end for p in parts)
    n_days = (end - start).days + 1
    buckets = functools.reduce(np.union1d, (p.buckets for p in parts))
    refused = too_big(parts[0].key, n_days, len(buckets))
    if refused:
        return refused
    counts = np.zeros((n_days, len(buckets)))
    present = np.zeros(n_days, dtype=bool)
    build_ids = [""] * n_days
    for part in parts:
        first = (part.start - start).days
        days = slice(first, first + part.n_days)
        counts[days, np.searchsorted(buckets, part.buckets)] += part.counts
        present[days] |= part.present
        for i, build_id in enumerate(part.build_ids, start=first):
            if build_id and (not build_ids[i] or build_order(build_id) < build_order(build_ids[i])):
                build_ids[i] = build_id
    return DailySeries(
        key=parts[0].key,
        metric_type=next((p.metric_type for p in parts if p.metric_type), ""),
        start=start,
        buckets=buckets,
        counts=counts,
        present=present,
        build_ids=tuple(build_ids),
    )


def build_order(build_id: str) -> str:
    """10-digit (hour) and 14-digit (second) ids compared as times."""
    return build_id.ljust(14, "0")
