"""The days a detector looks at: usable days of a series as normalized histograms.

Every day counts once whatever its volume (histograms are normalized per day), so a change in
volume alone can never look like a change in the distribution. Everything here is causal in
the sense the streaming view needs: what is computed for a day depends only on calendar days
up to three days after it (the transient-day flag looks that far ahead), never on the length
of the series.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from alerting.data.histogram import cdf, quantiles_of_cdf
from alerting.data.model import DailySeries

# A day with fewer samples than this share of the median of the 14 days before it is too thin
# to describe the distribution (a partial day, a broken build) and is skipped like a gap.
THIN_DAY_SHARE = 0.05
# Transient days: a day whose p05/p50/p95 stands this many robust noise widths away from the
# median of the three days before and from that of the three days after is a spike, kept out
# of baselines.
TRANSIENT_WIDTHS = 5.0
SUMMARY_QS = (0.05, 0.5, 0.95)
# A day is a spike when it stands apart from the three calendar days on either side, so its
# flag is known this many calendar days after it.
FLAG_DELAY = 3
# A day whose features sit this many robust widths (root mean square) from both the days just
# before it and the same weekday before it is far off; FAR_OFF_LOOKBACK days are "just before".
FAR_OFF_WIDTHS = 6.0
FAR_OFF_LOOKBACK = 7  # (the median of these days is taken by a network for seven values)
# The weekly pattern is read anew every WEEKDAY_STEP days from the WEEKDAY_SPAN days before
# (a whole number of steps).
WEEKDAY_STEP = 7
WEEKDAY_SPAN = 56


@dataclass(frozen=True)
class Days:
    """The usable days of one series. Row i of every array is the i-th usable day."""

    index: np.ndarray  # calendar index (into the series) of each usable day
    pmf: np.ndarray  # (n, buckets) share of the day's samples per bucket
    cumulative: np.ndarray  # (n, buckets) share of the day's samples up to each bucket
    samples: np.ndarray  # (n,) samples of the day
    summary: np.ndarray  # (n, 3) asinh of the day's p05, p50, p95 (a log scale that allows 0)
    transient: np.ndarray  # (n,) bool: looks like a 1-2 day spike next to its neighbours
    weekday: np.ndarray  # (n,) 0 = Monday

    @property
    def n(self) -> int:
        return int(self.index.size)


def usable_days(series: DailySeries) -> Days:
    """The series' days with data, normalized, with their summary quantiles and spike flags."""
    samples = series.samples() if series.n_days else np.zeros(0)
    has = series.present & (samples > 0) & np.isfinite(samples)
    candidates = np.flatnonzero(has)
    thin = _thin(samples[candidates])
    index = candidates[~thin]
    counts = series.counts[index]
    day_samples = samples[index]
    pmf = counts / day_samples[:, None] if index.size else np.zeros((0, series.counts.shape[1]))
    cumulative = cdf(pmf)
    summary = (
        log_scale(quantiles_of_cdf(series.buckets, cumulative, SUMMARY_QS))
        if index.size
        else np.zeros((0, 3))
    )
    weekday = (series.start.weekday() + index) % 7
    # A weekly swing widens the spread a spike is judged in (the differences from the days
    # around hold the swing), so spikes are found again on the summary with the weekly pattern
    # taken out (its weekday means kept clear of the spikes found at first).
    spikes = transient_days(summary, index)
    flags = transient_days(weekday_adjusted(summary, weekday, spikes), index)
    return Days(index, pmf, cumulative, day_samples, summary, flags, weekday)


def log_scale(values: np.ndarray) -> np.ndarray:
    """asinh: like log for the large values of timings and memory, and defined at 0."""
    return np.arcsinh(values)


def linear_buckets(buckets: np.ndarray) -> bool:
    """Whether the buckets are evenly spaced (a custom distribution's linear buckets, where a
    change moves values by absolute amounts) rather than exponential (timings, memory)."""
    widths = np.diff(buckets)
    return bool(widths.size >= 3 and widths.min() > 0 and widths.max() <= 1.5 * widths.min())


def value_scale(buckets: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Values in the space that fits the buckets: as they are for linear buckets, on a log
    scale for exponential ones."""
    return values if linear_buckets(buckets) else log_scale(values)


def _thin(samples: np.ndarray, span: int = 14) -> np.ndarray:
    """Days far below the volume of the days just before them (judged on earlier days only)."""
    thin = np.zeros(samples.size, dtype=bool)
    if samples.size <= 1:
        return thin
    padded = np.concatenate([np.full(span, np.nan), samples])
    windows = np.lib.stride_tricks.sliding_window_view(padded[:-1], span)  # days before i
    typical = nanmedian_last(windows)
    thin[:] = np.isfinite(typical) & (samples < THIN_DAY_SHARE * typical)
    return thin


def nanmedian_last(a: np.ndarray) -> np.ndarray:
    """Median over the last axis ignoring NaN (NaN where all are NaN), without np.nanmedian's
    slow path for many small rows."""
    ordered = np.sort(a, axis=-1)  # NaN sort last
    return _sorted_median(ordered, np.isfinite(ordered).sum(axis=-1))


def _sorted_median(ordered: np.ndarray, finite: np.ndarray) -> np.ndarray:
    """Median over the last axis of rows sorted with their `finite` values first."""
    width = ordered.shape[-1]
    flat = ordered.reshape(-1, width)
    count = finite.reshape(-1)
    rows = np.arange(flat.shape[0])
    lo = np.maximum((count - 1) // 2, 0)
    hi = np.minimum(count // 2, width - 1)
    median = (flat[rows, lo] + flat[rows, hi]) / 2
    return np.where(count > 0, median, np.nan).reshape(ordered.shape[:-1])


def _median3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Element-wise median of three arrays ignoring NaN, as nanmedian_last of them stacked:
    a min/max network where all three are there, else the mean of the smallest and largest
    there (of two values their mean, of one that value, of none NaN)."""
    median = np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))
    missing = np.isnan(median)  # NaN goes through the network wherever one of the three is
    if missing.any():
        lo = np.fmin(np.fmin(a, b), c)
        hi = np.fmax(np.fmax(a, b), c)
        median[missing] = (lo[missing] + hi[missing]) / 2
    return median


# A sorting network for seven values (16 compare-exchanges; it sorts all 128 inputs of 0 and
# 1, so it sorts any input): the median of seven days without a sort per window.
_SORT7 = (
    (0, 6), (2, 3), (4, 5), (0, 2), (1, 4), (3, 6), (0, 1), (2, 5),
    (3, 4), (1, 2), (4, 6), (2, 3), (4, 5), (1, 2), (3, 4), (5, 6),
)  # fmt: skip


def _median7(seven: list[np.ndarray]) -> np.ndarray:
    """Element-wise median of seven arrays ignoring NaN, as nanmedian_last of them stacked:
    the network where all seven are there, the general way elsewhere."""
    v = list(seven)
    for a, b in _SORT7:
        v[a], v[b] = np.minimum(v[a], v[b]), np.maximum(v[a], v[b])
    median = v[3]
    missing = np.isnan(median)  # NaN sorts through the network wherever one of the seven is
    for part in seven:
        missing |= np.isnan(part)
    if missing.any():
        median[missing] = nanmedian_last(np.stack([part[missing] for part in seven], axis=-1))
    return median


def robust_scale(
    values: np.ndarray, span: int, step: int = 7, min_n: int = 7, clip: float | None = None
) -> np.ndarray:
    """Per row i, 1.4826 * median |value| over the `span` rows before row i's block.

    Rows are taken in blocks of `step`: every row of a block uses the same earlier window, so a
    row's scale depends only on rows before it and costs a median per block, not per row.
    NaN where the window holds fewer than `min_n` finite values. With `clip`, the root mean
    square of the values within `clip` such scales instead (as steady as a standard deviation,
    and still blind to a few far-off values; the share a normal loses at the clip put back).
    """
    n, f = values.shape
    if n == 0:
        return np.full(values.shape, np.nan)
    # One row per feature, so each window is a run of adjacent numbers: sorting, medians and
    # sums along it then work on contiguous memory instead of striding across features.
    padded = np.concatenate([np.full((f, span), np.nan), np.abs(values).T], axis=1)
    # Block b0 looks at padded columns [b0, b0 + span), i.e. value rows [b0 - span, b0).
    windows = np.lib.stride_tricks.sliding_window_view(padded, span, axis=1)[:, :n:step]
    windows = np.sort(windows.transpose(1, 0, 2), axis=-1)  # (blocks, f, span); NaN sort last
    finite = np.isfinite(windows).sum(axis=-1)
    enough = finite >= min_n
    scale = np.where(enough, 1.4826 * _sorted_median(windows, finite), np.nan)
    if clip is not None:
        with np.errstate(invalid="ignore"):
            inside = windows <= clip * scale[..., None]
        squares = np.where(inside, windows * windows, 0.0).sum(axis=-1)
        kept = np.maximum(inside.sum(axis=-1), 1)
        scale = np.where(enough, np.sqrt(squares / kept / _clipped_variance(clip)), np.nan)
    return np.repeat(scale, step, axis=0)[:n]


def _clipped_variance(clip: float) -> float:
    """Variance of a standard normal restricted to [-clip, clip]."""
    inside = math.erf(clip / math.sqrt(2.0))  # the probability of [-clip, clip]
    return 1.0 - 2.0 * clip * math.exp(-clip * clip / 2.0) / math.sqrt(2.0 * math.pi) / inside


def transient_days(summary: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Days that stand apart from both the three calendar days before and the three after (the
    ones with data): spikes.

    The first day of a step agrees with the days after it, so it is not a spike; a spike of one
    or two days disagrees with both sides. Calendar days, not usable days, since a spike lasts
    one or two calendar days whether or not they have data: a day's flag is then known three
    calendar days later, when a change starting the next day can first be confirmed, so the
    baseline of that change uses only flags known by then.
    """
    n = summary.shape[0]
    if n < 4:
        return np.zeros(n, dtype=bool)
    f = summary.shape[1]
    calendar = np.full((int(index[-1]) + 2 * FLAG_DELAY + 1, f), np.nan)  # empty days either side
    at = index + FLAG_DELAY
    calendar[at] = summary
    from_before = summary - _median3(*(calendar[at + o] for o in (-3, -2, -1)))
    from_after = summary - _median3(*(calendar[at + o] for o in (1, 2, 3)))
    scale = np.maximum(robust_scale(from_before, span=28), 1e-6)
    with np.errstate(invalid="ignore"):
        limit = TRANSIENT_WIDTHS * scale
        apart = (
            (np.abs(from_before) > limit)
            & (np.abs(from_after) > limit)
            & (np.sign(from_before) == np.sign(from_after))
        )
    return np.any(apart & np.isfinite(scale), axis=1)


def far_off_days(
    values: np.ndarray, transient: np.ndarray, index: np.ndarray, floor: float
) -> np.ndarray:
    """Days (rows of `values`, calendar days `index`) far off the days just before them: the
    root mean square over the features of the day's distance from the median of the
    FAR_OFF_LOOKBACK days before, and from the median of the same weekday in the three weeks
    before, each in robust widths of such distances (at least `floor`), both beyond
    FAR_OFF_WIDTHS.

    An excursion of a few days, or the first days of a step, are far off; a day of the
    weekly pattern is not (the same weekdays before sit where it does). Only days before a
    day are looked at, so a day's flag is known on the day. Spike days are left out of the
    medians and never flagged (they are set aside already).
    """
    n, f = values.shape
    if n <= FAR_OFF_LOOKBACK:
        return np.zeros(n, dtype=bool)
    kept = np.where(transient[:, None], np.nan, values)
    padded = np.concatenate([np.full((FAR_OFF_LOOKBACK, f), np.nan), kept[:-1]])
    recent = [padded[lag : lag + n] for lag in range(FAR_OFF_LOOKBACK)]
    weeks = 3 * 7
    calendar = np.full((int(index[-1]) + weeks + 1, f), np.nan)
    calendar[index + weeks] = kept
    same_weekday = _median3(*(calendar[index + weeks - lag] for lag in (7, 14, 21)))
    far = ~transient
    for reference in (_median7(recent), same_weekday):
        distance = values - reference
        widths = distance / np.maximum(robust_scale(distance, span=28), floor)
        with np.errstate(invalid="ignore"):
            squares = np.where(np.isfinite(widths), widths * widths, 0.0)
            counted = np.isfinite(widths).sum(axis=1)
            far &= squares.sum(axis=1) > FAR_OFF_WIDTHS**2 * np.maximum(counted, 1)
    return far


def weekday_adjusted(values: np.ndarray, weekday: np.ndarray, skip: np.ndarray) -> np.ndarray:
    """Values with the weekly pattern taken out (weekend users differ from weekday users).

    Each block of WEEKDAY_STEP days subtracts, per weekday, how far that weekday's mean sat
    from the overall mean over the WEEKDAY_SPAN days before the block (leaving out spike days
    and the last FLAG_DELAY days, whose spike flags are not known yet), so the adjustment uses
    only the past.
    """
    n, f = values.shape
    if n == 0:
        return values
    # Every block's window starts and ends where a group of WEEKDAY_STEP rows does (groups
    # begin FLAG_DELAY rows before a block), so sums per group and weekday are enough.
    group = (np.arange(n) + FLAG_DELAY) // WEEKDAY_STEP
    groups = int(group[-1]) + 1
    use = ~skip
    key = group[use] * 7 + weekday[use]
    per_group = np.zeros((groups * 7, f))
    np.add.at(per_group, key, values[use])
    sums = np.zeros((groups + 1, 7, f))
    np.cumsum(per_group.reshape(groups, 7, f), axis=0, out=sums[1:])
    counts = np.zeros((groups + 1, 7))
    np.cumsum(np.bincount(key, minlength=groups * 7).reshape(groups, 7), axis=0, out=counts[1:])
    hi = np.arange(0, n, WEEKDAY_STEP) // WEEKDAY_STEP  # block b: the groups before b
    lo = np.maximum(hi - WEEKDAY_SPAN // WEEKDAY_STEP, 0)
    s = sums[hi] - sums[lo]  # (blocks, 7, f)
    c = counts[hi] - counts[lo]  # (blocks, 7)
    with np.errstate(invalid="ignore", divide="ignore"):
        overall = s.sum(axis=1) / c.sum(axis=1)[:, None]
        effect = s / c[:, :, None] - overall[:, None, :]
    # Weekdays seen fewer than three times in the window are not adjusted.
    effect = np.where((c >= 3)[:, :, None] & np.isfinite(effect), effect, 0.0)
    block = np.arange(n) // WEEKDAY_STEP
    return values - effect[block, weekday]


def pooled(days: Days, rows: np.ndarray) -> np.ndarray:
    """The mean of the normalized histograms of `rows`: each day weighs the same."""
    return days.pmf[rows].mean(axis=0)


def baseline_rows(days: Days, start: int, first: int) -> np.ndarray:
    """The rows from `start` up to `first` that are no spike days: what the summary of the
    weeks before a change is made of (spike days are left out whether or not the technique
    ignores short spikes: one far-off day would move a summary of a few weeks)."""
    rows = np.arange(start, first)
    return rows[~days.transient[rows]]


def too_short(series: DailySeries, days: Days, technique: str, needed: int) -> bool:
    """Whether `days` are too few for `technique`; says so in the log (a note, not an error)."""
    if days.n >= needed:
        return False
    key = series.key
    logging.getLogger(f"alerting.detect.{technique}").info(
        "%s: %s (%s, %r) has %d usable days, needs %d; no detection",
        technique,
        key.metric,
        key.os,
        key.metric_key,
        days.n,
        needed,
    )
    return True
