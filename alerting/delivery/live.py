"""Live delivery's edges, built from settings and the environment: credentials are checked
before the run touches anything, so a missing secret never leaves half a run behind."""

from __future__ import annotations

from urllib.parse import urlsplit

from alerting.delivery.bugzilla import LOOPBACK, BugzillaClient, check_url
from alerting.delivery.email import (
    NOT_ASCII,
    NotifyBackend,
    SmtpBackend,
    checked_address,
)
from alerting.errors import UserError
from alerting.settings import Settings, secret


def check_live_credentials(settings: Settings, environ: dict[str, str] | None = None) -> None:
    """In live mode, every secret the configured delivery needs, or a UserError naming them."""
    if settings.delivery.mode != "live":
        return
    missing = []
    if not secret("BUGZILLA_API_KEY", environ):
        missing.append("BUGZILLA_API_KEY (a Bugzilla API key allowed to file bugs)")
    check_url(settings.bugzilla.url)
    backend = settings.email.backend
    try:
        checked_address(settings.email.sender)
    except ValueError:
        raise UserError(
            f"[email] sender (or ALERTING_EMAIL_FROM) {settings.email.sender!r} is not a plain "
            "email address"
        ) from None
    if backend == "smtp":
        user = secret("ALERTING_SMTP_USER", environ)
        password = secret("ALERTING_SMTP_PASSWORD", environ)
        local = settings.smtp.host in LOOPBACK
        if bool(user) != bool(password) or (not user and not local):
            missing.append(
                "ALERTING_SMTP_USER and ALERTING_SMTP_PASSWORD (needed by the smtp email "
                "backend unless the server is on this machine)"
            )
        if not (user.isascii() and password.isascii()):
            raise UserError(NOT_ASCII)
        if user and not settings.smtp.starttls and not local:
            raise UserError(
                "refusing to send SMTP credentials without STARTTLS to "
                f"{settings.smtp.host}: set [smtp] starttls = true (ALERTING_SMTP_STARTTLS)"
            )
    elif backend == "taskcluster":
        for name in ("TASKCLUSTER_CLIENT_ID", "TASKCLUSTER_ACCESS_TOKEN"):
            if not secret(name, environ):
                missing.append(f"{name} (needed by the taskcluster email backend)")
        root = urlsplit(settings.taskcluster.root_url)
        if root.scheme != "https" and root.hostname not in LOOPBACK:
            raise UserError(
                f"[taskcluster] root_url {settings.taskcluster.root_url!r} must be https://"
            )
    if missing:
        raise UserError(
            "live delivery (ALERTING_DELIVERY_MODE=live) needs these environment variables: "
            + "; ".join(missing)
        )


def open_bugzilla(settings: Settings, environ: dict[str, str] | None = None) -> BugzillaClient:
    return BugzillaClient(
        settings.bugzilla.url,
        secret("BUGZILLA_API_KEY", environ),
        batch_size=settings.bugzilla.batch_size,
    )


def email_backend(
    settings: Settings, environ: dict[str, str] | None = None
) -> SmtpBackend | NotifyBackend:
    """The configured mail service, as a callable that sends one `Digest`."""
    backend = settings.email.backend
    if backend == "smtp":
        return SmtpBackend(
            settings.smtp.host,
            settings.smtp.port,
            settings.email.sender,
            starttls=settings.smtp.starttls,
            user=secret("ALERTING_SMTP_USER", environ),
            password=secret("ALERTING_SMTP_PASSWORD", environ),
        )
    if backend == "taskcluster":
        return NotifyBackend(
            settings.taskcluster.root_url,
            secret("TASKCLUSTER_CLIENT_ID", environ),
            secret("TASKCLUSTER_ACCESS_TOKEN", environ),
        )
    raise ValueError(f"email backend {backend!r} drafts to the outbox; it sends nothing")
