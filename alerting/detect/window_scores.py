"""Window scores: for every candidate first day of a new behaviour, how far the days since sit
from the weeks before, in the series' own day-to-day noise.

For every candidate first day `t` and every number `k` of days seen since (1 to 28: a clear
step shows in three days, a small one needs weeks), the mean of days [t, t+k) is compared with
the baseline (the non-spike days of the four weeks ahead of t). Each feature's difference is
divided by that feature's own day-to-day spread in the weeks before t (inflated for day-to-day
correlation), so a score is "how many noise widths the new days sit from the old ones".
Cumulative sums over days make every window mean O(1), so a year costs a few array passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alerting.detect.days import far_off_days, robust_scale

BEFORE_DAYS = 28  # baseline length: four weeks, so a small change is judged on a steady mean
NOISE_DAYS = 42  # history the day-to-day spread is measured on
MIN_NOISE_DAYS = 21
MIN_BASE_DAYS = BEFORE_DAYS / 2  # non-spike days that make a baseline
MIN_BASE_AFTER = 5  # days since a change that make a baseline for the next one
# The numbers of days after a candidate start that are scored: every day for the first week
# (a clear change is confirmed on its third day), then sparser up to four weeks, where a small
# change has gathered enough days to stand out of the noise.
AFTER_DAYS = np.array([1, 2, 3, 4, 5, 6, 7, 9, 12, 16, 21, 28])
MAX_AFTER_DAYS = int(AFTER_DAYS[-1])
# Wandering: the lag whose differences show how far the level wanders (a week, so the weekday
# pattern cancels), measured over the 16 weeks before a candidate, read anew every two weeks;
# the correlation is capped where an AR(1) model stops describing a level (a random walk has
# no noise width).
LAG = 7
PHI_DAYS = 112
WANDER_EVERY = 14
WANDER_FEATURES = 8
# The ratio of spreads is itself measured on a few months of days: it must exceed what white
# noise gives by this factor before a level counts as wandering.
SLACK = 1.15
MAX_PHI = 0.95
_PHI_GRID = np.linspace(0.0, MAX_PHI, 96)
_GEOMETRIC_SUMS = (1.0 - _PHI_GRID**LAG) / (1.0 - _PHI_GRID)  # Var(lag diff) / Var(1-day diff)
FLOOR = 1e-3  # smallest spread a feature is credited with (CDF shares, log units)
# Lag-1 correlation from which the features' day-to-day readings no longer tell how
# independently their means of weeks move (a level that wanders dominates those means).
CORRELATED_PHI = 0.3
# Columns the independent features are read on: neighbouring columns of a CDF move together,
# so an even spread of this many tells as much as all of them (up to 64) at a fraction of the
# work (the same detections on every benchmark).
DOF_FEATURES = 24
# Largest correlation read from six weeks of day-to-day steps: beyond it, a few weeks cannot
# tell a correlated level from a slow one (the wandering estimate reads higher ones).
MAX_STEP_PHI = 0.8


@dataclass(frozen=True)
class Features:
    """What a technique compares: one row per usable day."""

    values: np.ndarray  # (n, F)
    # (n, F) bool: the day's data say something about the feature; a feature is compared only
    # for windows where it was informative on some day. None: always.
    present: np.ndarray | None = None
    # "rms": root mean square of the feature scores, in the day-to-day correlation pooled over
    # the features; "max": the largest feature score, each in its own correlation (a feature
    # tested on its own is judged on its own noise: a median that wanders for weeks next to a
    # p99 full of sampling noise would otherwise be credited with the p99's short memory).
    combine: str = "rms"


def ar_variance(k: np.ndarray | float, phi: np.ndarray | float) -> np.ndarray:
    """Variance of the mean of k AR(1) days with lag-1 correlation phi (< 1), per unit day
    variance: (1/k) [(1 + phi) / (1 - phi) - 2 phi (1 - phi^k) / (k (1 - phi)^2)]."""
    k = np.maximum(np.asarray(k, dtype=float), 1.0)
    phi = np.asarray(phi, dtype=float)
    one = 1.0 - phi
    return ((1.0 + phi) / one - 2.0 * phi * (1.0 - phi**k) / (k * one * one)) / k


@dataclass
class Windows:
    """Per candidate t: the baseline and noise; per (t, k): the combined score."""

    base: np.ndarray  # (n, F) baseline mean
    base_rows: np.ndarray  # (n,) non-spike days in the baseline
    base_start: np.ndarray  # (n,) first usable-day row of the baseline
    scale: np.ndarray  # (n, F) day-to-day spread
    noise_days: np.ndarray  # (n,) non-spike days the spread was measured on
    phi: np.ndarray  # (n,) day-to-day correlation
    seen: np.ndarray  # (n + 1, F) cumulative count of days each feature was informative
    # (n, AFTER_DAYS.size) combined score for k = each of AFTER_DAYS days after, NaN where not
    # computable
    score: np.ndarray
    sums: np.ndarray  # (n + 1, F) cumulative sums of the values of non-spike days
    good: np.ndarray  # (n + 1,) cumulative count of non-spike days
    # The same over the quiet days: non-spike days not far off the days before them (see
    # `far_off_days`). The noise is measured on these: a few days of an excursion would
    # otherwise count as noise for six weeks and hide a change.
    quiet_sums: np.ndarray
    quiet_squares: np.ndarray
    quiet: np.ndarray
    steps: np.ndarray  # (n + 1, F) cumulative squared day-to-day steps between quiet days
    pairs: np.ndarray  # (n + 1,) cumulative count of such steps
    every: np.ndarray  # (n + 1, F) cumulative sums of the values of all days
    # (n,) for "rms": how many independent features the root mean square adds up, read from
    # the features' joint noise in the weeks before each row (1: they all move together, or
    # the days are correlated); the score cut falls as it grows (see `cuts`).
    dof: np.ndarray | None = None
    # (n,) lag-1 correlation from robust spreads of day-to-day and LAG-day differences over
    # the PHI_DAYS before each row: how far the level wanders.
    wander_phi: np.ndarray | None = None
    # For "max": (n, F) that correlation read per feature, and each feature's correlation
    # in the end (the larger of it and the one from six weeks of steps).
    feature_wander: np.ndarray | None = None
    feature_phi: np.ndarray | None = None

    def mask(self, t: int, k: int) -> np.ndarray:
        """The features compared for candidate t after k days: informative in the windows."""
        return (self.seen[t + k] - self.seen[self.base_start[t]]) > 0


def _cumsum0(a: np.ndarray) -> np.ndarray:
    """Cumulative sums with a leading zero row, so a window sum is one subtraction."""
    out = np.zeros((a.shape[0] + 1, *a.shape[1:]))
    np.cumsum(a, axis=0, out=out[1:])
    return out


def windows(features: Features, transient: np.ndarray, index: np.ndarray | None = None) -> Windows:
    """Baselines, noise and scores of every candidate start; `transient` flags the spike
    days, which take no part in baselines and noise. `index`: each row's calendar day (by
    default one row a day), which tells far-off days from the weekly pattern."""
    x = np.asarray(features.values, dtype=float)
    n, f = x.shape
    non_spike = (~transient).astype(float)
    informative = np.ones((n, f)) if features.present is None else features.present.astype(float)

    c1 = _cumsum0(x * non_spike[:, None])
    cn = _cumsum0(non_spike)
    index = np.arange(n) if index is None else index
    quiet = non_spike * ~far_off_days(x, transient, index, FLOOR)
    # 1 where the day and the day before are both quiet: a day-to-day step to measure.
    pair = quiet * np.concatenate([[0.0], quiet[:-1]])
    step = np.diff(x, axis=0, prepend=x[:1])
    cl = _cumsum0(step * step * pair[:, None])
    cp = _cumsum0(pair)
    seen = _cumsum0(informative)

    t = np.arange(n)
    w = Windows(
        base=np.zeros((n, f)),
        base_rows=np.zeros(n),
        base_start=np.maximum(t - BEFORE_DAYS, 0),
        scale=np.zeros((n, f)),
        noise_days=np.zeros(n),
        phi=np.zeros(n),
        seen=seen,
        score=np.full((n, AFTER_DAYS.size), np.nan),
        sums=c1,
        good=cn,
        quiet_sums=_cumsum0(x * quiet[:, None]),
        quiet_squares=_cumsum0(x * x * quiet[:, None]),
        quiet=_cumsum0(quiet),
        steps=cl,
        pairs=cp,
        every=_cumsum0(x),
    )
    w.wander_phi, w.feature_wander = _wander(x, non_spike, per_feature=features.combine == "max")
    if w.feature_wander is not None:
        w.feature_phi = np.zeros((n, f))
    _noise(w, t, None)
    if features.combine == "rms":
        # Where the days are correlated, means of weeks move with what moves all features
        # together, whatever the days' own readings say: one feature.
        independent = _independent_features(x, quiet, informative)
        w.dof = np.where(w.phi < CORRELATED_PHI, independent, 1.0)
    ready = (t >= BEFORE_DAYS) & (w.noise_days >= MIN_NOISE_DAYS)
    _score_rows(w, t, ready, MIN_BASE_DAYS)
    return w


def _wander(
    x: np.ndarray, non_spike: np.ndarray, per_feature: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """Day-to-day correlation of AR(1) days from the robust spread of 1-day and LAG-day
    differences over the PHI_DAYS before each row (per block of two weeks):
    Var(x[t] - x[t-h]) = 2 var (1 - phi^h). Differences hardly see a step of the level or a
    far-off day (medians), so a change does not pass for wandering, and months of history let
    a level that wanders for weeks show how far it goes. The spreads of a few features spread
    over the range are pooled (a wandering level moves them all): (n,). With `per_feature`,
    also one reading per feature (n, F), from the same spreads; else None."""
    chosen = np.arange(x.shape[1])  # the features whose spreads are pooled
    if x.shape[1] > WANDER_FEATURES:
        chosen = np.linspace(0, x.shape[1] - 1, WANDER_FEATURES).astype(int)
    if not per_feature:  # only the pooled features' spreads are needed
        x, chosen = x[:, chosen], np.arange(chosen.size)
    f = x.shape[1]
    d = np.full((x.shape[0], 2 * f), np.nan)  # 1-day differences, then LAG-day ones
    for lag, columns in ((1, slice(0, f)), (LAG, slice(f, 2 * f))):
        ok = np.flatnonzero(non_spike[lag:] * non_spike[:-lag] > 0) + lag
        d[ok, columns] = x[ok] - x[ok - lag]
    spreads = robust_scale(d, span=PHI_DAYS, step=WANDER_EVERY, min_n=MIN_NOISE_DAYS, clip=3.0) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.nansum(spreads[:, f + chosen], axis=1) / np.nansum(spreads[:, chosen], axis=1)
        own = spreads[:, f:] / spreads[:, :f] if per_feature else None
    return _phi_of_ratio(ratio), None if own is None else _phi_of_ratio(own)


def _independent_features(x: np.ndarray, quiet: np.ndarray, informative: np.ndarray) -> np.ndarray:
    """How many independent features the root mean square of the standardized shifts adds
    up, per row: the effective degrees of freedom tr(M)^2 / tr(M^2) of the features'
    correlations M over the quiet days of the NOISE_DAYS before, read anew every WANDER_EVERY
    rows (1 until there are MIN_NOISE_DAYS of them). Sampling noise moves the columns of a CDF
    each on its own, so a shift that shows a little in every column adds up over them; a
    level that wanders moves them together, and then the root mean square is worth one
    feature. What counts is how the means of many days move, so the long-run correlations
    (day-to-day correlation up to LAG days, Bartlett weights) are read too, and the smaller
    of the two readings is kept."""
    n, f = x.shape
    if f > DOF_FEATURES:
        chosen = np.linspace(0, f - 1, DOF_FEATURES).astype(int)
        x, informative, f = x[:, chosen], informative[:, chosen], DOF_FEATURES
    dof = np.ones(n)
    starts = np.arange(BEFORE_DAYS, n, WANDER_EVERY)
    if starts.size == 0:
        return dof
    rows = starts[:, None] - NOISE_DAYS + np.arange(NOISE_DAYS)  # (blocks, NOISE_DAYS)
    weight = np.where(rows >= 0, quiet[np.maximum(rows, 0)], 0.0)
    count = weight.sum(axis=1)
    values = x[np.maximum(rows, 0)]  # (blocks, NOISE_DAYS, F)
    mean = np.einsum("bi,bif->bf", weight, values) / np.maximum(count, 1.0)[:, None]
    h = (values - mean[:, None, :]) * weight[:, :, None]
    spread = np.sqrt(np.einsum("bif,bif->bf", h, h) / np.maximum(count, 1.0)[:, None])
    seen = np.einsum("bi,bif->bf", weight, informative[np.maximum(rows, 0)]) > 0
    h *= (seen / np.maximum(spread, FLOOR))[:, None, :]
    lags = np.abs(np.arange(NOISE_DAYS)[:, None] - np.arange(NOISE_DAYS)[None, :])
    bartlett = np.maximum(1.0 - lags / (LAG + 1), 0.0)
    ht = h.transpose(0, 2, 1)
    readings = np.minimum(_effective(ht @ h), _effective(ht @ (bartlett @ h)))
    reading = np.where(count >= MIN_NOISE_DAYS, np.maximum(readings, 1.0), 1.0)
    dof[BEFORE_DAYS:] = np.repeat(reading, WANDER_EVERY)[: n - BEFORE_DAYS]
    return dof


def _effective(m: np.ndarray) -> np.ndarray:
    """tr(M)^2 / tr(M^2) of each matrix M of a stack: the number of equal independent parts
    a sum of squares with covariance M is worth."""
    trace = np.einsum("bii->b", m)
    square = np.einsum("bij,bij->b", m, m)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(square > 0, trace * trace / square, 1.0)


def _phi_of_ratio(ratio: np.ndarray) -> np.ndarray:
    """The correlation whose LAG-day differences spread `ratio` times the 1-day ones (beyond
    the SLACK white noise shows), 0 where the ratio could not be measured."""
    phi = np.interp(np.nan_to_num(ratio, nan=0.0) / SLACK, _GEOMETRIC_SUMS, _PHI_GRID)
    return np.where(np.isfinite(ratio), phi, 0.0)


def _noise(w: Windows, t: np.ndarray, split: int | None) -> None:
    """Day-to-day spread and correlation of rows `t` over the NOISE_DAYS before each (in
    place). With a `split` (a confirmed change), the days before and after it are measured
    around their own means and the step across it is left out, so a change does not pass
    for noise and hide the next one."""
    s0 = np.maximum(t - NOISE_DAYS, 0)
    bounds = (
        [(s0, t)] if split is None else [(s0, np.minimum(split, t)), (np.maximum(s0, split), t)]
    )
    squares = np.zeros((t.size, w.sums.shape[1]))
    nn = np.zeros(t.size)
    groups = np.zeros(t.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        for a, b in bounds:
            n = w.quiet[b] - w.quiet[a]
            total = w.quiet_sums[b] - w.quiet_sums[a]
            inside = (w.quiet_squares[b] - w.quiet_squares[a]) - total**2 / n[:, None]
            squares += np.where(n[:, None] > 0, inside, 0.0)
            nn += n
            groups += n > 0
        var = np.maximum(squares / (nn - groups)[:, None], 0.0)
        # Day-to-day steps have variance 2 var (1 - phi) for AR(1) days; features never
        # informative in the noise window take no part.
        step_sum = w.steps[t] - w.steps[s0]
        pairs = w.pairs[t] - w.pairs[s0]
        if split is not None:
            across = (s0 <= split) & (split < t)  # the step from the day before the change
            step_sum -= across[:, None] * (w.steps[split + 1] - w.steps[split])
            pairs -= across * (w.pairs[split + 1] - w.pairs[split])
        used_n = (w.seen[t] - w.seen[s0]) > 0
        step_var = step_sum / pairs[:, None]
        phi = 1.0 - np.sum(step_var * used_n, axis=1) / (2.0 * np.sum(var * used_n, axis=1))
    if w.feature_phi is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            own = 1.0 - step_var / (2.0 * var)
        w.feature_phi[t] = np.maximum(_clipped_phi(own), w.feature_wander[t])
    phi = np.maximum(_clipped_phi(phi), w.wander_phi[t])
    w.phi[t] = phi
    w.scale[t] = np.maximum(np.sqrt(var), FLOOR)
    w.noise_days[t] = nn


def _clipped_phi(phi: np.ndarray) -> np.ndarray:
    """A correlation read from the steps of six weeks of days, as far as it can be trusted."""
    return np.clip(np.nan_to_num(phi, nan=0.0, posinf=0.0, neginf=0.0), 0.0, MAX_STEP_PHI)


def _score_rows(
    w: Windows, t: np.ndarray, ready: np.ndarray, min_base: float, quiet: bool = False
) -> None:
    """Baseline and scores of the consecutive candidate rows `t` against their `base_start`
    (in place), the baseline of the non-spike days or, with `quiet`, of the quiet days only.
    The window sums of every number of days after are gathered from shifted slices of the
    running sums (NaN past the series' end), then scored all at once."""
    n = w.score.shape[0]
    b0 = w.base_start[t]
    sums, count = (w.quiet_sums, w.quiet) if quiet else (w.sums, w.good)
    nb = count[t] - count[b0]
    with np.errstate(invalid="ignore", divide="ignore"):
        base = (sums[t] - sums[b0]) / nb[:, None]
    first = int(t[0]) if t.size else 0
    seen_before = w.seen[b0]
    # dz[j, i]: sum of the AFTER_DAYS[j] days from row t[i], then their standardized shift.
    dz = np.full((AFTER_DAYS.size, t.size, w.every.shape[1]), np.nan)
    # A feature is compared where it was informative in the baseline or the days after; when
    # every feature was already informative by the first day after, it is in every window.
    every_feature = bool(np.all(w.seen[t + 1] > seen_before))
    mask = None if every_feature else np.zeros(dz.shape, dtype=bool)
    for j, k in enumerate(AFTER_DAYS.tolist()):
        m = min(t.size, n - k + 1 - first)  # rows whose k days after lie in the series
        if m <= 0:
            break
        np.subtract(w.every[first + k : first + k + m], w.every[first : first + m], out=dz[j, :m])
        if mask is not None:
            np.greater(w.seen[first + k : first + k + m], seen_before[:m], out=mask[j, :m])
    with np.errstate(invalid="ignore", divide="ignore"):
        # (mean of the k days - baseline) / spread, for every feature.
        dz /= AFTER_DAYS[:, None, None]
        dz -= base
        dz /= w.scale[t]
        if mask is None:
            used = np.full(dz.shape[:2], dz.shape[2])
        else:
            used = mask.sum(axis=2)
            dz *= mask
        if w.feature_phi is None:  # "rms": one correlation for all features
            phi = w.phi[t]
            factor = np.sqrt(
                ar_variance(AFTER_DAYS[:, None], phi[None, :]) + ar_variance(nb, phi)[None, :]
            )
            combined = np.sqrt(np.einsum("ktf,ktf->kt", dz, dz) / used) / factor
        else:  # "max": each feature's shift in its own correlated noise
            own = w.feature_phi[t]
            own_base = ar_variance(nb[:, None], own)
            dz /= np.sqrt(ar_variance(AFTER_DAYS[:, None, None], own) + own_base)
            combined = np.max(np.abs(dz, out=dz), axis=2)
        score = np.where(used > 0, combined, np.nan).T
    ok = (ready & (nb >= min_base))[:, None]
    w.base[t] = base
    w.base_rows[t] = nb
    w.score[t] = np.where(ok, score, np.nan)


def rebase_after(w: Windows, first: int) -> None:
    """After a change at `first`, later candidates measure the noise around the level on
    either side of it, and those whose baseline would reach back before it are compared with
    the quiet days since the change only (at least MIN_BASE_AFTER of them), so a second change
    soon after a first one is still found, against the new level. Quiet days, since a
    "change" may be an excursion of a few days that is over: the days back at the old level
    are then the baseline, and coming back is no second change."""
    # Up to the first row whose noise window starts at the change: it holds no day before
    # it, but the step from the day before still falls in its day-to-day steps.
    t = np.arange(first + 1, min(first + NOISE_DAYS + 1, w.score.shape[0]))
    if t.size == 0:
        return
    w.base_start[t] = np.maximum(w.base_start[t], first)
    _noise(w, t, first)
    ready = (t >= BEFORE_DAYS) & (w.noise_days[t] >= MIN_NOISE_DAYS)
    _score_rows(w, t, ready, MIN_BASE_AFTER, quiet=True)
