"""One technique over a fleet of series: the shared core of `alerting detect` and the daily run."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from alerting.data.model import DailySeries, SeriesKey
from alerting.detect.model import Detection
from alerting.detect.registry import Technique

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Found:
    """A detection together with the series it was found in."""

    key: SeriesKey
    detection: Detection

    def to_json(self) -> dict:
        data = {
            "metric": self.key.metric,
            "os": self.key.os,
            "metric_key": self.key.metric_key,
        }
        if self.key.app_id:
            data["app_id"] = self.key.app_id
        if self.key.channel:
            data["channel"] = self.key.channel
        data.update(self.detection.to_json())
        return data


def detect_all(
    series: Mapping[SeriesKey, DailySeries],
    technique: Technique,
    args: dict,
    as_of: dt.date | None = None,
) -> list[Found]:
    """Every detection of `technique` in every series, seeing only days up to `as_of`.

    A detector failure on one series is logged and skips only that series, so one odd
    histogram never hides the changes found in the others.
    """
    found: list[Found] = []
    for key in sorted(series):
        one = series[key] if as_of is None else series[key].until(as_of)
        try:
            detections = technique.detect(one, args)
        except Exception:  # a bug on one series must not stop the fleet
            log.exception(
                "%s failed on %s (%s, %r)", technique.name, key.metric, key.os, key.metric_key
            )
            continue
        found += [Found(key, d) for d in detections]
    return found
