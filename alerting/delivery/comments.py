"""Comments on bugs, each exactly once: expected changes on their landing's bug, and push
ranges found after an alert was reported on a bug.

Like a filed bug, a comment carries a marker and is posted only after searching the bug's
comments for it, and the alert is saved right after; so neither a crash between posting and
saving nor a lost answer to the post makes a second comment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from alerting.alerts.ids import push_range_marker
from alerting.alerts.model import COMMENTED, DELIVERY_COMMENT, DRAFTED, FILED, PENDING, Alert
from alerting.alerts.render import push_range_comment
from alerting.delivery.bugzilla import (
    BugzillaClient,
    BugzillaError,
    unclear_write,
    whiteboard_marker,
)
from alerting.steplog import StepLog

Save = Callable[[Alert], None]


def comment_once(
    client: BugzillaClient,
    bug_id: int,
    text: str,
    marker: str,
    listed: list[dict] | None = None,
) -> tuple[int, bool]:
    """(comment id, whether it was already there): post `text` unless a comment of `bug_id`
    (`listed`, read when not given) carries `marker`. A post that failed without a clear
    rejection may have been made, and Bugzilla lists comments from a copy of its database
    that can lag behind, so it is not sent again in this run: the next run searches for
    `marker` first."""
    if marker not in text:
        raise ValueError(f"the comment does not carry its marker {marker}")
    listed = client.comments(bug_id) if listed is None else listed
    found = [c for c in listed if marker in c["text"]]
    if found:
        return int(found[0]["id"]), True
    try:
        return client.add_comment(bug_id, text), False
    except BugzillaError as error:
        raise unclear_write(
            error, f"the comment may have been posted; {marker} is searched for"
        ) from None


def not_tried(step: StepLog, alerts: list[Alert]) -> None:
    """Name the alerts a step stopped before (every request would have failed alike), so
    none is left out of the run summary: a note, the error that stopped it is reported."""
    if alerts:
        ids = ", ".join(dict.fromkeys(a.id for a in alerts))  # each once
        step.notes.append(
            f"not tried after the error that stopped this step: {ids}; retried on the next run"
        )


def post_comments(
    alerts: Iterable[Alert],
    texts: dict[str, str],
    client: BugzillaClient,
    run_date: str,
    save: Save,
    step: StepLog,
) -> None:
    """Comment every expected alert not yet reported on its bug; `texts` maps alert id to the
    comment (which carries the alert's marker)."""
    owed = [
        a
        for a in sorted(alerts, key=lambda a: a.id)
        if a.delivery == DELIVERY_COMMENT and a.delivery_state in (PENDING, DRAFTED) and a.bug
    ]
    for index, alert in enumerate(owed):
        try:
            marker = whiteboard_marker(alert.id)
            comment, found = comment_once(client, alert.bug, texts[alert.id], marker)
        except BugzillaError as error:
            step.errors.append(f"alert {alert.id}: comment on bug {alert.bug}: {error}")
            if error.stops_step:
                not_tried(step, owed[index + 1 :])
                break
            continue
        alert.delivery_state = COMMENTED
        event = "comment found" if found else "commented"
        alert.record(run_date, event, f"comment {comment} on bug {alert.bug}")
        save(alert)
        step.add(event)


RANGE_FOUND, RANGE_COMMENTED = "push range", "push range commented"
# An adopted bug whose description turned out to have the push range: nothing to comment.
RANGE_IN_DESCRIPTION = "push range in description"
# What reported an alert on a bug: its own bug filed or adopted, or the comment on the bug of
# the landing it was expected from.
REPORTED = ("filed", "adopted", "commented", "comment found")


def range_found_after(alert: Alert, *events: str) -> bool:
    """Whether a later run found the push range of an alert after its latest of `events`
    (a bug filed, a comment posted or a draft written without the range)."""
    names = [e.event for e in alert.history]
    marks = [i for i, name in enumerate(names) if name in events]
    return bool(marks and alert.push_range.to_rev) and RANGE_FOUND in names[marks[-1] :]


def range_untold(alert: Alert) -> bool:
    """Whether the bug an alert was reported on without its push range has not been told
    the range yet."""
    if alert.delivery_state not in (FILED, COMMENTED) or not range_found_after(alert, *REPORTED):
        return False
    reported = max(i for i, e in enumerate(alert.history) if e.event in REPORTED)
    told = {e.event for e in alert.history[reported:]}
    return not told & {RANGE_COMMENTED, RANGE_IN_DESCRIPTION}


def comment_push_ranges(
    alerts: Iterable[Alert], client: BugzillaClient, run_date: str, save: Save, step: StepLog
) -> None:
    """Add the push range to the bugs alerts were reported on before it was known: their
    own bugs, and the landings' bugs of expected changes (retried on later runs)."""
    owed = [
        a for a in alerts if a.bug and (a.delivery_state != FILED or a.own_bug) and range_untold(a)
    ]
    for index, alert in enumerate(owed):
        own = alert.delivery_state == FILED
        marker = push_range_marker(alert.id)
        text = push_range_comment(alert, on_own_bug=own)
        try:
            listed = client.comments(alert.bug)
            if own and _in_description(alert, listed):
                alert.record(run_date, RANGE_IN_DESCRIPTION, f"bug {alert.bug}")
                save(alert)
                continue
            comment, _ = comment_once(client, alert.bug, text, marker, listed)
        except BugzillaError as error:
            step.errors.append(
                f"alert {alert.id}: push range comment on bug {alert.bug}: {error}; "
                "retried on the next run"
            )
            if error.stops_step:
                not_tried(step, owed[index + 1 :])
                return
            continue
        alert.record(run_date, RANGE_COMMENTED, f"comment {comment} on bug {alert.bug}")
        save(alert)
        step.add("push ranges commented")


def _in_description(alert: Alert, listed: list[dict]) -> bool:
    """Whether the first comment of an alert's own bug (adopted after a lost answer, so
    perhaps filed once the range was known) already has the push range's link."""
    link = alert.links.get("treeherder_range")
    return bool(link and listed and link in listed[0]["text"])
