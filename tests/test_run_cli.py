"""`alerting run` and `alerting alerts` from the command line, on the embedded default."""

import json
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
    assert summary.read_text() == printed


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
    assert main(["alerts", "show", rows[0]["id"][:8], "--state", state]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == rows[0]["id"]
    assert main(["alerts", "show", "zzzz", "--state", state]) == 1
    assert "no alert with id 'zzzz'" in capsys.readouterr().err


def test_probe_filter_and_dry_run(demo, capsys):
    assert main(["run", "--dry-run", "--probe", "no.such.*", "--root", str(demo)]) == 1
    assert "no monitored probe matches" in capsys.readouterr().err
    assert main(["run", "--dry-run", "--probe", "networking.*", "--root", str(demo)]) == 0


def test_bad_date_is_a_usage_error(demo):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--date", "yesterday", "--root", str(demo)])
    assert exit_info.value.code == 2


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
