"""The daily series every later step works on: one histogram per calendar day.

Gaps are explicit (a `present` mask over a contiguous calendar) so a detector can tell "no
data" from "no samples" and the calendar position of every day is its index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

# GLAM's `os` value for the all-OS aggregate, and the platform name configs use for it.
ALL_OS = "*"
ALL_PLATFORM = "All"

# Release channels GLAM aggregates separately (one table each).
CHANNELS = ("nightly", "beta", "release")


def platform_of(os_value: str) -> str:
    """GLAM `os` -> monitor-config platform name (`*` is `All`)."""
    return ALL_PLATFORM if os_value == ALL_OS else os_value


def os_of(platform: str) -> str:
    """Monitor-config platform name -> GLAM `os` value."""
    return ALL_OS if platform == ALL_PLATFORM else platform


@dataclass(frozen=True, order=True)
class SeriesKey:
    """What makes rows one series. `app_id`/`channel` are "" when the source has no such column."""

    metric: str
    os: str
    metric_key: str = ""
    app_id: str = ""
    channel: str = ""

    @property
    def platform(self) -> str:
        return platform_of(self.os)


@dataclass
class DailySeries:
    """Per-day summed histograms of one series.

    `counts[i]` is the histogram of day `start + i` (all builds of that day summed, buckets
    aligned by key); rows of days without data are zero and `present[i]` is False.
    `build_ids[i]` is the first (earliest) build id seen that day, "" on gaps.
    """

    key: SeriesKey
    metric_type: str
    start: dt.date
    buckets: np.ndarray  # float64, ascending bucket lower bounds
    counts: np.ndarray  # float64, shape (n_days, n_buckets)
    present: np.ndarray  # bool, shape (n_days,)
    build_ids: tuple[str, ...]

    @property
    def n_days(self) -> int:
        return int(self.counts.shape[0])

    @property
    def end(self) -> dt.date:
        """The last calendar day of the series (which may be a gap only if n_days == 0)."""
        return self.start + dt.timedelta(days=self.n_days - 1)

    def day(self, index: int) -> dt.date:
        return self.start + dt.timedelta(days=int(index))

    def index_of(self, day: dt.date) -> int:
        return (day - self.start).days

    def samples(self) -> np.ndarray:
        """Total samples per day (0 on gaps)."""
        return self.counts.sum(axis=1)

    def until(self, day: dt.date) -> DailySeries:
        """The series as it was known at the end of `day` (the streaming view of `--as-of`)."""
        n = max(0, min(self.n_days, self.index_of(day) + 1))
        return DailySeries(
            key=self.key,
            metric_type=self.metric_type,
            start=self.start,
            buckets=self.buckets,
            counts=self.counts[:n],
            present=self.present[:n],
            build_ids=self.build_ids[:n],
        )
