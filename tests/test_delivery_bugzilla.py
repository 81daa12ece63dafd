"""The Bugzilla client against a Bugzilla double on loopback: retries, errors, secrecy, and
filing exactly once whatever fails (each test counts the bugs the server created)."""

from __future__ import annotations

import json
import logging

import pytest

from alerting.delivery.bugzilla import BugzillaClient, BugzillaError, file_bug, whiteboard_marker
from alerting.delivery.comments import comment_once
from alerting.errors import UserError
from tests.delivery_helpers import client_for
from tests.doubles.bugzilla import API_KEY, FIXTURES, BugzillaDouble


def request_for(alert_id: str, product: str = "Core", component: str = "Networking: HTTP"):
    return {
        "product": product,
        "component": component,
        "summary": f"Telemetry Alert for probe.{alert_id} on 2025-01-01",
        "type": "defect",
        "severity": "S4",
        "priority": "P5",
        "keywords": ["telemetry-alert", "regression"],
        "whiteboard": whiteboard_marker(alert_id),
        "cc": ["cc@example.com"],
        "flags": [{"name": "needinfo", "status": "?", "requestee": "owner@example.com"}],
        "description": "A **regression** was detected.",
    }


def test_reads_real_bug_records_and_sends_the_key_only_as_a_header(bugzilla, caplog):
    caplog.set_level(logging.DEBUG)
    real = json.loads((FIXTURES / "libmozdata__rest_bug__search_resolution=FIXED.json").read_text())
    bugzilla.load(real["bugs"])
    client = client_for(bugzilla.url)
    bugs = client.get_bugs([12345, 12346])
    assert [(b["id"], b["status"], b["resolution"]) for b in bugs] == [
        (12345, "VERIFIED", "FIXED"),
        (12346, "VERIFIED", "FIXED"),
    ]
    assert set(bugs[0]) == {"id", "status", "resolution", "dupe_of", "last_change_time", "flags"}
    assert bugs[0]["last_change_time"] == "2020-04-13T10:15:51Z"
    assert all(API_KEY not in target for _, target in bugzilla.log)
    assert API_KEY not in repr(client) and API_KEY not in caplog.text


def test_key_never_in_errors_reprs_or_logs(bugzilla, caplog):
    caplog.set_level(logging.DEBUG)
    messages = []
    wrong = "wrong-key-" + API_KEY
    for client, call in [
        (client_for(bugzilla.url, key=wrong), lambda c: c.get_bugs([1])),
        (client_for(bugzilla.url), lambda c: c.update_bug(424242, {"comment": {"body": "x"}})),
        (client_for("http://127.0.0.1:9", retries=1), lambda c: c.get_bugs([1])),
    ]:
        with pytest.raises(BugzillaError) as caught:
            call(client)
        messages.append(str(caught.value))
        assert API_KEY not in repr(client)
        assert API_KEY not in repr(caught.value.__dict__)
    assert all(API_KEY not in m for m in messages)
    assert API_KEY not in caplog.text
    assert "error 306" in messages[0] and "BUGZILLA_API_KEY" in messages[0]
    assert "error 101" in messages[1] and "HTTP 404" in messages[1]
    assert "connection failed" in messages[2]


def test_auth_errors_401_without_and_with_a_wrong_key(bugzilla):
    anonymous = client_for(bugzilla.url, key="")
    with pytest.raises(BugzillaError) as caught:
        anonymous.create_bug(request_for("a1"))
    assert (caught.value.status, caught.value.code) == (401, 410)
    assert caught.value.stops_step and not caught.value.transient
    with pytest.raises(BugzillaError) as caught:
        client_for(bugzilla.url, key="nope").search_whiteboard(whiteboard_marker("a1"))
    assert (caught.value.status, caught.value.code) == (401, 306)
    assert bugzilla.created == 0


def test_reads_are_retried_on_5xx_and_429_with_an_html_body(bugzilla):
    bugzilla.fail("GET", "/rest/bug", "503")
    bugzilla.fail("GET", "/rest/bug", "429")
    bugzilla.fail("GET", "/rest/bug", "hang")
    client = client_for(bugzilla.url)
    assert client.search_whiteboard(whiteboard_marker("x")) == []
    assert len(bugzilla.log) == 4  # three injected failures, then the answer


def test_rate_limit_block_is_a_clear_error_that_stops_the_step(bugzilla):
    bugzilla.fail("GET", "/rest/bug", "429", times=10)
    with pytest.raises(BugzillaError) as caught:
        client_for(bugzilla.url, retries=2).get_bugs([1, 2])
    assert caught.value.status == 429 and caught.value.stops_step
    assert "rate limited" in str(caught.value)
    assert len(bugzilla.log) == 3


def test_status_reads_are_batched_below_the_request_target_limit(bugzilla):
    ids = list(range(1_000_000, 1_003_000))
    bugzilla.load([{**_minimal(i)} for i in ids[::100]])
    client = client_for(bugzilla.url, batch_size=2000)
    found = client.get_bugs(ids)
    assert sorted(b["id"] for b in found) == ids[::100]
    assert len(bugzilla.log) > 1
    assert max(len(target) for _, target in bugzilla.log) <= 4096
    unbatched = client_for(bugzilla.url, batch_size=5000, max_target=100_000)
    with pytest.raises(BugzillaError) as caught:
        unbatched.get_bugs(ids)
    assert caught.value.status == 414 and "too long" in str(caught.value)


def _minimal(bug_id: int) -> dict:
    return {
        "id": bug_id,
        "status": "NEW",
        "resolution": "",
        "dupe_of": None,
        "whiteboard": "",
        "last_change_time": "2025-01-01T00:00:00Z",
        "flags": [],
        "see_also": [],
    }


def test_plain_http_is_refused_except_on_loopback():
    with pytest.raises(UserError, match="https"):
        BugzillaClient("http://bugzilla.example.org", API_KEY)
    assert BugzillaClient("https://bugzilla.example.org/", API_KEY).url.endswith(".org")


def creates_sent(bugzilla: BugzillaDouble, path: str = "/rest/bug") -> int:
    return sum(1 for method, target in bugzilla.log if method == "POST" and target == path)


@pytest.mark.parametrize(
    "fault",
    ["500", "503", "429", "reset", "500-after-create", "reset-after-create", "hang-after-create"],
)
def test_a_failed_create_is_sent_once_then_the_next_run_files_or_adopts_it(bugzilla, fault):
    bugzilla.fail("POST", "/rest/bug", fault)
    client = client_for(bugzilla.url)
    marker = whiteboard_marker("alert-1")
    with pytest.raises(BugzillaError) as caught:
        file_bug(client, request_for("alert-1"), marker)
    assert creates_sent(bugzilla) == 1
    assert caught.value.transient
    created = fault.endswith("after-create")
    assert bugzilla.created == int(created)
    if fault != "429":  # a rate-limited create was refused, so nothing may have happened
        assert marker in str(caught.value) and "next run" in str(caught.value)
    filed = file_bug(client, request_for("alert-1"), marker)
    again = file_bug(client, request_for("alert-1"), marker)
    assert bugzilla.created == 1  # measured: one bug on the server
    assert [b["id"] for b in bugzilla.with_marker(marker)] == [filed.id]
    assert again.adopted and again.id == filed.id
    assert filed.adopted == created


@pytest.mark.parametrize("fault", ["500-after-create", "reset-after-create", "hang-after-create"])
def test_a_lost_create_is_not_sent_again_while_the_search_lags(bugzilla, fault):
    bugzilla.lag()
    bugzilla.fail("POST", "/rest/bug", fault)
    client = client_for(bugzilla.url)
    marker = whiteboard_marker("alert-6")
    with pytest.raises(BugzillaError, match="may have been created"):
        file_bug(client, request_for("alert-6"), marker)
    assert bugzilla.created == 1 and creates_sent(bugzilla) == 1
    bugzilla.catch_up()  # the next run
    filed = file_bug(client, request_for("alert-6"), marker)
    assert filed.adopted and bugzilla.created == 1


@pytest.mark.parametrize("fault", ["500-after-create", "reset-after-create", "hang-after-create"])
def test_a_lost_comment_is_not_posted_again_while_the_list_lags(bugzilla, fault):
    client = client_for(bugzilla.url)
    bug_id = client.create_bug(request_for("alert-7"))
    marker = whiteboard_marker("alert-7")
    path = f"/rest/bug/{bug_id}/comment"
    bugzilla.lag()
    bugzilla.fail("POST", path, fault)
    with pytest.raises(BugzillaError, match="may have been posted"):
        comment_once(client, bug_id, f"expected {marker}", marker)
    assert creates_sent(bugzilla, path) == 1
    bugzilla.catch_up()  # the next run
    comment, found = comment_once(client, bug_id, f"expected {marker}", marker)
    assert found and [c["id"] for c in bugzilla.comments[bug_id][1:]] == [comment]


def test_persistent_server_errors_leave_nothing_filed_then_the_next_run_files_once(bugzilla):
    bugzilla.fail("POST", "/rest/bug", "503", times=3)
    client = client_for(bugzilla.url)
    marker = whiteboard_marker("alert-2")
    for _ in range(3):
        with pytest.raises(BugzillaError) as caught:
            file_bug(client, request_for("alert-2"), marker)
        assert caught.value.transient and bugzilla.created == 0
    filed = file_bug(client, request_for("alert-2"), marker)
    assert bugzilla.created == 1 and not filed.adopted and creates_sent(bugzilla) == 4


@pytest.mark.parametrize(
    ("product", "component", "code"), [("Nonexistent", "Nope", 106), ("Core", "Nope", 51)]
)
def test_rejected_product_or_component_falls_back_to_the_default(
    bugzilla, product, component, code
):
    client = client_for(bugzilla.url)
    request = request_for("alert-3", product, component)
    with pytest.raises(BugzillaError) as caught:
        client.create_bug(request)
    assert caught.value.code == code and caught.value.invalid_product
    filed = file_bug(
        client, request, whiteboard_marker("alert-3"), fallback=("Toolkit", "Telemetry")
    )
    assert (filed.product, filed.component) == ("Toolkit", "Telemetry")
    assert bugzilla.bugs[filed.id]["product"] == "Toolkit" and bugzilla.created == 1


def test_updates_comments_and_attachments(bugzilla):
    client = client_for(bugzilla.url)
    bug_id = client.create_bug(request_for("alert-4"))
    other = client.create_bug(request_for("alert-5"))
    changed = client.update_bug(bug_id, {"see_also": {"add": [client.bug_url(other)]}})
    assert changed["changes"]["see_also"]["added"] == client.bug_url(other)
    assert client.add_comment(bug_id, "**still** there?") > 0
    attachment = client.add_attachment(bug_id, b"\x89PNG\r\n\x1a\nrest", "a.png", "plot")
    assert client.attachments(bug_id) == [
        {"id": attachment, "file_name": "a.png", "content_type": "image/png", "is_obsolete": 0}
    ]
    assert bugzilla.attachments[bug_id][0]["data"].startswith(b"\x89PNG")
    assert [c["text"] for c in bugzilla.comments[bug_id]][1:] == ["**still** there?"]
