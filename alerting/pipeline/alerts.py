"""Step 4, create alerts: one record per new detection, with its values, links and plots,
grouped with the alerts of the same push range into summaries."""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np

from alerting.alerts import pushes
from alerting.alerts.classify import classify
from alerting.alerts.grouping import assign_summaries
from alerting.alerts.ids import alert_id
from alerting.alerts.model import (
    DELIVERY_BUG,
    DELIVERY_COMMENT,
    DELIVERY_EMAIL,
    PUSH_RANGE_UNKNOWN,
    SILENCED,
    STATUS_EXPECTED,
    STATUS_SILENCED,
    Alert,
    Plot,
    PushRange,
    Values,
)
from alerting.data.histogram import cdf, quantiles
from alerting.data.model import DailySeries
from alerting.delivery.bugzilla import bug_url
from alerting.detect.model import Snapshot
from alerting.pipeline.context import Context
from alerting.pipeline.findings import Candidate
from alerting.probes.model import MonitorConfig
from alerting.probes.silences import Change, Expected, Silences
from alerting.steplog import StepLog

log = logging.getLogger(__name__)

PLOT_BEFORE_DAYS = 42  # daily quantiles kept for the plots, before the change ...
PLOT_AFTER_DAYS = 21  # ... and after it (as far as the data reaches on the first report)
CDF_DAYS = 14  # days summed into the before/after CDFs


def create_alerts(ctx: Context, found: list[Candidate], step: StepLog) -> list[Alert]:
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
            if apply_silences(alert, ctx.silences, ctx.settings.bugzilla.url, ctx.run_date):
                step.add(alert.status)
    ordered = [new[k] for k in sorted(new)]
    changed = assign_summaries(ordered, ctx.summaries, {**ctx.alerts, **new})
    save_alert = ctx.guarded(step, ctx.store.save_alert)
    save_summary = ctx.guarded(step, ctx.store.save_summary)
    # An alert whose record could not be written is neither kept nor delivered: the next run
    # creates it again, and what went out for it now would go out a second time.
    unsaved = {alert.id for alert in ordered if save_alert(alert) is None}
    ordered = [alert for alert in ordered if alert.id not in unsaved]
    for alert in ordered:
        ctx.alerts[alert.id] = alert
    for summary in changed:
        summary.alerts = [a for a in summary.alerts if a not in unsaved]
        if summary.alerts:
            ctx.summaries[summary.id] = summary
            save_summary(summary)
    changed = [summary for summary in changed if summary.alerts]
    step.add("new alerts", len(ordered))
    step.add("summaries touched", len(changed))
    return ordered


def make_alert(ctx: Context, item: Candidate) -> Alert:
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
        classification=classify(config.lower_is_better, before, after),
        lower_is_better=config.lower_is_better,
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
    if item.push_unknown:
        alert.record(ctx.run_date, PUSH_RANGE_UNKNOWN, item.push_unknown)
    return alert


def apply_silences(alert: Alert, silences: Silences, bugzilla_url: str, run_date: str) -> bool:
    """Silence the new alert, or turn it into a comment on an expected change's bug, when an
    entry of `probes/silences.yaml` covers its change; returns whether one did."""
    change = Change(
        alert.probe,
        alert.platform,
        alert.label,
        alert.channel,
        dt.date.fromisoformat(alert.date),
        alert.direction,
    )
    rule = silences.rule_for(change)
    if rule is None:
        return False
    alert.reason = rule.reason
    if rule.bug:
        alert.bug = rule.bug
        alert.links["bug"] = bug_url(bugzilla_url, rule.bug)
    if isinstance(rule, Expected):
        alert.status, alert.delivery = STATUS_EXPECTED, DELIVERY_COMMENT
        alert.record(run_date, "expected", f"bug {rule.bug}: {rule.reason}")
    else:
        alert.status, alert.delivery_state = STATUS_SILENCED, SILENCED
        alert.record(run_date, SILENCED, f"until {rule.until}: {rule.reason}")
    return True


def display_unit(config: MonitorConfig) -> tuple[float, str]:
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
