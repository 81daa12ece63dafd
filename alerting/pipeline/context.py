"""What one run works with (loaded once) and what it reports (per step)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from alerting.alerts.model import Alert, Summary
from alerting.alerts.quarantine import Quarantined
from alerting.alerts.store import StatePathError, StateStore, StateValueError
from alerting.alerts.thresholds import thresholds_of
from alerting.pipeline.findings import Outcome
from alerting.probes.model import MonitorConfig
from alerting.probes.silences import Silences
from alerting.settings import Settings
from alerting.steplog import StepLog

Progress = Callable[[Iterable, str], Iterable]
Writer = TypeVar("Writer", bound=Callable[..., bool | None])


def no_progress(items: Iterable, label: str) -> Iterable:
    return items


@dataclass
class Context:
    """Everything one run works with, loaded once."""

    settings: Settings
    store: StateStore
    configs: list[MonitorConfig]
    outcomes: Iterator[Outcome]  # detection's findings per batch, consumed by step 2
    as_of: dt.date
    alerts: dict[str, Alert]
    summaries: dict[str, Summary]
    sample_builds: bool  # the embedded default: builds and revisions are made up
    progress: Progress = no_progress
    # Records set aside for a person: their alerts are neither re-created nor re-notified.
    quarantined: list[Quarantined] = field(default_factory=list)
    silences: Silences = field(default_factory=Silences)  # probes/silences.yaml, checked

    @property
    def run_date(self) -> str:
        return self.as_of.isoformat()

    def description_of(self, probe: str) -> str:
        return next((c.description for c in self.configs if c.probe == probe), "")

    def thresholds(self) -> dict[str, float]:
        """Each monitored probe's `threshold` (its technique's default filled in), for the
        texts that say how sure a change is."""
        return thresholds_of(self.configs)

    def guarded(self, step: StepLog, write: Writer) -> Writer:
        """`write` (a store writer) reporting a file it cannot write, or a record it refuses
        to write, as an error of `step` instead of ending the run, and then returning None (not
        written) instead of whether the file changed; the record stays owed and the next run
        writes it again."""

        def call(*args: object) -> bool | None:
            try:
                return write(*args)
            except StatePathError as error:  # a name that would leave state/
                step.errors.append(f"{error}; not written")
                return None
            except StateValueError as error:  # what the next run could not read back
                step.errors.append(f"{error}; not written, the file is left as it was")
                return None
            except OSError as error:
                where = error.filename2 or error.filename or self.store.root  # rename: the target
                step.errors.append(
                    f"{where}: could not write ({error.strerror or error}); "
                    "left as it was, tried again next run"
                )
                return None

        return call  # type: ignore[return-value]


@dataclass
class RunResult:
    date: str
    mode: str
    dry_run: bool
    steps: list[StepLog] = field(default_factory=list)
    new_alerts: list[str] = field(default_factory=list)
    config_errors: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)  # files awaiting a person
    expiring: list[str] = field(default_factory=list)  # silences ending within a week
    created: list[Alert] = field(default_factory=list)  # the new alerts (also in a dry run)
    alerts_total: int = 0  # alerts known after the run (state/ plus this run's)
    alerts_open: int = 0  # of those, still new (not resolved, silenced or expected)

    def step(self, name: str) -> StepLog:
        result = StepLog(name)
        self.steps.append(result)
        return result

    @property
    def errors(self) -> list[str]:
        return self.config_errors + [e for s in self.steps for e in s.errors]

    def to_json(self) -> dict:
        return {
            "date": self.date,
            "mode": self.mode,
            "dry_run": self.dry_run,
            "new_alerts": self.new_alerts,
            "config_errors": self.config_errors,
            "quarantined": self.quarantined,
            "expiring_silences": self.expiring,
            "steps": [
                {"name": s.name, "counts": s.counts, "notes": s.notes, "errors": s.errors}
                for s in self.steps
            ],
        }
