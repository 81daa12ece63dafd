"""What would be filed, rendered from alerts: Bugzilla create requests and the run summary.
Pure functions; the outbox and delivery steps decide where it goes. Digests: `digest.py`."""

from __future__ import annotations

from collections.abc import Iterable

from alerting.alerts.classify import REGRESSION
from alerting.alerts.describe import (
    alert_page,
    build_text,
    delivery_text,
    explanation,
    how_sure,
    no_range,
    platform_text,
    range_build,
    range_follows,
    reported_as,
    series_text,
    summary_page,
    tuning,
    unit_shown,
    where,
)
from alerting.alerts.ids import push_range_marker, whiteboard_marker
from alerting.alerts.markdown import Trusted, render
from alerting.alerts.model import Alert, newest_first
from alerting.numbers import format_change, format_count, format_value, percent_change
from alerting.settings import Settings
from alerting.terminal import printable

SUMMARY_LIMIT = 255  # characters Bugzilla takes in a bug's summary


def values_table(alert: Alert) -> list[dict]:
    """Before, after and change of each quantile and of the samples per day (bug and page)."""
    rows, unit = [], unit_shown(alert)  # one unit for every row, as the figures use
    for name in ("median", "p05", "p95", "samples"):
        before, after = getattr(alert.before, name), getattr(alert.after, name)
        shown = format_count if name == "samples" else lambda v: format_value(v, alert.unit, unit)
        rows.append(
            {
                "name": "samples per day" if name == "samples" else name,
                "before": shown(before),
                "after": shown(after),
                "change": percent_change(before, after),
            }
        )
    return rows


def same_range(a: Alert, b: Alert) -> bool:
    """Two alerts share a push range when both know it and it is the same pushes."""
    pa, pb = a.push_range, b.push_range
    return bool(pa.to_rev) and (pa.from_rev, pa.to_rev) == (pb.from_rev, pb.to_rev)


def bug_summary(alert: Alert) -> str:
    """One line of plain text: a label from the data cannot break or colour it, and a long
    probe name or label is cut (Bugzilla refuses summaries over 255 characters)."""
    where_text = platform_text(alert.platform) + (f", {alert.label}" if alert.label else "")
    text = printable(
        " ".join(f"Telemetry Alert for {alert.probe} on {alert.date} ({where_text})".split())
    )
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1] + "…"


def bug_description(
    alert: Alert,
    description: str = "",
    settings: Settings | None = None,
    others: Iterable[Alert] = (),
    expected: bool = False,
    threshold: float | None = None,
) -> str:
    """The bug's first comment: what changed and why it is called what it is, how sure it
    is (at the probe's `threshold`, the default's when None), where to look, the other alerts
    in or near its push range, what to do and whom to ask. `expected`: as a comment on the bug
    that expected the change."""
    settings = settings or Settings()
    base = settings.report.url
    return render(
        "bug_description.md.j2",
        alert=alert,
        explained=explanation(alert),
        build=build_text(alert),
        series=series_text(alert.platform, alert.channel),
        table=values_table(alert),
        description=description,
        sure=how_sure(alert, threshold),
        **_range_words(alert),
        dashboard=alert_page(base, alert.id),
        summary_url=summary_page(base, alert.summary) if alert.summary else "",
        others=[
            {
                "where": where(o),
                "url": alert_page(base, o.id),
                "kind": explanation(o).kind,
                "same": same_range(alert, o),
                "reported": reported_as(o),
            }
            for o in sorted(others, key=lambda o: (o.probe, o.platform, o.label, o.id))
            if o.id != alert.id
        ],
        docs=settings.help.docs,
        contact=settings.help.contact,
        expected=expected,
        tune=tuning(),
    )


def expected_comment(
    alert: Alert,
    description: str = "",
    settings: Settings | None = None,
    threshold: float | None = None,
) -> str:
    """The comment reporting an expected change on the landing's bug: what a new bug would
    have said, ending with the alert's marker so it is posted once."""
    body = bug_description(alert, description, settings, expected=True, threshold=threshold)
    return render(
        "expected_comment.md.j2",
        alert=alert,
        summary=bug_summary(alert),
        body=Trusted(body),
        marker=Trusted(f"`{whiteboard_marker(alert.id)}`"),
    )


def push_range_comment(alert: Alert, on_own_bug: bool = True) -> str:
    """The comment that adds a push range found only after the alert was reported on a bug
    (its own, or the bug of the landing it was expected from); it ends with its own marker so
    it is posted once."""
    return render(
        "push_range_comment.md.j2",
        alert=alert,
        on_own_bug=on_own_bug,
        build=build_text(alert),
        **_range_words(alert),
        marker=Trusted(f"`{push_range_marker(alert.id)}`"),
    )


def _range_words(alert: Alert) -> dict:
    """What `push_range.md.j2` says: the range, or why there is none and whether a later
    run adds it."""
    push = alert.push_range
    return {
        "range_text": f"{push.from_rev[:12]}…{push.to_rev[:12]}" if push.from_rev else "",
        "no_range": no_range(alert),
        "follows": range_follows(push),
        "before_build": range_build(alert),
    }


def comment_request(
    alert: Alert,
    description: str = "",
    settings: Settings | None = None,
    threshold: float | None = None,
) -> dict:
    """The body of `POST /rest/bug/{alert.bug}/comment`, and the bug it goes to."""
    comment = expected_comment(alert, description, settings, threshold)
    return {"bug": alert.bug, "comment": comment, "is_markdown": True}


def bug_request(
    alert: Alert,
    description: str = "",
    settings: Settings | None = None,
    others: Iterable[Alert] = (),
    threshold: float | None = None,
) -> dict:
    """The body of `POST /rest/bug` for one alert (needinfo the first owner, CC the rest);
    `threshold`: the probe's, for how sure the change is (None: the default's)."""
    keywords = ["telemetry-alert"]
    if explanation(alert).kind == REGRESSION:
        keywords.append("regression")
    owner, *cc = alert.recipients or [""]
    request = {
        "product": alert.bugzilla_product,
        "component": alert.bugzilla_component,
        "summary": bug_summary(alert),
        "type": "defect",
        "severity": "S4",
        "priority": "P5",
        "keywords": keywords,
        "whiteboard": whiteboard_marker(alert.id),
        "cc": cc,
        "description": bug_description(alert, description, settings, others, threshold=threshold),
    }
    if owner:
        request["flags"] = [{"name": "needinfo", "status": "?", "requestee": owner}]
    return request


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "-"


def _notes(notes: list[str]) -> str:
    shown = notes[:3] + ([f"and {len(notes) - 3} more"] if len(notes) > 3 else [])
    return "; ".join(shown) or "-"


def run_summary(result, plain: bool = False) -> str:
    """The summary of one run, Markdown for the GitHub job summary or `plain` for a terminal;
    the new alerts are the run's own, so a dry run lists what it would have created."""
    return render(
        "run_summary.md.j2",
        plain,
        result=result,
        new_alerts=[
            {
                "alert": a,
                "kind": explanation(a).kind,
                "change": format_change(a.before.median, a.after.median, a.unit),
                "delivery": delivery_text(a),
            }
            for a in newest_first(result.created)
        ],
        errors=result.errors,
        counts=_counts,
        notes=_notes,
    )
