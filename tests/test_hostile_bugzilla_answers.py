"""Bugzilla answers of shapes no Bugzilla sends, after a write whose answer was lost: each is
an error of its own alert (left pending, looked for again on the next run), never read as
"not there yet", so nothing is filed, commented or attached twice; and no answer quoted in a
message carries the API key."""

from __future__ import annotations

import pytest

from alerting.alerts.model import (
    COMMENTED,
    DELIVERY_COMMENT,
    FILED,
    PENDING,
    STATUS_EXPECTED,
    PushRange,
    Summary,
)
from alerting.alerts.render import bug_request
from alerting.delivery.bugzilla import BugzillaError, file_bug, whiteboard_marker
from alerting.delivery.comments import comment_once, post_comments
from alerting.delivery.filing import link_summaries
from alerting.delivery.lifecycle import sync_bugs
from alerting.steplog import StepLog
from tests.delivery_helpers import client_for, make_alert, settings_for
from tests.doubles.bugzilla import API_KEY
from tests.test_delivery_bugzilla import request_for
from tests.test_delivery_steps import file_all

FIRST_BUG = 1_900_001  # the double numbers bugs from here


@pytest.mark.parametrize("fault", ["empty-object", "without:whiteboard"])
def test_a_search_answer_without_bugs_or_whiteboards_files_nothing_twice(bugzilla, fault):
    client = client_for(bugzilla.url)
    marker = whiteboard_marker("s1")
    bugzilla.fail("POST", "/rest/bug", "500-after-create")
    with pytest.raises(BugzillaError, match="may have been created"):
        file_bug(client, request_for("s1"), marker)
    bugzilla.fail("GET", "/rest/bug", fault)
    with pytest.raises(BugzillaError, match="no `bugs` list|without its whiteboard"):
        file_bug(client, request_for("s1"), marker)
    filed = file_bug(client, request_for("s1"), marker)
    assert filed.adopted and bugzilla.created == 1


@pytest.mark.parametrize("fault", ["empty-object", "without:text"])
def test_a_comment_list_without_comments_or_texts_posts_nothing_twice(bugzilla, fault):
    client = client_for(bugzilla.url)
    bug_id = client.create_bug(request_for("landing"))
    marker = whiteboard_marker("c1")
    path = f"/rest/bug/{bug_id}/comment"
    bugzilla.fail("POST", path, "500-after-create")
    with pytest.raises(BugzillaError, match="may have been posted"):
        comment_once(client, bug_id, f"expected {marker}", marker)
    bugzilla.fail("GET", path, fault)
    with pytest.raises(BugzillaError, match="malformed answer"):
        comment_once(client, bug_id, f"expected {marker}", marker)
    _, found = comment_once(client, bug_id, f"expected {marker}", marker)
    assert found and len(bugzilla.comments[bug_id]) == 2


@pytest.mark.parametrize("fault", ["empty-object", "without:file_name"])
def test_an_attachment_list_without_files_or_names_attaches_the_plot_once(bugzilla, store, fault):
    store.save_alert(make_alert("p1"))
    path = f"/rest/bug/{FIRST_BUG}/attachment"
    bugzilla.fail("POST", path, "500-after-create")
    step = file_all(store, bugzilla)
    assert any("may have been attached" in e and "next run" in e for e in step.errors)
    bugzilla.fail("GET", path, fault)
    step = file_all(store, bugzilla, run_date="2025-01-11")
    assert len(step.errors) == 1 and "malformed answer" in step.errors[0]
    step = file_all(store, bugzilla, run_date="2025-01-12")
    assert step.counts == {"plots": 1} and len(bugzilla.attachments[FIRST_BUG]) == 1


@pytest.mark.parametrize(("method", "fault"), [("GET", "deep-json"), ("POST", "error-code-object")])
def test_an_unreadable_answer_fails_only_its_alert(bugzilla, store, method, fault):
    for alert_id in ("d1", "d2"):
        store.save_alert(make_alert(alert_id))
    bugzilla.fail(method, "/rest/bug", fault)  # the first alert's search or create
    step = file_all(store, bugzilla)
    states = {k: a.delivery_state for k, a in store.alerts().items()}
    assert states == {"d1": PENDING, "d2": FILED}
    assert len(step.errors) == 1 and step.errors[0].startswith(f"alert d1: Bugzilla {method}")


def test_the_api_key_echoed_in_a_malformed_answer_is_not_quoted(bugzilla, store):
    store.save_alert(make_alert("k1"))
    bugzilla.fail("GET", "/rest/bug", "echo-key")
    step = file_all(store, bugzilla)
    assert len(step.errors) == 1 and "[redacted]" in step.errors[0]
    assert API_KEY not in step.errors[0]


@pytest.mark.parametrize("fault", ["303", "html", "truncated"])
def test_a_create_answered_oddly_says_it_may_have_happened_and_is_adopted(bugzilla, fault):
    client = client_for(bugzilla.url)
    marker = whiteboard_marker("o1")
    bugzilla.fail("POST", "/rest/bug", f"{fault}-after-create")
    with pytest.raises(BugzillaError, match=r"may have been created; .* next run"):
        file_bug(client, request_for("o1"), marker)
    assert file_bug(client, request_for("o1"), marker).adopted and bugzilla.created == 1


def test_a_rate_limit_names_the_alerts_not_tried(bugzilla, store):
    for alert_id in ("r1", "r2", "r3"):
        store.save_alert(make_alert(alert_id))
    bugzilla.fail("POST", "/rest/bug", "429")
    step = file_all(store, bugzilla)
    assert len(step.errors) == 1 and "rate limited" in step.errors[0]
    assert "not tried" in step.notes[0] and "r2, r3" in step.notes[0]
    assert "next run" in step.notes[0] and bugzilla.created == 0


def test_a_rate_limited_comment_names_the_alerts_not_tried(bugzilla):
    client = client_for(bugzilla.url)
    landing = client.create_bug(request_for("landing"))
    alerts = [make_alert(i, delivery=DELIVERY_COMMENT, bug=landing) for i in ("e1", "e2")]
    for alert in alerts:
        alert.status = STATUS_EXPECTED
    texts = {a.id: f"expected {whiteboard_marker(a.id)}" for a in alerts}
    bugzilla.fail("GET", f"/rest/bug/{landing}/comment", "429", times=10)
    step = StepLog("comment")
    post_comments(
        alerts, texts, client_for(bugzilla.url, retries=0), "2025-01-10", lambda a: None, step
    )
    assert [a.delivery_state for a in alerts] == [PENDING, PENDING]
    assert "not tried" in step.notes[0] and "e2" in step.notes[0]
    assert COMMENTED not in {a.delivery_state for a in alerts}


def test_a_rate_limited_plot_names_the_alerts_not_tried(bugzilla, store):
    for alert_id in ("q1", "q2", "q3"):
        store.save_alert(make_alert(alert_id))
    bugzilla.fail("GET", f"/rest/bug/{FIRST_BUG}/attachment", "429", times=10)
    step = file_all(store, bugzilla)
    assert step.counts == {"filed": 3} and len(step.errors) == 1
    assert step.errors[0].startswith("alert q1: plot") and "rate limited" in step.errors[0]
    assert step.notes == [
        "not tried after the error that stopped this step: q2, q3; retried on the next run"
    ]
    assert bugzilla.attachments == {}


def test_a_rate_limited_push_range_comment_names_the_alerts_not_tried(bugzilla, store):
    known = {}
    for alert_id in ("t1", "t2", "t3"):
        alert = make_alert(alert_id)
        known[alert_id] = alert.push_range, dict(alert.links)
        alert.push_range = PushRange(build=alert.build_id)
        alert.links = {"glam": alert.links["glam"]}
        store.save_alert(alert)
    file_all(store, bugzilla)
    for alert in store.alerts().values():  # a later run finds every push range
        alert.push_range, links = known[alert.id]
        alert.links.update(links)
        alert.record("2025-01-11", "push range", "aaaaaaaaaaaa..bbbbbbbbbbbb")
        store.save_alert(alert)
    bugzilla.fail("GET", f"/rest/bug/{FIRST_BUG}/comment", "429", times=10)
    step = file_all(store, bugzilla, run_date="2025-01-11")
    assert step.counts == {} and len(step.errors) == 1
    assert step.errors[0].startswith("alert t1: push range") and "rate limited" in step.errors[0]
    assert step.notes == [
        "not tried after the error that stopped this step: t2, t3; retried on the next run"
    ]
    assert all(len(comments) == 1 for comments in bugzilla.comments.values())


@pytest.mark.parametrize(
    ("method", "added", "untried"),
    [("GET", 0, "m0, m1"), ("PUT", 2, "l2, m0, m1")],  # reading s-A's bugs, linking l1's
)
def test_a_rate_limited_link_names_the_alerts_not_tried(bugzilla, store, method, added, untried):
    for alert_id, summary in (("l0", "s-A"), ("l1", "s-A"), ("l2", "s-A"), ("m0", "s-B")):
        store.save_alert(make_alert(alert_id, summary=summary))
    store.save_alert(make_alert("m1", summary="s-B"))
    file_all(store, bugzilla)
    alerts = store.alerts()
    path = "/rest/bug" if method == "GET" else f"/rest/bug/{alerts['l1'].bug}"
    bugzilla.fail(method, path, "429")
    summaries = [
        Summary("s-A", "2025-01-01", ["l0", "l1", "l2"]),
        Summary("s-B", "2025-01-01", ["m0", "m1"]),
    ]
    step = StepLog("link bugs")
    link_summaries(
        summaries,
        alerts,
        client_for(bugzilla.url, retries=0),
        "2025-01-10",
        settings_for(bugzilla.url),
        store.save_alert,
        step,
    )
    assert len(step.errors) == 1 and "rate limited" in step.errors[0]
    assert step.notes == [
        f"not tried after the error that stopped this step: {untried}; retried on the next run"
    ]
    assert step.counts == ({"see-also links added": added} if added else {})


def test_a_rate_limited_reminder_names_the_alerts_not_reminded(bugzilla, store):
    for alert_id in ("n1", "n2", "n3", "n4"):
        store.save_alert(make_alert(alert_id))
    bugzilla.now = "2025-01-01T09:00:00Z"
    file_all(store, bugzilla, run_date="2025-01-01")
    bug = {k: a.bug for k, a in store.alerts().items()}
    bugzilla.set_state(bug["n4"], "FIXED")
    bugzilla.now = "2025-01-20T06:00:00Z"
    bugzilla.fail("PUT", f"/rest/bug/{bug['n1']}", "429")
    step = StepLog("sync bugs")
    sync_bugs(
        store.alerts().values(),
        client_for(bugzilla.url),
        "2025-01-20",
        settings_for(bugzilla.url),
        store.save_alert,
        step,
    )
    assert len(step.errors) == 1 and step.errors[0].startswith("alert n1: reminder")
    assert step.notes == [
        "not tried after the error that stopped this step: n2, n3; retried on the next run"
    ]
    assert step.counts == {"checked": 4, "resolved": 1}  # a resolution is recorded all the same
    assert {k: len(v) for k, v in bugzilla.comments.items()} == {b: 1 for b in bug.values()}


def test_a_reminder_whose_answer_is_lost_says_it_may_have_been_posted(bugzilla, store):
    store.save_alert(make_alert("u1"))
    bugzilla.now = "2025-01-01T09:00:00Z"
    file_all(store, bugzilla, run_date="2025-01-01")
    bug_id = store.alerts()["u1"].bug
    bugzilla.now = "2025-01-20T06:00:00Z"
    bugzilla.fail("PUT", f"/rest/bug/{bug_id}", "500-after-create")
    step = StepLog("sync bugs")
    client, settings = client_for(bugzilla.url), settings_for(bugzilla.url)
    sync_bugs(store.alerts().values(), client, "2025-01-20", settings, store.save_alert, step)
    assert len(step.errors) == 1 and step.errors[0].startswith(
        f"alert u1: reminder on bug {bug_id}"
    )
    assert "the reminder may have been posted" in step.errors[0]
    assert "before trying again on the next run" in step.errors[0]
    step = StepLog("sync bugs")  # the reminder went through: the bug is active, no second one
    sync_bugs(store.alerts().values(), client, "2025-01-21", settings, store.save_alert, step)
    assert step.errors == [] and len(bugzilla.comments[bug_id]) == 2


def lose_the_create(store, bugzilla, alert) -> None:
    """The bug is created, its answer lost: the alert stays pending."""
    store.save_alert(alert)
    bugzilla.fail("POST", "/rest/bug", "500-after-create")
    file_all(store, bugzilla)
    assert store.alerts()[alert.id].delivery_state == PENDING and bugzilla.created == 1


def test_an_adopted_bug_whose_comments_cannot_be_read_is_told_the_range_once_later(bugzilla, store):
    alert = make_alert("g1")
    known_range, known_links = alert.push_range, dict(alert.links)
    alert.push_range, alert.links = PushRange(build=alert.build_id), {"glam": alert.links["glam"]}
    lose_the_create(store, bugzilla, alert)
    alert = store.alerts()["g1"]
    alert.push_range = known_range
    alert.links.update(known_links)
    alert.record("2025-01-11", "push range", "aaaaaaaaaaaa..bbbbbbbbbbbb")
    store.save_alert(alert)
    bugzilla.fail("GET", f"/rest/bug/{FIRST_BUG}/comment", "503", times=8)  # two reads
    step = file_all(store, bugzilla, run_date="2025-01-11")
    assert step.counts["adopted"] == 1 and len(step.errors) == 2
    assert "checked again" in step.errors[0] and "retried on the next run" in step.errors[1]
    assert len(bugzilla.comments[FIRST_BUG]) == 1
    step = file_all(store, bugzilla, run_date="2025-01-12")
    assert step.counts == {"push ranges commented": 1} and step.errors == []
    file_all(store, bugzilla, run_date="2025-01-13")
    texts = [c["text"] for c in bugzilla.comments[FIRST_BUG]]
    assert sum("[telemetry-alert:g1 push range]" in t for t in texts) == 1 and len(texts) == 2


def test_an_adopted_bug_whose_description_has_the_range_gets_no_range_comment(bugzilla, store):
    lose_the_create(store, bugzilla, make_alert("h1"))
    bugzilla.fail("GET", f"/rest/bug/{FIRST_BUG}/comment", "503", times=4)  # the first read
    step = file_all(store, bugzilla, run_date="2025-01-11")
    assert step.counts["adopted"] == 1 and "checked again" in step.errors[0]
    file_all(store, bugzilla, run_date="2025-01-12")
    assert len(bugzilla.comments[FIRST_BUG]) == 1
    assert store.alerts()["h1"].history[-1].event == "push range in description"


def test_a_bug_carrying_other_alerts_markers_is_not_adopted(bugzilla, store):
    tracking = bugzilla.create(
        {
            "product": "Core",
            "component": "Networking",
            "summary": "Tracking: telemetry alerts",
            "type": "task",
            "whiteboard": "[telemetry-alert:t1] [telemetry-alert:t2]",
        }
    )
    for alert_id in ("t1", "t2"):
        store.save_alert(make_alert(alert_id))
    step = file_all(store, bugzilla)
    alerts = store.alerts()
    assert step.counts["filed"] == 2 and bugzilla.created == 3
    assert len({alerts["t1"].bug, alerts["t2"].bug, tracking}) == 3
    assert all(f"bug {tracking} carries" in note for note in step.notes) and len(step.notes) == 2


def test_an_own_bug_with_markers_added_by_hand_is_neither_adopted_nor_filed_again(bugzilla, store):
    alert = make_alert("u1")
    request = {**bug_request(alert), "whiteboard": "[telemetry-alert:u1] [telemetry-alert:u9]"}
    bugzilla.create(request)
    store.save_alert(alert)
    step = file_all(store, bugzilla)
    assert store.alerts()["u1"].delivery_state == PENDING and bugzilla.created == 1
    assert "may be this alert's bug" in step.errors[0]


def test_an_own_bug_with_other_tags_is_adopted(bugzilla, store):
    alert = make_alert("v1")
    bugzilla.create({**bug_request(alert), "whiteboard": "[necko-triaged] [telemetry-alert:v1]"})
    store.save_alert(alert)
    step = file_all(store, bugzilla)
    assert step.counts["adopted"] == 1 and store.alerts()["v1"].bug == FIRST_BUG


def test_an_adopted_bug_listed_with_odd_fields_keeps_the_requests_product(bugzilla, store):
    lose_the_create(store, bugzilla, make_alert("w1", product="Core", component="Networking"))
    bugzilla.bugs[FIRST_BUG].update(product=None, component=7)
    step = file_all(store, bugzilla, run_date="2025-01-11")
    alert = store.alerts()["w1"]
    assert step.counts["adopted"] == 1 and alert.bug == FIRST_BUG
    assert (alert.bugzilla_product, alert.bugzilla_component) == ("Core", "Networking")
    assert "product None and component 7" in step.notes[0]
