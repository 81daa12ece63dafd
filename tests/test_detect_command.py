import datetime as dt
import json

import orjson

from alerting.cli import main
from alerting.data.generator import generate

END = dt.date(2024, 6, 30)


def write_rows(tmp_path):
    data = generate(seed=3, n_series=6, days=150, end=END)
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in data.rows))
    return path, data.truth


def test_json_output_carries_the_detection_fields(tmp_path, capsys):
    path, truth = write_rows(tmp_path)
    assert main(["detect", str(path), "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found, "the generated changes should give at least one detection"
    for item in found:
        assert {"metric", "os", "metric_key", "date", "build_id", "direction", "technique"} <= set(
            item
        )
        assert {"median", "p05", "p95", "samples"} <= set(item["before"]) & set(item["after"])
        assert item["technique"] == "cdf_squared"
        assert item["build_id"].startswith(item["date"].replace("-", ""))
    labelled = {(t["metric"], t["os"], c["date"]) for t in truth for c in t["changes"]}
    hits = [
        f
        for f in found
        if any(
            (f["metric"], f["os"]) == (m, o)
            and -3 <= (dt.date.fromisoformat(f["date"]) - dt.date.fromisoformat(d)).days <= 7
            for m, o, d in labelled
        )
    ]
    assert len(hits) >= len(found) / 2


def test_as_of_sees_only_earlier_days(tmp_path, capsys):
    path, _ = write_rows(tmp_path)
    as_of = END - dt.timedelta(days=60)
    assert main(["detect", str(path), "--format", "json", "--as-of", as_of.isoformat()]) == 0
    found = json.loads(capsys.readouterr().out)
    assert all(dt.date.fromisoformat(f["date"]) <= as_of for f in found)
    assert main(["detect", str(path), "--format", "json"]) == 0
    later = {
        (f["metric"], f["os"], f["metric_key"], f["date"])
        for f in json.loads(capsys.readouterr().out)
    }
    assert {(f["metric"], f["os"], f["metric_key"], f["date"]) for f in found} <= later


def test_table_output_and_another_technique(tmp_path, capsys):
    path, _ = write_rows(tmp_path)
    assert (
        main(["detect", str(path), "--technique", "quantile-steps", "--arg", "threshold=0.9"]) == 0
    )
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:5] == ["app", "metric", "os", "key", "date"]
    assert out.splitlines()[0].split()[-3:] == ["score", "median", "p95"]  # the tail, too
    assert "→" in out.splitlines()[2].split("  ")[-1]


def test_unknown_technique_and_bad_arguments_are_usage_errors(tmp_path, capsys):
    path, _ = write_rows(tmp_path)
    assert main(["detect", str(path), "--technique", "magic"]) == 2
    assert "unknown technique 'magic'" in capsys.readouterr().err
    assert main(["detect", str(path), "--arg", "threshold=3", "--arg", "nope=1"]) == 2
    err = capsys.readouterr().err
    assert "threshold must be at most 1" in err and "unknown argument 'nope'" in err


def test_a_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main(["detect", str(tmp_path / "missing.jsonl")]) == 1
    assert "missing.jsonl" in capsys.readouterr().err


def test_a_fleet_shared_out_to_processes_gives_the_same_detections(tmp_path, monkeypatch):
    from alerting.data.rows import read_series
    from alerting.detect import fleet
    from alerting.detect.registry import get_technique, parse_args

    path, _ = write_rows(tmp_path)
    series, _ = read_series([path])
    technique = get_technique("cdf_squared")
    args = parse_args(technique, []).values
    alone = fleet.detect_all(series, technique, args)
    monkeypatch.setattr(fleet, "PARALLEL_SERIES", 2)
    monkeypatch.setattr(fleet.os, "cpu_count", lambda: 3)
    shared = fleet.detect_all(series, technique, args, as_of=None)
    assert alone and [f.to_json() for f in shared] == [f.to_json() for f in alone]
    assert [f.key for f in shared] == sorted(f.key for f in shared)
    assert fleet._FORKED is None


def test_the_table_names_the_app_when_the_rows_have_one(tmp_path, capsys):
    path, _ = write_rows(tmp_path)
    rows = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert {row["app_id"] for row in rows} == {"nightly"}
    without = tmp_path / "no-app.jsonl"
    without.write_bytes(
        b"".join(
            orjson.dumps({k: v for k, v in row.items() if k != "app_id"}) + b"\n" for row in rows
        )
    )
    assert main(["detect", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["app", "metric"]
    assert len(lines) > 2 and all(line.split()[0] == "nightly" for line in lines[2:])
    assert main(["detect", str(without)]) == 0
    assert capsys.readouterr().out.split()[0] == "metric"


def test_an_input_without_rows_says_so(tmp_path, capsys):
    empty, no_rows = tmp_path / "empty.jsonl", tmp_path / "api.json"
    empty.write_text("")
    no_rows.write_text('{"response": []}')
    for path in (empty, no_rows):
        assert main(["detect", str(path), "--format", "json"]) == 0
        out, err = capsys.readouterr()
        assert json.loads(out) == []
        assert "the input holds no GLAM rows; nothing to detect" in err


def test_a_label_with_newlines_cannot_forge_table_lines(tmp_path, capsys):
    """Every control character of a cell is shown escaped: a newline or carriage return in a
    label once started a line of its own, which read as a detection that is not there."""
    forged = "nightly  fake_metric  Linux  x  2026-01-01  2026010100  up  cdf_squared  99.0"
    data = generate(seed=3, n_series=6, days=150, end=END)
    for row in data.rows:
        row["metric_key"] = f"\x1b[31mFAKE\x1b[0m\n{forged}\r{forged}\t\x85x"
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in data.rows))
    assert main(["detect", str(path), "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found
    assert main(["detect", str(path)]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 2 + len(found) and "\r" not in out and "\t" not in out
    assert all(not line.startswith("nightly  fake_metric") for line in out.splitlines())
    assert "\\x1b[31mFAKE\\x1b[0m\\nnightly  fake_metric" in out and "\\r" in out


def test_a_date_outside_the_data_is_the_run_s_clear_error(tmp_path, capsys):
    """Once an empty table and exit 0: as `alerting run`, a day the data does not reach."""
    path, _ = write_rows(tmp_path)
    assert main(["detect", str(path), "--date", "1900-01-01"]) == 1
    err = capsys.readouterr().err
    assert "--date 1900-01-01 is outside the data" in err and str(END) in err
    assert main(["detect", str(path), "--date", str(END + dt.timedelta(days=7))]) == 0  # late


def test_a_technique_argument_given_twice_is_a_usage_error_naming_it(tmp_path, capsys):
    """Once silently the last value."""
    path, _ = write_rows(tmp_path)
    arguments = ["--arg", "threshold=0.9", "--arg", " threshold =0.8"]
    assert main(["detect", str(path), "--technique", "quantile-steps", *arguments]) == 2
    err = capsys.readouterr().err
    assert "--arg  threshold =0.8: threshold is given twice (also --arg threshold=0.9)" in err
