"""The daily job (`alerting run`): seven steps, in order, for every monitored series.

Each step records what it did in the run result. A failure in one probe, bug or email is
recorded and the rest go on; what could not be done stays pending in `state/` for the next run.
Rerunning the same day changes nothing: alert ids come from the change, not the run. One run
at a time writes a `state/` directory (`state/.lock`), and each step's network requests share
one deadline, so a slow server delays a step, never the whole run.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import logging
import os
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TypeVar

from alerting.alerts.model import STATUS_NEW
from alerting.alerts.store import StateStore, dumps
from alerting.delivery.live import check_live_credentials
from alerting.errors import Problem, UserError
from alerting.http import step_deadline
from alerting.pipeline import deliver
from alerting.pipeline.alerts import create_alerts
from alerting.pipeline.context import Context, Progress, RunResult, no_progress
from alerting.pipeline.detect import detection_outcomes, new_detections
from alerting.pipeline.push_ranges import map_pushes
from alerting.probes.config import collect_for
from alerting.probes.model import MonitorConfig
from alerting.probes.silences import SILENCES_FILE, describe
from alerting.probes.silences_file import read_silences
from alerting.settings import Settings
from alerting.statelock import LOCK_WAIT, state_lock
from alerting.steplog import StepLog

log = logging.getLogger(__name__)
T = TypeVar("T")

STEPS = (
    "sync bugs",
    "detect",
    "map pushes",
    "create alerts",
    "file bugs",
    "link bugs",
    "email owners",
)


def run(
    settings: Settings,
    root: Path | str = ".",
    as_of: dt.date | None = None,
    probe_glob: str | None = None,
    dry_run: bool = False,
    progress: Progress = no_progress,
    lock_wait: float = LOCK_WAIT,
    today: dt.date | None = None,
) -> RunResult:
    """Run the whole pipeline once; see the module docstring.

    `today` is the day the run happens (default: the calendar date), which
    `probes/silences.yaml` is checked against as `alerting probes validate` checks it; `as_of`
    (the data's day) only decides which alerts the entries cover.
    """
    root = Path(root)
    if settings.delivery.mode == "live" and not dry_run:
        check_live_credentials(settings)  # before anything, even the lock, is written
    state_dir = root / settings.state_dir
    with nullcontext() if dry_run else state_lock(state_dir, lock_wait):
        return _run(settings, root, as_of, probe_glob, dry_run, progress, today)


def _run(
    settings: Settings,
    root: Path,
    as_of: dt.date | None,
    probe_glob: str | None,
    dry_run: bool,
    progress: Progress,
    today: dt.date | None,
) -> RunResult:
    warnings: list[Problem] = []  # metrics files: shown, refusing nothing
    configs, problems = collect_for(settings, [root / settings.probes_dir], warnings)
    known = [c.probe for c in configs]
    configs = select_configs(configs, probe_glob)
    store = StateStore(root / settings.state_dir, dry_run=dry_run)
    as_of, outcomes = detection_outcomes(settings, configs, as_of)
    alerts, summaries = store.alerts(), store.summaries()
    store.quarantine_failed()  # unusable records: kept for a person, never re-created
    # Judged on the day the run happens, as `probes validate` judges it, never on the data's
    # day (a day or more earlier, months on a back-dated rerun): an entry validate accepted
    # must not turn into an error, and an entry dropped for an error notifies the series it
    # names. The entries apply to alerts by the alerts' own dates.
    today = today or dt.date.today()
    silences = read_silences(root / settings.probes_dir / SILENCES_FILE, known, today)
    ctx = Context(
        settings=settings,
        store=store,
        configs=configs,
        outcomes=outcomes,
        as_of=as_of,
        alerts=alerts,
        summaries=summaries,
        sample_builds=uses_sample_builds(settings),
        progress=progress,
        quarantined=store.quarantined(),
        silences=silences.silences,
    )
    result = RunResult(date=ctx.run_date, mode=settings.delivery.mode, dry_run=dry_run)
    result.config_errors = [str(p) for p in [*problems, *silences.problems]]
    result.expiring = [
        f"{describe(s)}: {s.reason} ({s.file}:{s.line})" for s in silences.silences.expiring(today)
    ]

    _guard(result.step(STEPS[0]), lambda step: deliver.sync_bugs(ctx, step))
    found = _guard(result.step(STEPS[1]), lambda step: new_detections(ctx, step)) or []
    _guard(result.step(STEPS[2]), lambda step: map_pushes(ctx, found, step))
    creating = result.step(STEPS[3])
    creating.notes += [str(w) for w in silences.warnings]
    result.created = _guard(creating, lambda step: create_alerts(ctx, found, step)) or []
    result.new_alerts = [a.id for a in result.created]
    filing = result.step(STEPS[4])
    filing.notes += [str(w) for w in warnings]  # e.g. a tag not read as a Bugzilla component
    _guard(filing, lambda step: deliver.file_bugs(ctx, step))
    _guard(filing, lambda step: deliver.comment_expected(ctx, step))
    _guard(result.step(STEPS[5]), lambda step: deliver.link_bugs(ctx, step))
    _guard(result.step(STEPS[6]), lambda step: deliver.email_owners(ctx, step))

    result.steps[3].errors += store.errors
    result.quarantined = [str(q) for q in store.quarantined()]
    result.alerts_total = len(ctx.alerts)
    result.alerts_open = sum(a.status == STATUS_NEW for a in ctx.alerts.values())
    if not dry_run and os.environ.get("ALERTING_RUN_RESULT"):
        Path(os.environ["ALERTING_RUN_RESULT"]).write_text(dumps(result.to_json()), "utf-8")
    return result


def _guard(step: StepLog, work: Callable[[StepLog], T]) -> T | None:
    """Part of a step, with its own network deadline. A failure nothing inside caught is
    recorded as the step's error and the later steps still run: each reads what is in state."""
    try:
        with step_deadline():
            return work(step)
    except UserError as error:
        step.errors.append(f"step stopped: {error}")
    except Exception as error:
        log.debug("step %s failed", step.name, exc_info=True)
        step.errors.append(f"step stopped by an unexpected error: {type(error).__name__}: {error}")
    return None


def select_configs(configs: list[MonitorConfig], probe_glob: str | None) -> list[MonitorConfig]:
    if not probe_glob:
        return configs
    chosen = [c for c in configs if fnmatch.fnmatchcase(c.probe, probe_glob)]
    if not chosen:
        raise UserError(
            f"no monitored probe matches --probe {probe_glob!r}{_hint(configs, probe_glob)}"
        )
    return chosen


def _hint(configs: list[MonitorConfig], pattern: str) -> str:
    """A glob that would have matched: `networking` meant `networking.*`."""
    for guess in (f"{pattern}.*", f"{pattern}*", f"*{pattern}*"):
        if guess != pattern and any(fnmatch.fnmatchcase(c.probe, guess) for c in configs):
            return f"; the pattern matches whole dotted names: did you mean {guess!r}?"
    return "; `alerting probes list` shows the monitored probes"


def uses_sample_builds(settings: Settings) -> bool:
    """The embedded default maps changes to made-up builds, never to real pushes."""
    return settings.hg.source == "sample" or (
        settings.hg.source == "auto" and settings.data.source == "sample"
    )
