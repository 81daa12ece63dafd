"""`quantile_steps`: steps in the daily p05, p25, median, p75, p90 and p99, each in its own noise.

Where `cdf_squared` averages the shift over the whole distribution, this looks at six daily
quantile series (on a log scale) separately and takes the one that moved most, with the cut
raised for looking six times. A change confined to the top of the distribution (a slow path
hit by 1-3 % of the samples) moves p99 a lot and the rest of the CDF hardly at all: here it
stands out, averaged over all buckets it can drown. A small step of the median is also seen
sooner in the median alone than in the average over buckets. On the benchmark it finds more
of both than `cdf_squared`, at slightly lower precision (see benchmarks/README.md).
"""

from __future__ import annotations

import numpy as np

from alerting.data.histogram import quantiles
from alerting.data.model import DailySeries
from alerting.detect.days import log_scale, too_short, usable_days, weekday_adjusted
from alerting.detect.model import Detection
from alerting.detect.registry import Technique, register
from alerting.detect.steps import (
    MIN_NOISE_DAYS,
    STEP_ARGS,
    Features,
    confirm,
    rules_from,
    to_detections,
    windows,
)

NAME = "quantile_steps"
MIN_DAYS = MIN_NOISE_DAYS + 3
# p90 and p99 see a slow path of a few per cent of the samples, which moves no other quantile.
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.9, 0.99)
# Daily quantiles of bucketed histograms (p99 most) have heavier-tailed noise than the CDF
# levels `cdf_squared` compares, so the largest of them reaches a given cut more often:
# calibrated so that change-free series alert about as rarely as with `cdf_squared`.
TESTS_PER_DAY = 9.0
SCORE_MEANING = (
    "largest shift of the daily p05/p25/median/p75/p90/p99 (log scale), in the series' own"
    " day-to-day noise widths"
)


def detect(series: DailySeries, args: dict) -> list[Detection]:
    days = usable_days(series)
    if too_short(series, days, NAME, MIN_DAYS):
        return []
    transient = days.transient if args["short_term_spikes_ignored"] else np.zeros(days.n, bool)
    values = log_scale(quantiles(series.buckets, days.pmf, QUANTILES))
    features = Features(
        values=weekday_adjusted(values, days.weekday, transient), present=None, combine="max"
    )
    rules = rules_from(args, n_features=len(QUANTILES), tests_per_day=TESTS_PER_DAY)
    found = confirm(windows(features, transient), features, days, series.buckets, rules)
    return to_detections(series, days, found, NAME, SCORE_MEANING)


TECHNIQUE = register(
    Technique(
        name=NAME,
        aliases=("quantile-steps",),
        summary=(
            "Finds steps in the daily p05/p25/median/p75/p90/p99 series, each measured in its"
            " own day-to-day noise; strongest on changes confined to the top percent."
        ),
        detect=detect,
        args=STEP_ARGS,
    )
)
