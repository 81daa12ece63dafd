"""Following alert bugs in Bugzilla: resolutions, duplicates, reopenings and reminders.

Each bug is handled on its own: a failing one is reported and the others go on. `save(alert)`
persists one alert right after every change, so a crash loses nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from alerting.alerts.model import STATUS_NEW, STATUS_RESOLVED, Alert
from alerting.delivery.bugzilla import (
    BugzillaClient,
    BugzillaError,
    answer_id,
    unclear_write,
)
from alerting.delivery.comments import not_tried
from alerting.settings import Settings
from alerting.steplog import StepLog

Save = Callable[[Alert], None]
MAX_DUPLICATE_HOPS = 10
REMINDER = (
    "This telemetry alert has had no activity for {days} days or more.\n\n"
    "Please have a look and resolve the bug: FIXED (fixed or backed out), WONTFIX (real, "
    "culprit found, not fixing), INVALID (real, no culprit found) or WORKSFORME (noise, not "
    "a true change)."
)


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
    tracked = [a for a in alerts if a.own_bug]
    if not tracked:
        return
    try:
        bugs, malformed = _with_duplicate_targets(client, {a.bug for a in tracked if a.bug})
    except BugzillaError as error:
        step.errors.append(str(error))
        return
    own = {a.bug for a in tracked}
    step.errors.extend(str(error) for bug_id, error in malformed.items() if bug_id not in own)
    days = settings.bugzilla.reminder_days
    due: list[tuple[Alert, dict, dt.date]] = []
    for alert in sorted(tracked, key=lambda a: a.id):
        if alert.bug in malformed:
            step.errors.append(f"alert {alert.id}: {malformed[alert.bug]}")
            continue
        bug = bugs.get(alert.bug)
        if bug is None:
            step.errors.append(f"alert {alert.id}: bug {alert.bug} not returned by Bugzilla")
            continue
        step.add("checked")
        changed = _apply_state(alert, bug, bugs, run_date)
        if changed:
            step.add(changed)
            save(alert)
        quiet = alert.status == STATUS_NEW and not bug.get("resolution")
        since = _quiet_since(alert, bug, run_date, days) if quiet else None
        if since is not None:
            due.append((alert, bug, since))
    _remind_all(due, client, run_date, days, save, step)


def _remind_all(
    due: list[tuple[Alert, dict, dt.date]],
    client: BugzillaClient,
    run_date: str,
    days: int,
    save: Save,
    step: StepLog,
) -> None:
    """Remind the owners of the quiet bugs `due` (each with its last change); an error that
    stops the step names the alerts not reminded, so none goes unreported."""
    for index, (alert, bug, since) in enumerate(due):
        try:
            _remind(alert, bug, since, client, run_date, days)
        except BugzillaError as error:
            step.errors.append(f"alert {alert.id}: reminder on bug {alert.bug}: {error}")
            if error.stops_step:
                not_tried(step, [a for a, _, _ in due[index + 1 :]])
                return
            continue
        step.add("reminded")
        save(alert)


def _with_duplicate_targets(
    client: BugzillaClient, ids: set[int]
) -> tuple[dict[int, dict], dict[int, BugzillaError]]:
    """The bugs, plus every bug their DUPLICATE chains lead to; and the errors of the bug
    records whose fields are not what Bugzilla sends (left out, so only their alert fails)."""
    bugs: dict[int, dict] = {}
    malformed: dict[int, BugzillaError] = {}
    wanted = set(ids)
    for _ in range(MAX_DUPLICATE_HOPS + 1):
        if not wanted:
            break
        for bug in client.get_bugs(wanted):
            try:
                bugs[int(bug["id"])] = _checked(bug)
            except BugzillaError as error:
                malformed[int(bug["id"])] = error
        targets = {b.get("dupe_of") for b in bugs.values() if b.get("resolution") == "DUPLICATE"}
        wanted = {t for t in targets if t} - set(bugs) - set(malformed)
    return bugs, malformed


def _checked(bug: dict) -> dict:
    """The bug with the fields the sync reads checked (`dupe_of` as an int), or BugzillaError:
    a bad record must not stop the sync of every other alert."""

    def bad(name: str) -> BugzillaError:
        value = repr(bug.get(name))
        value = value if len(value) <= 80 else value[:77] + "..."
        return BugzillaError(f"Bugzilla bug {bug.get('id')}: malformed {name} {value}")

    if not isinstance(bug.get("resolution") or "", str):
        raise bad("resolution")
    dupe_of = bug.get("dupe_of") or None
    if dupe_of is not None:
        try:
            dupe_of = answer_id(dupe_of, "dupe_of")
        except BugzillaError:
            raise bad("dupe_of") from None
    changed = bug.get("last_change_time", "")
    if changed != "" and not _iso_date(changed):
        raise bad("last_change_time")
    flags = bug.get("flags") or []
    if not isinstance(flags, list) or not all(isinstance(f, dict) for f in flags):
        raise bad("flags")
    return {**bug, "dupe_of": dupe_of}


def _iso_date(value: object) -> bool:
    """Whether `value` starts with an ISO date, as Bugzilla's times do."""
    try:
        dt.date.fromisoformat(value[:10] if isinstance(value, str) else "")
    except ValueError:
        return False
    return True


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


def _quiet_since(alert: Alert, bug: dict, run_date: str, days: int) -> dt.date | None:
    """The bug's last change when it and the alert's last reminder are `days` days old or
    more (a reminder is due), else None."""
    today = dt.date.fromisoformat(run_date)
    last_change = dt.date.fromisoformat(str(bug.get("last_change_time", ""))[:10] or run_date)
    if (today - last_change).days < days:
        return None
    if alert.last_reminder and (today - dt.date.fromisoformat(alert.last_reminder)).days < days:
        return None
    return last_change


def _remind(
    alert: Alert, bug: dict, last_change: dt.date, client: BugzillaClient, run_date: str, days: int
) -> None:
    """One comment and a needinfo on the owner of a bug quiet for `days` days (since
    `last_change`).

    The reminder itself is activity, so even if the run dies before saving `last_reminder`
    the next run sees a recent change and does not nudge again.
    """
    changes: dict = {"comment": {"body": REMINDER.format(days=days), "is_markdown": True}}
    owner = alert.recipients[0] if alert.recipients else ""
    if owner and not _needinfo_open(bug, owner):
        changes["flags"] = [{"name": "needinfo", "status": "?", "requestee": owner}]
    try:
        client.update_bug(alert.bug, changes)
    except BugzillaError as error:
        # A reminder that was posted made the bug active: the next run does not nudge again.
        outcome = "the reminder may have been posted; the bug's last change is read"
        raise unclear_write(error, outcome) from None
    alert.last_reminder = run_date
    alert.record(run_date, "reminded", f"bug {alert.bug} inactive since {last_change}")


def _needinfo_open(bug: dict, owner: str) -> bool:
    return any(
        f.get("name") == "needinfo" and f.get("status") == "?" and f.get("requestee") == owner
        for f in bug.get("flags") or []
    )
