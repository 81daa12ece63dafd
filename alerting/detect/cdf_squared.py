"""`cdf_squared`: the default technique, reworked to alert on real changes only.

It keeps the anchor's idea (compare the CDF of the days before with the CDF of the days after,
bucket by bucket, squared) but each day's histogram is normalized on its own, so volume never
matters, and the squared differences are measured in the series' own day-to-day noise: the
score is the root mean square, over the buckets, of (CDF after - CDF before) divided by how
much that bucket's CDF moves from one day to the next. `threshold` turns into a score cut that
a change-free series reaches about once in 1 / -ln(threshold) years.
"""

from __future__ import annotations

import logging

from alerting.data.model import DailySeries
from alerting.detect.days import usable_days
from alerting.detect.model import Detection
from alerting.detect.registry import ArgSpec, Technique, register
from alerting.detect.steps import (
    BEFORE_DAYS,
    Features,
    Rules,
    confirm,
    tail_for,
    to_detections,
    windows,
)

log = logging.getLogger(__name__)

NAME = "cdf_squared"
MIN_DAYS = BEFORE_DAYS + 3
SCORE_MEANING = (
    "root mean square over buckets of the CDF shift, in the series' own day-to-day noise widths"
)
# Buckets whose CDF level is this close to 0 or 1 on both sides say nothing about a change.
ACTIVE = (0.01, 0.99)


def detect(series: DailySeries, args: dict) -> list[Detection]:
    days = usable_days(series)
    if days.n < MIN_DAYS:
        log.info(
            "%s: %s (%s, %r) has %d usable days, needs %d; no detection",
            NAME,
            series.key.metric,
            series.key.os,
            series.key.metric_key,
            days.n,
            MIN_DAYS,
        )
        return []
    cdf = days.pmf.cumsum(axis=1)
    features = Features(values=cdf, present=days.pmf > 0, active=ACTIVE, combine="rms")
    rules = Rules(
        tail=tail_for(args["threshold"]),
        min_effect=args["min_effect"],
        spike_days=2 if args["short_term_spikes_ignored"] else 0,
    )
    found = confirm(windows(features, days.transient), features, days, series.buckets, rules)
    return to_detections(series, days, found, NAME, SCORE_MEANING)


TECHNIQUE = register(
    Technique(
        name=NAME,
        aliases=("cdf-squared",),
        summary=(
            "Compares the per-day CDFs of the days before and after each day, bucket by bucket,"
            " in units of the series' own day-to-day noise."
        ),
        detect=detect,
        args=(
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
                "ignore changes that revert within 2 days (a change is then confirmed on its"
                " third day at the earliest)",
            ),
            ArgSpec(
                "min_effect",
                float,
                0.02,
                "smallest relative shift of the median, p05 or p95 worth an alert (0.02 = 2 %)",
                0.0,
                10.0,
            ),
        ),
        min_days=MIN_DAYS,
    )
)
