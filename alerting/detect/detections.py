"""Detections out: a confirmed change as the pipeline sees it (date, build, direction, the
distribution before and after)."""

from __future__ import annotations

import numpy as np

from alerting.data.histogram import quantiles
from alerting.data.model import DailySeries
from alerting.detect.confirmation import Change
from alerting.detect.days import (
    SUMMARY_QS,
    Days,
    baseline_rows,
    linear_buckets,
    log_scale,
    pooled,
    value_scale,
)
from alerting.detect.model import Detection, Snapshot


def _middles(buckets: np.ndarray) -> np.ndarray:
    """Each bucket's value in the space of the buckets: the middle of its bounds for linear
    buckets, the log of their geometric middle for exponential ones (the last bucket is a
    point at its bound). Computed so that no finite bound overflows: a product or sum of two
    huge bounds (a bucket key of 1e300) is taken apart, the middle of finite values being
    finite, so an empty huge bucket weighs nothing instead of making the sum NaN."""
    upper = np.append(buckets[1:], buckets[-1])
    with np.errstate(over="ignore", invalid="ignore"):
        half_sum = (buckets + upper) / 2
        half_sum = np.where(np.isfinite(half_sum), half_sum, buckets / 2 + upper / 2)
        if linear_buckets(buckets):
            return half_sum
        product = buckets * upper
        geometric = np.where(
            np.isfinite(product),
            np.sqrt(np.abs(product)),
            np.sqrt(np.abs(buckets)) * np.sqrt(np.abs(upper)),
        )
    positive = (buckets > 0) & (upper > 0)
    return log_scale(np.where(positive, geometric, half_sum))


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
        summary = quantiles(series.buckets, np.stack([before, after]), SUMMARY_QS)
        day = int(days.index[change.first])
        out.append(
            Detection(
                date=series.day(day),
                build_id=series.build_ids[day],
                direction=direction(series.buckets, before, after, summary[:, 2]),
                technique=technique,
                score=round(change.score, 3),
                score_meaning=score_meaning,
                before=_snapshot(summary[0], days.samples[rows_before]),
                after=_snapshot(summary[1], days.samples[rows_after]),
            )
        )
    return out


def direction(
    buckets: np.ndarray, before: np.ndarray, after: np.ndarray, p95: np.ndarray | None = None
) -> str:
    """`up` when values got larger, read in the space of the buckets (linear buckets as they
    are, exponential ones on a log scale): the shift of the mean plus that of the upper tail
    (p95, of before and after, computed here unless given). A step of the whole distribution
    moves both; a change of spread alone leaves the mean of a symmetric distribution where it
    was, and then the slow tail, which a regression is about, decides (a longer tail is `up`,
    a faster path appearing moves the mean down and the tail not). The CDF area decides if
    they tie."""
    if p95 is None:
        p95 = quantiles(buckets, np.stack([before, after]), (0.95,))[:, 0]
    p95 = value_scale(buckets, p95)
    diff = float((after - before) @ _middles(buckets) + np.nan_to_num(p95[1] - p95[0]))
    if diff == 0:
        diff = float(np.sum(np.cumsum(before) - np.cumsum(after)))
    return "up" if diff > 0 else "down"


def _snapshot(summary: np.ndarray, samples: np.ndarray) -> Snapshot:
    """A distribution from its p05, median and p95 and the samples of its days."""
    p05, median, p95 = summary
    return Snapshot(
        median=round(float(median), 6),
        p05=round(float(p05), 6),
        p95=round(float(p95), 6),
        samples=round(float(samples.mean()), 1) if samples.size else 0.0,
    )
