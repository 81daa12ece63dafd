"""The digest email to one owner: a plain-text part people read in any client and an HTML
part, both from one list of entries (and Markdown for Taskcluster Notify, which renders it).

Probe names, labels and units come from pull requests: the plain text gets them as one line
without control characters, the HTML autoescaped, the Markdown backslash-escaped."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

import jinja2
import markupsafe

from alerting.alerts.describe import (
    alert_page,
    build_text,
    explanation,
    how_sure,
    http_url,
    no_range,
    range_build,
    range_follows,
    tuning,
    where,
)
from alerting.alerts.markdown import render as render_markdown
from alerting.alerts.model import Alert
from alerting.settings import Settings
from alerting.terminal import printable

SUBJECT_LIMIT = 255  # Taskcluster Notify's limit, and a sane one for SMTP
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(value: object) -> str:
    """Plain text that cannot break a line or carry a terminal control sequence, with bidi
    overrides and invisible characters shown as escapes (`\\u202e`), as in bug text."""
    return "" if value is None else printable(" ".join(_CONTROL.sub(" ", str(value)).split()))


def _html_text(value: object) -> object:
    """Text for HTML (escaped afterwards): no control characters either; markup as it is."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return one_line(value)
    return value


@cache
def _environment(html: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("alerting.alerts", "templates"),
        autoescape=html,  # noqa: S701 -- plain text is made safe by `one_line` (finalize)
        finalize=_html_text if html else one_line,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def digest_subject(alerts: list[Alert], run_date: str) -> str:
    probes = sorted({a.probe for a in alerts})
    shown = ", ".join(probes[:3]) + (f" and {len(probes) - 3} more" if len(probes) > 3 else "")
    changes = f"{len(alerts)} change" + ("" if len(alerts) == 1 else "s")
    subject = one_line(f"Telemetry alert ({run_date}): {changes} in {shown}")
    return subject if len(subject) <= SUBJECT_LIMIT else subject[: SUBJECT_LIMIT - 1] + "…"


def _entry(alert: Alert, settings: Settings, threshold: float | None) -> dict:
    explained, push = explanation(alert), alert.push_range
    treeherder = http_url(alert.links.get("treeherder_range"))
    pushlog = http_url(alert.links.get("pushlog"))
    if treeherder:
        next_step = (
            "look through the pushes of this range for the patch that explains the change "
            "(the culprit may also sit a day before or after the range)"
        )
        unknown = pushlog_text = ""
    else:
        next_step = (
            f"look through the pushes before build {range_build(alert)} for the patch that "
            "explains the change (the culprit may also sit a day earlier or later)"
        )
        if range_follows(push):
            unknown = (
                f"not known yet ({no_range(alert)} when this alert was made); its dashboard "
                "page shows it once a later run finds it"
            )
        else:
            unknown = f"unknown ({no_range(alert)})"
        pushlog_text = f"the days before build {range_build(alert)}"
    return {
        "title": where(alert),
        "kind": explained.kind,
        "date": alert.date,
        "build": build_text(alert),
        "sentence": explained.sentence,
        "volume": explained.volume,
        "sure": how_sure(alert, threshold),
        "range": f"{push.from_rev[:12]}…{push.to_rev[:12]}" if treeherder else "",
        "treeherder": treeherder,
        "pushlog": pushlog,
        "pushlog_text": pushlog_text if not push.previous_build else "",
        "unknown": unknown,
        "dashboard": http_url(alert_page(settings.report.url, alert.id)),
        "glam": http_url(alert.links.get("glam")),
        "next": next_step,
        "sample": push.sample,
    }


Thresholds = Mapping[str, float] | None  # probe -> its `threshold`


def _context(
    alerts: list[Alert], run_date: str, settings: Settings, thresholds: Thresholds
) -> dict:
    ordered = sorted(alerts, key=lambda a: (a.probe, a.platform, a.label, a.date, a.id))
    known = thresholds or {}
    return {
        "entries": [_entry(a, settings, known.get(a.probe)) for a in ordered],
        "run_date": run_date,
        "docs": http_url(settings.help.docs),
        "tune": tuning(),
        "contact": settings.help.contact,
    }


def digest_text(
    alerts: list[Alert], run_date: str, settings: Settings, thresholds: Thresholds = None
) -> str:
    return (
        _environment(False)
        .get_template("digest.txt.j2")
        .render(**_context(alerts, run_date, settings, thresholds))
    )


def digest_html(
    alerts: list[Alert], run_date: str, settings: Settings, thresholds: Thresholds = None
) -> str:
    return (
        _environment(True)
        .get_template("digest.html.j2")
        .render(**_context(alerts, run_date, settings, thresholds))
    )


def digest_markdown(
    alerts: list[Alert], run_date: str, settings: Settings, thresholds: Thresholds = None
) -> str:
    return render_markdown("digest.md.j2", **_context(alerts, run_date, settings, thresholds))
