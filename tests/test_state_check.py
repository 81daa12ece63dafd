"""`alerting state check`: the committed state passes; each kind of broken record is found
with its file and line or JSON pointer."""

import json
import shutil
from pathlib import Path

import pytest

from alerting.cli import main
from tests.report_fixtures import write_state

ROOT = Path(__file__).resolve().parent.parent


def check(state: Path, *extra: str) -> int:
    return main(["state", "check", "--state", str(state), *extra])


def edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


@pytest.fixture
def state(tmp_path):
    state = tmp_path / "state"
    alerts = write_state(state)
    return state, [a.id for a in alerts]


def test_the_committed_state_passes(capsys):
    assert check(ROOT / "state") == 0
    assert capsys.readouterr().out.startswith("ok: ")


def test_a_freshly_written_state_passes(state, capsys):
    assert check(state[0]) == 0, capsys.readouterr().out


def test_each_broken_record_is_located(state, capsys):
    state, ids = state
    first, second, third = (state / "alerts" / f"{i}.json" for i in ids[:3])
    edit(first, lambda d: d.update(bug="12345"))  # wrong type
    edit(second, lambda d: d.update(status="fixed", stauts="new"))  # unknown status, typo
    (state / "plots" / f"{ids[2]}.json").unlink()  # missing plot file
    summary = next((state / "summaries").glob("*.json"))
    edit(summary, lambda d: d["alerts"].append("0123456789abcdef"))  # dangling reference
    (state / "probes").mkdir()
    (state / "probes" / "a.b.json").write_text('{\n  "probe": "a.b",\n  "series": {\n}')
    (state / "notes.txt").write_text("hello")

    assert check(state) == 1
    out = capsys.readouterr().out.splitlines()
    count = len(json.loads(summary.read_text())["alerts"]) - 1
    expected = [
        f"{first}: /bug: '12345' is not of type 'integer', 'null'",
        f"{second}: /status: 'fixed' is not one of ['new', 'resolved', 'silenced', 'expected']",
        f"{second}: /stauts: unknown field (misspelt?)",
        f"{third}: no plot file plots/{ids[2]}.json",
        f"{summary}: /alerts/{count}: no alert 0123456789abcdef",
        f"{state / 'probes' / 'a.b.json'}:4: broken JSON: Expecting ',' delimiter",
        f"{state / 'notes.txt'}: not a state file (expected ",
    ]
    for line in expected:
        assert any(o.startswith(line) for o in out), (line, out)
    assert out[-1] == "7 problem(s) in 6 of 17 file(s)"


def test_drafts_and_alerts_name_each_other(tmp_path, capsys):
    state = tmp_path / "state"
    shutil.copytree(ROOT / "state", state)
    draft = next((state / "outbox" / "bugs").glob("*.json"))
    alert = state / "alerts" / draft.name
    shutil.move(draft, state / "outbox" / "bugs" / "0000000000000000.json")
    assert check(state) == 1
    out = capsys.readouterr().out
    assert f"{alert}: /delivery_state: drafted, but there is no outbox/bugs/{draft.name}" in out
    assert "0000000000000000.json: draft of no alert 0000000000000000" in out
    assert "0000000000000000.json: /whiteboard: does not name alert 0000000000000000" in out


def test_comment_drafts_and_expected_alerts_name_each_other(tmp_path, capsys):
    state = tmp_path / "state"
    shutil.copytree(ROOT / "state", state)
    draft = next((state / "outbox" / "comments").glob("*.json"))
    alert = state / "alerts" / draft.name
    edit(draft, lambda d: d.update(bug=d["bug"] + 1))
    assert check(state) == 1
    assert f"{draft}: /bug: not the comment of alert {draft.stem} on its bug" in (
        capsys.readouterr().out
    )
    shutil.move(draft, state / "outbox" / "comments" / "0000000000000000.json")
    assert check(state) == 1
    out = capsys.readouterr().out
    assert f"{alert}: /delivery_state: drafted, but there is no outbox/comments/{draft.name}" in out
    assert "0000000000000000.json: draft of no alert 0000000000000000" in out
    assert "0000000000000000.json: /comment: does not name alert 0000000000000000" in out


def test_quarantined_files_are_listed_not_checked(state, capsys):
    state, ids = state
    (state / "quarantine" / "alerts").mkdir(parents=True)
    shutil.move(state / "alerts" / f"{ids[0]}.json", state / "quarantine" / "alerts")
    assert check(state) == 0
    out = capsys.readouterr().out
    assert f"note: {state / 'quarantine' / 'alerts' / ids[0]}.json awaits a person" in out


def test_github_format_annotates_the_file(state, capsys):
    state, ids = state
    edit(state / "alerts" / f"{ids[0]}.json", lambda d: d.update(channel="aurora"))
    assert check(state, "--format", "github", "-q") == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith(f"::error file={state / 'alerts' / ids[0]}.json,line=1,title=/channel::")


def test_a_plot_whose_arrays_do_not_line_up_is_located(state, capsys):
    state, ids = state
    plot = state / "plots" / f"{ids[0]}.json"
    days = len(json.loads(plot.read_text())["days"])
    edit(plot, lambda d: d["median"].pop())
    assert check(state, "-q") == 1
    assert capsys.readouterr().out == f"{plot}: /median: {days - 1} values for {days} days\n"


@pytest.mark.parametrize("build_id", ["20261399000000", "2026100603\n", "2026100699"])
def test_a_build_id_that_is_no_build_time_is_located(state, capsys, build_id):
    state, ids = state
    alert = state / "alerts" / f"{ids[0]}.json"
    edit(alert, lambda d: d.update(build_id=build_id))
    assert check(state, "-q") == 1
    assert capsys.readouterr().out == (
        f"{alert}: /build_id: {build_id!r} is not a build time (YYYYMMDDHH or YYYYMMDDhhmmss)\n"
    )


def test_a_symbolic_link_is_reported_and_not_followed(state, capsys):
    state, ids = state
    link = state / "alerts" / "0123456789abcdef.json"
    link.symlink_to(state / "alerts" / f"{ids[0]}.json")
    assert check(state, "-q") == 1
    out = capsys.readouterr().out
    assert f"{link}: refused state file 'alerts/0123456789abcdef.json'" in out
    assert "is a symbolic link" in out


def test_a_symbolic_link_to_a_folder_is_reported(state, capsys, tmp_path):
    state, ids = state
    shutil.move(state / "plots", tmp_path / "plots-elsewhere")
    (state / "plots").symlink_to(tmp_path / "plots-elsewhere", target_is_directory=True)
    assert check(state, "-q") == 1
    out = capsys.readouterr().out
    assert f"{state / 'plots'}: a symbolic link to a folder; state/ holds plain files" in out


def test_a_folder_or_a_file_where_the_other_belongs_is_reported(state, capsys):
    state, ids = state
    record = state / "alerts" / f"{ids[0]}.json"
    record.unlink()
    record.mkdir()  # empty: git would not even keep it, but the run reads it
    (state / "probes").write_text("{}")
    assert check(state, "-q") == 1
    out = capsys.readouterr().out.splitlines()
    assert f"{record}: a folder where a record file belongs: move or delete it" in out
    assert f"{state / 'probes'}: a file where the folder probes/ of records belongs" in out


@pytest.mark.parametrize(
    "old,new,where",
    [
        ('"score": ', '"score": NaN, "_": ', ": /score: NaN is not a finite number"),
        ('"median": ', '"median": Infinity, "_": ', "/median: Infinity is not a finite number"),
        ('"score": ', '"score": ' + "9" * 5000 + ', "_": ', ": an integer of more than 4300"),
    ],
    ids=["NaN", "Infinity", "5000 digits"],
)
def test_numbers_no_reader_can_use_are_located(state, capsys, old, new, where):
    state, ids = state
    path = state / "alerts" / f"{ids[0]}.json"
    path.write_text(path.read_text().replace(old, new, 1))
    assert check(state, "-q") == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith(str(path)) and where in line


def test_deep_nesting_is_located_not_a_crash(state, capsys):
    state, ids = state
    path = next((state / "summaries").glob("*.json"))
    path.write_text('{"x":\n' + "[" * 100_000 + "]" * 100_000 + "}")
    assert check(state, "-q") == 1
    out = capsys.readouterr().out.splitlines()
    assert f"{path}:2: nested deeper than 32 levels" in out


def test_a_summary_listing_an_alert_of_another_summary_is_located(state, capsys):
    state, ids = state
    summaries = {p: json.loads(p.read_text()) for p in (state / "summaries").glob("*.json")}
    first = next(iter(summaries))
    stranger = next(a for p, s in summaries.items() if p != first for a in s["alerts"])
    owner = json.loads((state / "alerts" / f"{stranger}.json").read_text())["summary"]
    edit(first, lambda d: d["alerts"].append(stranger))
    assert check(state, "-q") == 1
    at = len(summaries[first]["alerts"])
    assert capsys.readouterr().out == (
        f"{first}: /alerts/{at}: alert {stranger} belongs to summary {owner!r}, not this one\n"
    )
