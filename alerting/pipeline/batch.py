"""Detection on the series of one batch of probes: the unit of work of every data source,
in the run's process or in a worker process. Reads and writes no state."""

from __future__ import annotations

import datetime as dt
import logging

from alerting.data.model import DailySeries, SeriesKey
from alerting.data.monitored import monitored_series
from alerting.detect.registry import get_technique
from alerting.pipeline.findings import Candidate, Outcome
from alerting.probes.model import MonitorConfig

log = logging.getLogger(__name__)


def detect_batch(
    configs: list[MonitorConfig],
    series: dict[SeriesKey, DailySeries],
    channels: list[str],
    as_of: dt.date,
) -> Outcome:
    """Run each probe's technique on each of its series, seeing only days up to `as_of`.

    A failure is recorded against its probe; the other probes go on."""
    outcome = Outcome()
    for config in configs:
        try:
            technique = get_technique(config.technique)
            wanted, missing = monitored_series(series, channels, config)
            outcome.notes += missing
            outcome.monitored[config.probe] = [(p, k.metric_key, c) for p, c, k in wanted]
            for platform, channel, key in wanted:
                known = series[key].until(as_of)
                outcome.candidates += [
                    Candidate(config, platform, channel, key, known, detection)
                    for detection in technique.detect(known, config.args)
                ]
        except Exception as error:  # one probe's failure never stops the others
            log.debug("detection failed for %s", config.probe, exc_info=True)
            outcome.monitored.pop(config.probe, None)
            outcome.candidates = [c for c in outcome.candidates if c.config is not config]
            outcome.errors.append(f"{config.probe}: detection failed: {error}")
    return outcome
