"""State records: every past version still loads (and is stored as the current one on the next
write), the alert record stays small, and files that fail are set aside, never overwritten."""

import json
import math
import os
import shutil
from pathlib import Path

import pytest

from alerting.alerts.migrate import CURRENT, MigrationError, upgrade
from alerting.alerts.model import ALERT_SCHEMA, Alert, FirstSeen, Plot
from alerting.alerts.schema import MAX_DEPTH, parse
from alerting.alerts.store import StateStore, StateValueError, dumps
from tests.report_fixtures import sample_alerts, write_state

VERSIONS = Path(__file__).parent / "fixtures" / "state_versions"
FOLDER = {"alert": "alerts", "summary": "summaries", "first_seen": "probes", "plot": "plots"}


def fixture(kind: str, version: int) -> dict:
    return json.loads((VERSIONS / f"{kind}.v{version}.json").read_text())


def place(state: Path, kind: str, version: int) -> Path:
    """The fixture at its place under `state`, named as the record names it."""
    data = fixture(kind, version)
    name = {"alert": "id", "summary": "id", "first_seen": "probe", "plot": "alert"}[kind]
    path = state / FOLDER[kind] / f"{data[name]}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(VERSIONS / f"{kind}.v{version}.json", path)
    return path


def test_a_record_of_every_version_of_every_type_is_kept():
    for kind, current in CURRENT.items():
        for version in range(1, current + 1):
            assert (VERSIONS / f"{kind}.v{version}.json").is_file(), f"{kind} v{version}"


@pytest.mark.parametrize(
    "kind,version", [(k, v) for k, c in CURRENT.items() for v in range(1, c + 1)]
)
def test_every_past_version_upgrades_to_a_valid_current_record(kind, version):
    from alerting.alerts.schema import validate

    record, split = upgrade(kind, fixture(kind, version))
    assert record["schema"] == CURRENT[kind]
    assert validate(kind, record, "x") == []
    assert all(validate(other, data, "x") == [] for other, data in split.items())


def test_a_version_1_alert_loads_with_its_plot_and_is_stored_as_the_current_version(tmp_path):
    path = place(tmp_path, "alert", 1)
    old = fixture("alert", 1)
    store = StateStore(tmp_path)
    (alert,) = store.alerts().values()
    assert store.errors == []
    assert alert.plot == Plot.from_json(old["plot"]) and len(alert.plot.days) > 40
    assert alert.history[0].event == "created" and alert.before.median == old["before"]["median"]

    store.save_alert(alert)
    stored = json.loads(path.read_text())
    assert stored["schema"] == ALERT_SCHEMA and "plot" not in stored
    assert path.read_text() == (VERSIONS / f"alert.v{ALERT_SCHEMA}.json").read_text()
    plot_file = tmp_path / "plots" / f"{alert.id}.json"
    assert plot_file.read_text() == (VERSIONS / "plot.v1.json").read_text()
    again = StateStore(tmp_path)
    assert again.alerts() == {alert.id: alert} and again.errors == []


def test_version_1_summary_and_first_seen_load(tmp_path):
    place(tmp_path, "summary", 1)
    place(tmp_path, "first_seen", 1)
    store = StateStore(tmp_path)
    (summary,) = store.summaries().values()
    assert summary.alerts == fixture("summary", 1)["alerts"]
    seen = store.first_seen("fog.initializations")
    assert seen == FirstSeen("fog.initializations", fixture("first_seen", 1)["series"])
    assert store.errors == []


def test_a_newer_or_nonsense_version_is_refused():
    with pytest.raises(MigrationError, match="newer than this alerting reads"):
        upgrade("alert", {"schema": ALERT_SCHEMA + 1})
    with pytest.raises(MigrationError, match="whole number"):
        upgrade("summary", {"schema": "1"})


def test_an_alert_record_reads_in_well_under_60_lines_and_its_plot_in_a_dozen(tmp_path):
    alerts = write_state(tmp_path)
    for alert in alerts:
        assert len((tmp_path / "alerts" / f"{alert.id}.json").read_text().splitlines()) <= 60
        plot = (tmp_path / "plots" / f"{alert.id}.json").read_text()
        assert len(plot.splitlines()) == 11  # braces, schema, alert id, one line per array


def test_dumps_puts_short_plain_lists_on_one_line_and_is_plain_json():
    data = {"a": [1, 2], "b": {"c": "d"}, "e": [{"f": 1}, []], "g": {}, "h": "x" * 200}
    text = dumps(data, width=40)
    assert json.loads(text) == data
    assert '  "a": [1, 2],\n' in text and '    {"f": 1},\n' in text
    assert dumps([1, 2], width=None) == "[1, 2]\n"


def test_a_plot_is_written_once(tmp_path):
    alert = sample_alerts()[0]
    store = StateStore(tmp_path)
    store.save_alert(alert)
    plot_file = tmp_path / "plots" / f"{alert.id}.json"
    first = plot_file.read_text()
    alert.plot = Plot(days=["2025-01-01"], median=[1.0], p05=[1.0], p95=[1.0])
    store.save_alert(alert)
    assert plot_file.read_text() == first


@pytest.mark.parametrize(
    "content,where",
    [
        ('{\n  "id": "x",\n  "probe": \n', ":4: broken JSON"),
        ("[]\n", ":1: expected a JSON object, found list"),
        ("", ":1: broken JSON"),
    ],
)
def test_a_corrupt_alert_file_is_quarantined_with_its_problems_never_deleted(
    tmp_path, content, where
):
    alerts = write_state(tmp_path)
    broken = tmp_path / "alerts" / f"{alerts[0].id}.json"
    broken.write_text(content)
    store = StateStore(tmp_path)
    loaded = store.alerts()
    assert alerts[0].id not in loaded and len(loaded) == len(alerts) - 1
    assert any(where in error for error in store.errors)

    (moved,) = store.quarantine_failed()
    assert not broken.exists()
    kept = tmp_path / moved.file
    assert kept.read_text() == content and moved.alert_id == alerts[0].id
    note = kept.with_name(kept.name + ".problems").read_text()
    assert where in note and f"alerts/{alerts[0].id}.json" in note
    assert [q.alert_id for q in StateStore(tmp_path).quarantined()] == [alerts[0].id]


def test_a_second_corrupt_copy_of_the_same_file_is_kept_beside_the_first(tmp_path):
    alerts = write_state(tmp_path)
    broken = tmp_path / "alerts" / f"{alerts[0].id}.json"
    for content in ("[]", "{"):
        broken.write_text(content)
        store = StateStore(tmp_path)
        store.alerts()
        store.quarantine_failed()
    listed = StateStore(tmp_path).quarantined()
    assert [q.original for q in listed] == [f"alerts/{alerts[0].id}.json"] * 2
    assert sorted((tmp_path / q.file).read_text() for q in listed) == ["[]", "{"]


def test_a_schema_failure_is_quarantined_and_remembers_its_change(tmp_path):
    alerts = write_state(tmp_path)
    path = tmp_path / "alerts" / f"{alerts[0].id}.json"
    path.write_text(path.read_text().replace('"status": "new"', '"status": "fixed"'))
    store = StateStore(tmp_path)
    store.alerts()
    (moved,) = store.quarantine_failed()
    assert (
        "/status: 'fixed' is not one of ['new', 'resolved', 'silenced', 'expected']"
        in (moved.problems[0])
    )
    a = alerts[0]
    assert moved.change == (a.probe, a.platform, a.label, a.channel, a.date)


def test_a_dry_run_only_says_what_it_would_set_aside(tmp_path):
    alerts = write_state(tmp_path)
    broken = tmp_path / "alerts" / f"{alerts[0].id}.json"
    broken.write_text("{")
    store = StateStore(tmp_path, dry_run=True)
    store.alerts()
    (moved,) = store.quarantine_failed()
    assert moved.original == f"alerts/{alerts[0].id}.json" and broken.read_text() == "{"
    assert not (tmp_path / "quarantine").exists()


def test_a_missing_plot_is_reported_and_the_alert_still_loads(tmp_path):
    alerts = write_state(tmp_path)
    (tmp_path / "plots" / f"{alerts[0].id}.json").unlink()
    store = StateStore(tmp_path)
    loaded = store.alerts()
    assert loaded[alerts[0].id].plot == Plot() and store.failed == {}
    assert any(f"plots/{alerts[0].id}.json: missing" in e for e in store.errors)
    store.save_alert(loaded[alerts[0].id])  # an empty plot is never written as the plot
    assert not (tmp_path / "plots" / f"{alerts[0].id}.json").exists()


def test_alert_json_round_trips_without_the_plot():
    alert = sample_alerts()[0]
    data = alert.to_json()
    assert "plot" not in data and data["schema"] == ALERT_SCHEMA
    assert Alert.from_json(data, alert.plot) == alert


@pytest.mark.parametrize(
    "field,index,value,valid",
    [
        ("median", 3, "12", False),  # a number as text
        ("p95", 0, True, False),  # JSON true is not a number
        ("median", 2, 7, True),  # a whole number is a number
        ("p05", 1, None, True),  # a gap
        ("buckets", 4, None, False),  # buckets have no gaps
        ("days", 5, "2025-02-30", False),  # no such day
        ("days", 0, "2025-1-01", False),  # not YYYY-MM-DD
        ("cdf_before", None, "x", False),  # not an array at all
    ],
)
def test_the_quick_check_of_plot_arrays_finds_what_the_schema_finds(
    monkeypatch, field, index, value, valid
):
    """Plot arrays are checked whole by their items' types, not item by item through the
    JSON Schema: the problems (and where they are) must be the same."""
    from alerting.alerts import schema

    data = sample_alerts()[0].plot.to_json("a1")
    if index is None:
        data[field] = value
    else:
        data[field][index] = value
    quick = schema.validate("plot", data, "f")
    monkeypatch.setattr(schema, "_array_checks", lambda kind: {})
    assert quick == schema.validate("plot", data, "f")
    where = f"/{field}" if index is None else f"/{field}/{index}"
    assert {p.pointer for p in quick} == (set() if valid else {where})


# -- what Python's JSON parser accepts but no record holds: located, set aside, never a crash --
def _huge_int(text: str) -> str:
    return text.replace('"score": ', '"score": ' + "9" * 5000 + ', "_was": ', 1)


@pytest.mark.parametrize(
    "damage,where",
    [
        (_huge_int, ": an integer of more than 4300 digits"),
        (lambda text: '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}", ":1: nested deeper than"),
        (lambda text: '{"x": ' + "[" * 40 + "]" * 40 + "}", ":1: nested deeper than"),
        (
            lambda text: text.replace('"score": ', '"score": NaN, "_was": ', 1),
            ": /score: NaN is not a finite number",
        ),
        (
            lambda text: text.replace('"median": ', '"median": -Infinity, "_was": ', 1),
            "/median: -Infinity is not a finite number",
        ),
        (
            lambda text: text.replace('"score": ', '"score": 1e400, "_was": ', 1),
            ": /score: Infinity is not a finite number",
        ),
        (
            lambda text: text.replace('"score": ', '"score": ' + "9" * 400 + ', "_was": ', 1),
            ": /score: an integer of 400 digits is too large for any number",
        ),
    ],
    ids=[
        "5000-digit integer",
        "100000 levels",
        "40 levels",
        "NaN",
        "-Infinity",
        "1e400",
        "400 digits",
    ],
)
def test_json_no_record_holds_is_located_and_set_aside(tmp_path, damage, where):
    alerts = write_state(tmp_path)
    path = tmp_path / "alerts" / f"{alerts[0].id}.json"
    damaged = damage(path.read_text())
    path.write_text(damaged)
    store = StateStore(tmp_path)
    loaded = store.alerts()
    assert sorted(loaded) == sorted(a.id for a in alerts[1:])
    assert [e for e in store.errors if where in e and str(path) in e], store.errors
    (moved,) = store.quarantine_failed()
    assert (tmp_path / moved.file).read_text() == damaged
    assert [q.alert_id for q in StateStore(tmp_path).quarantined()] == [alerts[0].id]


def test_a_long_integer_is_located_at_its_line(tmp_path):
    alerts = write_state(tmp_path)
    path = tmp_path / "alerts" / f"{alerts[0].id}.json"
    text = path.read_text()
    path.write_text(_huge_int(text))
    line = text[: text.index('"score": ')].count("\n") + 1
    store = StateStore(tmp_path)
    store.alerts()
    assert f"{path}:{line}: an integer of more than 4300 digits" in store.errors


# -- what the reader refuses is never written: the file keeps what it held -----------------------
def _nested(levels: int) -> list:
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    "value,literal",
    [
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (10**308, "1" + "0" * 308),
        (10**309, "1" + "0" * 309),
        (-(10**400), "-1" + "0" * 400),
        (10**5000 - 1, "9" * 5000),
        (_nested(MAX_DEPTH - 1), json.dumps(_nested(MAX_DEPTH - 1))),
        (_nested(MAX_DEPTH), json.dumps(_nested(MAX_DEPTH))),
    ],
    ids=[
        "NaN",
        "Infinity",
        "-Infinity",
        "largest float",
        "309 digits",
        "310 digits",
        "401 digits",
        "5000 digits",
        "as deep as read",
        "one level deeper",
    ],
)
def test_the_writer_refuses_exactly_what_the_reader_refuses(tmp_path, value, literal):
    path = tmp_path / "record.json"
    path.write_text('{"x": ' + literal + "}\n")
    _, problems = parse(path, str(path))
    try:
        text = dumps({"x": value})
    except StateValueError as error:
        assert problems, f"refused what the reader reads: {error}"
    else:
        assert not problems, f"wrote what the reader refuses: {problems}"
        path.write_text(text)
        assert parse(path, str(path)) == ({"x": value}, [])


@pytest.mark.parametrize(
    "damage,where",
    [
        (lambda a: setattr(a, "score", math.nan), "/score: NaN is not a finite number"),
        (lambda a: setattr(a.after, "p95", math.inf), "/after/p95: Infinity is not a finite"),
        (
            lambda a: setattr(a.before, "samples", 10**5000),
            "/before/samples: an integer of more than 4300 digits is too large",
        ),
        (
            lambda a: a.links.update(deep=_nested(MAX_DEPTH)),
            f"/links/deep{'/0' * (MAX_DEPTH - 2)}: nested deeper than {MAX_DEPTH} levels",
        ),
    ],
    ids=["NaN", "Infinity", "huge integer", "too deep"],
)
def test_a_record_the_reader_would_refuse_is_not_written_and_the_file_keeps_what_it_held(
    tmp_path, damage, where
):
    alerts = write_state(tmp_path)
    path = tmp_path / "alerts" / f"{alerts[0].id}.json"
    before = path.read_bytes()
    store = StateStore(tmp_path)
    alert = store.alerts()[alerts[0].id]
    damage(alert)
    with pytest.raises(StateValueError) as refused:
        store.save_alert(alert)
    assert str(refused.value).startswith(f"{path}: {where}")
    assert path.read_bytes() == before
    again = StateStore(tmp_path)
    assert again.alerts()[alert.id] == alerts[0] and again.errors == []


def test_a_refused_new_alert_leaves_no_file_and_names_every_field(tmp_path):
    alert = sample_alerts()[0]
    alert.score = math.nan
    alert.before.median = alert.before.p05 = alert.before.p95 = -math.inf
    alert.after.median = alert.after.p05 = math.inf
    store = StateStore(tmp_path)
    with pytest.raises(StateValueError) as refused:
        store.save_alert(alert)
    assert not list(tmp_path.rglob("*.json"))  # its plot is not written without it either
    message = str(refused.value)
    assert message.startswith(f"{tmp_path / 'alerts' / alert.id}.json: /after/median: ")
    assert message.count("is not a finite number") == 5 and message.endswith("; 1 more")


# -- what cannot be read as a record file: a symbolic link, a folder, a folder that is a link --
def test_a_symbolic_link_among_the_alerts_is_set_aside_and_the_rest_read(tmp_path):
    alerts = write_state(tmp_path)
    target = tmp_path / "alerts" / f"{alerts[0].id}.json"
    before = target.read_text()
    link = tmp_path / "alerts" / "0123456789abcdef.json"
    link.symlink_to(target.name)
    store = StateStore(tmp_path)
    assert sorted(store.alerts()) == sorted(a.id for a in alerts)
    assert any(f"{link}: refused state file" in e and "symbolic link" in e for e in store.errors)
    (moved,) = store.quarantine_failed()
    kept = tmp_path / moved.file
    assert kept.is_symlink() and os.readlink(kept) == target.name  # the link itself, moved
    assert not os.path.lexists(link) and target.read_text() == before
    again = StateStore(tmp_path)
    assert [q.alert_id for q in again.quarantined()] == ["0123456789abcdef"]
    assert again.quarantined()[0].change is None  # never read through the link
    assert sorted(again.alerts()) == sorted(a.id for a in alerts) and again.errors == []


def test_a_dangling_link_set_aside_stays_listed(tmp_path):
    alerts = write_state(tmp_path)
    link = tmp_path / "alerts" / f"{alerts[0].id}.json"
    link.unlink()
    link.symlink_to("/nonexistent/record.json")
    store = StateStore(tmp_path)
    assert alerts[0].id not in store.alerts()
    store.quarantine_failed()
    assert [q.alert_id for q in StateStore(tmp_path).quarantined()] == [alerts[0].id]


def test_a_symbolic_link_as_a_plot_costs_the_alert_its_plot_only(tmp_path):
    alerts = write_state(tmp_path)
    plot = tmp_path / "plots" / f"{alerts[0].id}.json"
    plot.unlink()
    plot.symlink_to(tmp_path / "plots" / f"{alerts[1].id}.json")
    store = StateStore(tmp_path)
    assert store.alerts()[alerts[0].id].plot == Plot()
    (moved,) = store.quarantine_failed()
    assert moved.original == f"plots/{alerts[0].id}.json" and not os.path.lexists(plot)


def test_a_folder_named_like_a_record_is_left_in_place_and_its_alert_held(tmp_path):
    alerts = write_state(tmp_path)
    path = tmp_path / "alerts" / f"{alerts[0].id}.json"
    path.unlink()
    path.mkdir()
    (path / "inside.txt").write_text("kept")
    for dry_run in (True, False):
        store = StateStore(tmp_path, dry_run=dry_run)
        assert alerts[0].id not in store.alerts()
        assert f"{path}: is a folder, not a file" in store.errors
        assert store.quarantine_failed() == []  # nothing moved ...
        (held,) = store.quarantined()  # ... but its alert is held all the same
        assert held.in_place and held.alert_id == alerts[0].id
        assert str(held).startswith(f"alerts/{alerts[0].id}.json (left in place): ")
        assert (path / "inside.txt").read_text() == "kept"
        assert not (tmp_path / "quarantine").exists()


def test_a_record_that_failed_and_cannot_be_moved_is_never_written_over(tmp_path):
    alerts = write_state(tmp_path)
    path = tmp_path / "alerts" / f"{alerts[0].id}.json"
    path.unlink()
    path.mkdir()
    store = StateStore(tmp_path)
    store.alerts()
    with pytest.raises(OSError):
        store.save_alert(alerts[0])
    assert path.is_dir() and list(path.iterdir()) == []


@pytest.mark.parametrize("folder", ["alerts", "summaries", "plots", "quarantine"])
@pytest.mark.parametrize("how", ["a file", "a symbolic link"])
def test_a_records_folder_that_is_no_plain_folder_stops_the_reader(tmp_path, folder, how):
    """Nothing could be kept there: reading on would create and deliver the same alerts again
    on every run."""
    from alerting.alerts.store import StateFolderError

    write_state(tmp_path / "state")
    away = tmp_path / "away"
    (tmp_path / "state" / folder).mkdir(exist_ok=True)
    shutil.move(tmp_path / "state" / folder, away)
    if how == "a file":
        (tmp_path / "state" / folder).write_text("{}")
    else:
        (tmp_path / "state" / folder).symlink_to(away, target_is_directory=True)
    store = StateStore(tmp_path / "state")
    with pytest.raises(StateFolderError, match=f"state/{folder}/ can be neither read nor kept"):
        store.alerts()
        store.summaries()


def test_a_failed_file_that_cannot_be_set_aside_is_never_written_over(tmp_path):
    alerts = write_state(tmp_path)
    first_seen = tmp_path / "probes" / "a.b.json"
    first_seen.parent.mkdir()
    first_seen.write_text('{"probe": 3}')
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "quarantine").mkdir()
    (tmp_path / "quarantine" / "probes").symlink_to(tmp_path / "elsewhere")
    store = StateStore(tmp_path)
    assert store.first_seen("a.b") is None
    with pytest.raises(FileExistsError, match="could not be set aside"):
        store.save_first_seen(FirstSeen("a.b", {}))
    assert (
        first_seen.read_text() == '{"probe": 3}' and list((tmp_path / "elsewhere").iterdir()) == []
    )
    (held,) = store.quarantined()
    assert held.in_place and "symbolic link" in str(held)
    assert sorted(store.alerts()) == sorted(a.id for a in alerts)  # quarantine/alerts is fine
