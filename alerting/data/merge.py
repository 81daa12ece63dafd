"""Series built from separate parts of the rows (files, chunks, queries) put together."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from alerting.data.model import DailySeries, SeriesKey


def merge_series(
    parts: Iterable[dict[SeriesKey, DailySeries]],
) -> dict[SeriesKey, DailySeries]:
    """Series built from separate parts of the rows (files, chunks) as one.

    Days and buckets are unions, counts add up, and the earliest build names a day. Each
    series is assembled once from all its parts, however many there are.
    """
    pieces: dict[SeriesKey, list[DailySeries]] = defaultdict(list)
    for part in parts:
        for key, series in part.items():
            pieces[key].append(series)
    return {key: _merge(pieces[key]) for key in sorted(pieces)}


def _merge(parts: list[DailySeries]) -> DailySeries:
    if len(parts) == 1:
        return parts[0]
    start = min(p.start for p in parts)
    end = max(p.end for p in parts)
    n_days = (end - start).days + 1
    buckets = functools.reduce(np.union1d, (p.buckets for p in parts))
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
