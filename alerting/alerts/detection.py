"""Step 2's pure part: which series each monitored probe covers, and what its technique finds
there. No state is read or written here, so batches of probes can run in worker processes;
the run then applies first-monitoring lookback and de-duplication against `state/`."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from alerting.alerts.model import PushRange
from alerting.data.model import CHANNELS, DailySeries, SeriesKey, os_of
from alerting.detect.model import Detection
from alerting.detect.registry import get_technique

log = logging.getLogger(__name__)


@dataclass
class Candidate:
    """A detection on one monitored series; `series` is the data as of the run's date.
    Step 3 adds the push range of the change."""

    config: object  # alerting.probes.model.MonitorConfig
    platform: str
    channel: str
    key: SeriesKey
    series: DailySeries
    detection: Detection
    push_range: PushRange | None = None


@dataclass
class Outcome:
    """What detection found for a batch of probes."""

    # probe -> (platform, label, channel) of each series it monitors
    monitored: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    candidates: list[Candidate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def channel_matches(key: SeriesKey, channel: str) -> bool:
    """GLAM tables are per channel; rows may name it in `channel` or (FOG) in `app_id`."""
    if key.channel:
        return key.channel == channel
    return key.app_id in ("", channel) or key.app_id not in CHANNELS


def monitored_series(
    series: dict[SeriesKey, DailySeries], channels: list[str], config
) -> tuple[list[tuple[str, str, SeriesKey]], list[str]]:
    """(platform, channel, key) of every series a config monitors, and what has no data.

    Labeled probes are one series per label (only the configured labels when static)."""
    wanted, missing = [], []
    for platform in config.platforms:
        os_value = os_of(platform)
        for channel in channels:
            keys = [
                k
                for k in series
                if k.metric == config.metric and k.os == os_value and channel_matches(k, channel)
            ]
            if config.labeled:
                if config.labels:
                    keys = [k for k in keys if k.metric_key in config.labels]
            else:
                keys = [k for k in keys if k.metric_key == ""]
            if not keys:
                missing.append(f"{config.probe}: no data on {platform} {channel}")
            wanted += [(platform, channel, k) for k in sorted(keys)]
    return wanted, missing


def detect_batch(
    configs: list, series: dict[SeriesKey, DailySeries], channels: list[str], as_of: dt.date
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


def load_and_detect(settings, configs: list, as_of: dt.date) -> Outcome:
    """Load a batch's data and detect on it: the unit of work of a worker process."""
    from alerting.errors import UserError
    from alerting.run import load_series

    try:
        series = load_series(settings, configs)
    except UserError as error:
        return Outcome(errors=[f"data for {len(configs)} probe(s) unavailable: {error}"])
    return detect_batch(configs, series, settings.data.channels, as_of)
