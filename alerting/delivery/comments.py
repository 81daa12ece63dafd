"""Reporting expected changes on their landing's bug: one comment per alert, exactly once.

Like a filed bug, the comment carries the alert's marker and is posted only after searching
the bug's comments for it, and the alert is saved right after; so neither a crash between
posting and saving nor a lost answer to the post makes a second comment.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from alerting.alerts.model import COMMENTED, DELIVERY_COMMENT, DRAFTED, PENDING, Alert
from alerting.delivery.bugzilla import BugzillaClient, BugzillaError, whiteboard_marker
from alerting.steplog import StepLog

log = logging.getLogger(__name__)

Save = Callable[[Alert], None]


def comment_once(
    client: BugzillaClient,
    bug_id: int,
    text: str,
    marker: str,
    *,
    attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[int, bool]:
    """(comment id, whether it was already there): post `text` unless a comment of `bug_id`
    carries `marker`. A post that failed without a clear rejection may have been made, so
    every retry searches first."""
    if marker not in text:
        raise ValueError(f"the comment does not carry its marker {marker}")
    failures = 0
    while True:
        found = [c for c in client.comments(bug_id) if marker in str(c.get("text", ""))]
        if found:
            return int(found[0]["id"]), True
        try:
            return client.add_comment(bug_id, text), False
        except BugzillaError as error:
            failures += 1
            if not error.transient or failures >= attempts:
                raise
            log.warning("%s; searching bug %s for %s before retrying", error, bug_id, marker)
            sleep(client.backoff * 2**failures)


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
    for alert in owed:
        try:
            marker = whiteboard_marker(alert.id)
            comment, found = comment_once(client, alert.bug, texts[alert.id], marker)
        except BugzillaError as error:
            step.errors.append(f"alert {alert.id}: comment on bug {alert.bug}: {error}")
            if error.stops_step:
                break
            continue
        alert.delivery_state = COMMENTED
        event = "comment found" if found else "commented"
        alert.record(run_date, event, f"comment {comment} on bug {alert.bug}")
        save(alert)
        step.add(event)
