"""`alerting run` with ALERTING_DELIVERY_MODE=live against the Bugzilla double and a real SMTP
server: each alert filed once, summaries linked, resolutions synced on quiet days, an inactive
bug nudged once, one digest per owner. Every figure asserted is counted on the servers."""

from __future__ import annotations

import datetime as dt

import pytest

from alerting.alerts.store import StateStore
from alerting.errors import UserError
from alerting.pipeline.run import run
from alerting.settings import load_settings
from tests.doubles.bugzilla import API_KEY, BugzillaDouble
from tests.doubles.hg_server import HgDouble
from tests.doubles.smtp import SmtpDouble
from tests.test_run import (  # noqa: F401  (test_technique: the test-only detector)
    METRICS_YAML,
    START,
    nightlies,
    snapshot,
    test_technique,
    write_rows,
)

CHANGE_DAY = 50


@pytest.fixture
def live(tmp_path, monkeypatch):
    (tmp_path / "probes").mkdir()
    (tmp_path / "probes" / "metrics.yaml").write_text(METRICS_YAML.replace("[EXPLODE]", "[]"))
    steps = {
        ("networking_page_load_time", "Windows"): CHANGE_DAY,
        ("networking_page_load_time", "Linux"): CHANGE_DAY,
        ("networking_dns_time", "Windows"): CHANGE_DAY,
    }
    write_rows(tmp_path / "rows.jsonl", 75, steps)
    with HgDouble(nightlies(120)) as hg, BugzillaDouble() as bugzilla, SmtpDouble() as smtp:
        (tmp_path / "alerting.toml").write_text(
            f'[data]\nsource = "files"\npaths = ["{tmp_path / "rows.jsonl"}"]\n'
            f'[detect]\nlookback_days = 30\n[hg]\nurl = "{hg.url}"\n'
        )
        for name, value in {
            "ALERTING_DELIVERY_MODE": "live",
            "ALERTING_BUGZILLA_URL": bugzilla.url,
            "ALERTING_EMAIL_BACKEND": "smtp",
            "ALERTING_SMTP_HOST": "127.0.0.1",
            "ALERTING_SMTP_PORT": str(smtp.port),
            "ALERTING_SMTP_STARTTLS": "false",
            "BUGZILLA_API_KEY": API_KEY,
        }.items():
            monkeypatch.setenv(name, value)
        yield tmp_path, bugzilla, smtp


def run_on(root, bugzilla, day: int, today: dt.date | None = None):
    """The run of data day `day`, happening that day unless `today` says otherwise."""
    date = START + dt.timedelta(days=day)
    bugzilla.now = f"{date.isoformat()}T07:00:00Z"
    return run(load_settings(root), root=root, as_of=date, today=today or date)


def by_probe(root):
    alerts = StateStore(root / "state").alerts().values()
    return {(a.probe.split(".")[-1], a.platform): a for a in alerts}


def test_live_run_files_links_syncs_nudges_and_mails_once(live):
    root, bugzilla, smtp = live
    first = run_on(root, bugzilla, 59)
    assert first.errors == [] and len(first.new_alerts) == 3
    alerts = by_probe(root)
    windows, linux = alerts[("page_load_time", "Windows")], alerts[("page_load_time", "Linux")]
    dns = alerts[("dns_time", "Windows")]
    assert bugzilla.created == 2 and {windows.bug, linux.bug} == set(bugzilla.bugs)
    assert windows.delivery_state == linux.delivery_state == "filed"
    assert windows.summary == linux.summary
    assert bugzilla.bugs[windows.bug]["see_also"] == [f"{bugzilla.url}/show_bug.cgi?id={linux.bug}"]
    assert bugzilla.bugs[linux.bug]["see_also"] == [f"{bugzilla.url}/show_bug.cgi?id={windows.bug}"]
    assert all(len(bugzilla.attachments[b]) == 1 for b in (windows.bug, linux.bug))
    assert sorted(r for rcpt, _ in smtp.received for r in rcpt) == [
        "dns-owner@example.com",
        "necko@example.com",
    ]
    assert dns.delivery_state == "sent"

    state = snapshot(root / "state")
    again = run_on(root, bugzilla, 59)  # the same day again: nothing new anywhere
    assert again.errors == [] and again.new_alerts == []
    assert bugzilla.created == 2 and len(smtp.received) == 2 and snapshot(root / "state") == state

    bugzilla.now = "2026-10-31T12:00:00Z"
    bugzilla.set_state(windows.bug, "FIXED")
    quiet = run_on(root, bugzilla, 60)  # no new alert: resolutions are still read
    assert quiet.new_alerts == [] and quiet.errors == []
    assert by_probe(root)[("page_load_time", "Windows")].resolution == "FIXED"
    sync = next(s for s in quiet.steps if s.name == "sync bugs")
    assert sync.counts == {"checked": 2, "resolved": 1}

    comments = lambda: len(bugzilla.comments[linux.bug])  # noqa: E731
    before = comments()
    run_on(root, bugzilla, 66)  # linux bug quiet since day 59: 7 days
    assert comments() == before + 1
    for day in (67, 70, 72):
        run_on(root, bugzilla, day)
    assert comments() == before + 1  # measured: one nudge within the reminder period
    assert by_probe(root)[("page_load_time", "Linux")].last_reminder == "2026-11-06"

    bugzilla.now = "2026-11-13T12:00:00Z"
    bugzilla.set_state(linux.bug, "DUPLICATE", dupe_of=windows.bug)
    run_on(root, bugzilla, 73)
    linux_now = by_probe(root)[("page_load_time", "Linux")]
    assert (linux_now.status, linux_now.resolution, linux_now.duplicate_of) == (
        "resolved",
        "FIXED",
        windows.bug,
    )
    assert bugzilla.created == 2 and len(smtp.received) == 2


def test_live_run_without_the_key_fails_before_doing_anything(live, monkeypatch):
    root, bugzilla, smtp = live
    monkeypatch.delenv("BUGZILLA_API_KEY")
    with pytest.raises(UserError, match="BUGZILLA_API_KEY"):
        run_on(root, bugzilla, 59)
    assert bugzilla.log == [] and smtp.received == [] and not (root / "state").exists()


def test_drafts_from_outbox_runs_are_filed_and_sent_once_delivery_goes_live(live, monkeypatch):
    root, bugzilla, smtp = live
    monkeypatch.setenv("ALERTING_DELIVERY_MODE", "outbox")
    drafted = run_on(root, bugzilla, 59)
    assert len(drafted.new_alerts) == 3
    assert bugzilla.created == 0 and smtp.received == []
    assert {a.delivery_state for a in by_probe(root).values()} == {"drafted"}
    monkeypatch.setenv("ALERTING_DELIVERY_MODE", "live")
    run_on(root, bugzilla, 60)
    assert bugzilla.created == 2
    assert len(smtp.received) == 2
    assert {a.delivery_state for a in by_probe(root).values()} == {"filed", "sent"}
    run_on(root, bugzilla, 61)
    assert bugzilla.created == 2 and len(smtp.received) == 2
