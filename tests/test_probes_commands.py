"""`alerting probes validate|list`: the acceptance commands, on real files and the repo's probes/."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from alerting.cli import main
from alerting.detect.registry import get_technique
from alerting.probes.config import collect
from alerting.probes.model import JSON_KEYS

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "probes"
REAL_METRICS = sorted((FIXTURES / "real_metrics").glob("*.yaml"))
GLEAN_PARSER_TESTS = sorted((FIXTURES / "glean_parser_tests").glob("*.yaml*"))
NETWERK = FIXTURES / "real_metrics" / "netwerk__metrics.yaml"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_list_json_on_the_real_netwerk_file(capsys):
    status, out, err = run(capsys, "probes", "list", str(NETWERK), "--json")
    assert (status, err) == (0, "")
    assert json.loads(out) == [
        {
            "probe": "networking.http_channel_page_open_to_first_sent",
            "metric": "networking_http_channel_page_open_to_first_sent",
            "type": "timing_distribution",
            "file": str(NETWERK),
            "line": 1885,
            "alert": True,
            "platforms": ["Windows", "Linux", "Darwin"],
            "bugzilla_notification_emails": ["gmierz2@outlook.com"],
            "notification_emails": ["necko@mozilla.com", "kershaw@mozilla.com"],
            "lower_is_better": None,
            "technique": "cdf_squared",
            "args": get_technique("cdf_squared").defaults(),
            "bugzilla_product": "Core",
            "bugzilla_component": "Networking",
        }
    ]


@pytest.mark.parametrize("path", REAL_METRICS, ids=lambda p: p.name)
def test_validate_passes_every_real_metrics_file(capsys, path):
    status, out, _ = run(capsys, "probes", "validate", str(path))
    assert status == 0, out
    assert out.startswith("ok: ")


def test_validate_real_folder_summary(capsys):
    status, out, _ = run(capsys, "probes", "validate", str(FIXTURES / "real_metrics"))
    assert (status, out) == (0, "ok: 1 monitored probe(s) in 15 files, no problems\n")


@pytest.mark.parametrize("path", GLEAN_PARSER_TESTS, ids=lambda p: p.name)
def test_glean_parser_test_files_end_without_a_crash(capsys, path):
    status, out, err = run(capsys, "probes", "validate", str(path))
    assert status in (0, 1)
    assert "Traceback" not in out + err
    if status == 1:
        assert out.startswith(f"{path}:")


def test_glean_parser_invalid_files_report_their_problem(capsys):
    folder = FIXTURES / "glean_parser_tests"
    status, out, _ = run(capsys, "probes", "validate", str(folder / "yaml_nits.yamlx"))
    assert status == 1
    assert (
        f"{folder / 'yaml_nits.yamlx'}:10: invalid YAML: mapping values are not allowed here" in out
    )
    status, out, _ = run(capsys, "probes", "validate", str(folder / "empty.yaml"))
    assert status == 1 and "empty file" in out


def test_the_console_command_prints_no_traceback(tmp_path):
    bomb = tmp_path / "metrics.yaml"
    lines = ['a0: &a0 "lol"'] + [
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)
    ]
    bomb.write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "alerting", "probes", "validate", str(bomb), str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "no such file or directory" in result.stderr


def test_validate_reports_every_problem_and_exits_1(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(NETWERK.read_text())
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "$schema: moz://mozilla.org/schemas/glean/metrics/2-0-0\n"
        "networking:\n"
        "  page_load:\n"
        "    type: timing_distribution\n"
        "    notification_emails: [a@mozilla.com]\n"
        "    metadata:\n"
        "      monitor:\n"
        "        alert: True\n"
        "        platforms: [Windws]\n"
    )
    status, out, _ = run(capsys, "probes", "validate", str(tmp_path))
    assert status == 1
    assert out.splitlines() == [
        f"{bad}:8: networking.page_load: bugzilla_notification_emails: alert: True files bugs "
        "and needs at least one address here (the first is needinfo'd, the rest CC'd); add e.g. "
        "bugzilla_notification_emails: [you@mozilla.com], or set alert: False to be emailed "
        "instead",
        f"{bad}:9: networking.page_load: platforms: unknown platform 'Windws'; did you mean "
        "Windows? choose from Windows, Linux, Darwin, All",
        "2 problems in 1 of 2 files; 1 monitored probe valid",
    ]


def test_validate_github_format_annotates_each_problem(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "$schema: moz://mozilla.org/schemas/glean/metrics/2-0-0\n"
        "networking:\n"
        "  page_load:\n"
        "    type: event\n"
        "    notification_emails: [a@mozilla.com]\n"
        "    metadata:\n"
        "      monitor: True\n"
    )
    status, out, _ = run(capsys, "probes", "validate", "--format", "github", str(bad))
    assert status == 1
    first = out.splitlines()[0]
    assert first.startswith("::error file=")
    assert (
        ",line=7,title=networking.page_load%3A monitor::event metrics cannot be monitored" in first
    )


def test_quiet_validate_prints_only_problems(tmp_path, capsys):
    status, out, _ = run(capsys, "probes", "validate", "-q", str(NETWERK))
    assert (status, out) == (0, "")


def test_list_table(capsys):
    status, out, _ = run(capsys, "probes", "list", str(NETWERK))
    assert status == 0
    header, rule, row = out.splitlines()
    assert header.split() == [
        "probe",
        "type",
        "on",
        "change",
        "platforms",
        "better",
        "technique",
        "bugzilla",
        "defined",
        "at",
    ]
    assert set(rule) <= {"-", " "}
    assert row.split()[:4] == [
        "networking.http_channel_page_open_to_first_sent",
        "timing_distribution",
        "bug",
        "Windows,Linux,Darwin",
    ]
    assert row.endswith(f"{NETWERK}:1885")


def test_list_still_lists_valid_probes_but_exits_1_on_problems(tmp_path, capsys):
    (tmp_path / "a.yaml").write_text(NETWERK.read_text())
    (tmp_path / "b.yaml").write_text("$schema: [\n")
    status, out, err = run(capsys, "probes", "list", "--json", str(tmp_path))
    assert status == 1
    assert [item["probe"] for item in json.loads(out)] == [
        "networking.http_channel_page_open_to_first_sent"
    ]
    assert err.startswith(f"{tmp_path / 'b.yaml'}:2: invalid YAML")


def test_list_says_when_no_probe_is_usable_instead_of_an_empty_table(tmp_path, capsys):
    (tmp_path / "b.yaml").write_text("$schema: [\n")
    status, out, err = run(capsys, "probes", "list", str(tmp_path))
    assert status == 1 and "invalid YAML" in err
    assert out == "no monitored probe usable (see the problems above) in 1 file(s)\n"


def test_default_product_options(tmp_path, capsys):
    path = tmp_path / "metrics.yaml"
    path.write_text(NETWERK.read_text().replace("'Core :: Networking'", "Sync"))
    argv = ["probes", "list", "--json", str(path), "--default-product", "Firefox"]
    status, out, _ = run(capsys, *argv, "--default-component", "General")
    assert status == 0
    (item,) = json.loads(out)
    assert (item["bugzilla_product"], item["bugzilla_component"]) == ("Firefox", "General")


def test_default_product_from_settings(tmp_path, capsys, monkeypatch):
    path = tmp_path / "metrics.yaml"
    path.write_text(NETWERK.read_text().replace("'Core :: Networking'", "Sync"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "alerting.toml").write_text('[bugzilla]\ndefault_product = "Firefox"\n')
    monkeypatch.setenv("ALERTING_BUGZILLA_DEFAULT_COMPONENT", "Untriaged")
    status, out, _ = run(capsys, "probes", "list", "--json", "metrics.yaml")
    assert status == 0
    (item,) = json.loads(out)
    assert (item["bugzilla_product"], item["bugzilla_component"]) == ("Firefox", "Untriaged")


def test_probes_without_subcommand_is_a_usage_error(capsys):
    assert main(["probes"]) == 2
    assert "validate" in capsys.readouterr().err


def test_subcommand_help(capsys):
    for command in ("validate", "list"):
        with pytest.raises(SystemExit) as info:
            main(["probes", command, "--help"])
        assert info.value.code == 0
        assert "PATH" in capsys.readouterr().out


# --- the repository's probes/ ---------------------------------------------------------------


def test_validate_defaults_to_probes_folder(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    status, out, _ = run(capsys, "probes", "validate")
    assert status == 0, out
    assert out.startswith("ok: ")


def test_probes_folder_is_a_realistic_demo(monkeypatch):
    monkeypatch.chdir(REPO)
    configs, problems = collect()
    assert problems == []
    assert 6 <= len(configs) <= 10
    by_probe = {c.probe: c for c in configs}
    real = by_probe["networking.http_channel_page_open_to_first_sent"]
    assert (real.alert, real.bugzilla_notification_emails) == (True, ["gmierz2@outlook.com"])
    assert {c.alert for c in configs} == {True, False}
    assert {c.lower_is_better for c in configs} == {True, False, None}
    assert any("All" in c.platforms for c in configs)
    assert len({tuple(c.platforms) for c in configs}) >= 4
    assert any(c.labeled and c.type.endswith("distribution") and c.labels for c in configs)
    assert any(len(c.bugzilla_notification_emails) > 1 for c in configs)  # needinfo + CC
    mobile = [c for c in configs if c.app == "fenix"]
    assert mobile and all(c.platforms == ["Android"] for c in mobile)
    assert all(tuple(c.to_json()) == JSON_KEYS for c in configs)
