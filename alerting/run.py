"""The daily job (`alerting run`): SPEC §5's seven steps, in order, for every monitored series.

Each step records what it did in the run result. A failure in one probe, bug or email is
recorded and the rest go on; what could not be done stays pending in `state/` for the next run.
Rerunning the same day changes nothing: alert ids come from the change, not the run.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from alerting.alerts.model import Alert, Summary
from alerting.alerts.store import StateStore
from alerting.data.model import DailySeries, SeriesKey
from alerting.errors import UserError
from alerting.settings import Settings

log = logging.getLogger(__name__)

# The embedded default's data ends here, so the demo is the same on every machine and day.
SAMPLE_END = dt.date(2026, 11, 1)

STEPS = (
    "sync bugs",
    "detect",
    "map pushes",
    "create alerts",
    "file bugs",
    "link bugs",
    "email owners",
)


@dataclass
class StepResult:
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, key: str, amount: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + amount


@dataclass
class RunResult:
    date: str
    mode: str
    dry_run: bool
    steps: list[StepResult] = field(default_factory=list)
    new_alerts: list[str] = field(default_factory=list)
    config_errors: list[str] = field(default_factory=list)

    def step(self, name: str) -> StepResult:
        result = StepResult(name)
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
            "steps": [
                {"name": s.name, "counts": s.counts, "notes": s.notes, "errors": s.errors}
                for s in self.steps
            ],
        }


@dataclass
class Context:
    """Everything one run works with, loaded once."""

    settings: Settings
    root: Path
    store: StateStore
    configs: list
    batches: Iterator[Batch]  # consumed by detection
    series: dict[SeriesKey, DailySeries]  # the batch being worked on
    as_of: dt.date
    run_date: str
    alerts: dict[str, Alert]
    summaries: dict[str, Summary]
    sample_builds: bool
    progress: Callable[[Iterable, str], Iterable]


def select_configs(configs: list, probe_glob: str | None) -> list:
    if not probe_glob:
        return configs
    return [c for c in configs if fnmatch.fnmatchcase(c.probe, probe_glob)]


def load_series(settings: Settings, configs: list) -> dict[SeriesKey, DailySeries]:
    """The daily series of the configured data source (the generator by default)."""
    from alerting.data.series import series_from_rows

    source = settings.data.source
    if source == "sample":
        from alerting.data.generator import generate_for_probes

        data = generate_for_probes(
            configs,
            end=sample_end(settings),
            days=settings.data.history_days,
            seed=settings.data.sample_seed,
        )
        return series_from_rows(data.rows)
    if source == "files":
        from alerting.data.rows import load_series as load_files

        if not settings.data.paths:
            raise UserError("data source 'files' needs [data] paths (or ALERTING_DATA_PATHS)")
        found, problems = load_files(settings.data.paths)
        for problem in problems:
            log.warning("%s", problem)
        return found
    from alerting.data.bigquery import load_series as load_bigquery

    return load_bigquery(settings, configs)


BATCH = 100  # probes whose data is held in memory at once


Batch = tuple[list, dict[SeriesKey, DailySeries], str]  # configs, their series, load error


def series_batches(settings: Settings, configs: list) -> Iterator[Batch]:
    """(configs, their series) in batches, so a fleet's data never sits in memory at once.

    Local files are read once (they are not split by probe); generated and BigQuery data
    are fetched per batch of probes. A batch that cannot be loaded is reported with its error
    (its probes are retried on the next run) and the others go on.
    """
    step = len(configs) if settings.data.source == "files" else BATCH
    for start in range(0, len(configs), step):
        chunk = configs[start : start + step]
        try:
            yield chunk, load_series(settings, chunk), ""
        except UserError as error:
            yield chunk, {}, str(error)


def default_as_of(settings: Settings) -> dt.date | None:
    """The last day with data when it is known without reading it (None for local files)."""
    if settings.data.source == "sample":
        return sample_end(settings)
    if settings.data.source == "bigquery":
        return dt.date.today() - dt.timedelta(days=1)
    return None


def sample_end(settings: Settings) -> dt.date:
    if settings.data.sample_end:
        return dt.date.fromisoformat(settings.data.sample_end)
    return SAMPLE_END


def uses_sample_builds(settings: Settings) -> bool:
    return settings.hg.source == "sample" or (
        settings.hg.source == "auto" and settings.data.source == "sample"
    )


def default_progress(items: Iterable, label: str) -> Iterable:
    return items


def run(
    settings: Settings,
    root: Path | str = ".",
    as_of: dt.date | None = None,
    probe_glob: str | None = None,
    dry_run: bool = False,
    progress: Callable[[Iterable, str], Iterable] = default_progress,
) -> RunResult:
    """Run the whole pipeline once; see the module docstring."""
    from alerting.probes.config import collect

    root = Path(root)
    live = settings.delivery.mode == "live"
    if live and not dry_run:
        from alerting.delivery.steps import check_live_credentials

        check_live_credentials(settings)
    configs, problems = collect([root / settings.probes_dir])
    configs = select_configs(configs, probe_glob)
    if probe_glob and not configs:
        raise UserError(f"no monitored probe matches --probe {probe_glob!r}")
    store = StateStore(root / settings.state_dir, dry_run=dry_run)
    batches = series_batches(settings, configs)
    as_of = as_of or default_as_of(settings)
    if as_of is None:  # local files: the latest day they hold
        batches = list(batches)
        last_day = max((s.end for _, b, _ in batches for s in b.values() if s.n_days), default=None)
        if last_day is None:
            problem = next((e for _, _, e in batches if e), "no data for the monitored probes")
            raise UserError(f"data files: {problem}")
        as_of = last_day
    context = Context(
        settings=settings,
        root=root,
        store=store,
        configs=configs,
        batches=iter(batches),
        series={},
        as_of=as_of,
        run_date=as_of.isoformat(),
        alerts=store.alerts(),
        summaries=store.summaries(),
        sample_builds=uses_sample_builds(settings),
        progress=progress,
    )
    result = RunResult(date=context.run_date, mode=settings.delivery.mode, dry_run=dry_run)
    result.config_errors = [str(p) for p in problems]

    from alerting.alerts import steps

    steps.sync_bugs(context, result.step(STEPS[0]))
    found = steps.detect(context, result.step(STEPS[1]))
    steps.map_pushes(context, found, result.step(STEPS[2]))
    new = steps.create_alerts(context, found, result.step(STEPS[3]))
    result.new_alerts = [a.id for a in new]
    steps.file_bugs(context, result.step(STEPS[4]))
    steps.link_bugs(context, result.step(STEPS[5]))
    steps.email_owners(context, result.step(STEPS[6]))
    for error in store.errors:
        result.steps[3].errors.append(error)
    if not dry_run and os.environ.get("ALERTING_RUN_RESULT"):
        from alerting.alerts.store import dumps

        Path(os.environ["ALERTING_RUN_RESULT"]).write_text(dumps(result.to_json()), "utf-8")
    return result
