"""Steps 1, 5, 6 and 7: following, filing and linking bugs, and emailing owners.

`goes_live` is the one place that decides between real Bugzilla and mail servers and drafts
under `state/outbox/`; a dry run reads and writes neither.
"""

from __future__ import annotations

from collections.abc import Callable

from alerting.alerts.model import (
    DELIVERY_BUG,
    DELIVERY_COMMENT,
    DELIVERY_EMAIL,
    DRAFTED,
    PENDING,
    Alert,
)
from alerting.alerts.render import bug_request, comment_request
from alerting.delivery.bugzilla import BugzillaClient
from alerting.delivery.comments import (
    comment_push_ranges,
    post_comments,
    range_found_after,
    range_untold,
)
from alerting.delivery.digests import digests_for, draft_digests, send_digests
from alerting.delivery.filing import file_bugs as file_live
from alerting.delivery.filing import link_summaries
from alerting.delivery.lifecycle import sync_bugs as sync_live
from alerting.delivery.live import email_backend, open_bugzilla
from alerting.pipeline.context import Context
from alerting.settings import Settings
from alerting.steplog import StepLog

BUGS, EMAILS = "bugs", "emails"


def goes_live(settings: Settings, medium: str) -> bool:
    """Bugs go to Bugzilla in live mode; emails too, unless the mail backend is the outbox."""
    if settings.delivery.mode != "live":
        return False
    return medium == BUGS or settings.email.backend != "outbox"


def _dry_run(ctx: Context, step: StepLog, what: str) -> bool:
    if ctx.store.dry_run:
        step.notes.append(f"dry run: nothing {what}")
        return True
    return False


def _with_bugzilla(
    ctx: Context, step: StepLog, what: str, work: Callable[[BugzillaClient], None]
) -> None:
    """`work` with a Bugzilla client that is closed afterwards; nothing in a dry run."""
    if _dry_run(ctx, step, what):
        return
    client = open_bugzilla(ctx.settings)
    try:
        work(client)
    finally:
        client.close()


def _draft(ctx: Context, step: StepLog, alert: Alert, path: str, request: dict) -> bool:
    """Outbox mode: what would be sent, under `state/`, and the alert marked drafted. A draft
    that cannot be written leaves the alert owed (reported in `step`)."""
    if ctx.guarded(step, ctx.store.write_json)(path, request) is None:
        return False
    alert.delivery_state = DRAFTED
    alert.record(ctx.run_date, "drafted", f"state/{path}")
    _save(ctx, step)(alert)
    return True


def _save(ctx: Context, step: StepLog) -> Callable[[Alert], bool | None]:
    """Saving an alert; a file that cannot be written is an error of `step`, not of the run."""
    return ctx.guarded(step, ctx.store.save_alert)


# -- step 1 -------------------------------------------------------------------------------
def sync_bugs(ctx: Context, step: StepLog) -> None:
    if not goes_live(ctx.settings, BUGS):
        step.notes.append("outbox mode: no Bugzilla to read resolutions from")
        return
    _with_bugzilla(
        ctx,
        step,
        "read from or written to Bugzilla",
        lambda client: sync_live(
            ctx.alerts.values(), client, ctx.run_date, ctx.settings, _save(ctx, step), step
        ),
    )


# -- step 5 -------------------------------------------------------------------------------
def owed(ctx: Context, delivery: str, medium: str = BUGS) -> list[Alert]:
    """Alerts of one delivery kind still to deliver. A draft is owed too once its medium goes
    live (an outbox draft was never filed, posted or sent), and a bug or comment draft is
    drafted again when its push range was found after it."""
    live = goes_live(ctx.settings, medium)

    def due(alert: Alert) -> bool:
        if alert.delivery_state == PENDING:
            return True
        return alert.delivery_state == DRAFTED and (
            live or (medium == BUGS and range_found_after(alert, "drafted"))
        )

    return [
        ctx.alerts[k]
        for k in sorted(ctx.alerts)
        if ctx.alerts[k].delivery == delivery and due(ctx.alerts[k])
    ]


def summary_members(ctx: Context, alert: Alert) -> list[Alert]:
    """The other alerts grouped with `alert` (same or neighbouring push range)."""
    summary = ctx.summaries.get(alert.summary)
    ids = summary.alerts if summary else []
    return [ctx.alerts[i] for i in ids if i != alert.id and i in ctx.alerts]


def file_bugs(ctx: Context, step: StepLog) -> None:
    """Live: file in Bugzilla (exactly once). Outbox: the create request as a draft."""
    thresholds = ctx.thresholds()
    requests = {
        a.id: bug_request(
            a,
            ctx.description_of(a.probe),
            ctx.settings,
            summary_members(ctx, a),
            thresholds.get(a.probe),
        )
        for a in owed(ctx, DELIVERY_BUG)
    }
    alerts = [a for a in ctx.alerts.values() if a.delivery == DELIVERY_BUG]

    def file(client: BugzillaClient) -> None:
        save = _save(ctx, step)
        file_live(alerts, requests, client, ctx.run_date, ctx.settings, save, step)

    _to_bugzilla(ctx, step, requests, "bugs", "filed", file)


def comment_expected(ctx: Context, step: StepLog) -> None:
    """Expected changes, on their landing's bug: live, one comment each (exactly once), and
    one more with the push range if it was found only after; outbox, the comment as a draft
    (drafted again once its push range is found)."""
    comments = owed(ctx, DELIVERY_COMMENT)
    untold = [
        ctx.alerts[k]
        for k in sorted(ctx.alerts)
        if ctx.alerts[k].delivery == DELIVERY_COMMENT and range_untold(ctx.alerts[k])
    ]
    if not comments and not untold:
        return
    thresholds = ctx.thresholds()
    requests = {
        a.id: comment_request(a, ctx.description_of(a.probe), ctx.settings, thresholds.get(a.probe))
        for a in comments
    }
    texts = {key: request["comment"] for key, request in requests.items()}

    def post(client: BugzillaClient) -> None:
        save = _save(ctx, step)
        post_comments(comments, texts, client, ctx.run_date, save, step)
        comment_push_ranges(untold, client, ctx.run_date, save, step)

    _to_bugzilla(ctx, step, requests, "comments", "commented", post)


def _to_bugzilla(
    ctx: Context,
    step: StepLog,
    requests: dict[str, dict],
    folder: str,
    done: str,
    send: Callable[[BugzillaClient], None],
) -> None:
    """Outbox: each request drafted as `state/outbox/<folder>/<alert id>.json`. Live: `send`
    with a Bugzilla client."""
    if goes_live(ctx.settings, BUGS):
        _with_bugzilla(ctx, step, done, send)
        return
    for key in sorted(requests):
        if _draft(ctx, step, ctx.alerts[key], f"outbox/{folder}/{key}.json", requests[key]):
            step.add(f"{folder} drafted")


# -- step 6 -------------------------------------------------------------------------------
def link_bugs(ctx: Context, step: StepLog) -> None:
    if not goes_live(ctx.settings, BUGS):
        step.notes.append("outbox mode: bugs are drafts, nothing to link")
        return
    _with_bugzilla(
        ctx,
        step,
        "linked",
        lambda client: link_summaries(
            ctx.summaries.values(),
            ctx.alerts,
            client,
            ctx.run_date,
            ctx.settings,
            _save(ctx, step),
            step,
        ),
    )


# -- step 7 -------------------------------------------------------------------------------
def pending_emails(ctx: Context) -> dict[str, list[Alert]]:
    """Recipient -> the email alerts still owed to them, in recipient order.

    Drafts are owed too once delivery goes live: an outbox draft was never sent.
    """
    by_recipient: dict[str, list[Alert]] = {}
    for alert in owed(ctx, DELIVERY_EMAIL, EMAILS):
        for recipient in alert.recipients:
            if recipient not in alert.notified:
                by_recipient.setdefault(recipient, []).append(alert)
    return dict(sorted(by_recipient.items()))


def email_owners(ctx: Context, step: StepLog) -> None:
    """Live with a mail backend: send within the cap. Otherwise: draft to the outbox."""
    digests = digests_for(pending_emails(ctx), ctx.run_date, ctx.settings, ctx.thresholds())
    if not digests:
        return
    settings, save = ctx.settings, _save(ctx, step)
    if not goes_live(settings, EMAILS):
        write = ctx.guarded(step, ctx.store.write_text)
        draft_digests(digests, ctx.alerts, write, ctx.run_date, settings, save, step)
        return
    if _dry_run(ctx, step, "sent"):
        return
    send = email_backend(settings)
    send_digests(digests, ctx.alerts, send, ctx.run_date, settings, save, step)
