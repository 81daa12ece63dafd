"""Hostile metrics.yaml files: names that would leave `state/`, bytes YAML refuses, names the
file system or the terminal cannot take. Each is a located problem; the run goes on."""

import shutil
from pathlib import Path

import pytest

from alerting.cli import main
from alerting.probes.config import collect

REPO = Path(__file__).resolve().parents[1]

HEADER = "$schema: moz://mozilla.org/schemas/glean/metrics/2-0-0\n"


def metric(category: str, name: str, extra: str = "") -> str:
    """One monitored timing distribution under `category`/`name` (YAML double-quoted keys)."""
    return (
        f'"{category}":\n'
        f'  "{name}":\n'
        "    type: timing_distribution\n"
        "    description: d\n"
        "    bugs: [https://bugzil.la/1]\n"
        "    data_reviews: [https://bugzil.la/1]\n"
        "    notification_emails: [owner@mozilla.com]\n"
        "    expires: never\n"
        f"{extra}"
        "    metadata:\n"
        "      monitor: true\n"
    )


def write(tmp_path: Path, text: str, name: str = "metrics.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("category", "name", "line", "expected"),
    [
        ("../x", "/../alerts/29056790851eb2f9", 2, "category '../x' is not a Glean category"),
        ("good", "/../alerts/29056790851eb2f9", 3, "is not a Glean metric name"),
        ("Bad.Category", "ok", 2, "lower snake case"),
        ("pings", "ok", 2, "reserved by Glean"),
        ("a" * 41, "ok", 2, "is 41 characters; Glean allows at most 40"),
        ("good", "n" * 300, 3, "is 300 characters; Glean allows at most 70"),
        ("good", "bad\\ud800name", 3, "'bad\\ud800name' is not a Glean metric name"),
        ("good", "two\\nlines", 3, "'two\\nlines' is not a Glean metric name"),
    ],
)
def test_names_follow_glean_rules(tmp_path, category, name, line, expected):
    path = write(tmp_path, HEADER + metric(category, name))
    configs, problems = collect([path])
    assert configs == []
    assert len(problems) == 1
    assert problems[0].line == line
    assert expected in str(problems[0])
    assert str(problems[0]).startswith(f"{path}:{line}: ")


def test_labels_follow_glean_rules(tmp_path):
    labels = '    labels:\n      - fine\n      - "tab\\there"\n      - ' + "x" * 112 + "\n"
    text = HEADER + metric("good", "labeled", labels).replace(
        "timing_distribution", "labeled_counter"
    )
    path = write(tmp_path, text)
    configs, problems = collect([path])
    assert configs == []
    assert [(p.line, p.field) for p in problems] == [(12, "labels"), (13, "labels")]
    assert "not a Glean label" in str(problems[0]) and "at most 111" in str(problems[1])


def test_real_metrics_files_have_glean_names():
    configs, problems = collect([REPO / "tests/fixtures/probes/real_metrics"])
    assert problems == []


@pytest.mark.parametrize(("byte", "shown"), [("\x00", "U+0000"), ("\x1b", "U+001B")])
def test_control_byte_is_a_located_error(tmp_path, capsys, byte, shown):
    path = write(
        tmp_path, HEADER + metric("good", "ok").replace("description: d", f"description: d{byte}")
    )
    assert main(["probes", "validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:5: character {shown} is not allowed in YAML" in out
    assert byte not in out


def test_validate_output_never_holds_raw_control_characters(tmp_path, capsys):
    path = write(tmp_path, HEADER + metric("good", "a\\x1b[2Jb\\ud800"))
    assert main(["probes", "validate", str(path)]) == 1
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err
    assert "a\\x1b[2Jb\\ud800" in captured.out


def test_run_skips_hostile_probes_and_leaves_state_alone(tmp_path, capsys):
    """A category `../x` and name `/../alerts/<id>` would have overwritten an alert file; a NUL
    byte, an over-long name and a lone surrogate each aborted the run."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "probes", root / "probes")
    assert main(["run", "-q", "--root", str(root)]) == 0
    alerts = sorted((root / "state/alerts").glob("*.json"))
    before = {p: p.read_bytes() for p in alerts}
    hostile = root / "probes/hostile"
    hostile.mkdir()
    write(hostile, HEADER + metric("../x", f"/../alerts/{alerts[0].stem}"), "escape.yaml")
    write(
        hostile,
        HEADER + metric("good", "ok").replace("description: d", "description: \x00"),
        "nul.yaml",
    )
    write(hostile, HEADER + metric("good", "n" * 300), "long.yaml")
    write(hostile, HEADER + metric("good", "lone\\udc80"), "surrogate.yaml")

    assert main(["run", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert {p: p.read_bytes() for p in sorted((root / "state/alerts").glob("*.json"))} == before
    assert not (root / "state/x").exists() and not (root / "x").exists()
    for name in ("escape", "nul", "long", "surrogate"):
        assert f"{name}.yaml:" in out
    assert "udc80" in out and "\x00" not in out


def test_validate_output_stays_small_for_a_file_built_to_flood_it(tmp_path, capsys):
    # 300 metrics with six unknown platforms each, and a platform list that aliases unfold
    # to about 150 KB of text.
    bad = "    metadata: {monitor: {platforms: [W1, W2, W3, W4, W5, W6]}}\n"
    many = "".join(f"  m{i}:\n    type: timing_distribution\n{bad}" for i in range(300))
    defs = "$defs:\n  a: &a [" + ", ".join(["xxxxxxxxxx"] * 100) + "]\n"
    defs += "  b: &b [" + ", ".join(["*a"] * 100) + "]\n"
    aliased = "  big:\n    type: timing_distribution\n    metadata: {monitor: {platforms: *b}}\n"
    path = write(tmp_path, HEADER + defs + "cat:\n" + aliased + many)
    assert main(["probes", "validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert len(out) < 100_000  # 100 problems shown, none over 500 characters of message
    assert f"{path}: " in out and "more problems not shown; fix these first" in out
    assert max(len(line) for line in out.splitlines()) < 700
