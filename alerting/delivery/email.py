"""Digest emails to probe owners: the message (plain text and HTML alternatives), and the
three ways to deliver it.

Probe names and descriptions come from pull requests, so nothing from them may shape a
header: header values are folded to one line of text, addresses must be plain addr-specs,
and the message is built by `email.message.EmailMessage`, which refuses line breaks too.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import email.policy
import hashlib
import json
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, formatdate

import mohawk
import requests

from alerting.alerts.digest import SUBJECT_LIMIT, one_line
from alerting.http import (
    REQUEST_DEADLINE,
    TIMEOUT,
    DeadlineExceeded,
    make_session,
    sockets_deadline,
    time_left,
)
from alerting.probes.names import EMAIL_ADDRESS, EMAIL_MAX
from alerting.settings import redact

ERROR_LIMIT = 300  # characters of a server's reply that are shown
CONTENT_LIMIT = 102_400  # Taskcluster Notify's limit on the Markdown content
TRUNCATED = "\n\n… (truncated: the full list is in the alerts report)\n"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class Digest:
    """One email to one recipient, carrying the email alerts owed to them.

    `digest_id` is stable for (run date, recipient, alerts carried): a resent copy of the same
    digest keeps its Message-ID (a digest sent again after an unconfirmed send keeps its first
    run date), and a second digest on the same day gets its own.
    """

    recipient: str
    subject: str
    text: str  # the plain-text part
    html: str  # the HTML part
    markdown: str  # for Taskcluster Notify, which renders Markdown itself
    alert_ids: list[str]
    digest_id: str
    link_text: str = ""
    link_href: str = ""


def header_text(value: str, limit: int = SUBJECT_LIMIT) -> str:
    """One line of plain text: control characters (CR, LF, ...) become spaces."""
    text = one_line(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def checked_address(value: str) -> str:
    """The address itself, or ValueError: never repaired, since a repaired address could
    deliver to someone else."""
    if not isinstance(value, str) or not EMAIL_ADDRESS.fullmatch(value) or len(value) > EMAIL_MAX:
        raise ValueError(f"not a plain email address: {value!r}")
    return value


def build_message(
    digest: Digest, sender: str, date: str | None = None, cte: str = "quoted-printable"
) -> EmailMessage:
    """The digest as `multipart/alternative` (plain text, then HTML); `date` an RFC 5322 date
    (default now)."""
    message = EmailMessage()
    message["From"] = checked_address(sender)
    message["To"] = checked_address(digest.recipient)
    message["Subject"] = header_text(digest.subject)
    message["Date"] = date or formatdate(usegmt=True)
    message["Message-ID"] = f"<{header_text(digest.digest_id, 64)}@telemetry-alerting>"
    message["Auto-Submitted"] = "auto-generated"
    body = digest.text
    if digest.link_href:
        body += f"\n\n{header_text(digest.link_text or 'Details', 200)}: {digest.link_href}\n"
    message.set_content(body, subtype="plain", charset="utf-8", cte=cte)
    message.add_alternative(digest.html, subtype="html", charset="utf-8", cte=cte)
    # Derived from the digest, not random, so a redrafted outbox file changes no byte.
    message.set_boundary("=_alerting_" + hashlib.sha256(digest.digest_id.encode()).hexdigest()[:24])
    return message


def run_date_header(run_date: str) -> str:
    """A fixed Date for drafted mail, so rewriting an unchanged outbox changes no byte."""
    day = dt.datetime.fromisoformat(run_date).replace(tzinfo=dt.UTC)
    return format_datetime(day, usegmt=True)


def outbox_message(digest: Digest, sender: str, run_date: str) -> tuple[str, str]:
    """The drafted digest: its path under state/
    (`outbox/emails/<run date>/<recipient>-<digest>.eml`, one file per digest, so a later
    digest on the same day never replaces an earlier one) and its text, dated by the run so an
    unchanged redraft changes no byte. The body stays readable (8bit, not quoted-printable)
    because drafts are reviewed as diffs."""
    if not ISO_DATE.fullmatch(run_date):
        raise ValueError(f"not an ISO date: {run_date!r}")
    message = build_message(digest, sender, run_date_header(run_date), cte="8bit")
    text = message.as_bytes(policy=email.policy.SMTPUTF8.clone(linesep="\n")).decode("utf-8")
    key = digest.digest_id.rsplit("-", 1)[-1]
    return f"outbox/emails/{run_date}/{checked_address(digest.recipient)}-{key}.eml", text


class SmtpError(Exception):
    """The SMTP server refused the digest or the exchange failed; the digest stays pending."""


class UnconfirmedSend(Exception):
    """The whole message went out but the server's verdict never came back: it may have been
    delivered. Sent again with the same Message-ID, mail systems can drop the copy."""


NOT_ASCII = (
    "ALERTING_SMTP_USER and ALERTING_SMTP_PASSWORD must be ASCII text: SMTP AUTH sends them "
    "as ASCII; use credentials without other characters"
)


@dataclass
class SmtpBackend:
    """Send through an SMTP server; STARTTLS before any credential when configured.

    `timeout` bounds each wait; `deadline` the whole exchange (with what is left of the
    step's network time), so a server answering a byte at a time cannot hold the run."""

    host: str
    port: int
    sender: str
    starttls: bool = True
    user: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    timeout: float = 30.0
    deadline: float = REQUEST_DEADLINE
    tls_context: ssl.SSLContext | None = field(default=None, repr=False)

    def __call__(self, digest: Digest) -> None:
        if self.user and not (self.user.isascii() and self.password.isascii()):
            # SMTP AUTH sends them as ASCII, and smtplib's error would quote the character;
            # refused before connecting, so no server is greeted for a login that cannot go.
            raise SmtpError(NOT_ASCII)
        message = build_message(digest, self.sender)
        remaining = time_left(self.deadline)
        with sockets_deadline(remaining) as watch:
            try:
                self._send(message, min(self.timeout, remaining), watch.add)
            except (OSError, smtplib.SMTPException) as error:
                if watch.expired:
                    raise DeadlineExceeded(
                        f"SMTP: no complete exchange within {remaining:.3g} s"
                    ) from None
                raise SmtpError(self._told(error)) from None

    def _send(
        self, message: EmailMessage, timeout: float, watch: Callable[[socket.socket], None]
    ) -> None:
        smtp = _WatchedSMTP(watch, self.host, self.port, timeout)
        try:
            if self.starttls:
                smtp.starttls(context=self.tls_context or ssl.create_default_context())
                watch(smtp.sock)  # the TLS socket replaces the plain one
            if self.user:
                smtp.login(self.user, self.password)
            try:
                smtp.send_message(message)
            except (OSError, smtplib.SMTPException) as error:
                if smtp.handed_over and not isinstance(error, smtplib.SMTPResponseException):
                    raise UnconfirmedSend(
                        f"{self._told(error)} after the whole message was sent, before the "
                        "server confirmed it"
                    ) from None
                raise
            # The server took the message: it counts as sent, however the goodbye goes (a
            # failed QUIT must not leave the digest pending, to be sent again tomorrow).
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.quit()
        finally:
            smtp.close()

    def _told(self, error: Exception) -> str:
        """The error as one line, without the credentials a server may quote back."""
        return header_text(redact(_smtp_text(error), self._credentials()), ERROR_LIMIT)

    def _credentials(self) -> list[str]:
        """The user and password as they went out: plain, and base64 as AUTH PLAIN
        (NUL user NUL password) and AUTH LOGIN (each alone) send them."""
        if not self.user:
            return []
        plain = [self.user, self.password, f"\0{self.user}\0{self.password}"]
        return plain + [base64.b64encode(v.encode()).decode() for v in plain]


def _smtp_text(error: Exception) -> str:
    """The server's own words (smtplib keeps them as bytes in the exception), else the error."""
    if isinstance(error, smtplib.SMTPResponseException):
        return f"SMTP: {error.smtp_code} {_decoded(error.smtp_error)}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refused = error.recipients.items()
        return "; ".join(f"SMTP: {r}: {code} {_decoded(text)}" for r, (code, text) in refused)
    return f"SMTP: {error}"


def _decoded(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class _WatchedSMTP(smtplib.SMTP):
    """An SMTP client handing its socket to a watch as soon as it exists: the server's
    greeting is read inside `connect`."""

    def __init__(
        self, watch: Callable[[socket.socket], None], host: str, port: int, timeout: float
    ) -> None:
        self._watch = watch
        self.handed_over = False  # the message is out: only the server's verdict may be missing
        super().__init__(host, port, timeout=timeout)

    def send(self, s):  # type: ignore[no-untyped-def]
        super().send(s)
        # Commands are sent as str; DATA sends the message as bytes ending in CRLF "." CRLF.
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.handed_over = True

    def _get_socket(self, host, port, timeout):  # type: ignore[no-untyped-def]
        sock = super()._get_socket(host, port, timeout)
        self._watch(sock)
        return sock


class NotifyError(Exception):
    """Taskcluster Notify refused or never answered; the digest stays pending."""


@dataclass
class NotifyBackend:
    """Send through Taskcluster Notify (`POST /api/notify/v1/email`, Hawk-signed).

    Not retried here: a lost answer may hide a sent email, and the run retries what stays
    pending anyway.
    """

    root_url: str
    client_id: str
    access_token: str = field(repr=False)
    session: requests.Session = field(default_factory=lambda: make_session(retries=0))
    timeout: tuple[float, float] = TIMEOUT

    def __call__(self, digest: Digest) -> None:
        url = f"{self.root_url.rstrip('/')}/api/notify/v1/email"
        content = digest.markdown
        if len(content) > CONTENT_LIMIT:
            content = content[: CONTENT_LIMIT - len(TRUNCATED)] + TRUNCATED
        payload = {
            "address": checked_address(digest.recipient),
            "subject": header_text(digest.subject),
            "content": content,
        }
        if digest.link_href:
            payload["link"] = {"text": header_text(digest.link_text or "Details", 40)}
            payload["link"]["href"] = digest.link_href
        body = json.dumps(payload, sort_keys=True).encode("utf-8")
        hawk = mohawk.Sender(
            {"id": self.client_id, "key": self.access_token, "algorithm": "sha256"},
            url,
            "POST",
            content=body,
            content_type="application/json",
        )
        headers = {"Authorization": hawk.request_header, "Content-Type": "application/json"}
        try:
            response = self.session.post(
                url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False
            )
        except requests.exceptions.RequestException as error:
            raise NotifyError(f"Notify: connection failed ({type(error).__name__})") from None
        if response.status_code != 200:
            detail = _notify_message(response)
            raise NotifyError(f"Notify: HTTP {response.status_code}{detail}")


def _notify_message(response: requests.Response) -> str:
    """Taskcluster errors are JSON with a `code` (e.g. AuthenticationFailed)."""
    try:
        data = response.json()
    except ValueError:
        return ""
    return f" {data.get('code', '')}" if isinstance(data, dict) else ""
