"""`cdf_squared`: the default technique.

Like mozdetect's detector of the same name, it compares the CDF of the days before with the
CDF of the days after, bucket by bucket, squared. Here each day's histogram is normalized on
its own, so volume never matters, and the squared differences are measured in the series' own day-to-day noise: the
score is the root mean square, over the buckets, of (CDF after - CDF before) divided by how
much that bucket's CDF moves from one day to the next. `threshold` turns into a score cut that
a change-free series reaches about once in 1 / -ln(threshold) years. A distribution narrower
than the grid the CDF is read on is read at every bucket boundary instead, in probit units.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from alerting.data.model import DailySeries
from alerting.detect.days import Days, linear_buckets, weekday_adjusted
from alerting.detect.step_technique import step_technique
from alerting.detect.window_scores import Features

# Buckets whose CDF level is this close to 0 or 1 on both sides say nothing about a change.
ACTIVE = (0.01, 0.99)
# Grid marks per octave. The CDF of a day moves smoothly over an octave, and a step moves it
# over many octaves: a finer grid (4 marks) scored the same on the benchmark at 20 % more work.
PER_OCTAVE = 2


# Linear buckets: the CDF is read at most at this many evenly spaced buckets.
LINEAR_COLUMNS = 64
# A distribution with fewer grid columns than this in the active range on a typical day is
# narrower than the grid: it is read at every bucket boundary, in probit units.
MIN_COLUMNS = 2


def grid_columns(buckets: np.ndarray) -> np.ndarray:
    """The buckets the CDF is read at: the last bucket below each grid mark (PER_OCTAVE marks
    an octave), or for linear buckets evenly spaced ones.

    The CDF moves smoothly between neighbouring buckets, so a grid this coarse loses nothing
    a detector can use (unless the whole distribution fits between two marks: see `features`)
    and keeps the work per day small whatever the bucketing (Glean timings
    have 8 buckets per octave, memory 16, custom distributions anything). On linear buckets
    (a custom distribution of 0-100) octaves would crowd the low values and leave a handful
    of marks where the values are.
    """
    if linear_buckets(buckets):
        step = max(1, -(-buckets.size // LINEAR_COLUMNS))
        return np.arange(0, buckets.size, step)
    positive = buckets[buckets > 0]
    columns = [np.flatnonzero(buckets <= 0)[-1:]]
    if positive.size:
        octaves = np.log2(positive[[0, -1]])
        lo, hi = np.floor(PER_OCTAVE * octaves[0]), np.ceil(PER_OCTAVE * octaves[1])
        marks = 2.0 ** (np.arange(lo, hi + 1) / PER_OCTAVE)
        columns.append(np.searchsorted(buckets, marks * (1 + 1e-9), side="right") - 1)
    picked = np.unique(np.concatenate(columns))
    return picked[picked >= 0]


def features(series: DailySeries, days: Days, transient: np.ndarray) -> Features:
    """The CDF of each day on the grid, over the buckets where it can move.

    A distribution narrower than the grid (a timing that hardly varies, values piled into a
    few linear buckets) leaves at most one grid column in the active range on most days, in
    its tail: a shift within a grid interval hardly shows, and the share beyond a column falls
    off like a normal tail, so a level that wanders evenly moves it by leaps now and then,
    which read as changes. Such a distribution is read at every bucket boundary, and in probit
    units, which move in proportion to the level in the tails too (clipped at half a sample of
    the day).
    """
    cdf, informative = _read(grid_columns(series.buckets), days)
    if np.median(informative.sum(axis=1)) < MIN_COLUMNS:
        cdf, informative = _read(np.arange(series.buckets.size), days)
        clip = (0.5 / np.maximum(days.samples, 1.0))[:, None]
        cdf = ndtri(np.clip(cdf, clip, 1.0 - clip))
    values = weekday_adjusted(cdf, days.weekday, transient)
    return Features(values=values, present=informative, combine="rms")


def _read(columns: np.ndarray, days: Days) -> tuple[np.ndarray, np.ndarray]:
    """The CDF at the columns that can move, and the days each says something on.

    Columns at or beyond the active range on every day can never be compared (any window's
    mean stays out of range too), so dropping them changes no score, only the work. A column
    says something on a day with samples between it and the column before, and only while its
    level is inside the active range (near 0 or 1 the CDF cannot move)."""
    cdf = days.cumulative[:, columns]
    lo, hi = ACTIVE
    keep = np.any(cdf > lo, axis=0) & np.any(cdf < hi, axis=0)
    cdf = cdf[:, keep]
    occupied = np.diff(cdf, axis=1, prepend=0.0) > 0  # the CDF grows only over samples
    return cdf, occupied & (cdf > lo) & (cdf < hi)


TECHNIQUE = step_technique(
    name="cdf_squared",
    aliases=("cdf-squared",),
    summary=(
        "Compares the per-day CDFs of the days before and after each day, bucket by bucket,"
        " in units of the series' own day-to-day noise."
    ),
    score_meaning=(
        "root mean square over buckets of the CDF shift, in the series' own day-to-day noise widths"
    ),
    features=features,
)
