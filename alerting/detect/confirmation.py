"""Confirmation: walk the days in order and confirm changes as the daily run would see them.

A change is confirmed on the first day T whose data make the evidence strong enough, and
located at the best-scoring start then; everything used for that decision comes from days up
to T. Replaying the series day by day therefore reports the change once, with the same date on
every later day. A start is not confirmed while a later start explains the recent days better
(a new step right after some noise belongs to the later start). After a change, later
candidates take their baseline from the days since the change only, so one change is never
reported twice and a second change soon after it is measured against the new level. What a
start must show besides its score (no spike, no drift, no wandering, a shift worth an alert)
is checked in `change_checks`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import fdtri

from alerting.detect.change_checks import (
    abrupt,
    along,
    big_enough,
    jumps,
    outlasts_spike,
    persists,
    standardized,
)
from alerting.detect.days import Days
from alerting.detect.window_scores import (
    AFTER_DAYS,
    MAX_AFTER_DAYS,
    MIN_BASE_AFTER,
    Features,
    Windows,
    rebase_after,
)

_COLUMN = np.full(MAX_AFTER_DAYS + 2, -1)
_COLUMN[AFTER_DAYS] = np.arange(AFTER_DAYS.size)
# The effective number of independent tests per series-day of the confirmation rule, used to
# turn "chance that a change-free series stays silent for a year" into a score cut.
TESTS_PER_DAY = 3.0
LOCATE_DAYS = 3  # the per-day vote may move the start this many days either way
CANDIDATES_PER_DAY = 3  # the best-scoring starts over the cut that are checked on a day


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
    """A confirmed change. `score` is that of the start that passed the checks; `first` is
    where the per-day vote then put the start (at most LOCATE_DAYS away), and `base_start`
    that start's baseline."""

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


def cuts(tail: float, noise_days: np.ndarray, dof: np.ndarray | None = None) -> np.ndarray:
    """Score cut per candidate: the root of an F quantile with `dof` (the independent
    features the score adds up; one by default) and the noise days' degrees of freedom, since
    the noise is measured on a few weeks of days only and a short history must not make small
    wobbles look significant. With one feature it is the two-sided Student-t quantile."""
    if tail <= 0.0:
        return np.full(noise_days.shape, np.inf)
    df = np.maximum(noise_days - 1.0, 1.0)  # whole days, at most a few dozen
    quarters = np.ones(df.shape) * 4.0 if dof is None else np.round(np.asarray(dof) * 4.0)
    # A few dozen distinct pairs of features (in quarters) and day counts, one number a pair.
    unique, where = np.unique(quarters * 1024.0 + df, return_inverse=True)
    features, days = np.divmod(unique, 1024.0)
    return np.sqrt(fdtri(features / 4.0, days, 1.0 - tail))[where].reshape(df.shape)


def confirm(
    w: Windows, features: Features, days: Days, buckets: np.ndarray, rules: Rules
) -> list[Change]:
    """Walk the days in order and confirm changes as the daily run would see them. After each
    change, `w` is rebased in place (`rebase_after`): the scores of later starts are then
    measured against the level since the change."""
    cut = cuts(rules.tail, np.nan_to_num(w.noise_days), w.dof)
    # The shift along its own direction is one number: its cut is that of one feature.
    along_cut = cut if w.dof is None else cuts(rules.tail, np.nan_to_num(w.noise_days))
    found: list[Change] = []
    last_first = -(10**9)
    from_day = 0
    while True:
        change = _next_change(
            w, features, days, buckets, rules, cut, along_cut, last_first, from_day
        )
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
    along_cut: np.ndarray,
    last_first: int,
    from_day: int,
) -> Change | None:
    """The first change confirmed on day `from_day` or later, starting after `last_first`."""
    score = w.score
    ks = AFTER_DAYS
    rows = np.arange(days.n)[:, None]
    last = np.minimum(rows + ks[None, :] - 1, days.n - 1)  # beyond the series: not scored
    with np.errstate(invalid="ignore"):
        hit = (score >= cut[:, None]) & outlasts_spike(days.index, rows, last, rules.spike_days)
    hit[: max(last_first + 1, 0)] = False
    ts, cols = np.nonzero(hit)
    confirm_day = ts + ks[cols] - 1  # usable-day row on which (t, k) is known
    for day in np.unique(confirm_day[confirm_day >= from_day]):
        day = int(day)
        # Every candidate start known on this day, best first.
        known = np.arange(max(last_first + 1, day - MAX_AFTER_DAYS + 1), day + 1)
        on_day = _score_on(score, known, day)
        judged = int(np.count_nonzero(outlasts_spike(days.index, known, day, rules.spike_days)))
        starts, s = known[:judged], on_day[:judged]
        ok = np.isfinite(s) & (s >= cut[starts])
        best = np.argsort(-np.where(ok, s, -np.inf), kind="stable")[: int(ok.sum())]
        for j in best[:CANDIDATES_PER_DAY]:
            first = int(starts[j])
            k = day - first + 1
            if _later_start_explains(on_day[j:]):
                continue
            if (
                persists(w, features, days, first, k, rules.spike_days, float(cut[first]))
                and abrupt(w, features, days, first, k)
                and jumps(w, features, first, k)
                and along(w, features, days, first, k, float(along_cut[first]), last_first + 1)
                and big_enough(days, buckets, w, first, k, rules.min_effect)
            ):
                earliest = last_first + MIN_BASE_AFTER if last_first >= 0 else 0
                first = _locate(w, features, first, day, earliest)
                return Change(first, day, float(s[j]), int(w.base_start[first]))
    return None


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
    e = standardized(w, features, first, day - first + 1, np.arange(lo, day + 1))
    d = e[first - lo :].mean(axis=0)
    dd = float(d @ d)
    if dd <= 0:
        return first
    votes = (e @ d) / dd - 0.5  # > 0: closer to the new level
    gain = np.cumsum(votes[::-1])[::-1]  # the new level's case for starting at each day
    last_start = min(first + LOCATE_DAYS, day)
    return lo + int(np.argmax(gain[: last_start - lo + 1]))
