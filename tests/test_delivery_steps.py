"""The live delivery steps against the Bugzilla double, with alerts persisted in a real
`state/` store: filing, crashes between filing and saving, linking, the lifecycle sync on a
quiet day, and inactivity reminders. Tests count what the server received."""

from __future__ import annotations

import datetime as dt

import pytest

from alerting.alerts.model import FILED, PENDING, STATUS_NEW, STATUS_RESOLVED, PushRange, Summary
from alerting.alerts.render import bug_request
from alerting.delivery import filing, lifecycle
from alerting.steplog import StepLog
from tests.delivery_helpers import Crash, client_for, fake_png, make_alert, settings_for
from tests.report_fixtures import TIMING_BUCKETS_MS, make_plot


def file_all(store, bugzilla, save=None, png=fake_png, run_date="2025-01-10"):
    alerts = store.alerts()
    requests = {a.id: bug_request(a) for a in alerts.values()}
    step = StepLog("file bugs")
    client = client_for(bugzilla.url)
    settings = settings_for(bugzilla.url)
    filing.file_bugs(
        alerts.values(), requests, client, run_date, settings, save or store.save_alert, step, png
    )
    return step


def test_files_each_alert_once_with_its_plot_and_a_rerun_changes_nothing(bugzilla, store):
    for i in range(3):
        store.save_alert(make_alert(f"a{i}"))
    step = file_all(store, bugzilla)
    assert step.counts == {"filed": 3, "plots": 3} and step.errors == []
    alerts = store.alerts()
    assert {a.delivery_state for a in alerts.values()} == {FILED}
    assert sorted(a.bug for a in alerts.values()) == sorted(bugzilla.bugs)
    bug = bugzilla.bugs[alerts["a0"].bug]
    assert bug["whiteboard"] == "[telemetry-alert:a0]"
    assert bug["flags"][0]["requestee"] == "owner@example.com" and bug["cc"] == ["cc@example.com"]
    assert all(len(bugzilla.attachments[a.bug]) == 1 for a in alerts.values())
    assert alerts["a0"].links["plot"].startswith(bugzilla.url + "/attachment.cgi?id=")
    before = [p.read_bytes() for p in sorted((store.root / "alerts").iterdir())]
    rerun = file_all(store, bugzilla)
    assert rerun.counts == {} and bugzilla.created == 3
    assert [p.read_bytes() for p in sorted((store.root / "alerts").iterdir())] == before


def test_the_real_plot_is_attached_as_png(bugzilla, store):
    alert = make_alert("p1")
    alert.plot, alert.before, alert.after = make_plot(
        dt.date(2025, 1, 1), TIMING_BUCKETS_MS, 10.0, 14.0, 0.5
    )
    store.save_alert(alert)
    step = file_all(store, bugzilla, png=None)
    assert step.counts == {"filed": 1, "plots": 1}
    data = bugzilla.attachments[store.alerts()["p1"].bug][0]["data"]
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000


def test_a_push_range_found_after_filing_is_commented_on_the_bug_once(bugzilla, store):
    alert = make_alert("r0")
    known_range, known_links = alert.push_range, dict(alert.links)
    alert.push_range, alert.links = PushRange(build=alert.build_id), {"glam": alert.links["glam"]}
    store.save_alert(alert)
    file_all(store, bugzilla)
    alert = store.alerts()["r0"]
    description = bugzilla.comments[alert.bug][0]["text"]
    assert "Push range: not known yet" in description
    assert "a later run looks for it again and adds it to this bug as a comment" in description
    # a later run's step 3 finds the nightly before the build
    alert.push_range = known_range
    alert.links.update(known_links)
    alert.record("2025-01-11", "push range", "aaaaaaaaaaaa..bbbbbbbbbbbb")
    store.save_alert(alert)
    step = file_all(store, bugzilla, run_date="2025-01-11")
    assert step.counts == {"push ranges commented": 1} and step.errors == []
    comment = bugzilla.comments[alert.bug][-1]["text"]
    assert "The push range of this change is now known" in comment
    assert known_links["treeherder_range"] in comment and known_links["pushlog"] in comment
    assert "[telemetry-alert:r0 push range]" in comment
    assert store.alerts()["r0"].history[-1].event == "push range commented"
    rerun = file_all(store, bugzilla, run_date="2025-01-12")
    assert rerun.counts == {} and len(bugzilla.comments[alert.bug]) == 2


def test_an_adopted_bug_filed_before_its_push_range_was_known_is_told_the_range(bugzilla, store):
    alert = make_alert("r1")
    known_range, known_links = alert.push_range, dict(alert.links)
    alert.push_range, alert.links = PushRange(build=alert.build_id), {"glam": alert.links["glam"]}
    store.save_alert(alert)
    bugzilla.fail("POST", "/rest/bug", "500-after-create")  # created, but the answer is lost
    file_all(store, bugzilla)
    alert = store.alerts()["r1"]
    assert alert.bug is None  # still owed: the next run looks for its marker first
    # The next run finds the push range first, then adopts the bug filed without it.
    alert.push_range = known_range
    alert.links.update(known_links)
    alert.record("2025-01-11", "push range", "aaaaaaaaaaaa..bbbbbbbbbbbb")
    store.save_alert(alert)
    file_all(store, bugzilla, run_date="2025-01-11")
    alert = store.alerts()["r1"]
    events = [e.event for e in alert.history]
    assert "adopted" in events and events[-1] == "push range commented"
    texts = [c["text"] for c in bugzilla.comments[alert.bug]]
    assert "Push range: not known yet" in texts[0]
    assert "The push range of this change is now known" in texts[-1]
    file_all(store, bugzilla, run_date="2025-01-12")
    assert len(bugzilla.comments[alert.bug]) == len(texts)


def test_a_push_range_known_at_filing_gets_no_extra_comment(bugzilla, store):
    alert = make_alert("r1")
    alert.record("2025-01-09", "push range", "mapped before the bug was filed")
    store.save_alert(alert)
    step = file_all(store, bugzilla)
    assert step.counts == {"filed": 1, "plots": 1}
    assert len(bugzilla.comments[store.alerts()["r1"].bug]) == 1


def test_crash_after_creating_before_saving_then_rerun_adopts_the_bug(bugzilla, store):
    for i in range(2):
        store.save_alert(make_alert(f"c{i}"))

    def dies_on_first_save(alert):
        raise Crash

    with pytest.raises(Crash):
        file_all(store, bugzilla, save=dies_on_first_save)
    assert bugzilla.created == 1
    assert {a.delivery_state for a in store.alerts().values()} == {PENDING}  # nothing saved
    step = file_all(store, bugzilla)
    assert bugzilla.created == 2  # measured: zero duplicates ...
    alerts = store.alerts()
    assert {a.delivery_state for a in alerts.values()} == {FILED}  # ... and zero lost alerts
    assert step.counts["adopted"] == 1 and step.counts["filed"] == 1
    assert sorted(a.bug for a in alerts.values()) == sorted(bugzilla.bugs)
    assert [e.event for e in alerts["c0"].history] == ["adopted", "plot attached"]


def test_a_crash_after_attaching_does_not_attach_twice(bugzilla, store):
    store.save_alert(make_alert("d1"))
    saves = []

    def dies_on_second_save(alert):
        saves.append(alert.id)
        if len(saves) == 2:
            raise Crash
        store.save_alert(alert)

    with pytest.raises(Crash):
        file_all(store, bugzilla, save=dies_on_second_save)
    file_all(store, bugzilla)
    bug = store.alerts()["d1"].bug
    assert bugzilla.created == 1 and len(bugzilla.attachments[bug]) == 1


def test_failures_leave_alerts_pending_and_do_not_stop_the_others(bugzilla, store):
    for i in range(3):
        store.save_alert(make_alert(f"f{i}"))
    bugzilla.fail("POST", "/rest/bug", "503")  # the first alert's create, sent once
    step = file_all(store, bugzilla)
    states = {k: a.delivery_state for k, a in store.alerts().items()}
    assert states == {"f0": PENDING, "f1": FILED, "f2": FILED}
    assert len(step.errors) == 1 and "f0" in step.errors[0] and "left pending" in step.errors[0]
    file_all(store, bugzilla)
    assert bugzilla.created == 3 and store.alerts()["f0"].delivery_state == FILED


def test_a_create_whose_answer_was_lost_is_adopted_by_the_next_run(bugzilla, store):
    store.save_alert(make_alert("l1"))
    bugzilla.lag()  # the search does not show the new bug yet
    bugzilla.fail("POST", "/rest/bug", "500-after-create")
    step = file_all(store, bugzilla)
    assert store.alerts()["l1"].delivery_state == PENDING and bugzilla.created == 1
    assert len(step.errors) == 1 and "may have been created" in step.errors[0]
    bugzilla.catch_up()
    rerun = file_all(store, bugzilla, run_date="2025-01-11")
    assert rerun.counts == {"adopted": 1, "plots": 1} and bugzilla.created == 1
    assert store.alerts()["l1"].bug == next(iter(bugzilla.bugs))


def test_rejected_component_falls_back_to_the_configured_default(bugzilla, store):
    store.save_alert(make_alert("g1", product="Core", component="No Such Component"))
    step = file_all(store, bugzilla)
    alert = store.alerts()["g1"]
    assert step.counts["filed"] == 1
    assert (alert.bugzilla_product, alert.bugzilla_component) == ("Toolkit", "Telemetry")
    assert bugzilla.bugs[alert.bug]["component"] == "Telemetry"


def test_a_bad_key_stops_the_step_with_one_error(bugzilla, store):
    for i in range(4):
        store.save_alert(make_alert(f"k{i}"))
    alerts = store.alerts()
    step = StepLog("file bugs")
    client = client_for(bugzilla.url, key="bad")
    requests = {a.id: bug_request(a) for a in alerts.values()}
    settings = settings_for(bugzilla.url)
    filing.file_bugs(
        alerts.values(), requests, client, "2025-01-10", settings, store.save_alert, step
    )
    assert len(step.errors) == 1 and "BUGZILLA_API_KEY" in step.errors[0]
    assert bugzilla.created == 0


def link(store, bugzilla, summaries):
    step = StepLog("link bugs")
    client = client_for(bugzilla.url)
    settings = settings_for(bugzilla.url)
    alerts = store.alerts()
    filing.link_summaries(summaries, alerts, client, "2025-01-10", settings, store.save_alert, step)
    return step


def test_bugs_of_a_summary_see_each_other_and_linking_is_idempotent(bugzilla, store):
    for i in range(3):
        store.save_alert(make_alert(f"l{i}", summary="s-A"))
    store.save_alert(make_alert("m0", summary="s-B"))
    file_all(store, bugzilla)
    alerts = store.alerts()
    ids = {k: a.bug for k, a in alerts.items()}
    first = link(store, bugzilla, [Summary("s-A", "2025-01-01", ["l0", "l1", "l2"])])
    assert first.counts == {"see-also links added": 6}
    for key in ("l0", "l1", "l2"):
        others = {f"{bugzilla.url}/show_bug.cgi?id={ids[k]}" for k in ids if k not in (key, "m0")}
        assert set(bugzilla.bugs[ids[key]]["see_also"]) == others
    assert bugzilla.bugs[ids["m0"]]["see_also"] == []
    puts = sum(1 for method, _ in bugzilla.log if method == "PUT")
    again = link(store, bugzilla, [Summary("s-A", "2025-01-01", ["l0", "l1", "l2"])])
    assert again.counts == {} and sum(1 for m, _ in bugzilla.log if m == "PUT") == puts


def sync(store, bugzilla, run_date):
    step = StepLog("sync bugs")
    saved = []

    def save(alert):
        saved.append(alert.id)
        store.save_alert(alert)

    client = client_for(bugzilla.url)
    settings = settings_for(bugzilla.url)
    lifecycle.sync_bugs(store.alerts().values(), client, run_date, settings, save, step)
    return step, saved


def test_quiet_day_sync_records_resolutions_duplicates_and_reopens(bugzilla, store):
    for key in ("fixed", "dup", "wfm", "reopen", "open", "dup_open"):
        store.save_alert(make_alert(key))
    bugzilla.now = "2025-01-09T08:00:00Z"
    file_all(store, bugzilla, run_date="2025-01-09")
    bug = {k: a.bug for k, a in store.alerts().items()}
    target = max(bug.values()) + 1
    bugzilla.load([{**bugzilla.bugs[bug["open"]], "id": target, "whiteboard": ""}])
    bugzilla.set_state(target, "FIXED")
    bugzilla.set_state(bug["fixed"], "FIXED")
    bugzilla.set_state(bug["dup"], "DUPLICATE", dupe_of=bug["fixed"])
    bugzilla.set_state(bug["wfm"], "WORKSFORME")
    bugzilla.set_state(bug["reopen"], "INVALID")
    bugzilla.set_state(bug["dup_open"], "DUPLICATE", dupe_of=bug["open"])
    step, saved = sync(store, bugzilla, "2025-01-10")
    alerts = store.alerts()
    state = {k: (a.status, a.resolution, a.duplicate_of) for k, a in alerts.items()}
    assert state == {
        "fixed": (STATUS_RESOLVED, "FIXED", None),
        "dup": (STATUS_RESOLVED, "FIXED", bug["fixed"]),
        "wfm": (STATUS_RESOLVED, "WORKSFORME", None),
        "reopen": (STATUS_RESOLVED, "INVALID", None),
        "open": (STATUS_NEW, "", None),
        "dup_open": (STATUS_NEW, "", bug["open"]),
    }
    assert step.counts["checked"] == 6 and step.errors == []
    bugzilla.set_state(bug["reopen"], "")
    step, saved = sync(store, bugzilla, "2025-01-11")
    assert saved == ["reopen"] and store.alerts()["reopen"].status == STATUS_NEW
    assert store.alerts()["reopen"].history[-1].event == "reopened"
    step, saved = sync(store, bugzilla, "2025-01-12")  # a quiet day: read, nothing changes
    assert saved == [] and step.counts == {"checked": 6}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("last_change_time", "Mon, 06 Jan 2020 15:20:55 GMT"),
        ("dupe_of", "bug 5"),
        ("flags", ["needinfo?"]),
        ("resolution", {"name": "FIXED"}),
    ],
)
def test_a_malformed_bug_record_fails_only_its_alert(bugzilla, store, field, value):
    for key in ("bad", "fixed", "quiet"):
        store.save_alert(make_alert(key))
    bugzilla.now = "2025-01-01T09:00:00Z"
    file_all(store, bugzilla, run_date="2025-01-01")
    bug = {k: a.bug for k, a in store.alerts().items()}
    if field == "dupe_of":
        bugzilla.set_state(bug["bad"], "DUPLICATE", dupe_of=bug["fixed"])
    bugzilla.bugs[bug["bad"]][field] = value
    bugzilla.set_state(bug["fixed"], "FIXED")
    bugzilla.now = "2025-01-20T06:00:00Z"
    step, _ = sync(store, bugzilla, "2025-01-20")
    assert len(step.errors) == 1 and step.errors[0].startswith("alert bad: ")
    assert f"bug {bug['bad']}: malformed {field}" in step.errors[0]
    alerts = store.alerts()
    assert alerts["fixed"].status == STATUS_RESOLVED and alerts["bad"].status == STATUS_NEW
    assert step.counts == {"checked": 2, "resolved": 1, "reminded": 1}  # the quiet one nudged
    assert len(bugzilla.comments[bug["bad"]]) == 1  # no reminder on a bug it cannot read


def test_an_inactive_bug_is_nudged_once_per_reminder_period(bugzilla, store):
    store.save_alert(make_alert("r1", recipients=("owner@example.com", "cc@example.com")))
    bugzilla.now = "2025-01-01T09:00:00Z"
    file_all(store, bugzilla, run_date="2025-01-01")
    bug_id = store.alerts()["r1"].bug
    comments = lambda: len(bugzilla.comments[bug_id]) - 1  # noqa: E731 - after the description
    for day in ("2025-01-02", "2025-01-07"):  # active within 7 days: no reminder
        bugzilla.now = f"{day}T06:00:00Z"
        assert sync(store, bugzilla, day)[0].counts.get("reminded") is None
    bugzilla.now = "2025-01-08T06:00:00Z"
    step, _ = sync(store, bugzilla, "2025-01-08")
    assert step.counts["reminded"] == 1 and comments() == 1
    needinfo = [f for f in bugzilla.bugs[bug_id]["flags"] if f["name"] == "needinfo"]
    assert [f["requestee"] for f in needinfo] == ["owner@example.com"]  # already asked once
    assert store.alerts()["r1"].last_reminder == "2025-01-08"
    for day in ("2025-01-09", "2025-01-14"):
        bugzilla.now = f"{day}T06:00:00Z"
        sync(store, bugzilla, day)
    assert comments() == 1  # measured: not again within the next 7 days
    bugzilla.now = "2025-01-15T06:00:00Z"
    sync(store, bugzilla, "2025-01-15")
    assert comments() == 2


def test_a_crash_after_the_reminder_does_not_nudge_twice(bugzilla, store):
    store.save_alert(make_alert("r2"))
    bugzilla.now = "2025-01-01T09:00:00Z"
    file_all(store, bugzilla, run_date="2025-01-01")
    bug_id = store.alerts()["r2"].bug
    bugzilla.bugs[bug_id]["flags"] = []  # the owner answered the first needinfo
    bugzilla.now = "2025-01-20T06:00:00Z"

    def dies(alert):
        raise Crash

    client = client_for(bugzilla.url)
    settings = settings_for(bugzilla.url)
    with pytest.raises(Crash):
        lifecycle.sync_bugs(
            store.alerts().values(), client, "2025-01-20", settings, dies, StepLog("s")
        )
    assert len(bugzilla.comments[bug_id]) == 2
    assert bugzilla.bugs[bug_id]["flags"][0]["requestee"] == "owner@example.com"
    step, _ = sync(store, bugzilla, "2025-01-20")
    assert step.counts.get("reminded") is None and len(bugzilla.comments[bug_id]) == 2
