"""`alerting alerts show`: one alert as a person reads it in a terminal (the same explanation,
build and delivery words as the bug, the digest and the dashboard; `--json` has everything)."""

from __future__ import annotations

from alerting.alerts.describe import (
    alert_page,
    build_text,
    delivery_text,
    explanation,
    how_sure,
    no_range,
    range_follows,
    summary_page,
    where,
)
from alerting.alerts.digest import one_line
from alerting.alerts.model import Alert
from alerting.alerts.render import values_table
from alerting.numbers import format_value
from alerting.settings import Settings
from alerting.textable import format_table

LINKS = (
    ("treeherder_range", "Treeherder range"),
    ("pushlog", "Pushlog"),
    ("treeherder", "Detection push"),
    ("glam", "GLAM"),
    ("bug", "Bug"),
)


def alert_text(alert: Alert, settings: Settings, threshold: float | None = None) -> str:
    """The alert for a terminal; `threshold`: its probe's, as the bug and the digest say it
    (None when the probe's config is not known: the default's)."""
    explained, push = explanation(alert), alert.push_range
    lines = [
        one_line(where(alert)),
        f"{explained.kind} from {alert.date} (build {build_text(alert)})",
        one_line(explained.sentence),
    ]
    if explained.volume:
        lines.append(f"Warning: {explained.volume}")
    table = [(r["name"], r["before"], r["after"], r["change"]) for r in values_table(alert)]
    lines += ["", format_table(("", "BEFORE", "AFTER", "CHANGE"), table), ""]
    if push.to_rev and push.from_rev:
        sample = ", sample builds" if push.sample else ""
        lines.append(
            f"push range: {push.from_rev[:12]}…{push.to_rev[:12]} "
            f"(nightly {push.previous_build} to {push.build}{sample})"
        )
    elif range_follows(push):
        lines.append(f"push range: not known yet ({no_range(alert)}; a later run looks again)")
    else:
        lines.append(f"push range: unknown ({no_range(alert)})")
    status = alert.status + (f" ({alert.resolution})" if alert.resolution else "")
    lines.append(f"status: {status} · delivery: {delivery_text(alert)}")
    lines.append(f"how sure: {how_sure(alert, threshold)}")
    lines.append(f"detected by {alert.technique}, score {format_value(alert.score)}")
    lines.append("")
    lines.append(f"dashboard: {alert_page(settings.report.url, alert.id)}")
    if alert.summary:
        near = summary_page(settings.report.url, alert.summary)
        lines.append(f"alerts in or near this push range: {near}")
    lines += [f"{title}: {one_line(alert.links[k])}" for k, title in LINKS if alert.links.get(k)]
    lines.append("")
    lines.append("history:")
    lines += [
        f"  {e.date}  {one_line(e.event)}  {one_line(e.detail)}".rstrip() for e in alert.history
    ]
    lines.append("")
    lines.append(f"everything (plot series included): alerting alerts show {alert.id} --json")
    return "\n".join(lines)
