"""Digest emails through a real SMTP server (aiosmtpd, with and without STARTTLS) and a
Taskcluster Notify double: one digest per recipient, the per-run cap and carry-over, no
duplicate after a crash between sends, and no header injection from probe names."""

from __future__ import annotations

import base64
import email
import email.policy
import socket

import pytest

from alerting.alerts.model import DELIVERY_EMAIL, DRAFTED, PENDING, SENT
from alerting.delivery import digests as digesting
from alerting.delivery.email import (
    Digest,
    NotifyBackend,
    SmtpBackend,
    SmtpError,
    build_message,
    header_text,
)
from alerting.delivery.live import check_live_credentials
from alerting.errors import UserError
from alerting.steplog import StepLog
from tests.delivery_helpers import Crash, make_alert, settings_for
from tests.doubles.notify import ACCESS_TOKEN, CLIENT_ID, NotifyDouble
from tests.doubles.smtp import PASSWORD, USER, SmtpDouble

SENDER = "telemetry-alerts@mozilla.com"
RUN = "2025-01-10"


@pytest.fixture
def smtp():
    with SmtpDouble() as server:
        yield server


def email_alerts(store, owners: list[str], per_owner: int = 1, probe: str = "dom.probe") -> None:
    for i, owner in enumerate(owners):
        for j in range(per_owner):
            alert = make_alert(
                f"e{i}-{j}",
                delivery=DELIVERY_EMAIL,
                recipients=(owner, "team@example.com"),
                probe=probe,
            )
            store.save_alert(alert)


def owed(alerts) -> dict:
    """What the pipeline's `pending_emails` hands to the email step."""
    result: dict = {}
    for key in sorted(alerts):
        alert = alerts[key]
        if alert.delivery == DELIVERY_EMAIL and alert.delivery_state == PENDING:
            for recipient in alert.recipients:
                if recipient not in alert.notified:
                    result.setdefault(recipient, []).append(alert)
    return result


def send_run(store, send, cap=50, save=None, run=RUN):
    alerts = store.alerts()
    digests = digesting.digests_for(owed(alerts), run, settings_for())
    step = StepLog("email owners")
    settings = settings_for(cap=cap)
    digesting.send_digests(digests, alerts, send, run, settings, save or store.save_alert, step)
    return step


def smtp_backend(server, **kwargs) -> SmtpBackend:
    return SmtpBackend("127.0.0.1", server.port, SENDER, starttls=False, **kwargs)


def received_by(server) -> dict[str, int]:
    counts: dict[str, int] = {}
    for recipients, _ in server.received:
        for r in recipients:
            counts[r] = counts.get(r, 0) + 1
    return counts


def test_one_digest_per_recipient_over_smtp(store, smtp):
    email_alerts(store, ["a@example.com", "b@example.com"], per_owner=2)
    step = send_run(store, smtp_backend(smtp))
    assert step.counts == {"sent": 3} and step.errors == []
    assert received_by(smtp) == {"a@example.com": 1, "b@example.com": 1, "team@example.com": 1}
    team = next(m for r, m in smtp.received if r == ["team@example.com"])
    assert team["From"] == SENDER and "4 changes in dom.probe" in team["Subject"]
    assert team.get_content_type() == "multipart/alternative"
    assert "dom.probe" in team.get_body(("plain",)).get_content()
    assert "dom.probe" in team.get_body(("html",)).get_content()
    assert {a.delivery_state for a in store.alerts().values()} == {SENT}
    assert send_run(store, smtp_backend(smtp)).counts == {}  # rerun: nothing owed, nothing sent
    assert len(smtp.received) == 3


def test_a_refused_goodbye_after_the_message_was_taken_counts_as_sent(store, smtp):
    smtp.quit_reply = "421 4.4.2 closing, bye"
    email_alerts(store, ["a@example.com"])
    step = send_run(store, smtp_backend(smtp))
    assert step.counts == {"sent": 2} and step.errors == []
    assert {a.delivery_state for a in store.alerts().values()} == {SENT}
    assert send_run(store, smtp_backend(smtp)).counts == {}
    assert received_by(smtp) == {"a@example.com": 1, "team@example.com": 1}


def test_starttls_and_login(store, tmp_path):
    email_alerts(store, ["a@example.com"])
    with SmtpDouble(tls_dir=tmp_path) as server:
        backend = SmtpBackend(
            "127.0.0.1", server.port, SENDER, starttls=True, user=USER, password=PASSWORD
        )
        backend.tls_context = server.client_context
        step = send_run(store, backend)
        assert step.counts == {"sent": 2} and len(server.received) == 2
        assert PASSWORD not in repr(backend)


def test_wrong_smtp_password_leaves_the_digest_pending(store, tmp_path):
    email_alerts(store, ["a@example.com"])
    with SmtpDouble(tls_dir=tmp_path) as server:
        backend = SmtpBackend(
            "127.0.0.1", server.port, SENDER, starttls=True, user=USER, password="wrong"
        )
        backend.tls_context = server.client_context
        step = send_run(store, backend)
        assert step.counts == {} and len(step.errors) == 2 and server.received == []
        assert "wrong" not in " ".join(step.errors)
    assert store.alerts()["e0-0"].delivery_state == PENDING


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_credentials_a_server_quotes_back_are_never_shown(store, mechanism):
    """Was: the server's refusal, quoting the AUTH line's base64 or the decoded user and
    password, went into the run summary as it was."""
    email_alerts(store, ["a@example.com"])
    with SmtpDouble(quote_credentials=mechanism) as server:
        step = send_run(store, smtp_backend(server, user=USER, password=PASSWORD))
    shown = "\n".join(step.errors)
    sent = [USER, PASSWORD, f"\0{USER}\0{PASSWORD}"]
    for secret in sent + [base64.b64encode(s.encode()).decode() for s in sent]:
        assert secret not in shown
    assert len(step.errors) == 2 and f"535 5.7.8 refused AUTH {mechanism} [redacted]" in shown
    assert store.alerts()["e0-0"].delivery_state == PENDING


def test_a_one_letter_user_name_is_redacted_without_mangling_the_servers_words(store):
    email_alerts(store, ["a@example.com"])
    with SmtpDouble(quote_credentials="LOGIN") as server:
        step = send_run(store, smtp_backend(server, user="e", password=PASSWORD))
    shown = "\n".join(step.errors)
    assert PASSWORD not in shown and " e " not in shown
    assert "535 5.7.8 refused AUTH LOGIN [redacted] [redacted] for: [redacted] [redacted]" in shown


def test_credentials_that_are_not_ascii_are_named_without_their_characters(store):
    """Was: smtplib's encoding error went into the summary, quoting the password's character
    and its position, for every digest."""
    password = "s3cr\u00e9t-pw"
    env = {"BUGZILLA_API_KEY": "k", "ALERTING_SMTP_USER": USER, "ALERTING_SMTP_PASSWORD": password}
    settings = settings_for()
    settings.email.backend, settings.smtp.host = "smtp", "smtp.example.org"
    with pytest.raises(UserError, match="must be ASCII text") as refused:
        check_live_credentials(settings, environ=env)
    assert "\u00e9" not in str(refused.value)
    email_alerts(store, ["a@example.com"])
    with SmtpDouble() as server:
        step = send_run(store, smtp_backend(server, user=USER, password=password))
    shown = "\n".join(step.errors)
    assert "must be ASCII text" in shown and "\u00e9" not in shown and "position" not in shown
    assert store.alerts()["e0-0"].delivery_state == PENDING


def test_credentials_that_are_not_ascii_open_no_connection():
    """A listening socket that never answers: connecting would wait for its greeting."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        port = listener.getsockname()[1]
        backend = SmtpBackend(
            "127.0.0.1", port, SENDER, user=USER, password="s3cr\u00e9t-pw", timeout=0.5
        )
        with pytest.raises(SmtpError, match="must be ASCII text"):
            backend(Digest("a@example.com", "subject", "body", "<p>body</p>", "body", ["a"], "d1"))
        with pytest.raises(BlockingIOError):  # nothing waits to be accepted
            listener.accept()


def plain_text(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_a_digest_the_server_may_have_kept_is_sent_again_as_the_same_mail(store, smtp):
    """Was: "Connection unexpectedly closed; left pending", and the next run sent the digest
    again with a new Message-ID and date, so the copy could not be told from a new mail."""
    email_alerts(store, ["a@example.com"])
    smtp.drop_after_data = True
    first = send_run(store, smtp_backend(smtp))
    assert first.counts == {} and len(first.errors) == 2 and len(smtp.received) == 2
    assert all("may already have been delivered" in e for e in first.errors)
    assert "same Message-ID" in first.errors[0]
    assert store.alerts()["e0-0"].delivery_state == PENDING
    smtp.drop_after_data = False
    second = send_run(store, smtp_backend(smtp), run="2025-01-11")
    assert second.counts == {"sent": 2} and second.errors == []
    kept = {tuple(r): m for r, m in smtp.received[:2]}
    again = {tuple(r): m for r, m in smtp.received[2:]}
    assert kept.keys() == again.keys() == {("a@example.com",), ("team@example.com",)}
    for recipient, message in kept.items():
        assert again[recipient]["Message-ID"] == message["Message-ID"]
        assert again[recipient]["Subject"] == message["Subject"]
        assert plain_text(again[recipient]) == plain_text(message)
    assert {a.delivery_state for a in store.alerts().values()} == {SENT}


def test_a_digest_the_server_may_have_kept_is_a_new_mail_once_more_alerts_join(store, smtp):
    """The owner whose digest gained an alert gets a new mail carrying both; the other owner
    gets the unconfirmed digest again as it was."""
    email_alerts(store, ["a@example.com"])
    smtp.drop_after_data = True
    send_run(store, smtp_backend(smtp))
    kept = {r[0]: m for r, m in smtp.received}
    smtp.drop_after_data = False
    store.save_alert(make_alert("late", delivery=DELIVERY_EMAIL, recipients=("a@example.com",)))
    assert send_run(store, smtp_backend(smtp), run="2025-01-11").counts == {"sent": 2}
    again = {r[0]: m for r, m in smtp.received[2:]}
    assert again["team@example.com"]["Message-ID"] == kept["team@example.com"]["Message-ID"]
    assert again["a@example.com"]["Message-ID"] != kept["a@example.com"]["Message-ID"]
    assert "2 changes" in again["a@example.com"]["Subject"]
    assert "2025-01-11" in again["a@example.com"]["Subject"]
    assert {a.delivery_state for a in store.alerts().values()} == {SENT}


def test_cap_carries_the_rest_over_to_the_next_runs(store, smtp):
    owners = [f"owner{i}@example.com" for i in range(5)]
    for i, owner in enumerate(owners):
        store.save_alert(make_alert(f"x{i}", delivery=DELIVERY_EMAIL, recipients=(owner,)))
    runs = [send_run(store, smtp_backend(smtp), cap=2).counts for _ in range(4)]
    assert runs == [
        {"sent": 2, "carried over": 3},
        {"sent": 2, "carried over": 1},
        {"sent": 1},
        {},
    ]
    assert received_by(smtp) == dict.fromkeys(owners, 1)  # measured: each exactly once
    assert {a.delivery_state for a in store.alerts().values()} == {SENT}


def test_a_crash_between_sends_sends_nobody_twice(store, smtp):
    email_alerts(store, ["a@example.com", "b@example.com", "c@example.com"])
    backend = smtp_backend(smtp)
    calls = []

    def crashes_before_the_second_send(digest):
        calls.append(digest.recipient)
        if len(calls) == 2:
            raise Crash
        backend(digest)

    with pytest.raises(Crash):
        send_run(store, crashes_before_the_second_send)
    assert len(smtp.received) == 1
    step = send_run(store, backend)
    assert step.counts == {"sent": 3}
    counts = received_by(smtp)
    assert counts == {
        "a@example.com": 1,
        "b@example.com": 1,
        "c@example.com": 1,
        "team@example.com": 1,
    }  # measured: zero duplicates, zero lost


def test_header_injection_through_probe_names_is_neutralised(store, smtp):
    hostile = "evil.probe\r\nBcc: victim@example.net\r\nX-Injected: yes"
    store.save_alert(
        make_alert("h1", delivery=DELIVERY_EMAIL, recipients=("a@example.com",), probe=hostile)
    )
    alerts = store.alerts()
    digest = digesting.digests_for(owed(alerts), RUN, settings_for())[0]
    digest.subject = "Alert: " + hostile + "\n\n" + "body?"
    step = StepLog("email owners")
    digesting.send_digests(
        [digest], alerts, smtp_backend(smtp), RUN, settings_for(), store.save_alert, step
    )
    assert step.counts == {"sent": 1}
    [(recipients, message)] = smtp.received
    assert recipients == ["a@example.com"]
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert "\n" not in message["Subject"] and "Bcc: victim" in message["Subject"]


@pytest.mark.parametrize(
    "recipient",
    ["a@example.com\r\nBcc: victim@example.net", "a@example.com, victim@example.net", "<a@b.c>"],
)
def test_hostile_recipients_are_refused_not_repaired(store, smtp, recipient):
    store.save_alert(make_alert("h2", delivery=DELIVERY_EMAIL, recipients=(recipient,)))
    step = send_run(store, smtp_backend(smtp))
    assert smtp.received == [] and len(step.errors) == 1 and "not a plain email" in step.errors[0]
    assert store.alerts()["h2"].delivery_state == PENDING


def test_subjects_are_one_line_of_at_most_255_characters():
    assert header_text("a\r\nb\tc\u2028d") == "a b c d"
    long = header_text("x" * 400)
    assert len(long) == 255 and long.endswith("…")
    digest = Digest("a@example.com", "é" * 300 + "\n", "body", "<p>body</p>", "body", ["a"], "d1")
    message = build_message(digest, SENDER, "Fri, 10 Jan 2025 00:00:00 GMT")
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert (
        parsed["Subject"] == "é" * 254 + "…" and parsed["Message-ID"] == "<d1@telemetry-alerting>"
    )


def test_taskcluster_notify_with_hawk(store):
    email_alerts(store, ["a@example.com", "b@example.com"])
    with NotifyDouble() as notify:
        backend = NotifyBackend(notify.root_url, CLIENT_ID, ACCESS_TOKEN)
        notify.fail_next = 1
        first = send_run(store, backend)
        assert (
            first.counts == {"sent": 2} and len(first.errors) == 1 and "HTTP 500" in first.errors[0]
        )
        second = send_run(store, backend)
        assert second.counts == {"sent": 1}
        assert sorted(e["address"] for e in notify.emails) == [
            "a@example.com",
            "b@example.com",
            "team@example.com",
        ]
        assert all(set(e) == {"address", "subject", "content"} for e in notify.emails)
        assert ACCESS_TOKEN not in repr(backend)
        bad = NotifyBackend(notify.root_url, CLIENT_ID, "not-the-token")
        store.save_alert(make_alert("t9", delivery=DELIVERY_EMAIL, recipients=("z@example.com",)))
        step = send_run(store, bad)
        assert notify.rejected == 1 and "AuthenticationFailed" in step.errors[0]
        assert store.alerts()["t9"].delivery_state == PENDING


def test_outbox_drafts_are_stable_files(store):
    email_alerts(store, ["a@example.com"])
    alerts = store.alerts()
    digests = digesting.digests_for(owed(alerts), RUN, settings_for())
    step = StepLog("email owners")
    digesting.draft_digests(
        digests, alerts, store.write_text, RUN, settings_for(), store.save_alert, step
    )
    [path] = (store.root / "outbox" / "emails" / RUN).glob("a@example.com-*.eml")
    text = path.read_text()
    assert step.counts == {"digests drafted": 2} and "Subject: Telemetry alert" in text
    assert "Date: Fri, 10 Jan 2025 00:00:00 +0000" in text
    assert store.alerts()["e0-0"].delivery_state == DRAFTED
    digesting.draft_digests(
        digests, store.alerts(), store.write_text, RUN, settings_for(), store.save_alert, step
    )
    assert path.read_text() == text


def test_live_mode_needs_its_credentials_before_anything():
    settings = settings_for()
    with pytest.raises(UserError, match="BUGZILLA_API_KEY"):
        check_live_credentials(settings, environ={})
    check_live_credentials(settings, environ={"BUGZILLA_API_KEY": "k"})
    settings.email.backend = "taskcluster"
    with pytest.raises(UserError, match="TASKCLUSTER_ACCESS_TOKEN"):
        check_live_credentials(
            settings, environ={"BUGZILLA_API_KEY": "k", "TASKCLUSTER_CLIENT_ID": "c"}
        )
    settings.email.backend = "smtp"
    settings.smtp.host = "smtp.example.org"
    with pytest.raises(UserError, match="ALERTING_SMTP_USER"):
        check_live_credentials(settings, environ={"BUGZILLA_API_KEY": "k"})
    settings.smtp.starttls = False
    with pytest.raises(UserError, match="STARTTLS"):
        env = {"BUGZILLA_API_KEY": "k", "ALERTING_SMTP_USER": "u", "ALERTING_SMTP_PASSWORD": "p"}
        check_live_credentials(settings, environ=env)
    settings.delivery.mode = "outbox"
    check_live_credentials(settings, environ={})


def test_a_second_digest_on_the_same_day_is_its_own_file_and_message(store):
    """Was: a later run on the same day overwrote the earlier digest (same name, same id)."""
    email_alerts(store, ["a@example.com"])
    settings = settings_for()

    def draft():
        alerts = store.alerts()
        digests = digesting.digests_for(owed(alerts), RUN, settings)
        step = StepLog("email owners")
        digesting.draft_digests(
            digests, alerts, store.write_text, RUN, settings, store.save_alert, step
        )
        return {d.digest_id for d in digests}

    first = draft()
    files = {p.name: p.read_text() for p in (store.root / "outbox/emails" / RUN).iterdir()}
    store.save_alert(make_alert("later", delivery=DELIVERY_EMAIL, recipients=("a@example.com",)))
    second = draft()
    now = {p.name: p.read_text() for p in (store.root / "outbox/emails" / RUN).iterdir()}
    assert first.isdisjoint(second) and len(now) == len(files) + 1
    assert all(now[name] == text for name, text in files.items())  # nothing overwritten
    [new] = set(now) - set(files)
    assert f"<{next(iter(second))}@telemetry-alerting>" in now[new]
    history = store.alerts()["e0-0"].history[-1].detail
    assert (store.root.parent / history).read_text() == files[history.rsplit("/", 1)[-1]]


def test_digest_is_plain_text_and_html_with_every_part_of_an_entry():
    """Was: Markdown in a text/plain mail, the push range glued to the p95 line, no dashboard,
    pushlog or next step; and step 7 crashed on an alert without a push range."""
    from alerting.alerts.digest import digest_html, digest_text
    from alerting.alerts.model import PushRange

    settings = settings_for()
    settings.report.url = "https://dash.example.org"
    hostile = make_alert(
        "x1", delivery=DELIVERY_EMAIL, probe="cat.<b>bold</b>_*x*", recipients=("a@example.com",)
    )
    unmapped = make_alert("x2", delivery=DELIVERY_EMAIL, recipients=("a@example.com",))
    unmapped.push_range, unmapped.build_id = PushRange(build="2025010109"), "2025010109"
    unmapped.links = {"glam": unmapped.links["glam"]}
    text = digest_text([hostile, unmapped], RUN, settings)
    html = digest_html([hostile, unmapped], RUN, settings)
    for marker in ("### ", "](", "\\_", "**"):
        assert marker not in text
    assert "cat.<b>bold</b>_*x*" in text and "cat.&lt;b&gt;bold&lt;/b&gt;_*x*" in html
    assert "<b>bold" not in html
    assert "Regression from 2025-01-01 (build 20250101093000)" in text
    assert "median rose 40.0% (10.0 ms → 14.0 ms)" in text and "lower is better" in text
    assert "Treeherder: https://treeherder.mozilla.org/jobs?" in text
    assert "Pushlog: https://hg.mozilla.org/mozilla-central/pushloghtml?" in text
    assert "Dashboard: https://dash.example.org/alerts/x1.html" in text
    assert "Next: look through the pushes" in text
    # the alert without a push range: why, and the pushes of the days before its build
    assert "Push range: not known yet (no nightly matching this build was found when" in text
    assert "Next: look through the pushes before build 2025010109 for the patch" in text
    assert "build 2025010109, known to the hour only" in text
    assert "Warning" not in text  # samples per day moved 1 %
    dropped = make_alert("x3", delivery=DELIVERY_EMAIL, recipients=("a@example.com",))
    dropped.after.samples = 290.0
    assert "Warning: samples per day fell 71.0%" in digest_text([dropped], RUN, settings)
    assert 'href="https://dash.example.org/alerts/x2.html"' in html
