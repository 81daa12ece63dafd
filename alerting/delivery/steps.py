"""The delivery steps of the daily run (SPEC §5 steps 1, 5, 6, 7): Bugzilla and mail in
live mode, digest drafts under `state/outbox/emails/` otherwise.

Each step handles items one by one: a failing bug or email is reported and stays pending for
the next run, the others go on. `save(alert)` persists one alert atomically and is called
right after every externally visible action, so a crash loses nothing; what could still
repeat after a crash is found again in Bugzilla (marker search, activity date) instead.
Only a failure that would hit every item alike (bad key, rate limit block) ends a step.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from typing import Protocol

from alerting.alerts.model import (
    DELIVERY_BUG,
    DELIVERY_EMAIL,
    DRAFTED,
    FILED,
    PENDING,
    SENT,
    STATUS_NEW,
    STATUS_RESOLVED,
    Alert,
    Summary,
)
from alerting.delivery.bugzilla import BugzillaClient, BugzillaError, file_bug, whiteboard_marker
from alerting.delivery.email import Digest, outbox_message
from alerting.delivery.live import check_live_credentials, email_backend, open_bugzilla
from alerting.settings import Settings

log = logging.getLogger(__name__)

__all__ = [
    "check_live_credentials",
    "digests_for",
    "draft_digests",
    "email_step",
    "file_bugs",
    "file_step",
    "link_step",
    "link_summaries",
    "send_digests",
    "sync_bugs",
    "sync_step",
]

Save = Callable[[Alert], None]
MAX_DUPLICATE_HOPS = 10
REMINDER = (
    "This telemetry alert has had no activity for {days} days or more.\n\n"
    "Please have a look and resolve the bug: FIXED (fixed or backed out), WONTFIX (real, "
    "culprit found, not fixing), INVALID (real, no culprit found) or WORKSFORME (noise, not "
    "a true change)."
)
PLOT_SUMMARY = "Change: daily median/p05/p95 and before/after distributions"


class StepLog(Protocol):
    """Where a step records what it did (the run's `StepResult`)."""

    counts: dict[str, int]
    notes: list[str]
    errors: list[str]

    def add(self, key: str, amount: int = 1) -> None: ...


# -- step 1: lifecycle ----------------------------------------------------------------------


def sync_bugs(
    alerts: Iterable[Alert],
    client: BugzillaClient,
    run_date: str,
    settings: Settings,
    save: Save,
    step: StepLog,
) -> None:
    """Read every alert bug's state (also on quiet days), record resolutions, nudge the
    owner of a bug that has been quiet for `reminder_days`."""
    tracked = [a for a in alerts if a.bug]
    if not tracked:
        return
    try:
        bugs = _with_duplicate_targets(client, {a.bug for a in tracked if a.bug})
    except BugzillaError as error:
        step.errors.append(str(error))
        return
    for alert in sorted(tracked, key=lambda a: a.id):
        bug = bugs.get(alert.bug)
        if bug is None:
            step.errors.append(f"alert {alert.id}: bug {alert.bug} not returned by Bugzilla")
            continue
        step.add("checked")
        changed = _apply_state(alert, bug, bugs, run_date)
        if changed:
            step.add(changed)
            save(alert)
        if alert.status != STATUS_NEW or bug.get("resolution"):
            continue
        try:
            if _remind(alert, bug, client, run_date, settings.bugzilla.reminder_days):
                step.add("reminded")
                save(alert)
        except BugzillaError as error:
            step.errors.append(f"alert {alert.id}: reminder on bug {alert.bug}: {error}")
            if error.stops_step:
                break


def _with_duplicate_targets(client: BugzillaClient, ids: set[int]) -> dict[int, dict]:
    """The bugs, plus every bug their DUPLICATE chains lead to."""
    bugs: dict[int, dict] = {}
    wanted = set(ids)
    for _ in range(MAX_DUPLICATE_HOPS + 1):
        if not wanted:
            break
        for bug in client.get_bugs(wanted):
            bugs[int(bug["id"])] = bug
        targets = {b.get("dupe_of") for b in bugs.values() if b.get("resolution") == "DUPLICATE"}
        wanted = {int(t) for t in targets if t} - set(bugs)
    return bugs


def _final_bug(bug: dict, bugs: dict[int, dict]) -> dict:
    """Where a DUPLICATE chain ends (or its last known bug when it loops or leaves our view)."""
    seen = {int(bug["id"])}
    while bug.get("resolution") == "DUPLICATE" and bug.get("dupe_of"):
        target = bugs.get(int(bug["dupe_of"]))
        if target is None or int(target["id"]) in seen:
            break
        seen.add(int(target["id"]))
        bug = target
    return bug


def _apply_state(alert: Alert, bug: dict, bugs: dict[int, dict], run_date: str) -> str:
    """Record the bug's state on the alert; returns what changed ("" when nothing did)."""
    duplicate_of = None
    final = bug
    if bug.get("resolution") == "DUPLICATE":
        final = _final_bug(bug, bugs)
        duplicate_of = int(final["id"]) if final is not bug else bug.get("dupe_of")
    resolution = final.get("resolution") or ""
    status = STATUS_RESOLVED if resolution else STATUS_NEW
    if (alert.status, alert.resolution, alert.duplicate_of) == (status, resolution, duplicate_of):
        return ""
    reopened = alert.status == STATUS_RESOLVED and status == STATUS_NEW
    alert.status, alert.resolution, alert.duplicate_of = status, resolution, duplicate_of
    detail = f"bug {alert.bug}"
    if duplicate_of:
        detail += f" is a duplicate of bug {duplicate_of}"
    if resolution:
        detail += f" {resolution}"
    event = "reopened" if reopened else ("resolved" if resolution else "bug state")
    alert.record(run_date, event, detail)
    return event


def _remind(alert: Alert, bug: dict, client: BugzillaClient, run_date: str, days: int) -> bool:
    """One comment and a needinfo on the owner once a bug was quiet for `days` days.

    The reminder itself is activity, so even if the run dies before saving `last_reminder`
    the next run sees a recent change and does not nudge again.
    """
    today = dt.date.fromisoformat(run_date)
    last_change = dt.date.fromisoformat(str(bug.get("last_change_time", ""))[:10] or run_date)
    if (today - last_change).days < days:
        return False
    if alert.last_reminder and (today - dt.date.fromisoformat(alert.last_reminder)).days < days:
        return False
    changes: dict = {"comment": {"body": REMINDER.format(days=days), "is_markdown": True}}
    owner = alert.recipients[0] if alert.recipients else ""
    if owner and not _needinfo_open(bug, owner):
        changes["flags"] = [{"name": "needinfo", "status": "?", "requestee": owner}]
    client.update_bug(alert.bug, changes)
    alert.last_reminder = run_date
    alert.record(run_date, "reminded", f"bug {alert.bug} inactive since {last_change}")
    return True


def _needinfo_open(bug: dict, owner: str) -> bool:
    return any(
        f.get("name") == "needinfo" and f.get("status") == "?" and f.get("requestee") == owner
        for f in bug.get("flags") or []
    )


# -- step 5: filing -------------------------------------------------------------------------


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
        save(alert)
        step.add(event)
    _attach_plots(bug_alerts, client, run_date, save, png, step)


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


# -- step 6: linking ------------------------------------------------------------------------

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
        members = [alerts[i] for i in summary.alerts if i in alerts and alerts[i].bug]
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


# -- step 7: email --------------------------------------------------------------------------


def send_digests(
    digests: Iterable[Digest],
    alerts: dict[str, Alert],
    send: Callable[[Digest], None],
    run_date: str,
    settings: Settings,
    save: Save,
    step: StepLog,
) -> None:
    """Send at most `email.cap` digests; the rest stay pending for their next run.

    An alert becomes `sent` once every recipient's digest carried it; after each send the
    alerts it carried are saved before the next send starts.
    """
    attempts = 0
    for digest in sorted(digests, key=lambda d: d.recipient):
        carried = [
            alerts[i]
            for i in digest.alert_ids
            if i in alerts
            and alerts[i].delivery == DELIVERY_EMAIL
            and digest.recipient not in alerts[i].notified
        ]
        if not carried:
            step.add("already sent")
            continue
        if attempts >= settings.email.cap:
            step.add("carried over")
            continue
        attempts += 1
        try:
            send(digest)
        except Exception as error:  # one bad address or server reply never stops the rest
            step.errors.append(f"digest to {digest.recipient!r}: {error}; left pending")
            continue
        step.add("sent")
        for alert in carried:
            alert.notified.append(digest.recipient)
            if all(r in alert.notified for r in alert.recipients):
                alert.delivery_state = SENT
            alert.record(run_date, "emailed", digest.recipient)
            save(alert)


def draft_digests(
    digests: Iterable[Digest],
    alerts: dict[str, Alert],
    write: Callable[[str, str], object],
    run_date: str,
    settings: Settings,
    save: Save,
    step: StepLog,
) -> None:
    """Outbox: each digest as `outbox/emails/<run date>/<recipient>.eml` under state/; its
    alerts become `drafted` (nothing is sent, so there is no cap)."""
    for digest in sorted(digests, key=lambda d: d.recipient):
        try:
            relative, text = outbox_message(digest, settings.email.sender, run_date)
        except ValueError as error:
            step.errors.append(f"digest to {digest.recipient!r}: {error}")
            continue
        write(relative, text)
        step.add("digests drafted")
        for alert_id in digest.alert_ids:
            alert = alerts.get(alert_id)
            if alert is None or alert.delivery != DELIVERY_EMAIL or alert.delivery_state != PENDING:
                continue
            alert.delivery_state = DRAFTED
            alert.record(run_date, "drafted", f"state/{relative}")
            save(alert)


# -- the run's wiring (alerting/alerts/steps.py calls these with its Context) ---------------


def _skipped(ctx, step: StepLog, what: str) -> bool:
    if ctx.store.dry_run:
        step.notes.append(f"dry run: nothing {what}")
        return True
    return False


def sync_step(ctx, step: StepLog) -> None:
    if _skipped(ctx, step, "read from or written to Bugzilla"):
        return
    client = open_bugzilla(ctx.settings)
    try:
        alerts = ctx.alerts.values()
        sync_bugs(alerts, client, ctx.run_date, ctx.settings, ctx.store.save_alert, step)
    finally:
        client.close()


def file_step(ctx, step: StepLog) -> None:
    from alerting.alerts.render import bug_request
    from alerting.alerts.steps import description_of

    if _skipped(ctx, step, "filed"):
        return
    alerts = [a for a in ctx.alerts.values() if a.delivery == DELIVERY_BUG]
    requests = {
        a.id: bug_request(a, description_of(ctx, a.probe))
        for a in alerts
        if a.delivery_state in (PENDING, DRAFTED)
    }
    client = open_bugzilla(ctx.settings)
    try:
        file_bugs(alerts, requests, client, ctx.run_date, ctx.settings, ctx.store.save_alert, step)
    finally:
        client.close()


def link_step(ctx, step: StepLog) -> None:
    if _skipped(ctx, step, "linked"):
        return
    client = open_bugzilla(ctx.settings)
    try:
        summaries = ctx.summaries.values()
        save = ctx.store.save_alert
        link_summaries(summaries, ctx.alerts, client, ctx.run_date, ctx.settings, save, step)
    finally:
        client.close()


def digests_for(owed: dict[str, list[Alert]], run_date: str) -> list[Digest]:
    """One digest per recipient, carrying every email alert still owed to them."""
    from alerting.alerts.render import digest_markdown, digest_subject

    digests = []
    for recipient, alerts in sorted(owed.items()):
        if not alerts:
            continue
        key = hashlib.sha256(f"{run_date}\x1f{recipient}".encode()).hexdigest()[:20]
        digests.append(
            Digest(
                recipient=recipient,
                subject=digest_subject(alerts, run_date),
                markdown=digest_markdown(alerts, run_date),
                alert_ids=[a.id for a in alerts],
                digest_id=f"digest-{run_date}-{key}",
            )
        )
    return digests


def email_step(ctx, step: StepLog, owed: dict[str, list[Alert]]) -> None:
    """Live with a mail backend: send within the cap. Otherwise: draft to the outbox."""
    digests = digests_for(owed, ctx.run_date)
    if not digests:
        return
    settings, save = ctx.settings, ctx.store.save_alert
    if settings.delivery.mode != "live" or settings.email.backend == "outbox":
        draft_digests(digests, ctx.alerts, ctx.store.write_text, ctx.run_date, settings, save, step)
        return
    if _skipped(ctx, step, "sent"):
        return
    send = email_backend(settings)
    send_digests(digests, ctx.alerts, send, ctx.run_date, settings, save, step)
