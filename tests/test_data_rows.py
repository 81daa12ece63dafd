import datetime as dt
import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alerting.cli import main
from alerting.data.families import FAMILIES, min_days
from alerting.data.generator import generate
from alerting.data.model import SeriesKey
from alerting.data.row_files import iter_rows
from alerting.data.rows import read_series
from alerting.data.series import PROBLEM, WHERE, series_from_rows
from alerting.errors import UserError

FIXTURES = Path(__file__).parent / "fixtures" / "data"


def glam_row(build_id="2025010103", hist='{"1": 1, "2": 2}', **extra):
    return {
        "app_id": "nightly",
        "os": "Windows",
        "metric": "m",
        "metric_type": "timing_distribution",
        "metric_key": "",
        "build_id": build_id,
        "total_users": 50,
        "total_sample": 3,
        "non_norm_histogram": hist,
        **extra,
    }


def test_real_glam_api_responses_load_into_daily_series():
    series, problems = read_series(
        [
            FIXTURES / "glam_stories__exponential_histogram_build_id.json",
            FIXTURES / "glam_stories__enumerated_histogram_build_id.json",
            FIXTURES / "glam_stories__exponential_histogram_version.json",  # build_id '*' only
        ]
    )
    assert problems == []
    assert len(series) == 2
    expo = series[SeriesKey("Exponential Histogram (version)", "*")]
    enum = series[SeriesKey("Enumerated Histogram (by Build ID)", "*")]
    # 134 builds (two a day, 14-digit ids) from 2019-09-19 to 2019-11-23: 66 days, no gap.
    for s in (expo, enum):
        assert s.start == dt.date(2019, 9, 19)
        assert s.n_days == 66 and s.present.all()
        assert len(s.build_ids[0]) == 14
    assert expo.counts.shape == (66, 50)
    assert enum.counts.shape == (66, 20)
    assert enum.buckets.tolist() == list(range(20))
    # Normalized shares weighted by users: each day totals its builds' users (shares sum ~1).
    raw = json.loads((FIXTURES / "glam_stories__enumerated_histogram_build_id.json").read_text())
    first_day = [r for r in raw["response"] if r["build_id"].startswith("20190919")]
    expected = sum(r["total_users"] * sum(r["histogram"].values()) for r in first_day)
    assert enum.counts[0].sum() == pytest.approx(expected)


def test_mixed_good_and_bad_rows_one_message_per_bad_line(tmp_path):
    lines = [
        json.dumps(glam_row("2025010103")),
        "{this is not json",
        json.dumps(glam_row("2025010104", hist="[1, 2]")),
        json.dumps(glam_row("2025010105", hist='{"one": 5}')),
        json.dumps(glam_row("2025010106", hist='{"1": -5}')),
        json.dumps(glam_row("2025010107", hist='{"1": null}')),
        json.dumps(glam_row(None)),
        json.dumps(glam_row("2025-01-01")),
        "",
        "[1, 2]",
        json.dumps(glam_row("2025010203")),
        json.dumps(glam_row("2025010103", os="Linux")),
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(lines) + "\n")
    series, problems = read_series([path])
    assert [p.split(": ", 1)[0] for p in problems] == [
        f"{path}:{n}" for n in (2, 3, 4, 5, 6, 7, 8, 10)
    ]
    assert "not valid JSON" in problems[0]
    assert "not an object" in problems[1]
    assert "bucket key 'one'" in problems[2]
    assert "negative" in problems[3]
    assert "count None for bucket '1' is not a number" in problems[4]
    assert "missing build_id" in problems[5]
    assert "'2025-01-01'" in problems[6]
    assert "not a JSON object" in problems[7]
    assert set(series) == {
        SeriesKey("m", "Windows", "", "nightly", "nightly"),
        SeriesKey("m", "Linux", "", "nightly", "nightly"),
    }
    windows = series[SeriesKey("m", "Windows", "", "nightly", "nightly")]
    assert windows.counts.tolist() == [[1, 2], [1, 2]]
    # Reading marks only what is not a row at all; the rest is for the series step.
    read = list(iter_rows(path))
    assert len(read) == 11 and sum(PROBLEM in r for r in read) == 2


def test_same_rows_from_jsonl_csv_parquet_gzip_and_api_shape(tmp_path):
    data = generate(seed=4, n_series=3, days=20, end=dt.date(2025, 3, 1))
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in data.rows))
    frame = pd.DataFrame(data.rows)
    frame.to_csv(tmp_path / "rows.csv", index=False)
    frame.to_parquet(tmp_path / "rows.parquet")
    with open(jsonl, "rb") as src, gzip.open(tmp_path / "rows.jsonl.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    api = [{**r, "non_norm_histogram": json.loads(r["non_norm_histogram"])} for r in data.rows]
    (tmp_path / "api.json").write_text(json.dumps({"response": api}))
    shutil.copy(jsonl, tmp_path / "no_extension")

    expected = series_from_rows(data.rows)
    for name in (
        "rows.jsonl",
        "rows.csv",
        "rows.parquet",
        "rows.jsonl.gz",
        "api.json",
        "no_extension",
    ):
        series, problems = read_series([tmp_path / name])
        assert problems == [], name
        assert series.keys() == expected.keys(), name
        for key, s in series.items():
            np.testing.assert_array_equal(s.counts, expected[key].counts)
            assert s.build_ids == expected[key].build_ids


def test_csv_problems_name_the_line(tmp_path):
    path = tmp_path / "rows.csv"
    frame = pd.DataFrame([glam_row("2025010103"), glam_row("nope"), glam_row("2025010203")])
    frame.to_csv(path, index=False)
    series, problems = read_series([path])
    assert problems == [f"{path}:3: build_id 'nope' is not YYYYMMDDHH or YYYYMMDDhhmmss digits"]
    assert next(iter(series.values())).n_days == 2


def test_a_csv_header_naming_a_column_twice_is_one_problem_of_the_header(tmp_path):
    path = tmp_path / "rows.csv"
    frame = pd.DataFrame([glam_row("2025010103"), glam_row("2025010203")])
    header = ["metric" if c == "metric_key" else c for c in frame.columns]
    frame.to_csv(path, index=False, header=header)
    (tmp_path / "good.csv").write_text(frame.to_csv(index=False))
    series, problems = read_series([path, tmp_path / "good.csv"])
    assert len(series) == 1
    assert len(problems) == 1
    assert problems[0].startswith(
        f"{path}:1: the header names column 'metric' twice (columns 3 and 5); give each "
        "column its own name"
    )


def test_a_csv_header_repeating_a_column_never_read_is_fine(tmp_path):
    path = tmp_path / "rows.csv"
    frame = pd.DataFrame([glam_row("2025010103"), glam_row("2025010203")])
    frame["notes"], frame["notes "] = "a", "b"
    frame.to_csv(path, index=False, header=[*frame.columns[:-1], "notes"])
    series, problems = read_series([path])
    assert problems == [] and next(iter(series.values())).n_days == 2


def test_a_leading_byte_order_mark_is_not_part_of_the_first_row_or_column(tmp_path):
    rows = [glam_row("2025010103"), glam_row("2025010203")]
    bom = "\ufeff"
    lines = "".join(json.dumps(r) + "\n" for r in rows)
    (tmp_path / "rows.jsonl").write_text(bom + lines, encoding="utf-8")
    (tmp_path / "no_extension").write_text(bom + lines, encoding="utf-8")
    (tmp_path / "api.json").write_text(bom + json.dumps({"response": rows}), encoding="utf-8")
    frame = pd.DataFrame(rows)
    frame.to_csv(tmp_path / "app_first.csv", index=False, encoding="utf-8-sig")
    build_first = frame[["build_id", *(c for c in frame.columns if c != "build_id")]]
    build_first.to_csv(tmp_path / "build_first.csv", index=False, encoding="utf-8-sig")

    for name in ("rows.jsonl", "no_extension", "api.json", "app_first.csv", "build_first.csv"):
        series, problems = read_series([tmp_path / name])
        assert problems == [], name
        (key,) = series
        assert key.app_id == "nightly", name
        assert series[key].build_ids == ("2025010103", "2025010203"), name


def test_unreadable_inputs_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        read_series([tmp_path / "missing.jsonl"])
    (tmp_path / "folder.jsonl").mkdir()
    with pytest.raises(UserError, match="folder.jsonl: a folder, not a file; name the files"):
        read_series([tmp_path / "folder.jsonl"])
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(UserError, match="not a readable Parquet"):
        read_series([tmp_path / "bad.parquet"])
    (tmp_path / "bad.json").write_text('{"detail": "nope"}')
    with pytest.raises(UserError, match="without GLAM rows"):
        read_series([tmp_path / "bad.json"])
    (tmp_path / "error.json").write_text('["probe not found"]')
    with pytest.raises(UserError, match="error response: probe not found"):
        read_series([tmp_path / "error.json"])
    (tmp_path / "all_bad.jsonl").write_text("{oops\n{oops\n")
    with pytest.raises(UserError, match="no usable GLAM row"):
        read_series([tmp_path / "all_bad.jsonl"])
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(UserError, match="no header with a build_id"):
        read_series([tmp_path / "x.csv"])


def test_an_unreadable_file_is_a_problem_of_its_own_and_the_others_are_read(tmp_path, monkeypatch):
    from alerting.data import row_files

    monkeypatch.setattr(row_files, "BLOCK_BYTES", 64)  # rows before the cut are read
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(glam_row("2025010103")) + "\n")
    draw = np.random.default_rng(1)  # counts that do not compress away
    days = [f"2025{m:02}{d:02}03" for m in (2, 3) for d in range(1, 29)]
    hists = [json.dumps(dict(enumerate(draw.integers(9, 999, 20).tolist()))) for _ in days]
    lines = "".join(
        json.dumps(glam_row(day, hist, os="Linux")) + "\n"
        for day, hist in zip(days, hists, strict=True)
    )
    packed = gzip.compress(lines.encode())
    (tmp_path / "cut.jsonl.gz").write_bytes(packed[: len(packed) // 2])
    (tmp_path / "plain.jsonl.gz").write_text(lines)  # not gzip at all
    (tmp_path / "cut_no_kind.gz").write_bytes(packed[:30])

    names = ["cut.jsonl.gz", "plain.jsonl.gz", "cut_no_kind.gz"]
    series, problems = read_series([good, *(tmp_path / n for n in names)])
    assert [p.split(": cannot read: ")[0] for p in problems] == [str(tmp_path / n) for n in names]
    assert "rows up to" in problems[0] and "none of its rows are used" in problems[1]
    assert all("check the file is complete" in p for p in problems)
    windows = SeriesKey("m", "Windows", app_id="nightly", channel="nightly")
    assert series[windows].build_ids == ("2025010103",)
    # The rows before the cut:
    linux = series[SeriesKey("m", "Linux", app_id="nightly", channel="nightly")]
    assert 0 < linux.present.sum() < 56

    with pytest.raises(UserError, match="no usable GLAM row(.|\n)*plain.jsonl.gz: cannot read"):
        read_series([tmp_path / "plain.jsonl.gz", tmp_path / "cut_no_kind.gz"])


def test_a_csv_line_that_is_not_utf8_loses_only_its_row(tmp_path):
    path = tmp_path / "rows.csv"
    pd.DataFrame([glam_row("2025010103"), glam_row("2025010203")]).to_csv(path, index=False)
    header, first, second = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(header + first + first.replace(b"Windows", b"Win\xe9") + second)
    series, problems = read_series([path])
    assert problems == [
        f"{path}:3: bytes that are not UTF-8 text; skipped (save the file as UTF-8)"
    ]
    assert next(iter(series.values())).build_ids == ("2025010103", "2025010203")


def test_sample_data_command_writes_rows_and_truth(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["sample-data", "--out", str(out), "--seed", "7", "--series", "3",
                 "--days", "30", "--end", "2025-02-01"]) == 0  # fmt: skip
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    truth = json.loads((out / "truth.json").read_text())
    again = generate(seed=7, n_series=3, days=30, end=dt.date(2025, 2, 1))
    assert rows == again.rows and truth == again.truth
    assert "3 series" in capsys.readouterr().out
    series, problems = read_series([out / "rows.jsonl"])
    assert len(series) == 3 and problems == []
    assert all(WHERE not in r for r in rows)


def test_sample_data_command_draws_a_family_and_samples_again(tmp_path):
    out = tmp_path / "out"
    assert main(["sample-data", "--out", str(out), "--seed", "7", "--series", "2", "--days",
                 "40", "--end", "2025-02-01", "--family", "linear", "--sampling-seed", "3"]) == 0  # fmt: skip
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    again = generate(
        seed=7, n_series=2, days=40, end=dt.date(2025, 2, 1), family="linear", sampling_seed=3
    )
    assert rows == again.rows
    assert {r["metric_type"] for r in rows} == {"custom_distribution"}


@pytest.mark.parametrize(
    "arguments",
    [
        ["--end", "9999-12-31"],  # every row after tomorrow
        ["--end", "0001-01-01"],  # OverflowError
        ["--end", "2010-01-05", "--days", "6"],  # a day before 2010
        ["--days", "7000"],
        ["--days", "1000000000"],
        ["--seed", "-1"],  # ValueError of numpy
        ["--sampling-seed", "-5"],
    ],
)
def test_sample_data_refuses_what_detect_would_refuse_with_a_clear_error(
    tmp_path, capsys, arguments
):
    """Only rows `alerting detect` reads: days from 2010-01-01 to tomorrow, seeds numpy takes."""
    out = tmp_path / "out"
    try:
        status = main(["sample-data", "--out", str(out), "--series", "1", *arguments])
    except SystemExit as usage:  # an argument argparse refuses
        status = usage.code
    assert status in (1, 2)
    error = capsys.readouterr().err
    assert "error:" in error and arguments[0] in error and "unexpected" not in error
    assert not out.exists()


@pytest.mark.parametrize("family", FAMILIES)
def test_sample_data_refuses_fewer_days_than_its_family_needs_and_writes_that_many(
    tmp_path, capsys, family
):
    fewest = min_days(family)
    needs = {"hard": 31, "holidays": 31, "volume_steps": 31, "spikes": 21, "drift": 11}
    assert fewest == needs.get(family, 1)
    out = tmp_path / "out"
    common = ["sample-data", "--out", str(out), "--family", family, "--series", "3"]
    if fewest > 1:  # an IndexError (exit 3) before
        assert main([*common, "--days", str(fewest - 1)]) == 1
        error = capsys.readouterr().err
        assert f"too few for --family {family}, whose series need at least {fewest} days" in error
        assert "unexpected" not in error and not out.exists()
    for seed in ("0", "1", "2"):
        assert main([*common, "--days", str(fewest), "--seed", seed]) == 0


def test_sample_data_caps_the_number_of_series(tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as usage:  # ran for minutes before
        main(["sample-data", "--out", str(out), "--series", "100000000"])
    assert usage.value.code == 2
    assert "--series: must be 10,000 or less, not 100,000,000" in capsys.readouterr().err
    assert not out.exists()


def test_sample_data_up_to_tomorrow_and_back_to_2010_is_read_whole(tmp_path):
    from alerting.data.buildids import FIRST_BUILD_DAY, latest_build_day

    out = tmp_path / "out"
    tomorrow = latest_build_day()
    days = (tomorrow - FIRST_BUILD_DAY).days + 1
    assert main(["sample-data", "--out", str(out), "--series", "1", "--days", str(days),
                 "--end", tomorrow.isoformat()]) == 0  # fmt: skip
    series, problems = read_series([out / "rows.jsonl"])
    assert problems == []
    (only,) = series.values()
    assert only.start >= FIRST_BUILD_DAY and only.end <= tomorrow


def read_at_once_and_in_three_parts(path: Path, monkeypatch):
    """(series, problems) of `path` read in one go, then read in three parallel parts."""
    from alerting.data import rows as rows_module

    at_once = read_series([path])
    monkeypatch.setattr(rows_module, "PARALLEL_BYTES", 1)
    monkeypatch.setattr(rows_module.os, "cpu_count", lambda: 3)
    assert len(rows_module._parts([path])) == 3
    return at_once, read_series([path])


def test_big_files_read_in_parallel_give_the_same_series_and_line_numbers(tmp_path, monkeypatch):
    data = generate(seed=8, n_series=4, days=40, end=dt.date(2025, 3, 1))
    lines = [json.dumps(r) for r in data.rows]
    lines[len(lines) // 2 + 3] = "{broken"
    lines[-2] = json.dumps({**data.rows[-2], "build_id": "20251399"})
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(lines) + "\n")
    (sequential, seq_problems), (parallel, par_problems) = read_at_once_and_in_three_parts(
        path, monkeypatch
    )
    assert par_problems == seq_problems
    assert [p.split(": ")[0] for p in par_problems] == [
        f"{path}:{len(lines) // 2 + 4}",
        f"{path}:{len(lines) - 1}",
    ]
    assert parallel.keys() == sequential.keys()
    for key, s in parallel.items():
        np.testing.assert_array_equal(s.buckets, sequential[key].buckets)
        np.testing.assert_array_equal(s.counts, sequential[key].counts)
        np.testing.assert_array_equal(s.present, sequential[key].present)
        assert s.build_ids == sequential[key].build_ids and s.start == sequential[key].start


def test_a_row_repeated_in_another_parallel_part_is_counted_once(tmp_path, monkeypatch):
    data = generate(seed=8, n_series=4, days=40, end=dt.date(2025, 3, 1))
    lines = [json.dumps(r) for r in data.rows]
    lines[-1] = lines[len(lines) // 2] = lines[0]  # in the first, second and third part
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(lines) + "\n")
    (sequential, seq_problems), (parallel, par_problems) = read_at_once_and_in_three_parts(
        path, monkeypatch
    )
    assert (
        par_problems
        == seq_problems
        == [
            f"{path}:{n}: same series and build {data.rows[0]['build_id']} as {path}:1; counted once"
            for n in (len(lines) // 2 + 1, len(lines))
        ]
    )
    assert parallel.keys() == sequential.keys()
    for key, s in parallel.items():
        np.testing.assert_array_equal(s.counts, sequential[key].counts)


def test_big_parquet_files_read_in_parallel_in_ranges_of_rows(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from alerting.data import rows as rows_module

    data = generate(seed=9, n_series=4, days=40, end=dt.date(2025, 3, 1))
    rows = [dict(r) for r in data.rows]
    rows[len(rows) // 2 + 3]["non_norm_histogram"] = '{"1": -4}'
    rows[-2]["build_id"] = "20251399"
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=50)
    sequential, seq_problems = read_series([path])
    monkeypatch.setattr(rows_module, "PARALLEL_BYTES", 1)
    monkeypatch.setattr(rows_module.os, "cpu_count", lambda: 3)
    parts = rows_module._parts([path])
    ends = [p.end for p in parts]
    assert len(parts) == 3 and ends[-1] == len(rows)
    assert [(p.start, p.line) for p in parts] == [
        (0, 1),
        (ends[0], 1 + ends[0]),
        (ends[1], 1 + ends[1]),
    ]
    assert any(end % 50 for end in ends[:-1])  # a part starts inside a row group
    parallel, par_problems = read_series([path])
    assert par_problems == seq_problems
    assert [p.split(": ")[0] for p in par_problems] == [
        f"{path}:row {len(rows) // 2 + 4}",
        f"{path}:row {len(rows) - 1}",
    ]
    assert parallel.keys() == sequential.keys()
    for key, s in parallel.items():
        np.testing.assert_array_equal(s.counts, sequential[key].counts)
        assert s.build_ids == sequential[key].build_ids and s.start == sequential[key].start


def test_a_range_of_parquet_rows_is_read_across_row_groups_and_batches(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from alerting.data import series as series_module
    from alerting.data.parquet_rows import parquet_batches

    monkeypatch.setattr(series_module, "CHUNK_ROWS", 7)
    data = generate(seed=9, n_series=2, days=30, end=dt.date(2025, 3, 1))
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.Table.from_pylist(data.rows), path, row_group_size=20)
    n = len(data.rows)
    for start, stop in [(0, n), (0, 5), (5, 33), (19, 21), (20, 40), (n - 3, n), (3, 3)]:
        batches = list(parquet_batches(path, rows=range(start, stop)))
        where = [w for b in batches for w in b.where]
        assert where == [f"{path}:row {i + 1}" for i in range(start, stop)]
        assert [b.first for b in batches] == [int(b.where[0].rsplit(" ", 1)[1]) for b in batches]
        ids = [i for b in batches for i in b.columns["build_id"]]
        assert ids == [r["build_id"] for r in data.rows[start:stop]]
        texts = [t for b in batches for t in b.columns["non_norm_histogram"].to_pylist()]
        assert texts == [r["non_norm_histogram"] for r in data.rows[start:stop]]


def test_parquet_parts_cost_the_same_counting_the_rows_a_part_decodes_and_drops():
    from alerting.data.rows import SKIPPED_ROW_COST, _balanced_ends

    assert _balanced_ends(1000, 2, lambda start: start % 500) == [500, 1000]  # at a border
    one_group = _balanced_ends(1000, 2, lambda start: start)
    assert one_group[-1] == 1000 and one_group[0] > 500
    later = 1000 - one_group[0] + SKIPPED_ROW_COST * one_group[0]
    assert abs(one_group[0] - later) <= 2  # the later part has fewer rows, as costly
    assert _balanced_ends(10, 4, lambda start: 0)[-1] == 10
    assert _balanced_ends(1, 3, lambda start: 0) == [1, 1, 1]  # empty parts are dropped


def test_a_file_refused_as_a_whole_is_one_problem_and_the_others_are_read(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = generate(seed=9, n_series=4, days=40, end=dt.date(2025, 3, 1))
    good = tmp_path / "good.jsonl"
    good.write_text("".join(json.dumps(r) + "\n" for r in data.rows))
    damaged = tmp_path / "rows.parquet"
    pq.write_table(pa.Table.from_pylist([dict(r) for r in data.rows]), damaged)
    raw = bytearray(damaged.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 2000] = bytes(2000)  # the footer still reads; pages do not
    damaged.write_bytes(bytes(raw))
    no_rows = tmp_path / "notes.csv"
    no_rows.write_text("day,value\n1,2\n")

    series, problems = read_series([damaged, good, no_rows])
    alone, _ = read_series([good])
    assert series.keys() == alone.keys()
    assert [p.split(": ")[0] for p in problems] == [str(damaged), str(no_rows)]
    assert "not a readable Parquet file" in problems[0]
    assert all(p.endswith("; the rest of this file is not used") for p in problems)
    with pytest.raises(UserError, match="no usable GLAM row"):
        read_series([damaged, no_rows])


def test_a_parquet_file_with_damaged_pages_is_a_clear_error(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = generate(seed=9, n_series=4, days=40, end=dt.date(2025, 3, 1))
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.Table.from_pylist([dict(r) for r in data.rows]), path, compression="snappy")
    raw = bytearray(path.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 2000] = bytes(2000)  # the footer still reads; pages do not
    path.write_bytes(bytes(raw))
    with pytest.raises(UserError, match=r"rows\.parquet: not a readable Parquet file"):
        read_series([path])


def test_json_lines_named_json_are_read_as_lines_whatever_their_size(tmp_path, monkeypatch):
    from alerting.data import row_files

    data = generate(seed=9, n_series=2, days=30, end=dt.date(2025, 3, 1))
    rows = [dict(r) for r in data.rows]
    rows[0]["padding"] = "x" * 10_000  # a first line far longer than a sniff reads
    export = tmp_path / "export.json"  # BigQuery's newline-delimited export
    export.write_text("".join(json.dumps(r) + "\n" for r in rows))
    lines = tmp_path / "rows.jsonl"
    lines.write_text(export.read_text())
    monkeypatch.setattr(row_files, "MAX_DOCUMENT_BYTES", 1000)  # far below the file
    series, problems = read_series([export])
    expected, _ = read_series([lines])
    assert problems == [] and series.keys() == expected.keys()
    assert row_files.file_kind(export) == row_files.JSON_LINES
    assert row_files.file_kind(lines.rename(tmp_path / "rows")) == row_files.JSON_LINES


def test_a_file_given_twice_is_read_once_and_named(tmp_path):
    data = generate(seed=9, n_series=2, days=20, end=dt.date(2025, 3, 1))
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in data.rows))
    (tmp_path / "link.jsonl").symlink_to(path)
    once, none = read_series([path])
    series, problems = read_series([path, tmp_path / "link.jsonl", path])
    assert none == [] and problems == [
        f"{tmp_path / 'link.jsonl'}: the same file as {path}; its rows are read once",
        f"{path}: given twice; its rows are read once",
    ]
    assert series.keys() == once.keys()
    for key, s in series.items():
        np.testing.assert_array_equal(s.counts, once[key].counts)


def test_a_parquet_column_rows_are_read_by_given_twice_refuses_the_file_naming_it(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from alerting.data.row_index import index_files

    data = generate(seed=9, n_series=2, days=20, end=dt.date(2025, 3, 1))
    table = pa.Table.from_pylist([dict(r) for r in data.rows])
    good = tmp_path / "good.parquet"
    pq.write_table(table, good)

    def twice(name: str):
        path = tmp_path / f"{name}-twice.parquet"
        columns, names = [*table.columns, table.column(name)], [*table.column_names, name]
        pq.write_table(pa.Table.from_arrays(columns, names=names), path)
        return path

    # A column no row is read by may repeat: the rows are read as without it.
    alone, none = read_series([good])
    series, problems = read_series([twice("version")])
    assert none == problems == [] and series.keys() == alone.keys()
    for key, s in series.items():
        np.testing.assert_array_equal(s.counts, alone[key].counts)
    # One rows are read by: every other column would be taken for its neighbour.
    refused = twice("os")
    position = table.column_names.index("os") + 1
    message = (
        f"{refused}: the file has two columns named 'os' (columns {position} and "
        f"{len(table.column_names) + 1}); give each column its own name"
    )
    series, problems = read_series([refused, good])
    assert series.keys() == alone.keys()
    assert problems == [f"{message}; the rest of this file is not used"]
    (index,) = index_files([refused])  # the daily run's reading
    assert index.problem == f"{message}; the rest of this file is not used"
