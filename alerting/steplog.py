"""What one step of a run did: counts, notes and errors, shown in the run summary.

The delivery and pipeline functions record into a `StepLog` instead of logging, so a run's
outcome is data that the summary, the job summary and the tests all read the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StepLog:
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, key: str, amount: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + amount
