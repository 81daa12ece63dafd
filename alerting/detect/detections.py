"""Detections out: a confirmed change as the pipeline sees it (date, build, direction, the
distribution before and after)."""

from __future__ import annotations

import numpy as np

from alerting.data.histogram import quantiles
from alerting.data.model import DailySeries
from alerting.detect.confirmation import Change, baseline_rows
from alerting.detect.days import Days, pooled
from alerting.detect.model import Detection, Snapshot


def _mean_value(buckets: np.ndarray, pmf: np.ndarray) -> float:
    """Mean of a histogram, each bucket at the geometric middle of its bounds (or its bound)."""
    upper = np.append(buckets[1:], buckets[-1])
    middle = np.where(
        (buckets > 0) & (upper > 0), np.sqrt(np.abs(buckets * upper)), (buckets + upper) / 2
    )
    return float(pmf @ middle)


def to_detections(
    series: DailySeries,
    days: Days,
    found: list[Change],
    technique: str,
    score_meaning: str,
) -> list[Detection]:
    out = []
    for change in found:
        rows_before = baseline_rows(days, change.base_start, change.first)
        rows_after = np.arange(change.first, change.last + 1)
        before, after = pooled(days, rows_before), pooled(days, rows_after)
        direction = _direction(series.buckets, before, after)
        day = int(days.index[change.first])
        out.append(
            Detection(
                date=series.day(day),
                build_id=series.build_ids[day],
                direction=direction,
                technique=technique,
                score=round(change.score, 3),
                score_meaning=score_meaning,
                before=_snapshot(series.buckets, before, days.samples[rows_before]),
                after=_snapshot(series.buckets, after, days.samples[rows_after]),
            )
        )
    return out


def _direction(buckets: np.ndarray, before: np.ndarray, after: np.ndarray) -> str:
    """`up` when values got larger on average (the mean follows a step of the median as well
    as a longer or shorter tail); the CDF area decides if the means tie."""
    diff = _mean_value(buckets, after) - _mean_value(buckets, before)
    if diff == 0:
        diff = float(np.sum(np.cumsum(before) - np.cumsum(after)))
    return "up" if diff > 0 else "down"


def _snapshot(buckets: np.ndarray, pmf: np.ndarray, samples: np.ndarray) -> Snapshot:
    p05, median, p95 = quantiles(buckets, pmf, (0.05, 0.5, 0.95))
    return Snapshot(
        median=round(float(median), 6),
        p05=round(float(p05), 6),
        p95=round(float(p95), 6),
        samples=round(float(samples.mean()), 1) if samples.size else 0.0,
    )
