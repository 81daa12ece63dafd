"""The daily pipeline end to end on files: ids, reruns, lookback, failures, outbox drafts,
and unusable state (set aside in quarantine, never re-created or re-notified).

A tiny registered technique (`test_step`) keeps these tests about the pipeline, not about
detector tuning: it reports a step in the daily median once three days confirm it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from alerting.alerts.render import run_summary
from alerting.alerts.store import StateStore, dumps
from alerting.data.histogram import quantiles
from alerting.detect import registry
from alerting.detect.model import Detection, Snapshot
from alerting.detect.registry import ArgSpec, Technique
from alerting.errors import UserError
from alerting.pipeline import detect
from alerting.pipeline.run import run
from alerting.settings import load_settings
from tests.doubles.hg_server import HgDouble

START = dt.date(2026, 9, 1)


def step_detector(series, args):
    """A change where the median leaves the previous week's range by `ratio` for 3 days."""
    medians = quantiles(series.buckets, series.counts, [0.5])[:, 0]
    found = []
    i = 7
    while i + 3 <= series.n_days:
        base = np.nanmedian(medians[i - 7 : i])
        after = medians[i : i + 3]
        if np.all(after > base * args["ratio"]) or np.all(after < base / args["ratio"]):
            if args.get("explode"):
                raise RuntimeError("detector exploded")
            snap = lambda m, s: Snapshot(float(m), float(m) / 2, float(m) * 2, s)  # noqa: E731
            found.append(
                Detection(
                    date=series.day(i),
                    build_id=series.build_ids[i],
                    direction="up" if after[0] > base else "down",
                    technique="test_step",
                    score=float(after[0] / base),
                    score_meaning="ratio of medians",
                    before=snap(base, 1000.0),
                    after=snap(after[0], 1000.0),
                )
            )
            i += 7
            continue
        i += 1
    return found


TEST_STEP = Technique(
    name="test_step",
    summary="test-only step detector",
    detect=step_detector,
    args=(
        ArgSpec("ratio", float, 1.3, "step ratio"),
        ArgSpec("explode", bool, False, "raise, to test failure isolation"),
    ),
)


@pytest.fixture(autouse=True)
def test_technique(monkeypatch):
    """`test_step` is known for the duration of one test only."""
    monkeypatch.setitem(registry._TECHNIQUES, TEST_STEP.name, TEST_STEP)


METRICS_YAML = """\
$schema: moz://mozilla.org/schemas/glean/metrics/2-0-0
$tags:
  - 'Core :: Networking'

networking:
  page_load_time:
    type: timing_distribution
    time_unit: millisecond
    description: Time to load a page.
    bugs: ["https://bugzilla.mozilla.org/show_bug.cgi?id=1"]
    data_reviews: ["https://bugzilla.mozilla.org/show_bug.cgi?id=1"]
    notification_emails: [necko@example.com]
    expires: never
    metadata:
      monitor:
        alert: True
        platforms: [Windows, Linux]
        lower_is_better: True
        bugzilla_notification_emails: [owner@example.com, cc@example.com]
        change_detection_technique: test_step
  dns_time:
    type: timing_distribution
    time_unit: millisecond
    description: DNS lookup time.
    bugs: ["https://bugzilla.mozilla.org/show_bug.cgi?id=1"]
    data_reviews: ["https://bugzilla.mozilla.org/show_bug.cgi?id=1"]
    notification_emails: [dns-owner@example.com, necko@example.com]
    expires: never
    metadata:
      monitor:
        platforms: [Windows]
        change_detection_technique: test_step
        change_detection_args: [EXPLODE]
"""

BUCKETS = [1_000_000 * 2 ** (i / 4) for i in range(24)]


def day_rows(metric: str, os_value: str, day: dt.date, center: int) -> list[dict]:
    counts = {str(int(b)): max(0, 400 - 60 * abs(i - center)) for i, b in enumerate(BUCKETS)}
    counts = {k: v for k, v in counts.items() if v}
    return [
        {
            "app_id": "nightly",
            "channel": "nightly",
            "version": "147",
            "ping_type": "*",
            "os": os_value,
            "build_id": day.strftime("%Y%m%d") + "09",
            "build_date": f"{day.isoformat()} 09:00:00",
            "metric": metric,
            "metric_type": "timing_distribution",
            "metric_key": "",
            "client_agg_type": "summed_histogram",
            "total_users": "5000",
            "total_sample": str(sum(counts.values())),
            "non_norm_histogram": json.dumps(counts),
        }
    ]


def write_rows(path: Path, days: int, steps: dict[tuple[str, str], int]) -> None:
    """Rows for both metrics on Windows/Linux; `steps` moves a series' center on that day."""
    rows = []
    for metric in ("networking_page_load_time", "networking_dns_time"):
        for os_value in ("Windows", "Linux"):
            for d in range(days):
                moved = d >= steps.get((metric, os_value), days)
                rows += day_rows(
                    metric, os_value, START + dt.timedelta(days=d), 14 if moved else 10
                )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def nightlies(days: int) -> dict:
    """A json-firefoxreleases body with a morning nightly per day on each desktop platform."""
    builds = []
    for d in range(days):
        buildid = (START + dt.timedelta(days=d)).strftime("%Y%m%d") + "094512"
        for platform in ("win64", "linux64", "mac"):
            node = hashlib.sha1(f"{buildid}{platform}".encode(), usedforsecurity=False).hexdigest()
            builds.append(
                {
                    "node": node,
                    "buildid": buildid,
                    "channel": "nightly",
                    "platform": platform,
                    "app_version": "147.0a1",
                    "files_url": "",
                }
            )
    return {"builds": builds[::-1]}


@pytest.fixture
def repo(tmp_path: Path):
    (tmp_path / "probes").mkdir()
    (tmp_path / "probes" / "metrics.yaml").write_text(METRICS_YAML.replace("[EXPLODE]", "[]"))
    with HgDouble(nightlies(120)) as hg:
        (tmp_path / "alerting.toml").write_text(
            '[data]\nsource = "files"\npaths = ["rows.jsonl"]\n'
            f'[detect]\nlookback_days = 30\n[hg]\nurl = "{hg.url}"\n'
        )
        yield tmp_path


def run_in(repo: Path, day: dt.date, **kwargs):
    return run(load_settings(repo, environ={}), root=repo, as_of=day, **kwargs)


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_a_step_becomes_one_alert_with_a_drafted_bug_and_reruns_change_no_byte(repo):
    write_rows(repo / "rows.jsonl", 60, {("networking_page_load_time", "Windows"): 50})
    first = run_in(repo, START + dt.timedelta(days=59))
    assert first.errors == []
    alerts = StateStore(repo / "state").alerts()
    assert len(alerts) == 1
    alert = next(iter(alerts.values()))
    assert (alert.probe, alert.platform, alert.date) == (
        "networking.page_load_time",
        "Windows",
        "2026-10-21",
    )
    assert alert.build_id == "2026102109"
    assert alert.classification == "regression" and alert.unit == "ms"
    assert alert.delivery_state == "drafted"
    assert alert.recipients == ["owner@example.com", "cc@example.com"]
    assert (alert.bugzilla_product, alert.bugzilla_component) == ("Core", "Networking")
    assert alert.push_range.sample is False and alert.links["glam"].startswith("https://glam")
    assert (alert.push_range.previous_build, alert.push_range.build) == (
        "20261020094512",
        "20261021094512",
    )
    assert alert.links["treeherder_range"].endswith(alert.push_range.to_rev)
    request = json.loads((repo / f"state/outbox/bugs/{alert.id}.json").read_text())
    assert request["whiteboard"] == f"[telemetry-alert:{alert.id}]"
    assert (repo / f"state/summaries/{alert.summary}.json").is_file()
    assert len(alert.plot.days) == len(alert.plot.median) > 40

    before = snapshot(repo / "state")
    again = run_in(repo, START + dt.timedelta(days=59))
    assert again.new_alerts == [] and snapshot(repo / "state") == before
    later = run_in(repo, START + dt.timedelta(days=59))
    assert later.new_alerts == []
    text = (repo / f"state/alerts/{alert.id}.json").read_text()
    assert text.endswith("}\n") and text == dumps(json.loads(text))
    assert (repo / f"state/plots/{alert.id}.json").is_file() and "plot" not in json.loads(text)


def test_the_same_change_is_not_alerted_again_on_later_days(repo):
    write_rows(repo / "rows.jsonl", 60, {("networking_page_load_time", "Windows"): 40})
    ids = set()
    for last in range(43, 60):
        result = run_in(repo, START + dt.timedelta(days=last))
        ids.update(result.new_alerts)
    assert len(ids) == 1
    assert len(StateStore(repo / "state").alerts()) == 1


def test_first_monitored_probe_alerts_only_on_recent_changes(repo):
    write_rows(repo / "rows.jsonl", 100, {("networking_page_load_time", "Windows"): 20})
    result = run_in(repo, START + dt.timedelta(days=99))  # the change is 80 days old
    assert result.new_alerts == []
    detect = next(s for s in result.steps if s.name == "detect")
    assert detect.counts.get("outside lookback") == 1


def test_email_only_probe_gets_one_digest_per_recipient(repo):
    write_rows(repo / "rows.jsonl", 60, {("networking_dns_time", "Windows"): 50})
    result = run_in(repo, START + dt.timedelta(days=59))
    assert len(result.new_alerts) == 1
    drafts = sorted((repo / "state/outbox/emails/2026-10-30").glob("*.eml"))
    assert [p.name.split("-")[0] for p in drafts] == ["dns", "necko@example.com"]
    assert "networking.dns_time" in drafts[0].read_text()
    before = snapshot(repo / "state")
    run_in(repo, START + dt.timedelta(days=59))
    assert snapshot(repo / "state") == before


def test_one_failing_probe_does_not_stop_the_others(repo):
    (repo / "probes/metrics.yaml").write_text(METRICS_YAML.replace("[EXPLODE]", "[explode=True]"))
    write_rows(
        repo / "rows.jsonl",
        60,
        {("networking_page_load_time", "Linux"): 50, ("networking_dns_time", "Windows"): 50},
    )
    result = run_in(repo, START + dt.timedelta(days=59))
    assert any("networking.dns_time" in e and "exploded" in e for e in result.errors)
    alerts = StateStore(repo / "state").alerts().values()
    assert [(a.probe, a.platform) for a in alerts] == [("networking.page_load_time", "Linux")]


def test_probes_detected_in_batches_find_what_one_batch_finds(repo, tmp_path, monkeypatch):
    changes = {("networking_page_load_time", "Linux"): 50, ("networking_dns_time", "Windows"): 45}
    write_rows(repo / "rows.jsonl", 60, changes)
    day = START + dt.timedelta(days=59)
    one = run_in(repo, day)
    monkeypatch.setattr(detect, "BATCH", 1)  # every probe in its own batch
    (tmp_path / "batched").mkdir()
    for name in ("probes", "alerting.toml", "rows.jsonl"):
        (tmp_path / "batched" / name).symlink_to(repo / name)
    batched = run_in(tmp_path / "batched", day)
    assert len(one.new_alerts) == 2 and batched.new_alerts == one.new_alerts
    assert snapshot(tmp_path / "batched" / "state") == snapshot(repo / "state")


def test_a_broken_probe_config_affects_only_itself(repo):
    broken = METRICS_YAML.replace("platforms: [Windows]", "platforms: [Windoze]")
    (repo / "probes/metrics.yaml").write_text(broken.replace("[EXPLODE]", "[]"))
    write_rows(repo / "rows.jsonl", 60, {("networking_page_load_time", "Windows"): 50})
    result = run_in(repo, START + dt.timedelta(days=59))
    assert any("Windoze" in e for e in result.config_errors)
    assert len(result.new_alerts) == 1


def test_dry_run_writes_nothing(repo):
    write_rows(repo / "rows.jsonl", 60, {("networking_page_load_time", "Windows"): 50})
    result = run_in(repo, START + dt.timedelta(days=59), dry_run=True)
    assert len(result.new_alerts) == 1
    assert not (repo / "state").exists()


def _hg_unreachable(repo, monkeypatch) -> str:
    """Point hg at a closed port (one quick try); returns the settings to restore."""
    from alerting.alerts import pushes
    from alerting.http import make_session

    monkeypatch.setattr(pushes, "make_session", lambda: make_session(retries=1, backoff=0))
    settings_text = (repo / "alerting.toml").read_text()
    (repo / "alerting.toml").write_text(
        settings_text.replace('url = "http://127.0.0.1:', 'url = "http://127.0.0.1:1/x#')
    )
    return settings_text


def test_push_ranges_unknown_on_the_first_run_are_filled_in_later(repo, monkeypatch):
    write_rows(repo / "rows.jsonl", 60, {("networking_page_load_time", "Windows"): 50})
    settings_text = _hg_unreachable(repo, monkeypatch)
    first = run_in(repo, START + dt.timedelta(days=59))
    assert any("nightly builds unavailable" in e for e in first.errors)
    alert = next(iter(StateStore(repo / "state").alerts().values()))
    assert alert.push_range.to_rev == "" and "treeherder" not in alert.links
    (repo / "alerting.toml").write_text(settings_text)
    second = run_in(repo, START + dt.timedelta(days=60))
    assert second.errors == []
    alert = StateStore(repo / "state").alerts()[alert.id]
    assert alert.push_range.build == "20261021094512"
    assert alert.links["treeherder_range"].endswith(alert.push_range.to_rev)
    assert [e.event for e in alert.history[-2:]] == ["push range", "drafted"]
    draft = json.loads((repo / f"state/outbox/bugs/{alert.id}.json").read_text())
    assert "not known yet" not in draft["description"]
    assert alert.links["treeherder_range"] in draft["description"]


def test_a_bug_without_push_range_says_why_and_where_to_look_instead(repo, monkeypatch):
    """Was: "no previous nightly found" when hg could not be reached, a pushlog of the
    build's own day called "pushes between the nightlies", and "the culprit is most likely in
    this range" with no range to look through."""
    write_rows(repo / "rows.jsonl", 60, {("networking_page_load_time", "Windows"): 50})
    _hg_unreachable(repo, monkeypatch)
    run_in(repo, START + dt.timedelta(days=59))
    alert = next(iter(StateStore(repo / "state").alerts().values()))
    assert alert.history[1].event == "push range unknown"
    description = json.loads((repo / f"state/outbox/bugs/{alert.id}.json").read_text())[
        "description"
    ]
    assert (
        "Push range: not known yet (the list of nightly builds could not be read from "
        "127.0.0.1:1 when this alert was made); a later run looks for it again and adds it to "
        "this bug as a comment." in description
    )
    assert "no previous nightly" not in description
    assert "between the nightlies" not in description
    assert "most likely in this range" not in description
    assert "look through the push range" not in description
    # A nightly built in the small hours holds the pushes of the days before it.
    day = dt.date.fromisoformat(f"{alert.build_id[:4]}-{alert.build_id[4:6]}-{alert.build_id[6:8]}")
    span = f"startdate={day - dt.timedelta(days=2)}&enddate={day + dt.timedelta(days=1)}"
    assert span in alert.links["pushlog"]
    assert f"[pushes of the days before build {alert.build_id}](" in description
    assert f"look at the pushes before build {alert.build_id} (the pushlog above)" in description
    assert "look through the pushes before the build (the push range follows in a comment)" in (
        description
    )


def test_a_digest_goes_out_for_an_alert_without_push_range(repo, monkeypatch):
    """Was: step 7 crashed on every run when hg was unreachable (no push range, no digest)."""
    write_rows(repo / "rows.jsonl", 60, {("networking_dns_time", "Windows"): 50})
    _hg_unreachable(repo, monkeypatch)
    result = run_in(repo, START + dt.timedelta(days=59))
    assert [e for e in result.errors if "nightly builds unavailable" not in e] == []
    drafts = sorted((repo / "state/outbox/emails/2026-10-30").glob("*.eml"))
    assert len(drafts) == 2 and "Push range: not known yet (" in drafts[0].read_text()


def test_an_untagged_probe_files_where_the_settings_say(repo):
    untagged = METRICS_YAML.replace("$tags:\n  - 'Core :: Networking'\n", "")
    (repo / "probes/metrics.yaml").write_text(untagged.replace("[EXPLODE]", "[]"))
    with (repo / "alerting.toml").open("a") as settings:
        settings.write('[bugzilla]\ndefault_product = "Firefox"\ndefault_component = "General"\n')
    write_rows(repo / "rows.jsonl", 60, {("networking_page_load_time", "Windows"): 50})
    result = run_in(repo, START + dt.timedelta(days=59))
    (alert_id,) = result.new_alerts
    draft = json.loads((repo / f"state/outbox/bugs/{alert_id}.json").read_text())
    assert (draft["product"], draft["component"]) == ("Firefox", "General")


# -- unusable state: set aside, reported, never re-created or re-notified ------------------
DAY = START + dt.timedelta(days=59)


def first_alert(repo, metric: str):
    write_rows(repo / "rows.jsonl", 60, {(metric, "Windows"): 50})
    (alert_id,) = run_in(repo, DAY).new_alerts
    return alert_id


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # truncated
        lambda text: "[]\n",
        lambda text: text.replace('"status": "new"', '"status": "fixed"'),  # fails its schema
        lambda text: re.sub(r'"build_id": "[0-9]+"', '"build_id": "20261399000000"', text),
    ],
    ids=["truncated", "empty list", "unknown status", "no such build time"],
)
def test_a_corrupt_bug_alert_is_set_aside_and_not_recreated_or_refiled(repo, damage):
    alert_id = first_alert(repo, "networking_page_load_time")
    state = repo / "state"
    path = state / "alerts" / f"{alert_id}.json"
    damaged = damage(path.read_text())
    path.write_text(damaged)
    (state / "outbox" / "bugs" / f"{alert_id}.json").unlink()  # would be drafted again

    result = run_in(repo, DAY)
    assert result.new_alerts == [] and not path.exists()
    kept = state / "quarantine" / "alerts" / f"{alert_id}.json"
    assert kept.read_text() == damaged
    assert f"alerts/{alert_id}.json" in kept.with_name(kept.name + ".problems").read_text()
    assert not (state / "outbox" / "bugs" / f"{alert_id}.json").exists()
    detect = next(s for s in result.steps if s.name == "detect")
    assert detect.counts.get("quarantined, not re-created") == 1
    assert any(str(path) in e for e in result.errors)  # reported where it was found
    assert [q.split(" ")[0] for q in result.quarantined] == [f"quarantine/alerts/{alert_id}.json"]
    summary = run_summary(result)
    assert "### Set aside in state/quarantine/ (1)" in summary and alert_id in summary

    before = snapshot(state)
    again = run_in(repo, DAY + dt.timedelta(days=1))
    assert again.new_alerts == [] and again.errors == [] and len(again.quarantined) == 1
    assert snapshot(state) == before


def test_a_corrupt_email_alert_is_not_notified_again(repo):
    alert_id = first_alert(repo, "networking_dns_time")
    state = repo / "state"
    (state / "alerts" / f"{alert_id}.json").write_text("{")
    drafts = state / "outbox" / "emails" / DAY.isoformat()
    for draft in drafts.glob("*.eml"):
        draft.unlink()
    result = run_in(repo, DAY)
    assert result.new_alerts == [] and list(drafts.glob("*.eml")) == []
    assert (state / "quarantine" / "alerts" / f"{alert_id}.json").read_text() == "{"


def test_a_person_moving_a_fixed_record_back_resumes_it(repo):
    alert_id = first_alert(repo, "networking_page_load_time")
    state = repo / "state"
    path = state / "alerts" / f"{alert_id}.json"
    good = path.read_text()
    path.write_text(good.replace('"status": "new"', '"status": "fixed"'))
    run_in(repo, DAY)
    kept = state / "quarantine" / "alerts" / f"{alert_id}.json"
    kept.unlink()
    kept.with_name(kept.name + ".problems").unlink()
    path.write_text(good)
    result = run_in(repo, DAY)
    assert result.quarantined == [] and result.errors == [] and result.new_alerts == []
    assert alert_id in StateStore(state).alerts()


def test_a_corrupt_first_seen_record_is_set_aside_before_it_is_rewritten(repo):
    first_alert(repo, "networking_page_load_time")
    probe = repo / "state" / "probes" / "networking.page_load_time.json"
    probe.write_text('{"probe": 3}')
    result = run_in(repo, DAY)
    assert result.new_alerts == []  # still known as alerted
    kept = repo / "state" / "quarantine" / "probes" / probe.name
    assert kept.read_text() == '{"probe": 3}'
    assert json.loads(probe.read_text())["schema"] == 1
    assert any(f"{probe}: /probe: 3 is not of type 'string'" in e for e in result.errors)


def test_an_email_alert_whose_record_is_a_folder_is_never_notified_again(repo):
    """The record can be neither read nor moved aside: its alert is held where it is, reported
    on every run, and neither re-created nor delivered again."""
    alert_id = first_alert(repo, "networking_dns_time")
    state = repo / "state"
    path = state / "alerts" / f"{alert_id}.json"
    path.unlink()
    path.mkdir()
    drafts = state / "outbox" / "emails" / DAY.isoformat()
    for draft in drafts.glob("*.eml"):
        draft.unlink()
    for day in (DAY, DAY + dt.timedelta(days=1)):
        result = run_in(repo, day)
        assert result.new_alerts == [] and list(drafts.glob("*.eml")) == []
        assert path.is_dir() and not (state / "quarantine").exists()
        assert f"{path}: is a folder, not a file" in result.errors
        assert not [e for e in result.errors if "could not write" in e]
        (held,) = result.quarantined
        assert held.startswith(f"alerts/{alert_id}.json (left in place): ")
        detect = next(s for s in result.steps if s.name == "detect")
        assert detect.counts.get("quarantined, not re-created") == 1


def test_a_symbolic_link_among_the_alerts_is_set_aside_and_the_run_goes_on(repo):
    alert_id = first_alert(repo, "networking_page_load_time")
    state = repo / "state"
    link = state / "alerts" / "0123456789abcdef.json"
    link.symlink_to(f"{alert_id}.json")
    before = (state / "alerts" / f"{alert_id}.json").read_text()
    result = run_in(repo, DAY + dt.timedelta(days=1))
    assert result.new_alerts == [] and not os.path.lexists(link)
    assert (state / "quarantine" / "alerts" / link.name).is_symlink()
    assert any(f"{link}: refused state file" in e for e in result.errors)
    assert (state / "alerts" / f"{alert_id}.json").read_text() == before


@pytest.mark.parametrize("how", ["a file", "a symbolic link"])
def test_a_run_that_cannot_keep_alert_records_creates_and_delivers_nothing(repo, how):
    first_alert(repo, "networking_dns_time")
    state = repo / "state"
    shutil.move(state / "alerts", repo / "alerts-away")
    if how == "a file":
        (state / "alerts").write_text("not a folder")
    else:
        (state / "alerts").symlink_to(repo / "alerts-away", target_is_directory=True)
    for draft in (state / "outbox").rglob("*.eml"):
        draft.unlink()
    before = snapshot(repo)
    with pytest.raises(UserError, match="state/alerts/ can be neither read nor kept"):
        run_in(repo, DAY)
    assert snapshot(repo) == before
