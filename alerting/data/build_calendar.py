"""The nightly build calendar of generated data: when builds happen and what they are called.

Shared by every generated series, as nightlies are built for every probe at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np


@dataclass
class Calendar:
    start: dt.date
    n_days: int
    build_day: np.ndarray  # int, day index of each build
    build_hour: np.ndarray  # int
    build_minute: np.ndarray  # int (14-digit ids only)
    build_second: np.ndarray

    def build_id(self, b: int, app: str) -> str:
        day = self.start + dt.timedelta(days=int(self.build_day[b]))
        stem = f"{day:%Y%m%d}{int(self.build_hour[b]):02d}"
        if app == "fenix":
            return f"{stem}{int(self.build_minute[b]):02d}{int(self.build_second[b]):02d}"
        return stem

    def build_date(self, b: int) -> str:
        day = self.start + dt.timedelta(days=int(self.build_day[b]))
        return f"{day:%Y-%m-%d} {int(self.build_hour[b]):02d}:00:00"


def make_calendar(seed: int, end: dt.date, days: int) -> Calendar:
    rng = np.random.default_rng([seed, 0xB111D])
    start = end - dt.timedelta(days=days - 1)
    per_day = rng.choice([1, 2, 3], size=days, p=[0.3, 0.5, 0.2])
    per_day[rng.random(days) < 0.012] = 0  # no nightly that day (tree closed, failed builds)
    build_day, hours = [], []
    for d, n in enumerate(per_day):
        slots = np.sort(rng.choice([3, 9, 15, 21], size=n, replace=False))
        build_day.extend([d] * n)
        hours.extend(slots.tolist())
    n_builds = len(build_day)
    return Calendar(
        start=start,
        n_days=days,
        build_day=np.asarray(build_day, dtype=np.int64),
        build_hour=np.asarray(hours, dtype=np.int64),
        build_minute=rng.integers(0, 60, n_builds),
        build_second=rng.integers(0, 60, n_builds),
    )


def nightly_version(day: dt.date) -> int:
    """Nightly version number: a new one every four weeks (Firefox 100 nightly began 2022-03-07)."""
    return 100 + (day - dt.date(2022, 3, 7)).days // 28
