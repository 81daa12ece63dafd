"""Email digests: one per owner, carrying every email alert still owed to them; sent within
the per-run cap (live) or written as drafts under `state/outbox/emails/`.

An alert becomes `sent` once every recipient's digest carried it; each alert is saved right
after the digest carrying it went out, so a crash resends at most that one digest. A digest
whose sending ended without the server's verdict may have been delivered: its alerts record
it, and it is sent again as the same mail (its first run date, hence its Message-ID and
text), so mail systems can drop the copy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping

from alerting.alerts.digest import digest_html, digest_markdown, digest_subject, digest_text
from alerting.alerts.model import DELIVERY_EMAIL, DRAFTED, PENDING, SENT, Alert
from alerting.delivery.email import Digest, UnconfirmedSend, outbox_message
from alerting.settings import Settings
from alerting.steplog import StepLog

Save = Callable[[Alert], None]
UNCONFIRMED = "email unconfirmed"  # history event: detail "<recipient> <digest id>"


def digest_key(run_date: str, recipient: str, alert_ids: list[str]) -> str:
    """Names the digest (file and Message-ID): the same alerts to the same owner on the same
    day are the same digest; anything else is another one."""
    parts = "\x1f".join([run_date, recipient, *sorted(alert_ids)])
    return hashlib.sha256(parts.encode()).hexdigest()[:20]


def digest_id(run_date: str, recipient: str, alert_ids: list[str]) -> str:
    return f"digest-{run_date}-{digest_key(run_date, recipient, alert_ids)}"


def unconfirmed_date(recipient: str, alerts: list[Alert]) -> str | None:
    """The run date of an unconfirmed send of this very digest (same owner, same alerts), so
    that sending it again makes the same mail; None when there was none."""
    ids = [a.id for a in alerts]
    for alert in alerts:
        for event in alert.history:
            if event.event != UNCONFIRMED:
                continue
            if event.detail == f"{recipient} {digest_id(event.date, recipient, ids)}":
                return event.date
    return None


def digests_for(
    owed: dict[str, list[Alert]],
    run_date: str,
    settings: Settings,
    thresholds: Mapping[str, float] | None = None,
) -> list[Digest]:
    """One digest per recipient, carrying every email alert still owed to them (`thresholds`:
    each probe's, for how sure a change is; a probe not in it is said to use the default)."""
    digests = []
    for recipient, alerts in sorted(owed.items()):
        if not alerts:
            continue
        date = unconfirmed_date(recipient, alerts) or run_date
        digests.append(
            Digest(
                recipient=recipient,
                subject=digest_subject(alerts, date),
                text=digest_text(alerts, date, settings, thresholds),
                html=digest_html(alerts, date, settings, thresholds),
                markdown=digest_markdown(alerts, date, settings, thresholds),
                alert_ids=[a.id for a in alerts],
                digest_id=digest_id(date, recipient, [a.id for a in alerts]),
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
        except UnconfirmedSend as error:
            step.errors.append(
                f"digest to {digest.recipient!r}: {error}; it may already have been delivered: "
                "left pending, to be sent again with the same Message-ID so that mail systems "
                "can drop the copy"
            )
            record_unconfirmed(digest, carried, run_date, save)
            continue
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


def record_unconfirmed(digest: Digest, carried: list[Alert], run_date: str, save: Save) -> None:
    """Each alert carried remembers the digest (once), so a later run sends the same mail."""
    detail = f"{digest.recipient} {digest.digest_id}"
    for alert in carried:
        if any(e.event == UNCONFIRMED and e.detail == detail for e in alert.history):
            continue
        alert.record(run_date, UNCONFIRMED, detail)
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
    """Outbox: each digest as its own `outbox/emails/<run date>/<recipient>-<digest>.eml`
    under state/; its alerts become `drafted` (nothing is sent, so there is no cap)."""
    for digest in sorted(digests, key=lambda d: d.recipient):
        try:
            relative, text = outbox_message(digest, settings.email.sender, run_date)
        except ValueError as error:
            step.errors.append(f"digest to {digest.recipient!r}: {error}")
            continue
        if write(relative, text) is None:  # not written: its alerts stay owed
            continue
        step.add("digests drafted")
        for alert_id in digest.alert_ids:
            alert = alerts.get(alert_id)
            if alert is None or alert.delivery != DELIVERY_EMAIL or alert.delivery_state != PENDING:
                continue
            alert.delivery_state = DRAFTED
            alert.record(run_date, "drafted", f"state/{relative}")
            save(alert)
