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
from alerting.delivery.bugzilla import (
    BugzillaClient,
    BugzillaError,
    file_bug,
    unclear_write,
    whiteboard_marker,
)
from alerting.delivery.comments import RANGE_FOUND, comment_push_ranges, not_tried
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
    owed = [a for a in bug_alerts if a.delivery_state in (PENDING, DRAFTED)]
    taken = {a.bug: a.id for a in bug_alerts if a.own_bug}
    for index, alert in enumerate(owed):
        try:
            event = _file_one(
                alert, requests.get(alert.id), client, fallback, taken, run_date, step
            )
        except BugzillaError as error:
            step.errors.append(f"alert {alert.id}: {error}; left pending")
            if error.stops_step:  # plots and push range comments wait for the next run too
                not_tried(step, owed[index + 1 :])
                return
            continue
        if event:
            save(alert)
            step.add(event)
    _attach_plots(bug_alerts, client, run_date, save, png, step)
    comment_push_ranges(bug_alerts, client, run_date, save, step)


def _file_one(
    alert: Alert,
    request: dict | None,
    client: BugzillaClient,
    fallback: tuple[str, str],
    taken: dict[int, str],
    run_date: str,
    step: StepLog,
) -> str:
    """File or adopt the bug of one alert and record it on the alert: "filed" or "adopted",
    or "" when the alert stays pending (reported in `step`). `taken` maps the bugs alerts
    have to their alert, so no bug is adopted by two alerts."""
    if request is None:
        step.errors.append(f"alert {alert.id}: no bug request rendered; left pending")
        return ""
    filed = file_bug(client, request, whiteboard_marker(alert.id), fallback=fallback)
    if filed.note:
        step.notes.append(f"alert {alert.id}: {filed.note}")
    if filed.adopted and filed.id in taken:
        step.errors.append(
            f"alert {alert.id}: bug {filed.id} carries its marker but is the bug of alert "
            f"{taken[filed.id]}; not adopted, left pending"
        )
        return ""
    taken[filed.id] = alert.id
    alert.bug = filed.id
    alert.delivery_state = FILED
    alert.bugzilla_product, alert.bugzilla_component = filed.product, filed.component
    alert.links["bug"] = client.bug_url(filed.id)
    event = "adopted" if filed.adopted else "filed"
    alert.record(run_date, event, f"bug {filed.id} in {filed.product} :: {filed.component}")
    told = _filed_with_range(client, alert, step) if filed.adopted else True
    if not told:
        # Its description may predate the push range: the range comment tells it, unless
        # the description turns out to have it.
        detail = "known since; bug filed before it was"
        if told is None:
            detail = "known since; the adopted bug's description is checked for it"
        alert.record(run_date, RANGE_FOUND, detail)
    return event


def _filed_with_range(client: BugzillaClient, alert: Alert, step: StepLog) -> bool | None:
    """Whether an adopted bug, filed by an earlier run whose answer was lost, tells the push
    range now known (its description has the range's link); None when that could not be
    read: the push range comment then reads the description again before it is posted."""
    link = alert.links.get("treeherder_range")
    if not link:
        return True
    try:
        comments = client.comments(alert.bug)
    except BugzillaError as error:
        step.errors.append(
            f"alert {alert.id}: reading adopted bug {alert.bug}: {error}; whether it tells the"
            " push range is checked again before the range is commented"
        )
        return None
    return not comments or link in comments[0]["text"]


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
    for index, alert in enumerate(waiting):
        name = f"telemetry-alert-{alert.id}.png"
        try:
            existing = [a["id"] for a in client.attachments(alert.bug) if a["file_name"] == name]
            attachment = existing[0] if existing else _attach(client, alert, png(alert), name)
        except BugzillaError as error:
            step.errors.append(f"alert {alert.id}: plot for bug {alert.bug}: {error}")
            if error.stops_step:
                not_tried(step, waiting[index + 1 :])
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


def _attach(client: BugzillaClient, alert: Alert, png: bytes, name: str) -> int:
    """One attempt: an attachment whose answer was lost is looked for before the next."""
    try:
        return client.add_attachment(alert.bug, png, name, PLOT_SUMMARY)
    except BugzillaError as error:
        raise unclear_write(
            error, f"the plot may have been attached; {name} is looked for"
        ) from None


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
    linkable = []
    for summary in sorted(summaries, key=lambda s: s.id):
        members = [alerts[i] for i in summary.alerts if i in alerts and alerts[i].own_bug]
        if len({a.bug for a in members if a.bug}) >= 2:
            linkable.append((summary, members))
    for index, (summary, members) in enumerate(linkable):
        later = [a for _, rest in linkable[index + 1 :] for a in rest]
        if not _link_summary(summary, members, later, client, run_date, save, step):
            return


def _link_summary(
    summary: Summary,
    members: list[Alert],
    later: list[Alert],
    client: BugzillaClient,
    run_date: str,
    save: Save,
    step: StepLog,
) -> bool:
    """Link the bugs of one summary; False when an error stopped the step (the alerts not
    tried, its own and `later`, are named so none goes unreported)."""
    ids = sorted({a.bug for a in members if a.bug})
    try:
        current = {int(b["id"]): b for b in client.get_bugs(ids, fields=("see_also",))}
    except BugzillaError as error:
        step.errors.append(f"summary {summary.id}: {error}")
        if error.stops_step:
            not_tried(step, later)
        return not error.stops_step
    owed = []
    for alert in sorted(members, key=lambda a: a.id):
        linked = _linked_ids(current.get(alert.bug, {}).get("see_also") or [], client.url)
        missing = [i for i in ids if i != alert.bug and i not in linked]
        if missing:
            owed.append((alert, missing))
    for index, (alert, missing) in enumerate(owed):
        try:
            _add_see_also(client, alert.bug, missing)
        except BugzillaError as error:
            step.errors.append(f"summary {summary.id}: bug {alert.bug}: {error}")
            if error.stops_step:
                not_tried(step, [a for a, _ in owed[index + 1 :]] + later)
                return False
            continue
        alert.record(run_date, "linked", "see also " + ", ".join(f"bug {i}" for i in missing))
        save(alert)
        step.add("see-also links added", len(missing))
    return True


def _add_see_also(client: BugzillaClient, bug_id: int, missing: list[int]) -> None:
    """One attempt; adding a link twice changes nothing, so an unclear one is only said."""
    try:
        client.update_bug(bug_id, {"see_also": {"add": list(map(client.bug_url, missing))}})
    except BugzillaError as error:
        raise unclear_write(error, "the links may have been added; see_also is read") from None


def _linked_ids(see_also: list[str], base_url: str) -> set[int]:
    """Bug ids among `see_also` URLs that point at this Bugzilla."""
    ids = set()
    for url in see_also:
        match = _BUG_ID.search(url)
        if match and url.startswith(base_url + "/"):
            ids.add(int(match.group(1)))
    return ids
