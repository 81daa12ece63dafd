"""`alerting run` and `alerting alerts` from the command line, on the embedded default."""

import json
import re
import shutil
from pathlib import Path

import pytest

from alerting.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """A copy of this repository's probes/, run once with the embedded default."""
    root = tmp_path_factory.mktemp("demo")
    shutil.copytree(REPO / "probes", root / "probes")
    assert main(["run", "-q", "--root", str(root)]) == 0
    return root


def test_readme_run_produces_alerts_drafts_and_is_idempotent(demo, tmp_path, monkeypatch, capsys):
    alerts = sorted((demo / "state/alerts").glob("*.json"))
    assert alerts, "the embedded default should raise at least one alert"
    assert (demo / "state/outbox").is_dir()
    before = {p: p.read_bytes() for p in sorted((demo / "state").rglob("*")) if p.is_file()}
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["run", "--root", str(demo)]) == 0
    after = {p: p.read_bytes() for p in sorted((demo / "state").rglob("*")) if p.is_file()}
    assert after == before
    printed = capsys.readouterr().out
    assert "No new alerts." in printed
    assert printed.startswith(summary.read_text())
    # Was: a table of dashes and "No new alerts." with no word that alerts exist.
    assert f"{len(alerts)} alerts (" in printed
    assert "open) in state/. Next: `alerting alerts list`" in printed


def test_alerts_list_takes_the_open_alerts_the_run_counts_and_every_resolution(demo, capsys):
    assert main(["run", "--root", str(demo)]) == 0
    counted = re.search(r"(\d+) alerts \((\d+) open\)", capsys.readouterr().out)
    assert counted and int(counted[2]) > 0
    root = ["--json", "--root", str(demo)]
    assert main(["alerts", "list", "--status", "open", *root]) == 0
    opened = json.loads(capsys.readouterr().out)
    assert len(opened) == int(counted[2]) and {a["status"] for a in opened} == {"new"}
    assert main(["alerts", "list", "--status", "Open", *root]) == 0  # any case, as resolutions
    assert json.loads(capsys.readouterr().out) == opened
    for resolution in ("inactive", "INACTIVE", "incomplete", "moved"):
        assert main(["alerts", "list", "--status", resolution, *root]) == 0
        assert json.loads(capsys.readouterr().out) == []
    with pytest.raises(SystemExit):
        main(["alerts", "list", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "only alerts with this status: open, expected, new, resolved, silenced" in shown
    assert "incomplete, inactive, moved" in shown


def test_alerts_list_and_show(demo, capsys):
    state = str(demo / "state")
    assert main(["alerts", "list", "--json", "--state", state]) == 0
    rows = json.loads(capsys.readouterr().out)
    keys = {"id", "probe", "metric", "platform", "label", "channel", "date", "build_id"}
    keys |= {"direction", "classification", "status", "bug", "summary", "push_range"}
    assert rows and all(keys <= set(row) for row in rows)
    assert [r["date"] for r in rows] == sorted((r["date"] for r in rows), reverse=True)
    assert main(["alerts", "list", "--state", state]) == 0
    table = capsys.readouterr().out
    assert "PROBE" in table and rows[0]["id"] in table
    assert main(["alerts", "list", "--status", "resolved", "--json", "--state", state]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["alerts", "show", rows[0]["id"][:8], "--json", "--root", str(demo)]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == rows[0]["id"]
    assert main(["alerts", "show", "zzzz", "--state", state]) == 1
    assert "no alert with id 'zzzz'" in capsys.readouterr().err
    assert main(["alerts", "show", "", "--state", state]) == 1
    ambiguous = capsys.readouterr().err
    assert f"starts {len(rows)} alert ids" in ambiguous and rows[0]["id"] in ambiguous


def test_probe_filter_and_dry_run(demo, capsys):
    assert main(["run", "--dry-run", "--probe", "no.such.*", "--root", str(demo)]) == 1
    assert "no monitored probe matches" in capsys.readouterr().err
    assert main(["run", "--dry-run", "--probe", "networking.*", "--root", str(demo)]) == 0


def test_bad_date_is_a_usage_error(demo):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--date", "yesterday", "--root", str(demo)])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("wait", ["nan", "inf", "-inf", "-5", "soon"])
def test_a_lock_wait_that_is_no_finite_duration_is_a_usage_error(demo, capsys, wait):
    """`nan` never timed out (a busy loop on sleep(0)), `inf` waited for ever, `-5` passed."""
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--lock-wait", wait, "--root", str(demo)])
    assert exit_info.value.code == 2
    assert "--lock-wait" in capsys.readouterr().err


def test_batches_in_worker_processes_give_the_same_state(demo, tmp_path, monkeypatch):
    """Detection split into batches run by worker processes changes nothing in the result."""
    import alerting.pipeline.detect

    monkeypatch.setattr(alerting.pipeline.detect, "BATCH", 2)
    root = tmp_path / "parallel"
    shutil.copytree(REPO / "probes", root / "probes")
    assert main(["run", "-q", "--root", str(root)]) == 0

    def files(base: Path) -> dict[str, bytes]:
        state = base / "state"
        return {str(p.relative_to(state)): p.read_bytes() for p in state.rglob("*") if p.is_file()}

    assert files(root) == files(demo)


def test_dry_run_lists_the_alerts_it_would_create(demo, tmp_path, capsys):
    """Was: "new alerts: 3" in the step table, then "No new alerts."."""
    root = tmp_path / "fresh"
    shutil.copytree(REPO / "probes", root / "probes")
    assert main(["run", "--dry-run", "--root", str(root)]) == 0
    printed = capsys.readouterr().out
    assert "No new alerts." not in printed and "not written: dry run" in printed
    count = len(list((demo / "state/alerts").glob("*.json")))
    assert f"new alerts: {count}" in printed and f"### New alerts ({count}," in printed
    assert "Dry run: nothing written" in printed and not (root / "state").exists()


def test_alerts_show_is_a_readable_summary(demo, capsys):
    """Was: about 400 lines of JSON with the plot arrays."""
    [alert] = [p.stem for p in (demo / "state/alerts").glob("*.json")][:1]
    assert main(["alerts", "show", alert, "--root", str(demo)]) == 0
    shown = capsys.readouterr().out
    assert len(shown.splitlines()) < 40 and "cdf_before" not in shown
    assert " from 2026-" in shown and "push range:" in shown and "--json" in shown


def test_clear_errors_for_the_usual_mistakes(demo, tmp_path, capsys, monkeypatch):
    """Each was silent, exit 0, or a raw message without a hint."""
    elsewhere = tmp_path / "not-a-repo"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["probes", "diff", "--base", "HEAD"]) == 1
    error = capsys.readouterr().err
    assert "not a git repository; run this in a checkout" in error and "rev-parse" not in error
    for argv in (["alerts", "list"], ["run"], ["report", "--out", str(tmp_path / "site")]):
        assert main([*argv, "--root", str(elsewhere)]) == 1
        assert "is not an alerting repository" in capsys.readouterr().err
    assert main(["alerts", "list", "--status", "bogus", "--root", str(demo)]) == 1
    assert (
        "unknown status 'bogus'; use one of open, expected, new, resolved, silenced or a "
        "resolution (fixed, wontfix, invalid, worksforme, duplicate, incomplete, inactive, moved)"
        in capsys.readouterr().err
    )
    assert main(["run", "--dry-run", "--date", "2030-01-01", "--root", str(demo)]) == 1
    assert "outside the data, which covers 2025-11-02 to 2026-11-01" in capsys.readouterr().err
    assert main(["run", "--dry-run", "--probe", "networking", "--root", str(demo)]) == 1
    assert "did you mean 'networking.*'?" in capsys.readouterr().err
    empty = tmp_path / "empty" / "probes"
    empty.mkdir(parents=True)
    assert main(["probes", "validate", str(empty)]) == 1
    assert "no metrics.yaml files" in capsys.readouterr().err


def test_one_name_per_option_and_old_spellings_still_work(demo, capsys):
    from alerting.cli import build_parser

    parser = build_parser()
    for argv in (["run"], ["detect", "x"], ["backtest", "--base", "HEAD"]):
        assert parser.parse_args([*argv, "--date", "2026-10-01"]).date.isoformat() == "2026-10-01"
    assert (
        parser.parse_args(["detect", "x", "--as-of", "2026-10-01"]).date.isoformat() == "2026-10-01"
    )
    assert parser.parse_args(["backtest", "--base", "B", "--end", "2026-10-01"]).date is not None
    for argv in (["alerts", "list"], ["alerts", "show", "x"], ["report", "--out", "o"], ["run"]):
        assert parser.parse_args([*argv, "--root", "r"]).root == Path("r")
    assert main(["alerts", "list", "--state", str(demo / "state")]) == 0  # hidden alias
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["detect", "--help"])
    text = capsys.readouterr().out
    assert "--date" in text and "--as-of" not in text


def test_progress_bar_is_silent_when_not_a_terminal(demo, capsys):
    assert main(["run", "--dry-run", "--root", str(demo)]) == 0
    assert capsys.readouterr().err == ""


def _files(state: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(state)): p.read_bytes()
        for p in sorted(state.rglob("*"))
        if p.is_file() and p.name != "README.md"
    }


def test_the_committed_state_is_what_the_embedded_default_writes(demo):
    """`state/` is the README's sample: a run of the embedded default on a fresh clone
    writes it byte for byte (regenerate it with the README's two commands)."""
    assert _files(REPO / "state") == _files(demo / "state")


def _readme_example(intro: str) -> str:
    """The indented block that follows the README line starting with `intro`."""
    lines = (REPO / "README.md").read_text("utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(intro)) + 1
    while not lines[start].strip() or not lines[start].startswith("    "):
        start += 1
    block = []
    for line in lines[start:]:
        if line.strip() and not line.startswith("    "):
            break
        block.append(line[4:])
    return "\n".join(block).strip("\n")


def test_the_readme_examples_are_the_embedded_defaults_drafts(demo):
    """The example bug and digest in the README are the drafts the embedded default writes."""
    import email
    from email import policy

    bug = _readme_example("A bug draft (")
    alert = bug.rsplit("Alert id: ", 1)[1].strip()
    draft = json.loads((demo / f"state/outbox/bugs/{alert}.json").read_text("utf-8"))
    assert bug == draft["description"].strip("\n")

    digest = _readme_example("A digest, one file per digest")
    subject, body = digest.split("\n\n", 1)
    texts = {}
    for path in sorted((demo / "state/outbox/emails").rglob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        plain = message.get_body(("plain",)).get_content()
        texts[f"Subject: {message['Subject']}"] = plain.replace("\r\n", "\n").strip("\n")
    assert subject in texts
    assert body == texts[subject]


def test_texts_say_how_sure_at_the_probes_own_threshold(demo):
    """The digest and the expected change's comment quote the threshold of the probe's monitor
    block (networking.trr_fetch_duration: threshold=0.9), not the default."""
    [necko] = (demo / "state/outbox/emails").rglob("necko@mozilla.com-*.eml")
    assert (
        "at this probe's threshold (0.9), a series without any change alerts by chance about "
        "once in 9.5 years" in necko.read_text("utf-8")
    )
    comment = json.loads(next((demo / "state/outbox/comments").glob("*.json")).read_text())
    assert "at this probe's threshold (0.9)" in comment["comment"]


def test_show_and_report_say_how_sure_at_the_probes_own_threshold(demo, tmp_path, capsys):
    """Was: `alerts show` and the dashboard said "at the default threshold (0.97; the probe's
    own setting is not known here)" for a probe configured with threshold=0.9, which its bug
    and digest quote. They read the probes' configs as the run does; a probe whose config
    cannot be read keeps the default's wording."""
    from alerting.alerts.thresholds import probe_thresholds
    from alerting.settings import Settings

    own = "at this probe's threshold (0.9)"
    assert probe_thresholds(Settings(), demo)["networking.trr_fetch_duration"] == 0.9
    mails = [p.read_text() for p in (demo / "state/outbox").rglob("*.eml")]
    assert any(own in text for text in mails)  # what the run wrote
    ids = [
        p.stem
        for p in sorted((demo / "state/alerts").glob("*.json"))
        if json.loads(p.read_text())["probe"] == "networking.trr_fetch_duration"
    ]
    assert ids
    capsys.readouterr()
    assert main(["alerts", "show", ids[0], "--root", str(demo)]) == 0
    assert "how sure: the distribution moved" in (shown := capsys.readouterr().out)
    assert own in shown and "not known here" not in shown
    assert main(["report", "--root", str(demo), "--out", str(tmp_path / "site")]) == 0
    page = (tmp_path / "site/alerts" / f"{ids[0]}.html").read_text()
    assert "at this probe&#39;s threshold (0.9)" in page and "not known here" not in page

    broken = tmp_path / "broken"
    shutil.copytree(demo, broken)
    (broken / "probes/netwerk/metrics.yaml").write_text("not: [a config\n")
    capsys.readouterr()
    assert main(["alerts", "show", ids[0], "--root", str(broken)]) == 0
    assert "at the default threshold (0.97; the probe's own setting is not known here)" in (
        capsys.readouterr().out
    )
