"""`quantile_steps`: steps in the daily p05, p25, median, p75, p90 and p99, each in its own noise.

Where `cdf_squared` averages the shift over the whole distribution, this looks at six daily
quantile series (on a log scale, or as they are for linear buckets) separately, each in its
own day-to-day noise and correlation, and takes the one that moved most, with the cut raised
for looking six times. A change confined to the top of the distribution (a slow path
hit by 1-3 % of the samples) moves p99 a lot and the rest of the CDF hardly at all: here it
stands out, averaged over all buckets it can drown. A small step of the median is also seen
sooner in the median alone than in the average over buckets. On the benchmark it finds more
of both than `cdf_squared`, at slightly lower precision (see benchmarks/README.md).
"""

from __future__ import annotations

import numpy as np

from alerting.data.histogram import quantiles_of_cdf
from alerting.data.model import DailySeries
from alerting.detect.days import Days, value_scale, weekday_adjusted
from alerting.detect.step_technique import step_technique
from alerting.detect.window_scores import Features

# p90 and p99 see a slow path of a few per cent of the samples, which moves no other quantile.
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.9, 0.99)
# Daily quantiles of bucketed histograms (p99 most) have heavier-tailed noise than the CDF
# levels `cdf_squared` compares, so the largest of them reaches a given cut more often:
# calibrated so that change-free series alert about as rarely as with `cdf_squared`.
TESTS_PER_DAY = 9.0


def features(series: DailySeries, days: Days, transient: np.ndarray) -> Features:
    """The six daily quantiles, on a log scale unless the buckets are linear."""
    values = value_scale(
        series.buckets, quantiles_of_cdf(series.buckets, days.cumulative, QUANTILES)
    )
    return Features(values=weekday_adjusted(values, days.weekday, transient), combine="max")


TECHNIQUE = step_technique(
    name="quantile_steps",
    aliases=("quantile-steps",),
    summary=(
        "Finds steps in the daily p05/p25/median/p75/p90/p99 series, each measured in its"
        " own day-to-day noise; strongest on changes confined to the top percent."
    ),
    score_meaning=(
        "largest shift of the daily p05/p25/median/p75/p90/p99 (log scale unless the buckets"
        " are linear), in the series'"
        " own day-to-day noise widths"
    ),
    features=features,
    n_features=len(QUANTILES),
    tests_per_day=TESTS_PER_DAY,
)
