"""One technique over a fleet of series: the shared core of `alerting detect` and the daily run."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import logging
import multiprocessing
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from alerting.data.model import DailySeries, SeriesKey
from alerting.detect.model import Detection
from alerting.detect.registry import Technique
from alerting.errors import UserError

log = logging.getLogger(__name__)

LATE_DATA = dt.timedelta(days=7)  # how far past the data's last day a run date may lie


def check_date(as_of: dt.date, first: dt.date, last: dt.date) -> dt.date:
    """The day detection is run as of (the daily run's, or `detect --date`), or a clear error
    when it lies outside the data. A day up to LATE_DATA days after the last day is the normal
    case of data that arrives late: it sees no new day."""
    if not first <= as_of <= last + LATE_DATA:
        raise UserError(
            f"--date {as_of} is outside the data, which covers {first} to {last}; "
            "pick a day in that range or leave --date out (the latest day with data)"
        )
    return as_of


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


# At least this many series for each process: fewer are not worth starting one for.
PARALLEL_SERIES = 40
# What a forked worker runs (set before the fork, so nothing big is sent to it).
_FORKED: Callable[[list[SeriesKey]], list[Found]] | None = None


def detect_all(
    series: Mapping[SeriesKey, DailySeries],
    technique: Technique,
    args: dict,
    as_of: dt.date | None = None,
) -> list[Found]:
    """Every detection of `technique` in every series, seeing only days up to `as_of`.

    A detector failure on one series is logged and skips only that series, so one odd
    histogram never hides the changes found in the others. A big fleet is shared out to
    forked processes, one per core; the result is the same, in the same order.
    """
    keys = sorted(series)
    workers = min(os.cpu_count() or 1, len(keys) // PARALLEL_SERIES)
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return _detect_keys(series, technique, args, as_of, keys)
    # Forked workers see the series as they are in memory: only the keys go to them, and
    # only the detections come back. Each takes every `workers`-th series (neighbours in
    # key order are often alike in cost).
    shares = [keys[i::workers] for i in range(workers)]
    work = functools.partial(_detect_keys, series, technique, args, as_of)
    context = multiprocessing.get_context("fork")
    global _FORKED
    _FORKED = work
    try:
        with ProcessPoolExecutor(max_workers=workers - 1, mp_context=context) as pool:
            others = pool.map(_detect_forked, shares[1:])
            parts = [work(shares[0]), *others]
    finally:
        _FORKED = None
    by_key: dict[SeriesKey, list[Found]] = {key: [] for key in keys}
    for found in itertools.chain.from_iterable(parts):
        by_key[found.key].append(found)
    return [found for key in keys for found in by_key[key]]


def _detect_forked(keys: list[SeriesKey]) -> list[Found]:
    assert _FORKED is not None
    return _FORKED(keys)


def _detect_keys(
    series: Mapping[SeriesKey, DailySeries],
    technique: Technique,
    args: dict,
    as_of: dt.date | None,
    keys: list[SeriesKey],
) -> list[Found]:
    found: list[Found] = []
    for key in keys:
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
