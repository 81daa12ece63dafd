"""Step detection on per-day feature vectors, calibrated on the series' own day-to-day noise.

Both built-in techniques reduce each usable day to a feature vector (the CDF at every bucket,
or a few quantiles) and hand it here. For every candidate first day `t` of a new behaviour and
every number `k` of days seen since, the mean of days [t, t+k) is compared with the baseline
(the non-spike days of the `before` days ahead of t). Each feature's difference is divided by
that feature's own day-to-day spread in the weeks before t (inflated for day-to-day
correlation), so a score is "how many noise widths the new days sit from the old ones".
Cumulative sums over days make every window mean O(1), so a year costs a few array passes.

Streaming: a change is confirmed on the first day T whose data make the evidence strong
enough, and located at the best-scoring t then; everything used for that decision comes from
days up to T. Replaying the series day by day therefore reports the change once, with the same
date on every later day. After a change, candidates wait until their baseline lies entirely in
the new regime, so one change is never reported twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import stdtrit

from alerting.data.histogram import quantiles
from alerting.data.model import DailySeries
from alerting.detect.days import Days, pooled
from alerting.detect.model import Detection, Snapshot

BEFORE_DAYS = 14  # baseline length
NOISE_DAYS = 42  # history the day-to-day spread is measured on
MIN_NOISE_DAYS = 10
MAX_AFTER_DAYS = 14  # a change must show within this many days of its start
FLOOR = 1e-3  # smallest spread a feature is credited with (CDF shares, log units)
# The effective number of independent tests per series-day of the confirmation rule, used to
# turn "chance that a change-free series stays silent for a year" into a score cut.
TESTS_PER_DAY = 3.0
PERSISTENCE = 0.5  # days after a possible spike must carry at least half of the mean shift


@dataclass(frozen=True)
class Features:
    """What a technique compares: one row per usable day."""

    values: np.ndarray  # (n, F)
    present: np.ndarray | None = None  # (n, F) bool: the feature is defined by that day's data
    active: tuple[float, float] | None = None  # compare a feature only where its level is inside
    combine: str = "rms"  # "rms": root mean square of feature scores; "max": largest one


@dataclass(frozen=True)
class Rules:
    tail: float  # two-sided tail probability per test (from `threshold`)
    min_effect: float  # smallest relative shift of p05/median/p95
    spike_days: int  # leading days of a new behaviour that may still be a spike that reverts


@dataclass(frozen=True)
class Found:
    first: int  # usable-day row of the first day of the new behaviour
    last: int  # usable-day row of the day the change was confirmed
    score: float


def tail_for(threshold: float, n_features: int = 1) -> float:
    """The two-sided tail probability per test at which a change-free series stays silent for
    a year with chance `threshold` (over the year's effective tests, Bonferroni over features
    for a "max" combination)."""
    if threshold >= 1.0:
        return 0.0
    tests = 365.0 * TESTS_PER_DAY * max(1, n_features)
    return min(0.5, -math.log(max(threshold, 1e-12)) / tests)


def cuts(tail: float, noise_days: np.ndarray) -> np.ndarray:
    """Score cut per candidate: a Student-t quantile, since the noise is measured on a few
    weeks of days only and a short history must not make small wobbles look significant."""
    if tail <= 0.0:
        return np.full(noise_days.shape, np.inf)
    df = np.maximum(noise_days - 1.0, 1.0)
    return stdtrit(df, 1.0 - tail / 2.0)


def _ar_variance(k: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Variance of the mean of k AR(1) days with lag-1 correlation phi, per unit day variance."""
    k_b, phi_b = np.broadcast_arrays(np.asarray(k, dtype=float), np.asarray(phi, dtype=float))
    k_b = np.maximum(k_b, 1.0)
    j = np.arange(1, MAX_AFTER_DAYS + BEFORE_DAYS)
    weights = np.clip(1.0 - j / k_b[..., None], 0.0, None)
    return (1.0 + 2.0 * np.sum(weights * phi_b[..., None] ** j, axis=-1)) / k_b


@dataclass
class Windows:
    """Per candidate t: the baseline and noise; per (t, k): the after-window mean and score."""

    base: np.ndarray  # (n, F) baseline mean
    base_rows: np.ndarray  # (n,) usable days in the baseline
    scale: np.ndarray  # (n, F) day-to-day spread
    noise_days: np.ndarray  # (n,) days the spread was measured on
    phi: np.ndarray  # (n,) day-to-day correlation
    after: np.ndarray  # (n, K, F) mean of days [t, t+k), k = 1..K
    mask: np.ndarray  # (n, K, F) features compared
    z: np.ndarray  # (n, K, F) standardized differences
    score: np.ndarray  # (n, K) combined score, NaN where not computable


def windows(features: Features, transient: np.ndarray) -> Windows:
    x = np.asarray(features.values, dtype=float)
    n, f = x.shape
    kk = MAX_AFTER_DAYS
    good = (~transient).astype(float)
    zero = np.zeros((1, f))

    def csum(a: np.ndarray) -> np.ndarray:
        return np.concatenate([zero[:, : a.shape[1]] if a.ndim == 2 else [0.0], np.cumsum(a, 0)])

    xg = x * good[:, None]
    c1 = csum(xg)
    c2 = csum(xg * x)
    cn = np.concatenate([[0.0], np.cumsum(good)])
    pair = good * np.concatenate([[0.0], good[:-1]])  # day and the day before both good
    step = np.diff(x, axis=0, prepend=x[:1])
    cl = csum(step * step * pair[:, None])
    cp = np.concatenate([[0.0], np.cumsum(pair)])
    call = csum(x)

    t = np.arange(n)
    b0 = np.maximum(t - BEFORE_DAYS, 0)
    nb = cn[t] - cn[b0]
    with np.errstate(invalid="ignore", divide="ignore"):
        base = (c1[t] - c1[b0]) / nb[:, None]
        s0 = np.maximum(t - NOISE_DAYS, 0)
        nn = cn[t] - cn[s0]
        mean_n = (c1[t] - c1[s0]) / nn[:, None]
        var = ((c2[t] - c2[s0]) - nn[:, None] * mean_n**2) / (nn[:, None] - 1)
        var = np.maximum(var, 0.0)
        npair = cp[t] - cp[s0]
        # Day-to-day steps have variance 2 var (1 - phi) for AR(1) days.
        step_var = (cl[t] - cl[s0]) / npair[:, None]
        phi = 1.0 - np.sum(step_var, axis=1) / (2.0 * np.sum(var, axis=1))
    phi = np.clip(np.nan_to_num(phi, nan=0.0), 0.0, 0.8)
    scale = np.maximum(np.sqrt(var), FLOOR)
    ready = (t >= BEFORE_DAYS) & (nb >= BEFORE_DAYS / 2) & (nn >= MIN_NOISE_DAYS)

    ks = np.arange(1, kk + 1)
    ends = t[:, None] + ks[None, :]  # (n, K) exclusive end of the after window
    inside = ends <= n
    ends_c = np.minimum(ends, n)
    after = (call[ends_c] - call[t][:, None]) / ks[None, :, None]
    if features.present is not None:
        pc = csum(features.present.astype(float))
        mask = (pc[ends_c] - pc[b0][:, None]) > 0
    else:
        mask = np.ones((n, kk, f), dtype=bool)
    if features.active is not None:
        lo, hi = features.active
        base_in = (base > lo) & (base < hi)
        after_in = (after > lo) & (after < hi)
        mask &= base_in[:, None, :] | after_in
    factor = np.sqrt(_ar_variance(ks[None, :], phi[:, None]) + _ar_variance(nb, phi)[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (after - base[:, None, :]) / (scale[:, None, :] * factor[:, :, None])
        z = np.where(mask, z, 0.0)
        used = mask.sum(axis=2)
        if features.combine == "max":
            score = np.max(np.abs(z), axis=2)
        else:
            score = np.sqrt(np.sum(z * z, axis=2) / used)
    score = np.where(inside & ready[:, None] & (used > 0), score, np.nan)
    return Windows(base, nb, scale, nn, phi, after, mask, z, score)


def confirm(
    w: Windows, features: Features, days: Days, buckets: np.ndarray, rules: Rules
) -> list[Found]:
    """Walk the days in order and confirm changes as the daily run would see them."""
    score = w.score
    n, kk = score.shape
    k_min = rules.spike_days + 1
    ks = np.arange(1, kk + 1)
    cut = cuts(rules.tail, np.nan_to_num(w.noise_days))
    with np.errstate(invalid="ignore"):
        hit = (score >= cut[:, None]) & (ks[None, :] >= k_min)
    ts, kidx = np.nonzero(hit)
    if ts.size == 0:
        return []
    confirm_day = ts + kidx  # usable-day row on which (t, k) is known
    order = np.lexsort((ts, confirm_day))
    found: list[Found] = []
    last_first = -(10**9)
    done_day = -1
    for i in order:
        day = int(confirm_day[i])
        if day == done_day:
            continue
        t = int(ts[i])
        if t - BEFORE_DAYS < last_first:
            continue
        done_day = day
        # Every candidate start known on this day, best first.
        starts = np.arange(max(last_first + BEFORE_DAYS, day - kk + 1), day - k_min + 2)
        s = score[starts, day - starts]
        ok = np.isfinite(s) & (s >= cut[starts])
        for j in np.argsort(-np.where(ok, s, -np.inf), kind="stable")[: int(ok.sum())][:3]:
            first = int(starts[j])
            k = day - first + 1
            if _persists(w, features, first, k, rules.spike_days) and _big_enough(
                days, buckets, first, k, rules.min_effect
            ):
                found.append(Found(first, day, float(s[j])))
                last_first = first
                break
    return found


def _persists(w: Windows, features: Features, first: int, k: int, spike_days: int) -> bool:
    """The shift is still there once the most spike-like `spike_days` run of days is set
    aside: a spike that reverts carries all of it, a real change spreads it over every day."""
    if spike_days <= 0:
        return True
    mask = w.mask[first, k - 1]
    x = features.values[first : first + k]
    e = np.where(mask, (x - w.base[first]) / w.scale[first], 0.0)
    d = e.mean(axis=0)
    dd = float(d @ d)
    if dd <= 0 or k <= spike_days:
        return False
    share = (e @ d) / dd  # how much of the mean shift each day carries
    run = np.convolve(share, np.ones(spike_days), mode="valid")
    j = int(np.argmax(run))
    rest = np.concatenate([share[:j], share[j + spike_days :]])
    return bool(rest.mean() >= PERSISTENCE)


def _big_enough(days: Days, buckets: np.ndarray, first: int, k: int, min_effect: float) -> bool:
    before, after = _pools(days, first, k)
    return effect(buckets, before, after) >= min_effect


def _baseline_rows(days: Days, first: int) -> np.ndarray:
    rows = np.arange(max(0, first - BEFORE_DAYS), first)
    return rows[~days.transient[rows]]


def _pools(days: Days, first: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    return pooled(days, _baseline_rows(days, first)), pooled(days, np.arange(first, first + k))


def effect(buckets: np.ndarray, before: np.ndarray, after: np.ndarray) -> float:
    """Largest relative shift of p05, median or p95 between two histograms."""
    q = quantiles(buckets, np.stack([before, after]), (0.05, 0.5, 0.95))
    positive = buckets[buckets > 0]
    unit = float(positive[0]) if positive.size else 1.0
    denominator = np.maximum(np.maximum(np.abs(q[0]), np.abs(q[1])), unit)
    return float(np.nanmax(np.abs(q[1] - q[0]) / denominator, initial=0.0))


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
    found: list[Found],
    technique: str,
    score_meaning: str,
) -> list[Detection]:
    out = []
    for change in found:
        rows_before = _baseline_rows(days, change.first)
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
