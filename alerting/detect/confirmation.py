"""Confirmation: walk the days in order and confirm changes as the daily run would see them.

A change is confirmed on the first day T whose data make the evidence strong enough, and
located at the best-scoring start then; everything used for that decision comes from days up
to T. Replaying the series day by day therefore reports the change once, with the same date on
every later day. A start is not confirmed while a later start explains the recent days better
(a new step right after some noise belongs to the later start). After a change, later
candidates take their baseline from the days since the change only, so one change is never
reported twice and a second change soon after it is measured against the new level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import stdtrit

from alerting.data.histogram import quantiles
from alerting.detect.days import Days, pooled
from alerting.detect.window_scores import (
    AFTER_DAYS,
    BEFORE_DAYS,
    MAX_AFTER_DAYS,
    MAX_PHI,
    MIN_BASE_AFTER,
    MIN_NOISE_DAYS,
    PHI_DAYS,
    Features,
    Windows,
    ar_variance,
    rebase_after,
)

_COLUMN = np.full(MAX_AFTER_DAYS + 2, -1)
_COLUMN[AFTER_DAYS] = np.arange(AFTER_DAYS.size)
# The effective number of independent tests per series-day of the confirmation rule, used to
# turn "chance that a change-free series stays silent for a year" into a score cut.
TESTS_PER_DAY = 3.0
PERSISTENCE = 0.5  # days after a possible spike must carry at least half of the mean shift
LOCATE_DAYS = 3  # the per-day vote may move the start this many days either way
# A step must fit the days around it better than a bent line by this many times the residual
# day variance (an F-like test with one degree of freedom more for the step's jump).
GRADUAL_MARGIN = 8.0
# Where the days are correlated along the shift (this lag-1 correlation or more over the weeks
# before), a change must also show as a jump: the mean of its first JUMP_DAYS days against the
# JUMP_DAYS before must reach JUMP_CUT robust widths of such jumps in the weeks before (at its
# start or a day earlier: a window can begin a day late).
JUMP_PHI = 0.3
JUMP_DAYS = 4
JUMP_CUT = 2.5
MIN_JUMPS = 20  # jumps in the history that make a spread; fewer: no check


@dataclass(frozen=True)
class Rules:
    tail: float  # two-sided tail probability per test (from `threshold`)
    min_effect: float  # smallest relative shift of p05/median/p95
    spike_days: int  # leading calendar days of a new behaviour that may still be a spike


SPIKE_DAYS = 2  # a 1-2 day spike that reverts is no change


def rules_from(args: dict, n_features: int = 1, tests_per_day: float = TESTS_PER_DAY) -> Rules:
    """The confirmation rules for a technique's parsed arguments (`n_features` compared by
    their maximum share the false-alert budget; `tests_per_day` is the technique's measured
    effective number of tests per series-day)."""
    return Rules(
        tail=tail_for(args["threshold"], n_features, tests_per_day),
        min_effect=args["min_effect"],
        spike_days=SPIKE_DAYS if args["short_term_spikes_ignored"] else 0,
    )


@dataclass(frozen=True)
class Change:
    first: int  # usable-day row of the first day of the new behaviour
    last: int  # usable-day row of the day the change was confirmed
    score: float
    base_start: int  # usable-day row of the baseline's first day


def tail_for(threshold: float, n_features: int = 1, tests_per_day: float = TESTS_PER_DAY) -> float:
    """The two-sided tail probability per test at which a change-free series stays silent for
    a year with chance `threshold` (over the year's effective tests, Bonferroni over features
    for a "max" combination)."""
    if threshold >= 1.0:
        return 0.0
    tests = 365.0 * tests_per_day * max(1, n_features)
    return min(0.5, -math.log(max(threshold, 1e-12)) / tests)


def cuts(tail: float, noise_days: np.ndarray) -> np.ndarray:
    """Score cut per candidate: a Student-t quantile, since the noise is measured on a few
    weeks of days only and a short history must not make small wobbles look significant."""
    if tail <= 0.0:
        return np.full(noise_days.shape, np.inf)
    df = np.maximum(noise_days - 1.0, 1.0)
    unique, where = np.unique(df, return_inverse=True)  # a few dozen distinct day counts
    return stdtrit(unique, 1.0 - tail / 2.0)[where].reshape(df.shape)


def confirm(
    w: Windows, features: Features, days: Days, buckets: np.ndarray, rules: Rules
) -> list[Change]:
    """Walk the days in order and confirm changes as the daily run would see them."""
    cut = cuts(rules.tail, np.nan_to_num(w.noise_days))
    found: list[Change] = []
    last_first = -(10**9)
    from_day = 0
    while True:
        change = _next_change(w, features, days, buckets, rules, cut, last_first, from_day)
        if change is None:
            return found
        found.append(change)
        last_first, from_day = change.first, change.last + 1
        rebase_after(w, last_first)


def _next_change(
    w: Windows,
    features: Features,
    days: Days,
    buckets: np.ndarray,
    rules: Rules,
    cut: np.ndarray,
    last_first: int,
    from_day: int,
) -> Change | None:
    """The first change confirmed on day `from_day` or later, starting after `last_first`."""
    score = w.score
    ks = AFTER_DAYS
    rows = np.arange(days.n)[:, None]
    last = np.minimum(rows + ks[None, :] - 1, days.n - 1)  # beyond the series: not scored
    with np.errstate(invalid="ignore"):
        hit = (score >= cut[:, None]) & _past_spike(days.index, rows, last, rules.spike_days)
    hit[: max(last_first + 1, 0)] = False
    ts, cols = np.nonzero(hit)
    confirm_day = ts + ks[cols] - 1  # usable-day row on which (t, k) is known
    keep = confirm_day >= from_day
    ts, confirm_day = ts[keep], confirm_day[keep]
    for day in np.unique(confirm_day):
        day = int(day)
        # Every candidate start known on this day, best first.
        known = np.arange(max(last_first + 1, day - MAX_AFTER_DAYS + 1), day + 1)
        on_day = _score_on(score, known, day)
        judged = int(np.count_nonzero(_past_spike(days.index, known, day, rules.spike_days)))
        starts, s = known[:judged], on_day[:judged]
        ok = np.isfinite(s) & (s >= cut[starts])
        for j in np.argsort(-np.where(ok, s, -np.inf), kind="stable")[: int(ok.sum())][:3]:
            first = int(starts[j])
            k = day - first + 1
            if _later_start_explains(on_day[j:]):
                continue
            if (
                _persists(w, features, days, first, k, rules.spike_days, float(cut[first]))
                and _abrupt(w, features, days, first, k)
                and _jumps(w, features, first, k)
                and _along(w, features, first, k, float(cut[first]), last_first + 1)
                and _big_enough(days, buckets, w, first, k, rules.min_effect)
            ):
                earliest = last_first + MIN_BASE_AFTER if last_first >= 0 else 0
                first = _locate(w, features, first, day, earliest)
                return Change(first, day, float(s[j]), int(w.base_start[first]))
    return None


def _past_spike(
    index: np.ndarray, first: np.ndarray | int, last: np.ndarray | int, spike_days: int
) -> np.ndarray:
    """Whether the usable rows `first` to `last` can no longer all be a spike that reverts:
    they span more than `spike_days` calendar days (a day without data counts, since a spike
    lasts as long whether or not its days have data) and hold at least two days (a day on its
    own shows no level that persists). Both ends are rows up to `last`, so the daily run knows
    it on that day. Element-wise for arrays."""
    return (index[last] - index[first] >= spike_days) & (last - first + 1 >= min(2, spike_days + 1))


def _later_start_explains(scores: np.ndarray) -> bool:
    """A later start fits the days up to the confirming day better than the first one
    (`scores`: the score of each start from the first on, with the days up to that day): the
    window's evidence sits in its last days, so the change more likely begins there (a new
    step right after some noise). Wait until that start can be judged on its own days instead
    of dating the change days too early."""
    return bool(np.fmax.reduce(scores[1:], initial=-np.inf) > scores[0])  # NaN: not scored


def _score_on(score: np.ndarray, starts: np.ndarray, day: int) -> np.ndarray:
    """The score of each start with the days up to `day`; NaN where that many days after the
    start are not scored."""
    col = _COLUMN[day - starts + 1]  # starts lie within MAX_AFTER_DAYS before `day`
    return np.where(col >= 0, score[starts, np.maximum(col, 0)], np.nan)


def _locate(w: Windows, features: Features, first: int, day: int, earliest: int) -> int:
    """The first day of the new behaviour, to the day: each day near the best-scoring start
    joins whichever level it is closer to (the baseline, or the mean of the days since), and
    the start is where the run of new-level days begins. Scores of neighbouring starts differ
    by less than one day's noise; this per-day vote does not."""
    lo = max(first - LOCATE_DAYS, earliest)
    if lo > day:
        return first
    mask = w.mask(first, day - first + 1)
    e = np.where(mask, (features.values[lo : day + 1] - w.base[first]) / w.scale[first], 0.0)
    d = e[first - lo :].mean(axis=0)
    dd = float(d @ d)
    if dd <= 0:
        return first
    votes = (e @ d) / dd - 0.5  # > 0: closer to the new level
    gain = np.cumsum(votes[::-1])[::-1]  # the new level's case for starting at each day
    last_start = min(first + LOCATE_DAYS, day)
    return lo + int(np.argmax(gain[: last_start - lo + 1]))


def _persists(
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
    if not _past_spike(index, 0, k - 1, spike_days):
        return False
    mask = w.mask(first, k)
    e = features.values[first : first + k] - w.base[first]
    e /= w.scale[first]
    e *= mask
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


def _abrupt(w: Windows, features: Features, days: Days, first: int, k: int) -> bool:
    """The days fit a step at `first` clearly better than a line that bends there without
    jumping: a slow drift (population, hardware mix), the start or end of one, or a smooth
    trend moves the mean of the weeks after away from the weeks before as much as a step does,
    but it is no change of a build. Measured along the direction of the shift, in calendar
    days (gaps keep their length), against the residual noise of the step fit itself."""
    b0 = int(w.base_start[first])
    rows = _non_spike(w, np.arange(b0, first + k))  # spike days take no part
    if rows.size < 8:
        return True
    e = _standardized(w, features, first, k, rows)
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


def _standardized(
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
    d = _standardized(w, features, first, k, after).mean(axis=0)
    size = math.sqrt(float(d @ d))
    return (size, d / size, after.size) if size > 0 else None


def _non_spike(w: Windows, rows: np.ndarray) -> np.ndarray:
    return rows[w.good[rows + 1] > w.good[rows]]


def _jumps(w: Windows, features: Features, first: int, k: int) -> bool:
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
    with fewer than MIN_JUMPS jumps before it."""
    shift = _shift(w, features, first, k)
    rows = _non_spike(w, np.arange(max(first - PHI_DAYS, 0), first + min(k, JUMP_DAYS)))
    at = int(np.searchsorted(rows, first))  # position of the first day after the start
    m = JUMP_DAYS
    if shift is None or at - m - MIN_JUMPS < m or rows.size < at + m:  # no shift, history, days
        return True
    z = _standardized(w, features, first, k, rows) @ shift[1]
    variance, lag1 = _variance_and_lag1(z[:at] - z[:at].mean())
    if variance <= 0 or lag1 < JUMP_PHI:
        return True
    sums = np.concatenate([[0.0], np.cumsum(z)])
    splits = np.arange(m, rows.size - m + 1)
    jumps = (sums[splits + m] - 2 * sums[splits] + sums[splits - m]) / m
    past = jumps[splits <= at - m]  # jumps whose days all lie before the start
    spread = 1.4826 * float(np.median(np.abs(past - np.median(past))))
    near = jumps[(splits >= at - 1) & (splits <= at)]
    return float(near.max(initial=-np.inf)) >= JUMP_CUT * max(spread, 1e-12)


def _along(w: Windows, features: Features, first: int, k: int, cut: float, since: int) -> bool:
    """The shift also reaches the cut in the noise along its own direction, measured over
    months.

    The window scores measure each feature's noise over six weeks and credit all features with
    one day-to-day correlation pooled over them. Along the direction the days moved in, the
    noise can be slower than that: a level, or a share of slow samples, that wanders for weeks
    moves many features together, and features that carry only sampling noise dilute the
    pooled correlation. Here the non-spike days of the PHI_DAYS before the start are projected
    on that direction (not before the last change, nor in the first BEFORE_DAYS, whose weekday
    pattern is not taken out yet). Around a straight line (a slow drift is no noise), their
    spread and lag-1 correlation (at least the pooled one) give the width the shift is
    measured in. Where features move independently, the projection spreads like one feature
    while the shift adds up over all of them, so this bites only where the days move together.
    Features judged one by one (a "max" combination) each have their own correlation already.
    """
    if features.combine != "rms":
        return True
    shift = _shift(w, features, first, k)
    rows = _non_spike(w, np.arange(max(first - PHI_DAYS, since, BEFORE_DAYS), first))
    if shift is None or rows.size < MIN_NOISE_DAYS:
        return True
    size, direction, days_after = shift
    z = _standardized(w, features, first, k, rows) @ direction
    u = rows - rows.mean()
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


def _big_enough(
    days: Days, buckets: np.ndarray, w: Windows, first: int, k: int, min_effect: float
) -> bool:
    before = pooled(days, baseline_rows(days, int(w.base_start[first]), first))
    after = pooled(days, np.arange(first, first + k))
    return effect(buckets, before, after) >= min_effect


def baseline_rows(days: Days, start: int, first: int) -> np.ndarray:
    rows = np.arange(start, first)
    return rows[~days.transient[rows]]


def effect(buckets: np.ndarray, before: np.ndarray, after: np.ndarray) -> float:
    """Largest relative shift of p05, median or p95 between two histograms."""
    q = quantiles(buckets, np.stack([before, after]), (0.05, 0.5, 0.95))
    positive = buckets[buckets > 0]
    unit = float(positive[0]) if positive.size else 1.0
    denominator = np.maximum(np.maximum(np.abs(q[0]), np.abs(q[1])), unit)
    return float(np.nanmax(np.abs(q[1] - q[0]) / denominator, initial=0.0))
