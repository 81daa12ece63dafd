"""The commit message is a pure function of old and new state files."""

import json

from alerting.alerts.model import DRAFTED, SENT, STATUS_RESOLVED, Values
from alerting.gitops.message import StateChange, commit_message, count_changes, subject
from tests.alert_factory import make_alert


def alert_json(alert_id: str, **changes) -> bytes:
    values = Values(median=1.0, p05=0.5, p95=2.0, samples=1000.0)
    alert = make_alert(**{"id": alert_id, "before": values, "after": values, **changes})
    return json.dumps(alert.to_json(), indent=2).encode()


def test_new_alerts_filed_bugs_and_resolutions_are_counted():
    changes = [
        StateChange("alerts/a1.json", None, alert_json("a1")),
        StateChange("alerts/a2.json", None, alert_json("a2", bug=101)),
        StateChange("alerts/a3.json", None, alert_json("a3")),
        StateChange("alerts/a4.json", alert_json("a4"), alert_json("a4", bug=102)),
        StateChange(
            "alerts/a5.json",
            alert_json("a5", bug=7),
            alert_json("a5", bug=7, status=STATUS_RESOLVED, resolution="FIXED"),
        ),
    ]
    assert subject(count_changes(changes)) == "alerts: 3 new, 2 bugs filed, 1 resolved (FIXED)"


def test_mixed_resolutions_reopened_and_singulars():
    resolved = {"status": STATUS_RESOLVED, "bug": 1}
    changes = [
        StateChange(
            "alerts/a.json", alert_json("a", bug=1), alert_json("a", resolution="FIXED", **resolved)
        ),
        StateChange(
            "alerts/b.json",
            alert_json("b", bug=1),
            alert_json("b", resolution="WONTFIX", **resolved),
        ),
        StateChange(
            "alerts/c.json", alert_json("c", resolution="FIXED", **resolved), alert_json("c", bug=1)
        ),
        StateChange("alerts/d.json", alert_json("d"), alert_json("d", bug=5)),
    ]
    assert (
        subject(count_changes(changes))
        == "alerts: 1 bug filed, 2 resolved (1 FIXED, 1 WONTFIX), 1 reopened"
    )


def test_emails_sent_count_recipients_and_drafts_count_outbox_files():
    changes = [
        StateChange(
            "alerts/e1.json",
            alert_json("e1", delivery="email"),
            alert_json(
                "e1", delivery="email", delivery_state=SENT, notified=["a@x.org", "b@x.org"]
            ),
        ),
        StateChange(
            "alerts/e2.json",
            alert_json("e2", delivery="email"),
            alert_json("e2", delivery="email", delivery_state=SENT, notified=["a@x.org"]),
        ),
        # Drafted (outbox mode) is not "sent", even with recipients recorded.
        StateChange(
            "alerts/e3.json",
            alert_json("e3", delivery="email"),
            alert_json("e3", delivery="email", delivery_state=DRAFTED, notified=["c@x.org"]),
        ),
        StateChange("outbox/bugs/b1.json", None, b"{}"),
        StateChange("outbox/emails/2026-11-02/a@x.org.eml", None, b"Subject: x\n"),
        StateChange("outbox/emails/2026-11-02/b@x.org.eml", None, b"Subject: x\n"),
    ]
    assert (
        subject(count_changes(changes))
        == "alerts: 2 emails sent, 1 bug draft, 2 email drafts, 1 updated"
    )


def test_only_non_alert_files_and_unreadable_json_are_still_described():
    assert subject(count_changes([StateChange("summaries/s.json", None, b"{}")])) == (
        "state: 1 file updated"
    )
    broken = [StateChange("alerts/x.json", alert_json("x"), b"{not json")]
    assert subject(count_changes(broken)) == "alerts: 1 updated"


def test_body_names_the_alerts_and_carries_the_run_summary():
    changes = [StateChange("alerts/a1.json", None, alert_json("a1", bug=9))]
    message = commit_message(changes, run_summary="## Run 2026-11-02\n3 probes checked\n")
    lines = message.splitlines()
    assert lines[0] == "alerts: 1 new, 1 bug filed"
    assert lines[1] == ""
    assert "new: a1" in lines
    assert "bugs filed: a1" in lines
    assert message.endswith("3 probes checked\n")


def test_a_record_set_aside_is_quarantined_not_removed():
    changes = [
        StateChange("alerts/q1.json", b"[]", None),
        StateChange("quarantine/alerts/q1.json", None, b"[]"),
        StateChange("quarantine/alerts/q1.json.problems", None, b"- broken\n"),
        StateChange("alerts/gone.json", alert_json("gone"), None),
    ]
    message = commit_message(changes)
    assert message.splitlines()[0] == "alerts: 1 record quarantined, 1 removed"
    assert "quarantined: alerts/q1.json" in message and "removed: gone" in message


def test_the_run_summary_counts_records_awaiting_a_person():
    from alerting.gitops.message import run_summary_text

    raw = json.dumps({"date": "2026-11-02", "mode": "outbox", "steps": [], "quarantined": ["x"]})
    assert "- records awaiting a person in quarantine/: 1" in run_summary_text(raw)


def test_silenced_and_expected_alerts_and_their_comments_are_named_not_counted_as_bugs():
    expected = {"status": "expected", "delivery": "comment", "bug": 1234568}
    changes = [
        StateChange("alerts/s1.json", None, alert_json("s1", status="silenced", bug=99)),
        StateChange("alerts/x1.json", None, alert_json("x1", delivery_state=DRAFTED, **expected)),
        StateChange(
            "alerts/x2.json",
            alert_json("x2", delivery_state=DRAFTED, **expected),
            alert_json("x2", delivery_state="commented", **expected),
        ),
        StateChange("outbox/comments/x1.json", None, b"{}"),
    ]
    message = commit_message(changes)
    assert message.splitlines()[0] == (
        "alerts: 2 new, 1 silenced, 1 expected, 1 comment posted, 1 comment draft"
    )
    assert "silenced: s1\nexpected: x1\ncomments posted: x2\n" in message
    assert "comment drafts: x1" in message and "bugs filed" not in message
