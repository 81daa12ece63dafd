"""Email digests: one per owner, carrying every email alert still owed to them; sent within
the per-run cap (live) or written as drafts under `state/outbox/emails/`.

An alert becomes `sent` once every recipient's digest carried it; each alert is saved right
after the digest carrying it went out, so a crash resends at most that one digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from alerting.alerts.model import DELIVERY_EMAIL, DRAFTED, PENDING, SENT, Alert
from alerting.alerts.render import digest_markdown, digest_subject
from alerting.delivery.email import Digest, outbox_message
from alerting.settings import Settings
from alerting.steplog import StepLog

Save = Callable[[Alert], None]


def digests_for(owed: dict[str, list[Alert]], run_date: str) -> list[Digest]:
    """One digest per recipient, carrying every email alert still owed to them."""
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
