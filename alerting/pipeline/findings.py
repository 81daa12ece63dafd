"""What detection hands to the later steps: candidates per series, outcomes per batch."""

from __future__ import annotations

from dataclasses import dataclass, field

from alerting.alerts.model import PushRange
from alerting.data.model import DailySeries, SeriesKey
from alerting.detect.model import Detection
from alerting.probes.model import MonitorConfig


@dataclass
class Candidate:
    """A detection on one monitored series; `series` is the data as of the run's date.
    Step 3 adds the push range of the change, or why it is not known."""

    config: MonitorConfig
    platform: str
    channel: str
    key: SeriesKey
    series: DailySeries
    detection: Detection
    push_range: PushRange | None = None
    push_unknown: str = ""  # why step 3 found no push range


@dataclass
class Outcome:
    """What detection found for a batch of probes."""

    # probe -> (platform, label, channel) of each series it monitors
    monitored: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    candidates: list[Candidate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
