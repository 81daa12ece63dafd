"""A step technique: per-day features in, confirmed changes out.

A technique supplies only what it compares on each usable day (the CDF on a grid, a few
quantiles ...), as a ruptures cost supplies only its error; reading the usable days, setting
spike days aside, scoring windows, confirming and describing the changes is the same for all
and happens here once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from alerting.data.model import DailySeries
from alerting.detect.confirmation import SPIKE_DAYS, TESTS_PER_DAY, confirm, rules_from
from alerting.detect.days import Days, too_short, usable_days
from alerting.detect.detections import to_detections
from alerting.detect.model import DEFAULT_MIN_EFFECT, DEFAULT_THRESHOLD, Detection
from alerting.detect.technique import ArgSpec, Technique
from alerting.detect.window_scores import BEFORE_DAYS, Features, windows

# The first start that can be scored has a baseline of BEFORE_DAYS days and one day after it:
# a series with fewer usable days is skipped with a note instead of scored for nothing.
MIN_DAYS = BEFORE_DAYS + 1

# The arguments every step technique takes, declared once.
STEP_ARGS = (
    ArgSpec(
        "threshold",
        float,
        DEFAULT_THRESHOLD,
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
        DEFAULT_MIN_EFFECT,
        "smallest relative shift of the median, p05 or p95 worth an alert (0.02 = 2 %)",
        0.0,
        10.0,
    ),
)

# What a technique supplies: the feature rows of the usable days (spike days flagged in
# `transient`, so a technique can keep them out of anything it estimates).
FeatureFunction = Callable[[DailySeries, Days, np.ndarray], Features]


def step_technique(
    name: str,
    summary: str,
    score_meaning: str,
    features: FeatureFunction,
    n_features: int = 1,
    tests_per_day: float = TESTS_PER_DAY,
    aliases: tuple[str, ...] = (),
) -> Technique:
    """A technique that finds steps in the per-day `features` (`n_features` compared by their
    largest shift share the false-alert budget; `tests_per_day` is the measured effective
    number of tests per series-day of its scores)."""

    def detect(series: DailySeries, args: dict) -> list[Detection]:
        days = usable_days(series)
        if too_short(series, days, name, MIN_DAYS):
            return []
        spikes = args["short_term_spikes_ignored"]
        transient = days.transient if spikes else np.zeros(days.n, bool)
        rows = features(series, days, transient)
        rules = rules_from(args, n_features, tests_per_day)
        found = confirm(windows(rows, transient, days.index), rows, days, series.buckets, rules)
        return to_detections(series, days, found, name, score_meaning)

    return Technique(name=name, summary=summary, detect=detect, args=STEP_ARGS, aliases=aliases)
