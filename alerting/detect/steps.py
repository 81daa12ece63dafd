"""Step detection on per-day feature vectors, calibrated on the series' own day-to-day noise.

Both built-in techniques reduce each usable day to a feature vector (the CDF at every bucket,
or a few quantiles) and hand it here. For every candidate first day `t` of a new behaviour and
every number `k` of days seen since (1 to 28: a clear step shows in three days, a small one
needs weeks), the mean of days [t, t+k) is compared with the baseline (the non-spike days of
the four weeks ahead of t). Each feature's difference is divided by
that feature's own day-to-day spread in the weeks before t (inflated for day-to-day
correlation), so a score is "how many noise widths the new days sit from the old ones".
Cumulative sums over days make every window mean O(1), so a year costs a few array passes.

Streaming: a change is confirmed on the first day T whose data make the evidence strong
enough, and located at the best-scoring t then; everything used for that decision comes from
days up to T. Replaying the series day by day therefore reports the change once, with the same
date on every later day. A start is not confirmed while a later start explains the recent days
better (a new step right after some noise belongs to the later start). After a change, later
candidates take their baseline from the days since the change only, so one change is never
reported twice and a second change soon after it is measured against the new level.
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
from alerting.detect.registry import ArgSpec

BEFORE_DAYS = 28  # baseline length: four weeks, so a small change is judged on a steady mean
NOISE_DAYS = 42  # history the day-to-day spread is measured on
MIN_NOISE_DAYS = 21
MIN_BASE_AFTER = 5  # days since a change that make a baseline for the next one
# The numbers of days after a candidate start that are scored: every day for the first week
# (a clear change is confirmed on its third day), then sparser up to four weeks, where a small
# change has gathered enough days to stand out of the noise.
AFTER_DAYS = np.array([1, 2, 3, 4, 5, 6, 7, 9, 12, 16, 21, 28])
MAX_AFTER_DAYS = int(AFTER_DAYS[-1])
_COLUMN = np.full(MAX_AFTER_DAYS + 2, -1)
_COLUMN[AFTER_DAYS] = np.arange(AFTER_DAYS.size)
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
        0.97,
        "how sure a change must be: the chance (0..1) that a series without any change"
        " stays silent for a whole year (0.97: about one false alert in 33 series-years)",
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


def rules_from(args: dict, n_features: int = 1, tests_per_day: float = TESTS_PER_DAY) -> Rules:
    """The confirmation rules for a technique's parsed STEP_ARGS (`n_features` compared by
    their maximum share the false-alert budget; `tests_per_day` is the technique's measured
    effective number of tests per series-day)."""
    return Rules(
        tail=tail_for(args["threshold"], n_features, tests_per_day),
        min_effect=args["min_effect"],
        spike_days=SPIKE_DAYS if args["short_term_spikes_ignored"] else 0,
    )


@dataclass(frozen=True)
class Found:
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
    base_start: np.ndarray  # (n,) first usable-day row of the baseline
    scale: np.ndarray  # (n, F) day-to-day spread
    noise_days: np.ndarray  # (n,) days the spread was measured on
    phi: np.ndarray  # (n,) day-to-day correlation
    seen: np.ndarray  # (n + 1, F) cumulative count of days each feature was informative
    score: np.ndarray  # (n, K) combined score for k = 1..K days after, NaN if not computable
    sums: np.ndarray  # (n + 1, F) cumulative sums of the values of non-spike days
    squares: np.ndarray  # (n + 1, F) cumulative sums of their squares
    good: np.ndarray  # (n + 1,) cumulative count of non-spike days
    steps: np.ndarray  # (n + 1, F) cumulative squared day-to-day steps between non-spike days
    pairs: np.ndarray  # (n + 1,) cumulative count of such steps
    every: np.ndarray  # (n + 1, F) cumulative sums of the values of all days
    combine: str

    def mask(self, t: int, k: int) -> np.ndarray:
        """The features compared for candidate t after k days: informative in the windows."""
        return (self.seen[t + k] - self.seen[self.base_start[t]]) > 0


def _cumsum0(a: np.ndarray) -> np.ndarray:
    """Cumulative sums with a leading zero row, so a window sum is one subtraction."""
    out = np.zeros((a.shape[0] + 1, *a.shape[1:]))
    np.cumsum(a, axis=0, out=out[1:])
    return out


def windows(features: Features, transient: np.ndarray) -> Windows:
    x = np.asarray(features.values, dtype=float)
    n, f = x.shape
    good = (~transient).astype(float)
    informative = np.ones((n, f)) if features.present is None else features.present.astype(float)

    c1 = _cumsum0(x * good[:, None])
    c2 = _cumsum0(x * x * good[:, None])
    cn = _cumsum0(good)
    pair = good * np.concatenate([[0.0], good[:-1]])  # day and the day before both good
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
        squares=c2,
        good=cn,
        steps=cl,
        pairs=cp,
        every=_cumsum0(x),
        combine=features.combine,
    )
    _noise(w, t, None)
    ready = (t >= BEFORE_DAYS) & (w.noise_days >= MIN_NOISE_DAYS)
    _score_rows(w, t, ready, BEFORE_DAYS / 2)
    return w


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
            n = w.good[b] - w.good[a]
            total = w.sums[b] - w.sums[a]
            inside = (w.squares[b] - w.squares[a]) - total**2 / n[:, None]
            squares += np.where(n[:, None] > 0, inside, 0.0)
            nn += n
            groups += n > 0
        var = np.maximum(squares / (nn - groups)[:, None], 0.0)
        # Day-to-day steps have variance 2 var (1 - phi) for AR(1) days; features never
        # informative in the noise window take no part.
        step_sum = w.steps[t] - w.steps[s0]
        pairs = w.pairs[t] - w.pairs[s0]
        if split is not None:
            across = (s0 < split) & (split < t)  # the step from the day before the change
            step_sum -= across[:, None] * (w.steps[split + 1] - w.steps[split])
            pairs -= across * (w.pairs[split + 1] - w.pairs[split])
        used_n = (w.seen[t] - w.seen[s0]) > 0
        step_var = step_sum / pairs[:, None]
        phi = 1.0 - np.sum(step_var * used_n, axis=1) / (2.0 * np.sum(var * used_n, axis=1))
    w.phi[t] = np.clip(np.nan_to_num(phi, nan=0.0, posinf=0.0, neginf=0.0), 0.0, 0.8)
    w.scale[t] = np.maximum(np.sqrt(var), FLOOR)
    w.noise_days[t] = nn


def _score_rows(w: Windows, t: np.ndarray, ready: np.ndarray, min_base: float) -> None:
    """Baseline and scores of candidate rows `t` against their `base_start` (in place)."""
    n = w.score.shape[0]
    ks = AFTER_DAYS
    b0 = w.base_start[t]
    nb = w.good[t] - w.good[b0]
    with np.errstate(invalid="ignore", divide="ignore"):
        base = (w.sums[t] - w.sums[b0]) / nb[:, None]
    ends = np.minimum(t[:, None] + ks[None, :], n)  # (T, K) exclusive end of the after window
    inside = t[:, None] + ks[None, :] <= n
    # Standardized shift of every feature for every (t, k), built in place: (T, K, F).
    inv = 1.0 / w.scale[t]
    dz = w.every[ends]
    dz -= w.every[t][:, None, :]
    dz *= inv[:, None, :] / ks[None, :, None]
    dz -= (base * inv)[:, None, :]
    mask = w.seen[ends] > w.seen[b0][:, None, :]
    used = mask.sum(axis=2)
    phi = w.phi[t]
    factor = np.sqrt(_ar_variance(ks[None, :], phi[:, None]) + _ar_variance(nb, phi)[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        if w.combine == "max":
            np.abs(dz, out=dz)
            dz *= mask
            score = np.max(dz, axis=2) / factor
        else:
            dz *= dz
            dz *= mask
            score = np.sqrt(np.sum(dz, axis=2) / used) / factor
    ok = inside & (ready & (nb >= min_base))[:, None] & (used > 0)
    w.base[t] = base
    w.base_rows[t] = nb
    w.score[t] = np.where(ok, score, np.nan)


def _rebase_after(w: Windows, first: int) -> None:
    """After a change at `first`, later candidates measure the noise around the level on
    either side of it, and those whose baseline would reach back before it are compared with
    the days since the change only (at least MIN_BASE_AFTER of them), so a second change soon
    after a first one is still found, against the new level."""
    t = np.arange(first + 1, min(first + NOISE_DAYS, w.score.shape[0]))
    if t.size == 0:
        return
    w.base_start[t] = np.maximum(w.base_start[t], first)
    _noise(w, t, first)
    ready = (t >= BEFORE_DAYS) & (w.noise_days[t] >= MIN_NOISE_DAYS)
    _score_rows(w, t, ready, MIN_BASE_AFTER)


def confirm(
    w: Windows, features: Features, days: Days, buckets: np.ndarray, rules: Rules
) -> list[Found]:
    """Walk the days in order and confirm changes as the daily run would see them."""
    k_min = rules.spike_days + 1
    ks = AFTER_DAYS
    cut = cuts(rules.tail, np.nan_to_num(w.noise_days))
    found: list[Found] = []
    last_first = -(10**9)
    from_day = 0
    while True:
        change = _next_change(
            w, features, days, buckets, rules, cut, ks, k_min, last_first, from_day
        )
        if change is None:
            return found
        found.append(change)
        last_first, from_day = change.first, change.last + 1
        _rebase_after(w, last_first)


def _next_change(
    w: Windows,
    features: Features,
    days: Days,
    buckets: np.ndarray,
    rules: Rules,
    cut: np.ndarray,
    ks: np.ndarray,
    k_min: int,
    last_first: int,
    from_day: int,
) -> Found | None:
    """The first change confirmed on day `from_day` or later, starting after `last_first`."""
    score = w.score
    with np.errstate(invalid="ignore"):
        hit = (score >= cut[:, None]) & (ks[None, :] >= k_min)
    hit[: max(last_first + 1, 0)] = False
    ts, cols = np.nonzero(hit)
    confirm_day = ts + ks[cols] - 1  # usable-day row on which (t, k) is known
    keep = confirm_day >= from_day
    ts, confirm_day = ts[keep], confirm_day[keep]
    for day in np.unique(confirm_day):
        day = int(day)
        # Every candidate start known on this day, best first.
        starts = np.arange(max(last_first + 1, day - MAX_AFTER_DAYS + 1), day - k_min + 2)
        s = _score_on(score, starts, day)
        ok = np.isfinite(s) & (s >= cut[starts])
        for j in np.argsort(-np.where(ok, s, -np.inf), kind="stable")[: int(ok.sum())][:3]:
            first = int(starts[j])
            k = day - first + 1
            if _later_start_explains(score, first, day):
                continue
            if _persists(
                w, features, first, k, rules.spike_days, float(cut[first])
            ) and _big_enough(days, buckets, w, first, k, rules.min_effect):
                earliest = last_first + MIN_BASE_AFTER if last_first >= 0 else 0
                first = _locate(w, features, first, day, earliest)
                return Found(first, day, float(s[j]), int(w.base_start[first]))
    return None


def _later_start_explains(score: np.ndarray, first: int, day: int) -> bool:
    """A later start fits the days up to `day` better than `first` does: the window's evidence
    sits in its last days, so the change more likely begins there (a new step right after
    some noise). Wait until that start can be judged on its own days instead of dating the
    change days too early."""
    if day <= first:
        return False
    scores = _score_on(score, np.arange(first, day + 1), day)
    return bool(np.nanmax(scores[1:], initial=-np.inf) > scores[0])


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
    total = float(share.sum())
    ends = np.concatenate([[0.0], np.cumsum(share)])
    for run in range(1, spike_days + 1):
        n_rest = k - run
        factor = math.sqrt(float(_ar_variance(n_rest, phi)) + base_var)
        # Every run of `run` days set aside: the mean share of the other days.
        rest = (total - (ends[run:] - ends[:-run])) / n_rest
        if rest.min() < PERSISTENCE or rest.min() * width / factor < cut / 2:
            return False
    return True


def _big_enough(
    days: Days, buckets: np.ndarray, w: Windows, first: int, k: int, min_effect: float
) -> bool:
    before = pooled(days, _baseline_rows(days, int(w.base_start[first]), first))
    after = pooled(days, np.arange(first, first + k))
    return effect(buckets, before, after) >= min_effect


def _baseline_rows(days: Days, start: int, first: int) -> np.ndarray:
    rows = np.arange(start, first)
    return rows[~days.transient[rows]]


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
        rows_before = _baseline_rows(days, change.base_start, change.first)
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
