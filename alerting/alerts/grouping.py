"""Summaries: alerts whose detection pushes lie within a day of each other share one culprit
search, so they are grouped (and their bugs linked)."""

from __future__ import annotations

import datetime as dt

from alerting.alerts.ids import summary_id
from alerting.alerts.model import Alert, Summary

WINDOW = dt.timedelta(days=1)


def build_time(build_id: str) -> dt.datetime:
    """The time a build id stands for; FOG's 10-digit ids are truncated to the hour."""
    digits = (build_id + "0000")[:14]
    return dt.datetime.strptime(digits, "%Y%m%d%H%M%S")


def assign_summaries(
    new_alerts: list[Alert], existing: dict[str, Summary], alerts: dict[str, Alert]
) -> list[Summary]:
    """Put each new alert into a summary (an existing one when within a day of one of its
    alerts, else a new one); returns the summaries that changed. Deterministic order."""
    changed: dict[str, Summary] = {}
    members = {
        sid: [build_time(alerts[a].build_id) for a in s.alerts if a in alerts]
        for sid, s in existing.items()
    }
    summaries = dict(existing)
    for alert in sorted(new_alerts, key=lambda a: (build_time(a.build_id), a.id)):
        when = build_time(alert.build_id)
        target = next(
            (
                summaries[sid]
                for sid in sorted(summaries)
                if any(abs(when - t) <= WINDOW for t in members.get(sid, []))
            ),
            None,
        )
        if target is None:
            target = Summary(id=summary_id(alert.id), date=alert.date, push_range=alert.push_range)
            summaries[target.id] = target
            members[target.id] = []
        if alert.id not in target.alerts:
            target.alerts = sorted([*target.alerts, alert.id])
        members[target.id].append(when)
        alert.summary = target.id
        changed[target.id] = target
    return [changed[sid] for sid in sorted(changed)]
