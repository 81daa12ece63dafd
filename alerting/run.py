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
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

from alerting.alerts.detection import Outcome, detect_batch, load_and_detect
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
    outcomes: Iterator[Outcome]  # detection's findings per batch, consumed by step 2
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


BATCH = 40  # probes whose data is held in memory at once (and the unit of parallel work)


def detection_outcomes(
    settings: Settings, configs: list, as_of: dt.date | None
) -> tuple[dt.date, Iterator[Outcome]]:
    """The run's date and, lazily, what detection finds for each batch of probes.

    Local files are read once, here (their last day is the default date). Generated and
    BigQuery data are loaded per batch of probes, in worker processes when there are several
    batches, so a fleet's data never sits in memory at once and both cores work.
    """
    if settings.data.source == "files":
        series = load_series(settings, configs)
        if as_of is None:
            as_of = max((s.end for s in series.values() if s.n_days), default=None)
            if as_of is None:
                raise UserError("the data files hold no data for the monitored probes")
        return as_of, iter([detect_batch(configs, series, settings.data.channels, as_of)])
    as_of = as_of or default_as_of(settings)
    chunks = [configs[i : i + BATCH] for i in range(0, len(configs), BATCH)]
    return as_of, _parallel(settings, chunks, as_of)


def _parallel(settings: Settings, chunks: list[list], as_of: dt.date) -> Iterator[Outcome]:
    workers = min(len(chunks), os.cpu_count() or 1)
    if workers < 2:
        yield from (load_and_detect(settings, chunk, as_of) for chunk in chunks)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(load_and_detect, repeat(settings), chunks, repeat(as_of))


def default_as_of(settings: Settings) -> dt.date:
    """The last day with data, for the sources where it is known without reading the data."""
    if settings.data.source == "sample":
        return sample_end(settings)
    return dt.date.today() - dt.timedelta(days=1)  # BigQuery: yesterday's nightlies


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
    as_of, outcomes = detection_outcomes(settings, configs, as_of)
    context = Context(
        settings=settings,
        root=root,
        store=store,
        configs=configs,
        outcomes=outcomes,
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
