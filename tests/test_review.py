"""`probes diff` and `backtest` on a real git repository with two commits of `probes/`."""

import datetime as dt
import subprocess
import textwrap
from pathlib import Path

import pytest

from alerting.cli import main
from alerting.data.generator import generate_for_probes
from alerting.data.series import series_from_rows
from alerting.detect.model import Detection, Snapshot
from alerting.detect.registry import Technique, get_technique
from alerting.probes.config import collect
from alerting.review.backtest import backtest, union_configs
from alerting.review.baseline import configs_at
from alerting.review.diff import diff_configs, diff_markdown
from alerting.settings import Settings

HEADER = "$schema: moz://mozilla.org/schemas/glean/metrics/2-0-0\n\n"


def metric(name: str, monitor: str = "", metric_type: str = "timing_distribution") -> str:
    """One metric definition in `category:` with an optional metadata.monitor block."""
    text = textwrap.dedent(
        f"""\
          {name}:
            type: {metric_type}
            time_unit: millisecond
            description: Test metric {name}.
            bugs:
              - https://bugzilla.mozilla.org/show_bug.cgi?id=1
            data_reviews:
              - https://bugzilla.mozilla.org/show_bug.cgi?id=1
            notification_emails:
              - owner@example.com
            expires: never
        """
    )
    text = textwrap.indent(text, "  ")
    if monitor:
        text += "    metadata:\n      monitor:\n" + textwrap.indent(
            textwrap.dedent(monitor), " " * 8
        )
    return text


BASE = (
    HEADER
    + "perf:\n"
    + metric("first_paint", "platforms: [Windows]\nchange_detection_args: [threshold=0.85]\n")
    + metric("load_time", "alert: False\n")
    + metric("unmonitored")
)

CHANGE = (
    HEADER
    + "perf:\n"
    + metric(
        "first_paint",
        "platforms: [Windows, Linux]\nlower_is_better: True\nchange_detection_args: [threshold=0.9]\n",
    )
    + metric("load_time")
    + metric("unmonitored", "platforms: [Darwin]\n")
)


def git(repo: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=T", "-c", "user.email=t@example.org", *args]
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    """Commit 1 = BASE, commit 2 = CHANGE; the working directory is the repository."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("ALERTING_DATA_SOURCE", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "repo"
    (root / "probes" / "perf").mkdir(parents=True)
    git(root, "init", "--quiet", "-b", "main")
    path = root / "probes" / "perf" / "metrics.yaml"
    path.write_text(BASE)
    git(root, "add", ".")
    git(root, "commit", "--quiet", "-m", "base")
    path.write_text(CHANGE)
    git(root, "commit", "--quiet", "-am", "change")
    monkeypatch.chdir(root)
    return root


def test_configs_at_reads_the_base_commit(repo):
    old, problems = configs_at("HEAD~1")
    assert problems == []
    assert {c.probe: c.platforms for c in old} == {
        "perf.first_paint": ["Windows"],
        "perf.load_time": ["Windows", "Linux", "Darwin"],
    }
    assert old[0].file == "probes/perf/metrics.yaml"


def test_unknown_base_is_a_clear_user_error(repo, capsys):
    assert main(["probes", "diff", "--base", "no-such-ref"]) == 1
    assert "fetch-depth: 0" in capsys.readouterr().err


def test_diff_names_starts_stops_and_field_changes(repo):
    old, _ = configs_at("HEAD~1")
    new, problems = collect(["probes"])
    diff = diff_configs(old, new, problems)
    assert [c.probe for c in diff.started] == ["perf.unmonitored"]
    assert [(c.probe, why) for c, why in diff.stopped] == [
        ("perf.load_time", "monitor block or probe removed")
    ]
    [(changed, fields)] = diff.changed
    assert changed.probe == "perf.first_paint"
    assert {(f.field, str(f.before), str(f.after)) for f in fields} == {
        ("platforms", "['Windows']", "['Windows', 'Linux']"),
        ("lower_is_better", "None", "True"),
        ("args", str(old[0].args), str(new[0].args)),
    }
    assert old[0].args["threshold"] == 0.85 and new[0].args["threshold"] == 0.9


def test_diff_command_prints_markdown(repo, capsys):
    assert main(["probes", "diff", "--base", "HEAD~1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### Monitoring changes against HEAD~1")
    assert "Probes: 1 starts, 1 stops, 1 changes monitoring." in out
    assert "| perf.first\\_paint | platforms | Windows | Windows, Linux |" in out
    assert "| perf.first\\_paint | lower\\_is\\_better | (unset) | True |" in out
    assert "| perf.load\\_time | email | monitor block or probe removed |" in out


def test_diff_of_an_unchanged_tree_says_so(repo, capsys):
    assert main(["probes", "diff", "--base", "HEAD"]) == 0
    assert "No probe starts, stops or changes monitoring." in capsys.readouterr().out


def test_broken_config_is_reported_as_stopping_with_the_reason(repo):
    path = repo / "probes" / "perf" / "metrics.yaml"
    path.write_text(CHANGE.replace("platforms: [Darwin]", "platforms: [Plan9]"))
    old, _ = configs_at("HEAD")
    new, problems = collect(["probes"])
    markdown = diff_markdown(diff_configs(old, new, problems), "HEAD")
    assert "perf.unmonitored" in markdown and "config now invalid (platforms" in markdown


def test_a_file_that_no_longer_loads_stops_its_probes_with_that_reason(repo, capsys):
    (repo / "probes" / "other").mkdir()
    (repo / "probes" / "other" / "metrics.yaml").write_text(
        HEADER + "other:\n" + metric("kept", "alert: False\n")
    )  # still monitored: the silences file is read against a list that is not empty
    until = dt.date.today() + dt.timedelta(days=30)  # the command checks against today
    (repo / "probes" / "silences.yaml").write_text(
        f'silences:\n  - probes: "perf.first_paint"\n    until: {until}\n    reason: r\n'
    )
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "silence")
    path = repo / "probes" / "perf" / "metrics.yaml"
    path.write_text(CHANGE + "  bad: [\n")
    assert main(["probes", "diff", "--base", "HEAD"]) == 0
    out = capsys.readouterr().out
    assert "perf.first\\_paint" in out and "its file is now invalid (line " in out
    assert "monitor block or probe removed" not in out
    assert "silence" not in out.lower()  # the silences file did not change


def changed_pairs():
    old, _ = configs_at("HEAD~1")
    new, problems = collect(["probes"])
    changed = diff_configs(old, new, problems).changed_probes
    before, after = {c.probe: c for c in old}, {c.probe: c for c in new}
    return [(before.get(p), after.get(p)) for p in changed]


END = dt.date(2026, 11, 1)
START = END - dt.timedelta(days=89)


def fake_detect(series, args):
    """Deterministic stand-in: which change it reports depends only on the threshold."""
    snapshot = Snapshot(median=1.0, p05=0.5, p95=2.0, samples=100.0)
    days_back = [200, 10] if args["threshold"] < 0.88 else [200, 30]  # 200: outside the window
    return [
        Detection(END - dt.timedelta(days=d), "", "up", "fake", 1.0, "test", snapshot, snapshot)
        for d in days_back
    ]


def test_backtest_runs_each_side_with_its_own_args_platforms_and_window(repo, monkeypatch):
    fake = Technique("fake", "test", fake_detect)
    monkeypatch.setattr("alerting.review.backtest.get_technique", lambda name: fake)
    pairs = changed_pairs()
    data = generate_for_probes(union_configs(pairs), end=END, days=240, seed=7)

    results = {
        r.probe: r for r in backtest(pairs, series_from_rows(data.rows), Settings(), START, END)
    }

    assert set(results) == {"perf.first_paint", "perf.load_time", "perf.unmonitored"}
    paint = results["perf.first_paint"]
    # Old: threshold 0.85 on Windows; new: threshold 0.9 on Windows and Linux.
    assert [(h.platform, (END - h.detection.date).days) for h in paint.old_hits] == [
        ("Windows", 10)
    ]
    assert sorted((h.platform, (END - h.detection.date).days) for h in paint.new_hits) == [
        ("Linux", 30),
        ("Windows", 30),
    ]
    assert paint.only_old == paint.old_hits and paint.only_new == paint.new_hits
    load = results["perf.load_time"]  # stops: default platforms before, nothing after
    assert sorted(h.platform for h in load.old_hits) == ["Darwin", "Linux", "Windows"]
    assert load.new is None and load.new_hits == []
    started = results["perf.unmonitored"]
    assert started.old is None and [h.platform for h in started.new_hits] == ["Darwin"]


def test_backtest_with_the_real_technique_matches_running_it_directly(repo):
    pairs = changed_pairs()
    data = generate_for_probes(union_configs(pairs), end=END, days=240, seed=7)
    series = series_from_rows(data.rows)

    results = backtest(pairs, series, Settings(), START, END)

    for result in results:
        for config, hits in ((result.old, result.old_hits), (result.new, result.new_hits)):
            if config is None:
                assert hits == []
                continue
            technique = get_technique(config.technique)
            expected = []
            for key in sorted(k for k in series if k.metric == config.metric):
                if key.platform not in config.platforms:
                    continue
                expected += [
                    (key.platform, d.date)
                    for d in technique.detect(series[key].until(END), config.args)
                    if START <= d.date <= END
                ]
            assert sorted((h.platform, h.detection.date) for h in hits) == sorted(expected)


def test_backtest_command_without_credentials_says_it_uses_sample_data(repo, monkeypatch, capsys):
    monkeypatch.setenv("ALERTING_DATA_SOURCE", "bigquery")
    assert main(["backtest", "--base", "HEAD~1", "--days", "90"]) == 0
    out = capsys.readouterr().out
    assert "No data credentials in this job" in out
    assert "embedded sample data" in out
    assert "| probe | alerts at HEAD\\~1 | alerts with this change | no longer | new |" in out
    assert "| perf.load\\_time |" in out and "not monitored |" in out
