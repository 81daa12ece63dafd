"""What a detector reports: where a new behaviour starts and how big the change is."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

# The step techniques' defaults for `threshold` (the chance that a series without any change
# stays silent for a year) and `min_effect` (the smallest relative shift of p05, median or p95
# worth an alert), declared with their arguments in `step_technique.STEP_ARGS`; here, without
# the detectors' imports, for the texts that explain them to owners.
DEFAULT_THRESHOLD = 0.97
DEFAULT_MIN_EFFECT = 0.02


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
