"""Step 2, detect: each monitored series through its probe's technique, then what is new.

Detection itself reads and writes no state, so batches of probes run in worker processes; the
run then applies first-monitoring lookback and de-duplication against `state/`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from pathlib import Path

from alerting.alerts.ids import alert_id, is_same_change, series_id
from alerting.alerts.model import FirstSeen
from alerting.alerts.store import StatePathError, StateValueError
from alerting.data.buildids import FIRST_BUILD_DAY
from alerting.data.model import DailySeries, SeriesKey
from alerting.data.row_index import indexable
from alerting.data.source import default_as_of, load_series
from alerting.detect.fleet import check_date
from alerting.errors import UserError
from alerting.pipeline.batch import detect_batch
from alerting.pipeline.context import Context
from alerting.pipeline.detect_files import files_findings
from alerting.pipeline.findings import Candidate, Outcome
from alerting.probes.model import MonitorConfig
from alerting.settings import Settings
from alerting.steplog import StepLog

log = logging.getLogger(__name__)

BATCH = 40  # probes whose data is held in memory at once (and the unit of parallel work)


def detection_outcomes(
    settings: Settings, configs: list[MonitorConfig], as_of: dt.date | None
) -> tuple[dt.date, Iterator[Outcome]]:
    """The run's date and, lazily, what detection finds for each batch of probes.

    Local files are read batch by batch of probes, each batch reading only its probes' rows,
    in worker processes (their last day, the default date, is known once all are read);
    formats that cannot be read by parts are read whole, here, then detected on batch by
    batch. Generated and BigQuery data are loaded per batch of probes, in worker processes
    when there are several batches, so a fleet's data never sits in memory at once and both
    cores work.
    """
    chunks = [configs[i : i + BATCH] for i in range(0, len(configs), BATCH)]
    if settings.data.source == "files":
        paths = [Path(p) for p in settings.data.paths]
        if paths and indexable(paths):
            data = settings.data
            found = files_findings(paths, chunks, data.channels, as_of, data.cache_dir)
            return check_date(as_of or found.last, found.first, found.last), found.outcomes
        series = load_series(settings, configs)
        held = [s for s in series.values() if s.n_days]
        if not held:
            raise UserError("the data files hold no data for the monitored probes")
        first, last = min(s.start for s in held), max(s.end for s in held)
        as_of = check_date(as_of or last, first, last)
        return as_of, _detect_held(series, chunks, settings.data.channels, as_of)
    last = default_as_of(settings)
    first = last - dt.timedelta(days=settings.data.history_days - 1)
    if settings.data.source == "bigquery":
        first = FIRST_BUILD_DAY  # how far back the tables reach is only known by reading
    as_of = check_date(as_of or last, first, last)
    return as_of, _parallel(settings, chunks, as_of)


def _parallel(
    settings: Settings, chunks: list[list[MonitorConfig]], as_of: dt.date
) -> Iterator[Outcome]:
    workers = min(len(chunks), os.cpu_count() or 1)
    if workers < 2:
        yield from (load_and_detect(settings, chunk, as_of) for chunk in chunks)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(load_and_detect, repeat(settings), chunks, repeat(as_of))


def _detect_held(
    series: dict[SeriesKey, DailySeries],
    chunks: list[list[MonitorConfig]],
    channels: list[str],
    as_of: dt.date,
) -> Iterator[Outcome]:
    """Detection on series already read, batch by batch, each batch given only its probes'
    series: finding a probe's series then costs the same in a fleet of any size."""
    by_metric: dict[str, dict[SeriesKey, DailySeries]] = defaultdict(dict)
    for key, daily in series.items():
        by_metric[key.metric][key] = daily
    for chunk in chunks:
        held = {k: v for c in chunk for k, v in by_metric.get(c.metric, {}).items()}
        yield detect_batch(chunk, held, channels, as_of)


def load_and_detect(settings: Settings, configs: list[MonitorConfig], as_of: dt.date) -> Outcome:
    """Load a batch's data and detect on it: the unit of work of a worker process."""
    try:
        series = load_series(settings, configs)
    except UserError as error:
        return Outcome(errors=[f"data for {len(configs)} probe(s) unavailable: {error}"])
    return detect_batch(configs, series, settings.data.channels, as_of)


def new_detections(ctx: Context, step: StepLog) -> list[Candidate]:
    """Detections from every batch, minus changes too old for a newly monitored series and
    changes already alerted."""
    found: list[Candidate] = []
    lookback = dt.timedelta(days=ctx.settings.detect.lookback_days)
    for outcome in ctx.progress(ctx.outcomes, "detect"):
        step.notes += outcome.notes
        step.errors += outcome.errors
        since = {}
        for probe, monitored in sorted(outcome.monitored.items()):
            try:
                since[probe] = first_seen(ctx, probe, [series_id(probe, *m) for m in monitored])
            except (StatePathError, StateValueError, OSError) as error:  # this probe only
                step.errors.append(f"{probe}: first-monitored dates not kept, skipped: {error}")
        step.add("series", sum(len(m) for p, m in outcome.monitored.items() if p in since))
        for item in outcome.candidates:
            probe, label, detection = item.config.probe, item.key.metric_key, item.detection
            if probe not in since:
                continue
            sid = series_id(probe, item.platform, label, item.channel)
            earliest = dt.date.fromisoformat(since[probe][sid]) - lookback
            if not earliest <= detection.date <= ctx.as_of:
                step.add("outside lookback")
            elif _already_alerted(ctx, item):
                step.add("already alerted")
            elif _set_aside(ctx, item):
                step.add("quarantined, not re-created")
            else:
                found.append(item)
    step.add("new detections", len(found))
    return found


def first_seen(ctx: Context, probe: str, ids: list[str]) -> dict[str, str]:
    """When each series was first monitored (kept in `state/probes/<probe>.json`)."""
    record = ctx.store.first_seen(probe) or FirstSeen(probe)
    changed = False
    for sid in ids:
        if sid not in record.series or record.series[sid] > ctx.run_date:
            record.series[sid] = ctx.run_date
            changed = True
    if changed:
        ctx.store.save_first_seen(record)
    return record.series


def _already_alerted(ctx: Context, item: Candidate) -> bool:
    """The same change on the same series is alerted once, even if its date moved a little."""
    where = (item.config.probe, item.platform, item.key.metric_key, item.channel)
    date = item.detection.date.isoformat()
    if alert_id(*where, date) in ctx.alerts:
        return True
    return any(
        (a.probe, a.platform, a.label, a.channel) == where and is_same_change(a.date, date)
        for a in ctx.alerts.values()
    )


def _set_aside(ctx: Context, item: Candidate) -> bool:
    """The change's alert record sits in `state/quarantine/`: a person decides, not the run."""
    where = (item.config.probe, item.platform, item.key.metric_key, item.channel)
    date = item.detection.date.isoformat()
    return any(
        q.alert_id == alert_id(*where, date)
        or (q.change is not None and q.change[:4] == where and is_same_change(q.change[4], date))
        for q in ctx.quarantined
    )
