"""The daily job (`alerting run`): seven steps, in order, for every monitored series.

Each step records what it did in the run result. A failure in one probe, bug or email is
recorded and the rest go on; what could not be done stays pending in `state/` for the next run.
Rerunning the same day changes nothing: alert ids come from the change, not the run.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
from pathlib import Path

from alerting.alerts.model import STATUS_NEW
from alerting.alerts.store import StateStore, dumps
from alerting.delivery.live import check_live_credentials
from alerting.errors import UserError
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
) -> RunResult:
    """Run the whole pipeline once; see the module docstring."""
    root = Path(root)
    if settings.delivery.mode == "live" and not dry_run:
        check_live_credentials(settings)
    configs, problems = collect_for(settings, [root / settings.probes_dir])
    known = [c.probe for c in configs]
    configs = select_configs(configs, probe_glob)
    store = StateStore(root / settings.state_dir, dry_run=dry_run)
    as_of, outcomes = detection_outcomes(settings, configs, as_of)
    alerts, summaries = store.alerts(), store.summaries()
    store.quarantine_failed()  # unusable records: kept for a person, never re-created
    silences = read_silences(root / settings.probes_dir / SILENCES_FILE, known, as_of)
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
        f"{describe(s)}: {s.reason} ({s.file}:{s.line})" for s in silences.silences.expiring(as_of)
    ]

    deliver.sync_bugs(ctx, result.step(STEPS[0]))
    found = new_detections(ctx, result.step(STEPS[1]))
    map_pushes(ctx, found, result.step(STEPS[2]))
    creating = result.step(STEPS[3])
    creating.notes += [str(w) for w in silences.warnings]
    result.created = create_alerts(ctx, found, creating)
    result.new_alerts = [a.id for a in result.created]
    filing = result.step(STEPS[4])
    deliver.file_bugs(ctx, filing)
    deliver.comment_expected(ctx, filing)
    deliver.link_bugs(ctx, result.step(STEPS[5]))
    deliver.email_owners(ctx, result.step(STEPS[6]))

    result.steps[3].errors += store.errors
    result.quarantined = [str(q) for q in store.quarantined()]
    result.alerts_total = len(ctx.alerts)
    result.alerts_open = sum(a.status == STATUS_NEW for a in ctx.alerts.values())
    if not dry_run and os.environ.get("ALERTING_RUN_RESULT"):
        Path(os.environ["ALERTING_RUN_RESULT"]).write_text(dumps(result.to_json()), "utf-8")
    return result


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
