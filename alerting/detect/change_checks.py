"""The checks a candidate start must pass before it is confirmed as a change.

A score over the cut says the days since a start sit far from the weeks before. Each check
here rules out one other explanation of that: a spike that reverts (`persists`), a slow drift
or smooth trend (`abrupt`), a level that wanders for weeks (`jumps`, `along`), a shift too
small to matter (`big_enough`). All of them read only days up to the confirming day.
"""

from __future__ import annotations

import math

import numpy as np

from alerting.data.histogram import quantiles
from alerting.detect.days import SUMMARY_QS, Days, baseline_rows, pooled
from alerting.detect.window_scores import (
    BEFORE_DAYS,
    CORRELATED_PHI,
    MAX_PHI,
    MIN_NOISE_DAYS,
    PHI_DAYS,
    Features,
    Windows,
    ar_variance,
)

PERSISTENCE = 0.5  # days after a possible spike must carry at least half of the mean shift
# A step must fit the days around it better than a bent line by this many times the residual
# day variance (an F-like test with one degree of freedom more for the step's jump).
GRADUAL_MARGIN = 8.0
# Where the days are correlated along the shift (a lag-1 correlation of CORRELATED_PHI or more
# over the weeks before), a change must also show as a jump: the mean of its first JUMP_DAYS days against the
# JUMP_DAYS before must reach JUMP_CUT robust widths of such jumps in the weeks before (at its
# start or a day earlier: a window can begin a day late).
JUMP_DAYS = 4
JUMP_CUT = 2.5
MIN_JUMPS = 20  # the history must hold more jumps than this to make a spread; else no check


def outlasts_spike(
    index: np.ndarray, first: np.ndarray | int, last: np.ndarray | int, spike_days: int
) -> np.ndarray:
    """Whether the usable rows `first` to `last` can no longer all be a spike that reverts:
    they span more than `spike_days` calendar days (a day without data counts, since a spike
    lasts as long whether or not its days have data) and hold at least two days (a day on its
    own shows no level that persists). Both ends are rows up to `last`, so the daily run knows
    it on that day. Element-wise for arrays."""
    return (index[last] - index[first] >= spike_days) & (last - first + 1 >= min(2, spike_days + 1))


def persists(
    w: Windows, features: Features, days: Days, first: int, k: int, spike_days: int, cut: float
) -> bool:
    """No run of up to `spike_days` calendar days explains the shift: whichever such run is
    set aside (its usable days, fewer where days have no data), the other days still carry
    half the mean shift and on their own reach half the cut. A spike that reverts fails this
    for the run that is the spike; a real change passes for all. And the typical (median) day
    carries half the shift, so two spikes are no change either.
    """
    if spike_days <= 0:
        return True
    index = days.index[first : first + k]
    if not outlasts_spike(index, 0, k - 1, spike_days):
        return False
    mask = w.mask(first, k)
    e = standardized(w, features, first, k, np.arange(first, first + k))
    d = e.sum(axis=0) / k
    dd = float(d @ d)
    if dd <= 0:
        return False
    share = (e @ d) / dd  # how much of the mean shift each day carries
    if _median(share) < PERSISTENCE:  # most days must carry it (several spikes do not)
        return False
    width = math.sqrt(dd / max(int(mask.sum()), 1))  # the mean shift in RMS noise widths
    phi = w.phi[first]
    runs = np.arange(1, min(spike_days, k - 1) + 1)  # all k days span more than a run
    variances = ar_variance(np.append(k - runs, w.base_rows[first]), phi)
    factors = np.sqrt(variances[:-1] + variances[-1])
    total = float(share.sum())
    ends = np.concatenate([[0.0], np.cumsum(share)])
    for run, factor in zip(runs.tolist(), factors.tolist(), strict=True):
        # Every run of `run` usable days within `spike_days` calendar days set aside: the mean
        # share of the other days.
        within = index[run - 1 :] - index[: k - run + 1] < spike_days
        if not within.any():
            continue
        rest = float(np.min((total - (ends[run:] - ends[:-run]))[within])) / (k - run)
        if rest < PERSISTENCE or rest * width / factor < cut / 2:
            return False
    return True


def abrupt(w: Windows, features: Features, days: Days, first: int, k: int) -> bool:
    """The days fit a step at `first` clearly better than a line that bends there without
    jumping: a slow drift (population, hardware mix), the start or end of one, or a smooth
    trend moves the mean of the weeks after away from the weeks before as much as a step does,
    but it is no change of a build. Measured along the direction of the shift, in calendar
    days (gaps keep their length), against the residual noise of the step fit itself."""
    b0 = int(w.base_start[first])
    rows = _non_spike(w, np.arange(b0, first + k))  # spike days take no part
    if rows.size < 8:
        return True
    e = standardized(w, features, first, k, rows)
    after = rows >= first
    if after.all() or not after.any():  # nothing on one side to bend a line through
        return True
    d = e[after].mean(axis=0)
    norm = math.sqrt(float(d @ d))
    if norm <= 0:
        return True
    z = e @ d / norm
    u = (days.index[rows] - days.index[first]).astype(float)
    rss_step = _spread(z[~after]) + _spread(z[after])
    noise = rss_step / max(rows.size - 2, 1)
    return _bent_rss(u, z) - rss_step >= GRADUAL_MARGIN * max(noise, 1e-12)


def standardized(
    w: Windows, features: Features, first: int, k: int, rows: np.ndarray
) -> np.ndarray:
    """The feature values of `rows` as the candidate (first, k) measures them: from its
    baseline, in its noise widths, only the features it compares."""
    mask = w.mask(first, k)
    return np.where(mask, (features.values[rows] - w.base[first]) / w.scale[first], 0.0)


def _shift(
    w: Windows, features: Features, first: int, k: int
) -> tuple[float, np.ndarray, int] | None:
    """The mean shift of the non-spike days after the start from the baseline, in noise
    widths: its size, its direction (a unit vector over the features) and the days it is the
    mean of. None when there is no such day or no shift."""
    after = _non_spike(w, np.arange(first, first + k))
    if after.size == 0:  # only spike days since the start
        return None
    d = standardized(w, features, first, k, after).mean(axis=0)
    size = math.sqrt(float(d @ d))
    return (size, d / size, after.size) if size > 0 else None


def _non_spike(w: Windows, rows: np.ndarray) -> np.ndarray:
    return rows[w.good[rows + 1] > w.good[rows]]


def jumps(w: Windows, features: Features, first: int, k: int) -> bool:
    """Where the days are correlated, the change also shows as a jump where it starts.

    The window scores credit a wandering level with the correlation measured over a few
    months, which reads too low for a level that wanders for weeks (a lag-1 correlation of 0.9
    reads as 0.5-0.8), and a share of slow samples that wanders hardly shows in a correlation
    pooled over the whole distribution, so four-week means that drifted apart look like a step.
    A build's step moves the level from one day to the next; a wandering level moves it a
    little every day. The jump (mean of JUMP_DAYS days from the start minus that of the
    JUMP_DAYS before, along the direction of the shift) is measured against the jumps at every
    day of the PHI_DAYS before: short windows next to each other, whose spread months of days
    measure well whatever the correlation. Where the days along the shift were not correlated
    in those weeks, the window scores need no such help, and a small step of a steady series
    need not jump out of a few days. Nor is it asked of a change confirmed before JUMP_DAYS
    usable days since its start (scores of a few days are measured as well as the jumps), or
    with MIN_JUMPS jumps or fewer before it."""
    shift = _shift(w, features, first, k)
    rows = _non_spike(w, np.arange(max(first - PHI_DAYS, 0), first + min(k, JUMP_DAYS)))
    at = int(np.searchsorted(rows, first))  # position of the first day after the start
    m = JUMP_DAYS
    if shift is None or at - m - MIN_JUMPS < m or rows.size < at + m:  # no shift, history, days
        return True
    z = standardized(w, features, first, k, rows) @ shift[1]
    variance, lag1 = _variance_and_lag1(z[:at] - z[:at].mean())
    if variance <= 0 or lag1 < CORRELATED_PHI:
        return True
    sums = np.concatenate([[0.0], np.cumsum(z)])
    splits = np.arange(m, rows.size - m + 1)
    moves = (sums[splits + m] - 2 * sums[splits] + sums[splits - m]) / m
    past = moves[splits <= at - m]  # jumps whose days all lie before the start
    spread = 1.4826 * float(np.median(np.abs(past - np.median(past))))
    near = moves[(splits >= at - 1) & (splits <= at)]
    return float(near.max(initial=-np.inf)) >= JUMP_CUT * max(spread, 1e-12)


def along(
    w: Windows, features: Features, days: Days, first: int, k: int, cut: float, since: int
) -> bool:
    """The shift also reaches the cut in the noise along its own direction, measured over
    months.

    The window scores measure each feature's noise over six weeks and credit all features with
    one day-to-day correlation pooled over them. Along the direction the days moved in, the
    noise can be slower than that: a level, or a share of slow samples, that wanders for weeks
    moves many features together, and features that carry only sampling noise dilute the
    pooled correlation. Here the non-spike days of the PHI_DAYS before the start are projected
    on that direction (not before the last change, nor in the first BEFORE_DAYS, whose weekday
    pattern is not taken out yet). Around a straight line in calendar days (a slow drift is
    no noise; gaps keep their length), their spread and lag-1 correlation (at least the
    pooled one) give the width the shift is measured in. Where features move independently,
    the projection spreads like one feature while the shift adds up over all of them, so this
    bites only where the days move together.
    Features judged one by one (a "max" combination) each have their own correlation already.
    """
    if features.combine != "rms":
        return True
    shift = _shift(w, features, first, k)
    rows = _non_spike(w, np.arange(max(first - PHI_DAYS, since, BEFORE_DAYS), first))
    if shift is None or rows.size < MIN_NOISE_DAYS:
        return True
    size, direction, days_after = shift
    z = standardized(w, features, first, k, rows) @ direction
    u = days.index[rows].astype(float)
    u -= u.mean()
    residual = z - z.mean()
    residual -= u * float(u @ residual) / float(u @ u)
    variance, lag1 = _variance_and_lag1(residual)
    if variance <= 0:
        return True
    phi = min(max(lag1, float(w.phi[first])), MAX_PHI)
    width = math.sqrt(
        variance * (ar_variance(days_after, phi) + ar_variance(w.base_rows[first], phi))
    )
    return size >= cut * width


def _variance_and_lag1(centred: np.ndarray) -> tuple[float, float]:
    """Variance of a centred series and its lag-1 correlation from its day-to-day steps
    (Var(x[t] - x[t-1]) = 2 var (1 - phi)); the correlation is 0 when there is no variance."""
    variance = float(centred @ centred) / centred.size
    if variance <= 0:
        return variance, 0.0
    return variance, 1.0 - float(np.mean(np.diff(centred) ** 2)) / (2.0 * variance)


def _spread(z: np.ndarray) -> float:
    """Sum of squared deviations from the mean."""
    dev = z - z.mean()
    return float(dev @ dev)


def _median(v: np.ndarray) -> float:
    """The median of a short vector (np.median's general machinery costs more than the sort)."""
    ordered = np.sort(v)
    m = ordered.size // 2
    return float(ordered[m] if ordered.size % 2 else (ordered[m - 1] + ordered[m]) / 2)


def _bent_rss(u: np.ndarray, y: np.ndarray) -> float:
    """Smallest residual sum of squares of a continuous line bent once at one of the inner
    days `u` (a drift starts and ends anywhere): y ~ a + b min(u - c, 0) + d max(u - c, 0),
    solved for every bend c at once from running sums.

    The two slope columns never share a day, so the normal equations eliminate b and d in
    closed form and leave one equation for a (a tiny ridge keeps a degenerate fit finite)."""
    ridge = 1e-9
    sums = np.cumsum(np.stack([np.ones_like(u), u, u * u, y, u * y]), axis=1)
    total = sums[:, -1]
    lo = sums[:, 1:-1]  # the days up to each inner bend (left part)
    hi = total[:, None] - lo
    c = u[1:-1]
    # Sums of the left slope column (u - c on left days) and the right one (u - c on right days).
    sa = lo[1] - c * lo[0]
    saa = lo[2] - 2 * c * lo[1] + c * c * lo[0] + ridge
    say = lo[4] - c * lo[3]
    sb = hi[1] - c * hi[0]
    sbb = hi[2] - 2 * c * hi[1] + c * c * hi[0] + ridge
    sby = hi[4] - c * hi[3]
    a = (total[3] - sa * say / saa - sb * sby / sbb) / (
        u.size + ridge - sa * sa / saa - sb * sb / sbb
    )
    b = (say - sa * a) / saa
    d = (sby - sb * a) / sbb
    rss = float(y @ y) - (a * total[3] + b * say + d * sby)
    return float(np.min(rss))


def big_enough(
    days: Days, buckets: np.ndarray, w: Windows, first: int, k: int, min_effect: float
) -> bool:
    before = pooled(days, baseline_rows(days, int(w.base_start[first]), first))
    after = pooled(days, np.arange(first, first + k))
    return effect(buckets, before, after) >= min_effect


def effect(buckets: np.ndarray, before: np.ndarray, after: np.ndarray) -> float:
    """Largest relative shift of p05, median or p95 between two histograms."""
    q = quantiles(buckets, np.stack([before, after]), SUMMARY_QS)
    positive = buckets[buckets > 0]
    unit = float(positive[0]) if positive.size else 1.0
    denominator = np.maximum(np.maximum(np.abs(q[0]), np.abs(q[1])), unit)
    return float(np.nanmax(np.abs(q[1] - q[0]) / denominator, initial=0.0))
