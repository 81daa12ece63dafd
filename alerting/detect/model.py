"""What a detector reports: where a new behaviour starts and how big the change is."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Snapshot:
    """A distribution summarised in bucket units (the pipeline converts to the probe's unit)."""

    median: float
    p05: float
    p95: float
    samples: float


@dataclass(frozen=True)
class Detection:
    """One change. `date` is the first day of the new behaviour; `direction` is `up` when
    values got larger. `score` is technique-specific and `score_meaning` says how to read it."""

    date: dt.date
    build_id: str
    direction: str  # "up" | "down"
    technique: str
    score: float
    score_meaning: str
    before: Snapshot
    after: Snapshot

    def to_json(self) -> dict:
        data = asdict(self)
        data["date"] = self.date.isoformat()
        return data
