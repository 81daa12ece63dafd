"""Filing alert bugs exactly once, attaching their plots, and linking the bugs of a summary.

A bug is filed only after searching for its whiteboard marker, and each alert is saved right
after its bug exists, so neither a crash nor a retry files twice. A failure that would hit
every item alike (bad key, rate-limit block) ends the step; any other skips one item.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable

from alerting.alerts.model import DELIVERY_BUG, DRAFTED, FILED, PENDING, Alert, Summary
from alerting.delivery.bugzilla import BugzillaClient, BugzillaError, file_bug, whiteboard_marker
from alerting.delivery.comments import RANGE_FOUND, comment_push_ranges
from alerting.settings import Settings
from alerting.steplog import StepLog

log = logging.getLogger(__name__)

Save = Callable[[Alert], None]
PLOT_SUMMARY = "Change: daily median/p05/p95 and before/after distributions"


def file_bugs(
    alerts: Iterable[Alert],
    requests: dict[str, dict],
    client: BugzillaClient,
    run_date: str,
    settings: Settings,
    save: Save,
    step: StepLog,
    png: Callable[[Alert], bytes] | None = None,
) -> None:
    """File (or adopt) one bug per pending bug alert, then attach its change plot.

    `requests` maps alert id to the rendered `POST /rest/bug` body. `png` draws the
    attachment (default: the report's `change_png`).
    """
    fallback = (settings.bugzilla.default_product, settings.bugzilla.default_component)
    bug_alerts = sorted((a for a in alerts if a.delivery == DELIVERY_BUG), key=lambda a: a.id)
    for alert in bug_alerts:
        if alert.delivery_state not in (PENDING, DRAFTED):
            continue
        request = requests.get(alert.id)
        if request is None:
            step.errors.append(f"alert {alert.id}: no bug request rendered; left pending")
            continue
        try:
            filed = file_bug(client, request, whiteboard_marker(alert.id), fallback=fallback)
        except BugzillaError as error:
            step.errors.append(f"alert {alert.id}: {error}; left pending")
            if error.stops_step:
                break
            continue
        alert.bug = filed.id
        alert.delivery_state = FILED
        alert.bugzilla_product, alert.bugzilla_component = filed.product, filed.component
        alert.links["bug"] = client.bug_url(filed.id)
        event = "adopted" if filed.adopted else "filed"
        alert.record(run_date, event, f"bug {filed.id} in {filed.product} :: {filed.component}")
        if filed.adopted and _filed_without_range(client, alert, step):
            # Its description predates the push range: the range comment below tells it.
            alert.record(run_date, RANGE_FOUND, "known since; bug filed before it was")
        save(alert)
        step.add(event)
    _attach_plots(bug_alerts, client, run_date, save, png, step)
    comment_push_ranges(bug_alerts, client, run_date, save, step)


def _filed_without_range(client: BugzillaClient, alert: Alert, step: StepLog) -> bool:
    """Whether an adopted bug, filed by an earlier run whose answer was lost, was written
    before the push range now known was found (its description lacks the range's link)."""
    link = alert.links.get("treeherder_range")
    if not link:
        return False
    try:
        comments = client.comments(alert.bug)
    except BugzillaError as error:
        step.errors.append(f"alert {alert.id}: reading adopted bug {alert.bug}: {error}")
        return False
    return bool(comments) and link not in str(comments[0].get("text", ""))


def _attach_plots(
    alerts: list[Alert],
    client: BugzillaClient,
    run_date: str,
    save: Save,
    png: Callable[[Alert], bytes] | None,
    step: StepLog,
) -> None:
    """Attach the change plot to filed bugs that lack it (retried on later runs)."""
    waiting = [a for a in alerts if a.delivery_state == FILED and a.bug and "plot" not in a.links]
    if not waiting:
        return
    if png is None:
        from alerting.report.plots import change_png as png
    for alert in waiting:
        name = f"telemetry-alert-{alert.id}.png"
        try:
            existing = [a for a in client.attachments(alert.bug) if a.get("file_name") == name]
            if existing:
                attachment = int(existing[0]["id"])
            else:
                attachment = client.add_attachment(alert.bug, png(alert), name, PLOT_SUMMARY)
        except BugzillaError as error:
            step.errors.append(f"alert {alert.id}: plot for bug {alert.bug}: {error}")
            if error.stops_step:
                return
            continue
        except Exception as error:  # drawing failed: the bug stands, the plot waits
            log.exception("plot for alert %s", alert.id)
            step.errors.append(f"alert {alert.id}: plot not drawn: {error}")
            continue
        alert.links["plot"] = f"{client.url}/attachment.cgi?id={attachment}"
        alert.record(run_date, "plot attached", f"attachment {attachment} on bug {alert.bug}")
        save(alert)
        step.add("plots")


_BUG_ID = re.compile(r"[?&]id=(\d+)(?:&|$)")


def link_summaries(
    summaries: Iterable[Summary],
    alerts: dict[str, Alert],
    client: BugzillaClient,
    run_date: str,
    settings: Settings,
    save: Save,
    step: StepLog,
) -> None:
    """Give the bugs of one summary each other in `see_also`; adds only what is missing."""
    for summary in sorted(summaries, key=lambda s: s.id):
        members = [alerts[i] for i in summary.alerts if i in alerts and alerts[i].own_bug]
        ids = sorted({a.bug for a in members if a.bug})
        if len(ids) < 2:
            continue
        try:
            current = {int(b["id"]): b for b in client.get_bugs(ids, fields=("see_also",))}
        except BugzillaError as error:
            step.errors.append(f"summary {summary.id}: {error}")
            if error.stops_step:
                break
            continue
        for alert in sorted(members, key=lambda a: a.id):
            linked = _linked_ids(current.get(alert.bug, {}).get("see_also") or [], client.url)
            missing = [i for i in ids if i != alert.bug and i not in linked]
            if not missing:
                continue
            try:
                client.update_bug(
                    alert.bug, {"see_also": {"add": list(map(client.bug_url, missing))}}
                )
            except BugzillaError as error:
                step.errors.append(f"summary {summary.id}: bug {alert.bug}: {error}")
                if error.stops_step:
                    return
                continue
            alert.record(run_date, "linked", "see also " + ", ".join(f"bug {i}" for i in missing))
            save(alert)
            step.add("see-also links added", len(missing))


def _linked_ids(see_also: list[str], base_url: str) -> set[int]:
    """Bug ids among `see_also` URLs that point at this Bugzilla."""
    ids = set()
    for url in see_also:
        match = _BUG_ID.search(url)
        if match and url.startswith(base_url + "/"):
            ids.add(int(match.group(1)))
    return ids
