"""The seven steps of a run (SPEC §5), each recording what it did in its `StepResult`.

Steps 1, 5, 6 and 7 talk to Bugzilla and mail servers in live mode (through
`alerting.delivery`); in outbox mode they render what would be filed or sent under
`state/outbox/` instead. Steps 2–4 are the same in both modes.
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np

from alerting.alerts import pushes, render
from alerting.alerts.classify import classify
from alerting.alerts.detection import Candidate
from alerting.alerts.grouping import assign_summaries
from alerting.alerts.ids import alert_id, is_same_change, series_id
from alerting.alerts.model import (
    DELIVERY_BUG,
    DELIVERY_EMAIL,
    DRAFTED,
    PENDING,
    Alert,
    Plot,
    PushRange,
    Values,
)
from alerting.data.histogram import cdf, quantiles
from alerting.data.model import DailySeries
from alerting.detect.model import Detection, Snapshot

log = logging.getLogger(__name__)

PLOT_BEFORE_DAYS = 42  # daily quantiles kept for the plots, before the change ...
PLOT_AFTER_DAYS = 21  # ... and after it (as far as the data reaches on the first report)
CDF_DAYS = 14  # days summed into the before/after CDFs


# -- step 1 -------------------------------------------------------------------------------
def sync_bugs(ctx, step) -> None:
    if ctx.settings.delivery.mode != "live":
        step.notes.append("outbox mode: no Bugzilla to read resolutions from")
        return
    from alerting.delivery import steps as live

    live.sync_step(ctx, step)


# -- step 2 -------------------------------------------------------------------------------
def first_seen(ctx, probe: str, ids: list[str]) -> dict[str, str]:
    """When each series was first monitored (kept in `state/probes/<probe>.json`)."""
    path = f"probes/{probe}.json"
    known = ctx.store.read_json(path) or {}
    series = dict(known.get("series", {})) if isinstance(known, dict) else {}
    changed = False
    for sid in ids:
        if sid not in series or series[sid] > ctx.run_date:
            series[sid] = ctx.run_date
            changed = True
    if changed:
        ctx.store.write_json(path, {"probe": probe, "series": series})
    return series


def detect(ctx, step) -> list[Candidate]:
    """Detections from every batch, minus changes too old for a newly monitored series and
    changes already alerted."""
    found: list[Candidate] = []
    lookback = dt.timedelta(days=ctx.settings.detect.lookback_days)
    for outcome in ctx.progress(ctx.outcomes, "detect"):
        step.notes += outcome.notes
        step.errors += outcome.errors
        since = {
            probe: first_seen(ctx, probe, [series_id(probe, *m) for m in monitored])
            for probe, monitored in sorted(outcome.monitored.items())
        }
        step.add("series", sum(len(m) for m in outcome.monitored.values()))
        for item in outcome.candidates:
            probe, label, detection = item.config.probe, item.key.metric_key, item.detection
            sid = series_id(probe, item.platform, label, item.channel)
            earliest = dt.date.fromisoformat(since[probe][sid]) - lookback
            if not earliest <= detection.date <= ctx.as_of:
                step.add("outside lookback")
            elif _already_alerted(ctx, probe, item.platform, label, item.channel, detection):
                step.add("already alerted")
            else:
                found.append(item)
    step.add("new detections", len(found))
    return found


def _already_alerted(ctx, probe, platform, label, channel, detection: Detection) -> bool:
    date = detection.date.isoformat()
    if alert_id(probe, platform, label, channel, date) in ctx.alerts:
        return True
    return any(
        (a.probe, a.platform, a.label, a.channel) == (probe, platform, label, channel)
        and is_same_change(a.date, date)
        for a in ctx.alerts.values()
    )


# -- step 3 -------------------------------------------------------------------------------
def map_pushes(ctx, found: list[Candidate], step) -> None:
    """Push ranges for new detections, and another try for alerts whose nightly was not
    known (or hg not reachable) on an earlier run."""
    unmapped = [
        a
        for a in (ctx.alerts[k] for k in sorted(ctx.alerts))
        if not a.push_range.to_rev and not a.push_range.sample
    ]
    if not found and (ctx.sample_builds or not unmapped):
        return
    if ctx.sample_builds:
        build_ids = {b for f in found for b in f.series.build_ids if b}
        builds = pushes.sample_builds(build_ids)
        step.notes.append("embedded default: sample builds, not real mozilla-central pushes")
    else:
        try:
            builds = pushes.fetch_nightly_builds(ctx.settings.hg.url)
        except Exception as error:
            step.errors.append(f"nightly builds unavailable, push ranges left empty: {error}")
            return
    for item in found:
        item.push_range = pushes.push_range(builds, item.detection.build_id, item.platform)
        step.add("mapped" if item.push_range.to_rev else "no nightly found")
    if ctx.sample_builds:
        return
    for alert in unmapped:
        push = pushes.push_range(builds, alert.build_id, alert.platform)
        if push.to_rev:
            alert.push_range = push
            alert.links.update(
                pushes.links(
                    push, ctx.settings.hg.url, alert.app, alert.metric, alert.platform, alert.label
                )
            )
            alert.record(ctx.run_date, "push range", f"{push.from_rev[:12]}..{push.to_rev[:12]}")
            ctx.store.save_alert(alert)
            step.add("mapped later")


# -- step 4 -------------------------------------------------------------------------------
def create_alerts(ctx, found: list[Candidate], step) -> list[Alert]:
    new: dict[str, Alert] = {}
    for item in found:
        try:
            alert = make_alert(ctx, item)
        except Exception as error:
            log.debug("alert creation failed", exc_info=True)
            step.errors.append(f"{item.config.probe}: could not create the alert: {error}")
            continue
        if alert.id not in new and alert.id not in ctx.alerts:
            new[alert.id] = alert
    ordered = [new[k] for k in sorted(new)]
    changed = assign_summaries(ordered, ctx.summaries, {**ctx.alerts, **new})
    for alert in ordered:
        ctx.alerts[alert.id] = alert
        ctx.store.save_alert(alert)
    for summary in changed:
        ctx.summaries[summary.id] = summary
        ctx.store.save_summary(summary)
    step.add("new alerts", len(ordered))
    step.add("summaries touched", len(changed))
    return ordered


def make_alert(ctx, item: Candidate) -> Alert:
    config, detection = item.config, item.detection
    scale, unit = display_unit(config)
    date = detection.date.isoformat()
    before, after = _values(detection.before, scale), _values(detection.after, scale)
    push = item.push_range or PushRange(build=detection.build_id)
    alert = Alert(
        id=alert_id(config.probe, item.platform, item.key.metric_key, item.channel, date),
        probe=config.probe,
        metric=config.metric,
        metric_type=config.type,
        platform=item.platform,
        label=item.key.metric_key,
        channel=item.channel,
        app=config.app,
        date=date,
        build_id=detection.build_id,
        direction=detection.direction,
        classification=classify(detection.direction, config.lower_is_better, before, after),
        technique=detection.technique,
        score=round(float(detection.score), 4),
        score_meaning=detection.score_meaning,
        unit=unit,
        before=before,
        after=after,
        summary="",
        delivery=DELIVERY_BUG if config.alert else DELIVERY_EMAIL,
        recipients=list(
            config.bugzilla_notification_emails if config.alert else config.notification_emails
        ),
        bugzilla_product=config.bugzilla_product,
        bugzilla_component=config.bugzilla_component,
        push_range=push,
        links=pushes.links(
            push, ctx.settings.hg.url, config.app, config.metric, item.platform, item.key.metric_key
        ),
        plot=plot_data(item.series, detection.date, scale),
    )
    alert.record(ctx.run_date, "created", f"{detection.technique} score {alert.score}")
    return alert


def display_unit(config) -> tuple[float, str]:
    """(factor, label): raw bucket values times `factor` are in the probe's unit `label`."""
    from alerting.data.units import display_unit as unit_of

    divisor, label = unit_of(config.type, config.time_unit, config.memory_unit, config.unit)
    return 1.0 / divisor, label


def _round(value: float | None) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return float(f"{value:.6g}")


def _values(snapshot: Snapshot, scale: float) -> Values:
    return Values(
        median=_round(snapshot.median * scale),
        p05=_round(snapshot.p05 * scale),
        p95=_round(snapshot.p95 * scale),
        samples=_round(snapshot.samples),
    )


def plot_data(series: DailySeries, change: dt.date, scale: float) -> Plot:
    """Daily quantiles around the change and the before/after CDFs, in the probe's unit."""
    at = series.index_of(change)
    lo, hi = max(0, at - PLOT_BEFORE_DAYS), min(series.n_days, at + PLOT_AFTER_DAYS)
    window = series.counts[lo:hi]
    q = quantiles(series.buckets, window, [0.05, 0.5, 0.95])
    present = series.present[lo:hi]
    daily = [
        [_round(v * scale) if ok else None for v, ok in zip(q[:, j], present, strict=True)]
        for j in range(3)
    ]
    before = series.counts[max(0, at - CDF_DAYS) : at].sum(axis=0)
    after = series.counts[at : at + CDF_DAYS].sum(axis=0)
    used = (before + after) > 0
    return Plot(
        days=[series.day(i).isoformat() for i in range(lo, hi)],
        p05=daily[0],
        median=daily[1],
        p95=daily[2],
        buckets=[_round(b * scale) for b in series.buckets[used]],
        cdf_before=[_round(v) for v in cdf(before[used])],
        cdf_after=[_round(v) for v in cdf(after[used])],
    )


# -- steps 5 and 6 ------------------------------------------------------------------------
def bug_alerts(ctx, states: tuple[str, ...]) -> list[Alert]:
    return [
        ctx.alerts[k]
        for k in sorted(ctx.alerts)
        if ctx.alerts[k].delivery == DELIVERY_BUG and ctx.alerts[k].delivery_state in states
    ]


def description_of(ctx, probe: str) -> str:
    return next((c.description for c in ctx.configs if c.probe == probe), "")


def file_bugs(ctx, step) -> None:
    if ctx.settings.delivery.mode == "live":
        from alerting.delivery import steps as live

        live.file_step(ctx, step)
        return
    for alert in bug_alerts(ctx, (PENDING,)):
        request = render.bug_request(alert, description_of(ctx, alert.probe))
        ctx.store.write_json(f"outbox/bugs/{alert.id}.json", request)
        alert.delivery_state = DRAFTED
        alert.record(ctx.run_date, "drafted", f"state/outbox/bugs/{alert.id}.json")
        ctx.store.save_alert(alert)
        step.add("bugs drafted")


def link_bugs(ctx, step) -> None:
    if ctx.settings.delivery.mode == "live":
        from alerting.delivery import steps as live

        live.link_step(ctx, step)
        return
    step.notes.append("outbox mode: bugs are drafts, nothing to link")


# -- step 7 -------------------------------------------------------------------------------
def pending_emails(ctx) -> dict[str, list[Alert]]:
    """Recipient -> the email alerts still owed to them, in recipient order.

    Drafts are owed too once delivery goes live: an outbox draft was never sent.
    """
    live = ctx.settings.delivery.mode == "live" and ctx.settings.email.backend != "outbox"
    owed_states = (PENDING, DRAFTED) if live else (PENDING,)
    owed: dict[str, list[Alert]] = {}
    for key in sorted(ctx.alerts):
        alert = ctx.alerts[key]
        if alert.delivery != DELIVERY_EMAIL or alert.delivery_state not in owed_states:
            continue
        for recipient in alert.recipients:
            if recipient not in alert.notified:
                owed.setdefault(recipient, []).append(alert)
    return dict(sorted(owed.items()))


def email_owners(ctx, step) -> None:
    from alerting.delivery import steps as delivery

    delivery.email_step(ctx, step, pending_emails(ctx))
