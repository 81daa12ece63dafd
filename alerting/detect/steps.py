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
from alerting.data.histogram import quantiles
from alerting.data.model import DailySeries
from alerting.detect.days import Days, pooled
from alerting.detect.model import Detection, Snapshot
from alerting.detect.registry import ArgSpec
from scipy.special import stdtrit

BEFORE_DAYS = 14  # baseline length
NOISE_DAYS = 42  # history the day-to-day spread is measured on
MIN_NOISE_DAYS = 21
MAX_AFTER_DAYS = 14  # a change must show within this many days of its start
FLOOR = 1e-3  # smallest spread a feature is credited with (CDF shares, log units)
# The effective number of independent tests per series-day of the confirmation rule, used to
# turn "chance that a change-free series stays silent for a year" into a score cut.
TESTS_PER_DAY = 3.0
PERSISTENCE = 0.5  # days after a possible spike must carry at least half of the mean shift
LOCATE_DAYS = 3  # the per-day vote may move the start this many days either way


@dataclass(frozen=True)
class Features:
    """What a technique compares: one row per usable day."""

    values: np.ndarray  # (n, F)
    # (n, F) bool: the day's data say something about the feature; a feature is compared only
    # for windows where it was informative on some day. None: always.
    present: np.ndarray | None = None
    combine: str = "rms"  # "rms": root mean square of feature scores; "max": largest one


@dataclass(frozen=True)
class Rules:
    tail: float  # two-sided tail probability per test (from `threshold`)
    min_effect: float  # smallest relative shift of p05/median/p95
    spike_days: int  # leading days of a new behaviour that may still be a spike that reverts


SPIKE_DAYS = 2  # a 1-2 day spike that reverts is no change

# The arguments every step technique takes, declared once: each technique lists them.
STEP_ARGS = (
    ArgSpec(
        "threshold",
        float,
        0.85,
        "how sure a change must be: the chance (0..1) that a series without any change"
        " stays silent for a whole year (0.85: about one false alert in six series-years)",
        0.0,
        1.0,
    ),
    ArgSpec(
        "short_term_spikes_ignored",
        bool,
        True,
        f"ignore changes that revert within {SPIKE_DAYS} days (a change is then confirmed on"
        f" its day {SPIKE_DAYS + 1} at the earliest)",
    ),
    ArgSpec(
        "min_effect",
        float,
        0.02,
        "smallest relative shift of the median, p05 or p95 worth an alert (0.02 = 2 %)",
        0.0,
        10.0,
    ),
)


def rules_from(args: dict, n_features: int = 1) -> Rules:
    """The confirmation rules for a technique's parsed STEP_ARGS (`n_features` compared by
    their maximum share the false-alert budget)."""
    return Rules(
        tail=tail_for(args["threshold"], n_features),
        min_effect=args["min_effect"],
        spike_days=SPIKE_DAYS if args["short_term_spikes_ignored"] else 0,
    )


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
    unique, where = np.unique(df, return_inverse=True)  # a few dozen distinct day counts
    return stdtrit(unique, 1.0 - tail / 2.0)[where].reshape(df.shape)


def _ar_variance(k: np.ndarray | float, phi: np.ndarray | float) -> np.ndarray:
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
    base_rows: np.ndarray  # (n,) usable days in the baseline
    scale: np.ndarray  # (n, F) day-to-day spread
    noise_days: np.ndarray  # (n,) days the spread was measured on
    phi: np.ndarray  # (n,) day-to-day correlation
    seen: np.ndarray  # (n + 1, F) cumulative count of days each feature was informative
    score: np.ndarray  # (n, K) combined score for k = 1..K days after, NaN if not computable

    def mask(self, t: int, k: int) -> np.ndarray:
        """The features compared for candidate t after k days: informative in the windows."""
        return (self.seen[t + k] - self.seen[max(t - BEFORE_DAYS, 0)]) > 0


def _cumsum0(a: np.ndarray) -> np.ndarray:
    """Cumulative sums with a leading zero row, so a window sum is one subtraction."""
    out = np.zeros((a.shape[0] + 1, *a.shape[1:]))
    np.cumsum(a, axis=0, out=out[1:])
    return out


def windows(features: Features, transient: np.ndarray) -> Windows:
    x = np.asarray(features.values, dtype=float)
    n, f = x.shape
    kk = MAX_AFTER_DAYS
    good = (~transient).astype(float)
    informative = np.ones((n, f)) if features.present is None else features.present.astype(float)

    c1 = _cumsum0(x * good[:, None])
    c2 = _cumsum0(x * x * good[:, None])
    cn = _cumsum0(good)
    pair = good * np.concatenate([[0.0], good[:-1]])  # day and the day before both good
    step = np.diff(x, axis=0, prepend=x[:1])
    cl = _cumsum0(step * step * pair[:, None])
    cp = _cumsum0(pair)
    call = _cumsum0(x)
    seen = _cumsum0(informative)

    t = np.arange(n)
    b0 = np.maximum(t - BEFORE_DAYS, 0)
    s0 = np.maximum(t - NOISE_DAYS, 0)
    nb = cn[t] - cn[b0]
    nn = cn[t] - cn[s0]
    with np.errstate(invalid="ignore", divide="ignore"):
        base = (c1[t] - c1[b0]) / nb[:, None]
        mean_n = (c1[t] - c1[s0]) / nn[:, None]
        var = np.maximum(((c2[t] - c2[s0]) - nn[:, None] * mean_n**2) / (nn[:, None] - 1), 0.0)
        # Day-to-day steps have variance 2 var (1 - phi) for AR(1) days; features never
        # informative in the noise window take no part.
        used_n = (seen[t] - seen[s0]) > 0
        step_var = (cl[t] - cl[s0]) / (cp[t] - cp[s0])[:, None]
        phi = 1.0 - np.sum(step_var * used_n, axis=1) / (2.0 * np.sum(var * used_n, axis=1))
    phi = np.clip(np.nan_to_num(phi, nan=0.0, posinf=0.0, neginf=0.0), 0.0, 0.8)
    scale = np.maximum(np.sqrt(var), FLOOR)
    ready = (t >= BEFORE_DAYS) & (nb >= BEFORE_DAYS / 2) & (nn >= MIN_NOISE_DAYS)

    ks = np.arange(1, kk + 1)
    ends = np.minimum(t[:, None] + ks[None, :], n)  # (n, K) exclusive end of the after window
    inside = t[:, None] + ks[None, :] <= n
    # Standardized shift of every feature for every (t, k), built in place: (n, K, F).
    dz = call[ends]
    dz -= call[t][:, None, :]
    dz /= ks[None, :, None]
    dz -= base[:, None, :]
    dz /= scale[:, None, :]
    mask = seen[ends] > seen[b0][:, None, :]
    used = mask.sum(axis=2)
    factor = np.sqrt(_ar_variance(ks[None, :], phi[:, None]) + _ar_variance(nb, phi)[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        if features.combine == "max":
            np.abs(dz, out=dz)
            dz *= mask
            score = np.max(dz, axis=2) / factor
        else:
            dz *= dz
            dz *= mask
            score = np.sqrt(np.sum(dz, axis=2) / used) / factor
    score = np.where(inside & ready[:, None] & (used > 0), score, np.nan)
    return Windows(base, nb, scale, nn, phi, seen, score)


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
            if _persists(
                w, features, first, k, rules.spike_days, float(cut[first])
            ) and _big_enough(days, buckets, first, k, rules.min_effect):
                first = _locate(w, features, first, day, last_first + BEFORE_DAYS)
                found.append(Found(first, day, float(s[j])))
                last_first = first
                break
    return found


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
    w: Windows, features: Features, first: int, k: int, spike_days: int, cut: float
) -> bool:
    """No run of up to `spike_days` days explains the shift: whichever such run is set aside,
    the other days still carry half the mean shift and on their own reach half the cut. A
    spike that reverts fails this for the run that is the spike; a real change passes for all.
    And the typical (median) day carries half the shift, so two spikes are no change either.
    """
    if spike_days <= 0:
        return True
    if k <= spike_days:
        return False
    mask = w.mask(first, k)
    x = features.values[first : first + k]
    e = np.where(mask, (x - w.base[first]) / w.scale[first], 0.0)
    d = e.mean(axis=0)
    dd = float(d @ d)
    if dd <= 0:
        return False
    share = (e @ d) / dd  # how much of the mean shift each day carries
    if np.median(share) < PERSISTENCE:  # most days must carry it (several spikes do not)
        return False
    width = math.sqrt(dd / max(int(mask.sum()), 1))  # the mean shift in RMS noise widths
    phi = w.phi[first]
    base_var = float(_ar_variance(w.base_rows[first], phi))
    for run in range(1, spike_days + 1):
        n_rest = k - run
        factor = math.sqrt(float(_ar_variance(n_rest, phi)) + base_var)
        for j in range(k - run + 1):
            rest = (share[:j].sum() + share[j + run :].sum()) / n_rest
            if rest < PERSISTENCE or rest * width / factor < cut / 2:
                return False
    return True


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
