"""What would be filed or sent, rendered from alerts: Bugzilla create requests, digest
emails and the run summary. Pure functions; the outbox and delivery steps decide where it goes."""

from __future__ import annotations

from alerting.alerts.classify import REGRESSION
from alerting.alerts.ids import whiteboard_marker
from alerting.alerts.markdown import Trusted, render
from alerting.alerts.model import Alert
from alerting.numbers import format_count, format_value, percent_change

VOLUME_WARNING = 0.20  # warn when samples per day changed by this share or more
SUBJECT_LIMIT = 255  # Taskcluster Notify's limit, and a sane one for SMTP


def volume_changed(alert: Alert) -> bool:
    before, after = alert.before.samples, alert.after.samples
    return bool(before) and abs(after - before) / before >= VOLUME_WARNING


def _context(alert: Alert) -> dict:
    return {"values": format_value, "count": format_count, "percent": percent_change}


def bug_summary(alert: Alert) -> str:
    where = alert.platform + (f", {alert.label}" if alert.label else "")
    return f"Telemetry Alert for {alert.probe} on {alert.date} ({where})"


def bug_description(alert: Alert, description: str = "", expected: bool = False) -> str:
    """The new bug's description; `expected`: as a comment on the bug that expected it."""
    range_text = "pushes between the nightlies"
    if alert.push_range.from_rev:
        range_text = f"{alert.push_range.from_rev[:12]}…{alert.push_range.to_rev[:12]}"
    return render(
        "bug_description.md.j2",
        alert=alert,
        description=description,
        volume_warning=volume_changed(alert),
        score=format_value(alert.score),
        range_text=range_text,
        expected=expected,
        **_context(alert),
    )


def expected_comment(alert: Alert, description: str = "") -> str:
    """The comment reporting an expected change on the landing's bug: what a new bug would
    have said, ending with the alert's marker so it is posted once."""
    return render(
        "expected_comment.md.j2",
        alert=alert,
        summary=bug_summary(alert),
        body=Trusted(bug_description(alert, description, expected=True)),
        marker=Trusted(f"`{whiteboard_marker(alert.id)}`"),
    )


def comment_request(alert: Alert, description: str = "") -> dict:
    """The body of `POST /rest/bug/{alert.bug}/comment`, and the bug it goes to."""
    return {"bug": alert.bug, "comment": expected_comment(alert, description), "is_markdown": True}


def bug_request(alert: Alert, description: str = "") -> dict:
    """The body of `POST /rest/bug` for one alert (needinfo the first owner, CC the rest)."""
    keywords = ["telemetry-alert"]
    if alert.classification == REGRESSION:
        keywords.append("regression")
    owner, *others = alert.recipients or [""]
    request = {
        "product": alert.bugzilla_product,
        "component": alert.bugzilla_component,
        "summary": bug_summary(alert),
        "type": "defect",
        "severity": "S4",
        "priority": "P5",
        "keywords": keywords,
        "whiteboard": whiteboard_marker(alert.id),
        "cc": others,
        "description": bug_description(alert, description),
    }
    if owner:
        request["flags"] = [{"name": "needinfo", "status": "?", "requestee": owner}]
    return request


def digest_subject(alerts: list[Alert], run_date: str) -> str:
    probes = sorted({a.probe for a in alerts})
    shown = ", ".join(probes[:3]) + (f" and {len(probes) - 3} more" if len(probes) > 3 else "")
    subject = f"Telemetry alert ({run_date}): {len(alerts)} change(s) in {shown}"
    subject = " ".join(subject.split())  # no line breaks can reach a header
    return subject if len(subject) <= SUBJECT_LIMIT else subject[: SUBJECT_LIMIT - 1] + "…"


def digest_markdown(alerts: list[Alert], run_date: str) -> str:
    ordered = sorted(alerts, key=lambda a: (a.probe, a.platform, a.label, a.date, a.id))
    return render("email_digest.md.j2", alerts=ordered, run_date=run_date, **_context(alerts[0]))


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "-"


def _notes(notes: list[str]) -> str:
    shown = notes[:3] + ([f"and {len(notes) - 3} more"] if len(notes) > 3 else [])
    return "; ".join(shown) or "-"


def run_summary(result, alerts: dict[str, Alert]) -> str:
    """The Markdown summary of one run (stdout and the GitHub job summary)."""
    new_alerts = [alerts[i] for i in result.new_alerts if i in alerts]
    return render(
        "run_summary.md.j2",
        result=result,
        new_alerts=new_alerts,
        errors=result.errors,
        counts=_counts,
        notes=_notes,
        values=format_value,
    )
