"""Servers that answer badly: malformed Bugzilla answers are errors of their own request, and a
server that trickles its answer a byte at a time is cut off at the request's or the step's
deadline instead of holding the run."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest
from urllib3.exceptions import MaxRetryError, NewConnectionError, SSLError

from alerting.alerts.model import COMMENTED, DELIVERY_COMMENT, PENDING, STATUS_EXPECTED
from alerting.delivery.bugzilla import (
    BugzillaError,
    answer_bugs,
    answer_id,
    file_bug,
    whiteboard_marker,
)
from alerting.delivery.comments import post_comments
from alerting.delivery.email import Digest, SmtpBackend
from alerting.http import DeadlineExceeded, make_session, step_deadline
from alerting.steplog import StepLog
from tests.delivery_helpers import client_for, make_alert
from tests.doubles.bugzilla import BugzillaDouble
from tests.doubles.hg_server import HgDouble
from tests.test_delivery_bugzilla import request_for
from tests.test_delivery_live_run import live, run_on  # noqa: F401  (fixture)
from tests.test_run import test_technique  # noqa: F401  (fixture: the test-only detector)


@pytest.fixture
def bugzilla():
    with BugzillaDouble() as double:
        double.trickle_seconds = 0.4
        yield double


def test_bugs_that_are_not_a_list_are_an_error_of_that_request(bugzilla):
    client = client_for(bugzilla.url)
    bugzilla.fail("GET", "/rest/bug", "bugs-not-a-list", times=2)
    with pytest.raises(BugzillaError, match="`bugs` is not a list of bugs: 'notalist'"):
        client.get_bugs([1])
    with pytest.raises(BugzillaError, match="not a list of bugs"):
        client.search_whiteboard("[telemetry-alert:x]")
    assert client.get_bugs([]) == []


def test_a_create_answered_without_id_is_an_error_then_filed_once(bugzilla):
    client = client_for(bugzilla.url)
    bugzilla.fail("POST", "/rest/bug", "created-without-id")
    with pytest.raises(BugzillaError, match="the answer has no id"):
        client.create_bug(request_for("a1"))
    bugzilla.fail("POST", "/rest/bug", "created-without-id")
    with pytest.raises(BugzillaError, match="may have been created"):
        file_bug(client, request_for("a2"), "[telemetry-alert:a2]")
    filed = file_bug(client, request_for("a2"), "[telemetry-alert:a2]")
    assert bugzilla.created == 1 and filed.id in bugzilla.bugs


@pytest.mark.parametrize("fault", ["bugs-not-a-list", "comments-of-no-bug"])
def test_a_malformed_comment_list_is_an_error_of_that_alert_only(bugzilla, fault):
    client = client_for(bugzilla.url)
    bugs = [client.create_bug(request_for(name)) for name in ("landing-1", "landing-2")]
    alerts = []
    for alert_id, bug in zip(("c1", "c2"), bugs, strict=True):
        alert = make_alert(alert_id, delivery=DELIVERY_COMMENT, bug=bug)
        alert.status = STATUS_EXPECTED
        alerts.append(alert)
    texts = {a.id: f"expected {whiteboard_marker(a.id)}" for a in alerts}
    bugzilla.fail("GET", f"/rest/bug/{bugs[0]}/comment", fault)
    step = StepLog("comment")
    post_comments(alerts, texts, client, "2025-01-10", lambda a: None, step)
    assert len(step.errors) == 1 and "alert c1" in step.errors[0]
    assert "malformed answer" in step.errors[0]
    assert [a.delivery_state for a in alerts] == [PENDING, COMMENTED]
    assert len(bugzilla.comments[bugs[0]]) == 1 and len(bugzilla.comments[bugs[1]]) == 2


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (7, True),
        ("12", True),
        (True, False),
        (0, False),
        (-3, False),
        ("1e3", False),
        (None, False),
        ([1], False),
        ({"id": 1}, False),
        ("٣", False),
        (2**64, False),
    ],
)
def test_answer_ids_are_bug_numbers(value, ok):
    if ok:
        assert answer_id(value, "w") == int(value)
    else:
        with pytest.raises(BugzillaError):
            answer_id(value, "w")


def test_answer_bugs_checks_every_bug():
    assert answer_bugs({"bugs": [{"id": "5", "x": 1}]}, "w") == [{"id": 5, "x": 1}]
    assert answer_bugs({"bugs": []}, "w") == []
    for bad in ({}, {"bugs": {"1": {}}}, {"bugs": [1]}, {"bugs": [{"no": "id"}]}, {"bugs": None}):
        with pytest.raises(BugzillaError):
            answer_bugs(bad, "w")


def test_a_trickled_answer_is_cut_off_at_the_request_deadline(bugzilla):
    """The answer's 12 bytes take about 5 s; each read is quick, so only the deadline ends it."""
    client = client_for(bugzilla.url, deadline=1.0, timeout=(2.0, 5.0))
    bugzilla.fail("GET", "/rest/bug", "trickle")
    start = time.monotonic()
    with pytest.raises(BugzillaError, match="no complete answer within 1 s"):
        client.get_bugs([1])
    assert time.monotonic() - start < 3.0
    assert client.get_bugs([]) == []  # the client still works afterwards


class TrickledHeaders:
    """A raw server that sends the start of an answer, then one byte every 0.3 s: by default
    an HTTP status line after the request; an SMTP server speaks first."""

    def __init__(self, opening: bytes = b"HTTP/1.1 200 OK\r\n", speaks_first: bool = False):
        self.opening = opening
        self.speaks_first = speaks_first
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> TrickledHeaders:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.server.close()
        self.thread.join(5)

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            try:
                if not self.speaks_first:
                    conn.recv(65536)
                conn.sendall(self.opening)
                while not self.stop.wait(0.3):
                    conn.sendall(b"X")
            except OSError:
                return


def test_trickled_headers_are_cut_off_at_the_request_deadline():
    with TrickledHeaders() as server:
        session = make_session(retries=2, backoff=0.0, deadline=1.0)
        start = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            session.get(f"http://127.0.0.1:{server.port}/", timeout=(2, 5))
        assert time.monotonic() - start < 3.0


def digest_for(recipient: str) -> Digest:
    return Digest(recipient, "subject", "body", "<p>body</p>", "body", ["a"], "d1")


def test_a_trickled_smtp_greeting_is_cut_off_at_the_deadline():
    with TrickledHeaders(b"220-mail.example.com", speaks_first=True) as server:
        send = SmtpBackend("127.0.0.1", server.port, "alerts@example.com", timeout=5, deadline=1.0)
        start = time.monotonic()
        with pytest.raises(DeadlineExceeded, match="SMTP: no complete exchange within 1 s"):
            send(digest_for("owner@example.com"))
        assert time.monotonic() - start < 3.0


def test_smtp_shares_the_step_deadline():
    with TrickledHeaders(b"220-mail.example.com", speaks_first=True) as server:
        send = SmtpBackend("127.0.0.1", server.port, "alerts@example.com", timeout=5)
        with step_deadline(1.0):
            with pytest.raises(DeadlineExceeded):
                send(digest_for("owner@example.com"))
            with pytest.raises(DeadlineExceeded, match="time for network requests is used up"):
                send(digest_for("owner@example.com"))


def test_a_step_deadline_is_shared_by_its_requests():
    with TrickledHeaders() as server:
        session = make_session(retries=0, deadline=30.0)
        url = f"http://127.0.0.1:{server.port}/"
        start = time.monotonic()
        with step_deadline(1.0):
            with pytest.raises(DeadlineExceeded):
                session.get(url, timeout=(2, 5))
            with pytest.raises(DeadlineExceeded, match="time for network requests is used up"):
                session.get(url, timeout=(2, 5))
        assert time.monotonic() - start < 3.0


def test_a_retry_after_within_the_deadline_is_waited_for():
    with HgDouble({"builds": []}, failures=1, retry_after="1") as hg:
        session = make_session(deadline=10.0)
        assert session.get(hg.url + "/json-firefoxreleases").status_code == 200
        assert len(hg.requests) == 2


@pytest.mark.parametrize(
    ("retry_after", "backoff", "step", "reason", "sent"),
    [
        ("30", 1.0, None, "the server asked to wait 30 s", 1),
        ("30", 1.0, 1.0, "the server asked to wait 30 s", 1),  # the step's deadline is shorter
        ("", 5.0, None, "10 s backoff", 2),  # urllib3 retries the first failure at once
    ],
)
def test_a_wait_between_retries_past_the_deadline_ends_the_request_at_once(
    retry_after, backoff, step, reason, sent
):
    with HgDouble({"builds": []}, failures=5, retry_after=retry_after) as hg:
        session = make_session(backoff=backoff, deadline=30.0 if step else 1.0)
        start = time.monotonic()
        with contextlib.ExitStack() as stack:
            if step:
                stack.enter_context(step_deadline(step))
            with pytest.raises(DeadlineExceeded, match=f"no time left to retry \\({reason}"):
                session.get(hg.url + "/json-firefoxreleases")
        assert time.monotonic() - start < 1.0
        assert len(hg.requests) == sent


def test_a_live_run_reports_bad_answers_and_goes_on(live):  # noqa: F811
    """A sync answered with `{"bugs": "notalist"}` and a create answered without an id each
    fail their own item; the bugs are filed once and the owner of the email alert is mailed."""
    root, bugzilla, smtp = live
    first = run_on(root, bugzilla, 59)
    assert first.errors == [] and bugzilla.created == 2
    bugzilla.fail("GET", "/rest/bug", "bugs-not-a-list", times=10)
    second = run_on(root, bugzilla, 60)
    sync = next(s for s in second.steps if s.name == "sync bugs")
    assert any("not a list of bugs" in e for e in sync.errors)
    assert [s.name for s in second.steps][-1] == "email owners"
    assert bugzilla.created == 2 and len(smtp.received) == 2


def test_a_post_is_not_sent_again_after_an_error_past_connecting():
    """A TLS error once the request went out may come after the server created the bug."""
    retry = make_session().adapters["https://"].max_retries
    with pytest.raises(MaxRetryError):
        retry.increment(method="POST", url="/rest/bug", error=SSLError("bad record mac"))
    assert retry.increment(method="GET", url="/rest/bug", error=SSLError("bad record mac"))
    # Connecting failed: nothing was sent, so trying again cannot create anything twice.
    assert retry.increment(
        method="POST", url="/rest/bug", error=NewConnectionError(None, "refused")
    )
