"""Silences and expected changes in the daily run, against the Bugzilla double and a real SMTP
server: a silenced alert is kept but never delivered, an expected change is one comment on its
landing's bug, posted once across reruns, lost answers and a crash between posting and saving."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest

from alerting.alerts.model import COMMENTED, DELIVERY_COMMENT, DRAFTED
from alerting.alerts.render import run_summary
from alerting.alerts.store import StateStore
from alerting.cli import main
from alerting.delivery.comments import post_comments
from alerting.probes.silences import MAX_SILENCE_DAYS
from alerting.steplog import StepLog
from tests.delivery_helpers import Crash, client_for
from tests.test_delivery_live_run import (  # noqa: F401  (fixtures: live, test_technique)
    START,
    by_probe,
    live,
    run_on,
    test_technique,
)

LANDING = 1_800_123  # the bug of a patch that moves page_load_time on Linux on purpose
RUN_DAY = 59  # the change starts on day 50 (2026-10-21); the run sees it on day 59


def silences_yaml(until: dt.date) -> str:
    return f"""\
silences:
  - probes: "networking.dns_*"
    until: {until}
    reason: "DNS resolver rework: noisy until it lands"
expected:
  - probes: "networking.page_load_time"
    platforms: [Linux]
    from: 2026-10-19
    to: 2026-10-23
    direction: up
    bug: {LANDING}
    reason: "bigger page cache on purpose"
"""


@pytest.fixture
def quiet(live):  # noqa: F811 - the imported fixture
    root, bugzilla, smtp = live
    run_date = START + dt.timedelta(days=RUN_DAY)
    (root / "probes" / "silences.yaml").write_text(silences_yaml(run_date + dt.timedelta(days=30)))
    landing = copy.deepcopy(bugzilla._template)
    landing.update(id=LANDING, whiteboard="", see_also=[], flags=[], comment_count=1)
    bugzilla.load([landing])
    bugzilla.comments[LANDING] = []
    return root, bugzilla, smtp


def landing_comments(bugzilla) -> list[str]:
    return [c["text"] for c in bugzilla.comments[LANDING]]


def test_silenced_alert_is_kept_but_not_delivered_and_expected_change_is_one_comment(quiet):
    root, bugzilla, smtp = quiet
    result = run_on(root, bugzilla, RUN_DAY)
    assert result.errors == [] and len(result.new_alerts) == 3
    alerts = by_probe(root)
    dns, linux = alerts[("dns_time", "Windows")], alerts[("page_load_time", "Linux")]
    windows = alerts[("page_load_time", "Windows")]

    assert (dns.status, dns.delivery_state) == ("silenced", "silenced")
    assert dns.reason == "DNS resolver rework: noisy until it lands"
    assert smtp.received == [] and dns.notified == []

    assert (linux.status, linux.delivery, linux.delivery_state) == (
        "expected",
        DELIVERY_COMMENT,
        COMMENTED,
    )
    assert linux.bug == LANDING and linux.reason == "bigger page cache on purpose"
    assert linux.links["bug"] == f"{bugzilla.url}/show_bug.cgi?id={LANDING}"
    [comment] = landing_comments(bugzilla)
    assert f"[telemetry-alert:{linux.id}]" in comment
    assert "Telemetry Alert for networking.page\\_load\\_time on 2026-10-21 (Linux)" in comment
    assert "bigger page cache on purpose" in comment
    assert "please use: FIXED" not in comment  # not this bug's resolution to choose

    assert bugzilla.created == 1 and windows.bug != LANDING  # only the unexpected one is filed
    assert bugzilla.bugs[windows.bug]["see_also"] == []  # the landing's bug is left alone
    assert bugzilla.bugs[LANDING]["see_also"] == []
    filing = next(s for s in result.steps if s.name == "file bugs")
    assert filing.counts == {"filed": 1, "commented": 1, "plots": 1}

    for day in (RUN_DAY, RUN_DAY + 1):  # reruns: nothing posted, filed or sent again
        again = run_on(root, bugzilla, day)
        assert again.errors == [] and again.new_alerts == []
    bugzilla.set_state(LANDING, "FIXED")  # the patch landed; the alert stays expected
    run_on(root, bugzilla, RUN_DAY + 2)
    assert len(landing_comments(bugzilla)) == 1 and bugzilla.created == 1
    assert smtp.received == []
    assert by_probe(root)[("page_load_time", "Linux")].status == "expected"


def test_a_push_range_found_after_the_comment_is_added_to_the_landing_bug_once(quiet):
    root, bugzilla, smtp = quiet
    run_on(root, bugzilla, RUN_DAY)
    store = StateStore(root / "state")
    linux = by_probe(root)[("page_load_time", "Linux")]
    assert linux.delivery_state == COMMENTED and len(landing_comments(bugzilla)) == 1
    # As if the push range had been found only by a later run, after the comment.
    linux.record("2026-10-30", "push range", "found after the comment")
    store.save_alert(linux)
    result = run_on(root, bugzilla, RUN_DAY + 1)
    assert result.errors == []
    first, added = landing_comments(bugzilla)
    assert "The push range of this change is now known" in added
    assert "(it was not when this change was reported here)" in added
    assert linux.links["pushlog"] in added and f"[telemetry-alert:{linux.id} push range]" in added
    assert by_probe(root)[("page_load_time", "Linux")].history[-1].event == "push range commented"
    run_on(root, bugzilla, RUN_DAY + 2)
    assert len(landing_comments(bugzilla)) == 2 and bugzilla.created == 1


def test_outbox_drafts_the_comment_then_live_posts_it_once(quiet, monkeypatch):
    root, bugzilla, smtp = quiet
    monkeypatch.setenv("ALERTING_DELIVERY_MODE", "outbox")
    run_on(root, bugzilla, RUN_DAY)
    linux = by_probe(root)[("page_load_time", "Linux")]
    assert linux.delivery_state == DRAFTED and bugzilla.log == []
    draft = json.loads((root / "state" / "outbox" / "comments" / f"{linux.id}.json").read_text())
    assert draft["bug"] == LANDING and draft["is_markdown"] is True
    assert f"[telemetry-alert:{linux.id}]" in draft["comment"]
    outbox = sorted(
        p.relative_to(root / "state" / "outbox").as_posix()
        for p in (root / "state" / "outbox").rglob("*")
        if p.is_file()
    )
    windows = by_probe(root)[("page_load_time", "Windows")]
    assert outbox == [f"bugs/{windows.id}.json", f"comments/{linux.id}.json"]  # no email

    monkeypatch.setenv("ALERTING_DELIVERY_MODE", "live")
    run_on(root, bugzilla, RUN_DAY + 1)
    run_on(root, bugzilla, RUN_DAY + 2)
    assert landing_comments(bugzilla) == [draft["comment"]]
    assert by_probe(root)[("page_load_time", "Linux")].delivery_state == COMMENTED


def test_a_crash_between_posting_and_saving_does_not_comment_twice(quiet, monkeypatch):
    root, bugzilla, smtp = quiet
    monkeypatch.setenv("ALERTING_DELIVERY_MODE", "outbox")
    run_on(root, bugzilla, RUN_DAY)  # the alert exists, its comment drafted
    store = StateStore(root / "state")
    linux = by_probe(root)[("page_load_time", "Linux")]
    text = json.loads((root / "state" / "outbox" / "comments" / f"{linux.id}.json").read_text())

    def dies(alert):
        raise Crash

    with pytest.raises(Crash):
        post = client_for(bugzilla.url)
        post_comments([linux], {linux.id: text["comment"]}, post, "2026-10-30", dies, StepLog("s"))
    assert len(landing_comments(bugzilla)) == 1
    assert store.alerts()[linux.id].delivery_state == DRAFTED  # the save never happened

    step = StepLog("again")
    alerts = store.alerts()
    client = client_for(bugzilla.url)
    post_comments(
        alerts.values(), {linux.id: text["comment"]}, client, "2026-10-30", store.save_alert, step
    )
    assert len(landing_comments(bugzilla)) == 1 and step.counts == {"comment found": 1}
    saved = store.alerts()[linux.id]
    assert saved.delivery_state == COMMENTED and saved.history[-1].event == "comment found"

    monkeypatch.setenv("ALERTING_DELIVERY_MODE", "live")
    run_on(root, bugzilla, RUN_DAY + 1)  # the whole run agrees: nothing more to post
    assert len(landing_comments(bugzilla)) == 1


def test_a_lost_answer_to_the_post_is_found_by_the_next_run_not_posted_again(quiet):
    root, bugzilla, smtp = quiet
    bugzilla.lag()  # the comment list does not show the new comment yet
    bugzilla.fail("POST", f"/rest/bug/{LANDING}/comment", "reset-after-create")
    result = run_on(root, bugzilla, RUN_DAY)
    assert any("may have been posted" in e for e in result.errors)
    assert len(landing_comments(bugzilla)) == 1
    assert by_probe(root)[("page_load_time", "Linux")].delivery_state != COMMENTED
    bugzilla.catch_up()
    assert run_on(root, bugzilla, RUN_DAY + 1).errors == []
    assert len(landing_comments(bugzilla)) == 1
    assert by_probe(root)[("page_load_time", "Linux")].delivery_state == COMMENTED


def test_a_failing_comment_stays_pending_for_the_next_run(quiet, monkeypatch):
    root, bugzilla, smtp = quiet
    monkeypatch.setenv("ALERTING_DELIVERY_MODE", "outbox")
    run_on(root, bugzilla, RUN_DAY)
    store = StateStore(root / "state")
    linux = by_probe(root)[("page_load_time", "Linux")]
    texts = {linux.id: f"the change `[telemetry-alert:{linux.id}]`"}
    bugzilla.fail("GET", f"/rest/bug/{LANDING}/comment", "500", times=4)  # beyond the retries
    step = StepLog("first")
    post_comments([linux], texts, client_for(bugzilla.url), "2026-10-30", store.save_alert, step)
    assert [e.split(":")[0] for e in step.errors] == [f"alert {linux.id}"]
    assert f"comment on bug {LANDING}" in step.errors[0]
    assert store.alerts()[linux.id].delivery_state == DRAFTED and landing_comments(bugzilla) == []
    step = StepLog("next")
    post_comments(
        store.alerts().values(),
        texts,
        client_for(bugzilla.url),
        "2026-10-31",
        store.save_alert,
        step,
    )
    assert step.errors == [] and landing_comments(bugzilla) == [texts[linux.id]]


def test_the_run_summary_lists_silences_ending_within_a_week(quiet, monkeypatch):
    root, bugzilla, smtp = quiet
    monkeypatch.setenv("ALERTING_DELIVERY_MODE", "outbox")
    run_date = START + dt.timedelta(days=RUN_DAY)
    (root / "probes" / "silences.yaml").write_text(silences_yaml(run_date + dt.timedelta(days=6)))
    result = run_on(root, bugzilla, RUN_DAY)
    assert result.expiring == [
        "networking.dns_*; until 2026-11-05: DNS resolver rework: noisy until it lands "
        f"({root / 'probes' / 'silences.yaml'}:2)"
    ]
    text = run_summary(result)
    assert "### Silences ending within a week (1)" in text
    assert "until 2026-11-05" in text and "DNS resolver rework" in text

    (root / "probes" / "silences.yaml").write_text(silences_yaml(run_date + dt.timedelta(days=8)))
    later = run_on(root, bugzilla, RUN_DAY)
    assert later.expiring == []
    assert "Silences ending" not in run_summary(later)


def silence_until(root, until: dt.date) -> None:
    (root / "probes" / "silences.yaml").write_text(silences_yaml(until))


def test_a_silence_validate_accepts_holds_in_a_run_whose_data_lags_the_calendar(quiet, capsys):
    # The run happens 40 days after its data's last day (late data, or a back-dated rerun);
    # validate and the run both judge the file on the day they run, so they agree.
    root, bugzilla, smtp = quiet
    today = START + dt.timedelta(days=RUN_DAY + 40)
    silence_until(root, today + dt.timedelta(days=MAX_SILENCE_DAYS))
    assert main(["probes", "validate", str(root / "probes"), "--date", str(today)]) == 0
    assert "no problems" in capsys.readouterr().out
    result = run_on(root, bugzilla, RUN_DAY, today=today)
    assert result.errors == []
    dns = by_probe(root)[("dns_time", "Windows")]
    assert (dns.status, dns.delivery_state, dns.bug) == ("silenced", "silenced", None)
    assert bugzilla.created == 1  # page_load_time on Windows only


def test_by_default_the_run_and_validate_both_judge_the_file_on_the_calendar_date(
    quiet, monkeypatch, capsys
):
    root, bugzilla, smtp = quiet
    monkeypatch.chdir(root)
    silence_until(root, dt.date.today() + dt.timedelta(days=MAX_SILENCE_DAYS))
    assert main(["probes", "validate"]) == 0
    run_day = START + dt.timedelta(days=RUN_DAY)  # months before the calendar date
    bugzilla.now = f"{run_day}T07:00:00Z"
    assert main(["run", "--root", str(root), "--date", str(run_day)]) == 0
    assert "more than 90 days ahead" not in capsys.readouterr().out
    assert by_probe(root)[("dns_time", "Windows")].status == "silenced"
    assert bugzilla.created == 1


def test_a_silence_too_far_ahead_is_reported_and_still_applied(quiet):
    # Validate refuses it, but if it reaches the run anyway (validated on another day, in
    # another time zone, or not at all), notifying the series it silences is the worse outcome.
    root, bugzilla, smtp = quiet
    today = START + dt.timedelta(days=RUN_DAY)
    silence_until(root, today + dt.timedelta(days=MAX_SILENCE_DAYS + 30))
    result = run_on(root, bugzilla, RUN_DAY, today=today)
    dns = by_probe(root)[("dns_time", "Windows")]
    assert (dns.status, dns.delivery_state, dns.bug) == ("silenced", "silenced", None)
    assert bugzilla.created == 1 and smtp.received == []
    [error] = result.errors
    assert "until: 2027-02-27 is more than 90 days ahead" in error
    assert "the daily run applies the entry as written" in error
