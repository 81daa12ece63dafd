"""Every way rows are read (bulk count conversion, batches of Parquet columns, JSON lines in
blocks) gives the series a plain per-row sum gives, and the same problems."""

import datetime as dt
import gzip
import io
import json
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from alerting.data import entries as entries_module
from alerting.data import row_files
from alerting.data import series as series_module
from alerting.data.model import SeriesKey
from alerting.data.row_files import TOO_LONG, binary_lines
from alerting.data.rows import read_series

DAY0 = dt.date(2025, 1, 1)


def row(day: int, hour: int, hist, os="Windows", metric_key="", **extra):
    build = (DAY0 + dt.timedelta(days=day)).strftime("%Y%m%d") + f"{hour:02d}"
    return {
        "app_id": "nightly",
        "channel": "nightly",
        "os": os,
        "metric": "m",
        "metric_type": "labeled_timing_distribution" if metric_key else "timing_distribution",
        "metric_key": metric_key,
        "build_id": build,
        "total_users": 10,
        "total_sample": 40,
        "non_norm_histogram": hist if isinstance(hist, str) else json.dumps(hist),
        **extra,
    }


def mixed_rows() -> tuple[list[dict], dict[int, str]]:
    """Rows with several builds a day, labels, differing key sets, `*` builds, normalized
    histograms and bad counts; and the reason expected for each bad row (by index)."""
    rows, bad = [], {}
    for day in range(12):
        rows.append(row(day, 3, {"1": day, "2": 5, "4": 1}))
        rows.append(row(day, 15, {"1": 2, "8": day + 1}))  # another build, other keys
        rows.append(row(day, 4, {"1": 1, "2": day}, metric_key="label_a"))
        rows.append(row(day, 4, {"2": 3.5, "16": 1}, os="Linux"))
    rows.append({**row(3, 3, {"1": 99}), "build_id": "*"})  # a version aggregate: skipped
    normalized = {**row(5, 9, {}), "non_norm_histogram": None, "histogram": '{"1": 0.25}'}
    rows.append(normalized)  # weighted by total_sample
    cases = [
        ('{"1": "5", "2": 1}', "count '5' for bucket '1' is not a number"),
        ('{"1": 1, "2": {"a": 1}}', "count {'a': 1} for bucket '2' is not a number"),
        ('{"1": 1, "2": true}', "count True for bucket '2' is not a number"),
        ('{"1": null}', "count None for bucket '1' is not a number"),
        ('{"1": -3}', "count -3.0 for bucket '1' is negative"),
        ('{"x": 3}', "bucket key 'x' is not a number"),
        ('{"1_000": 3}', "bucket key '1_000' is not a number"),
        ('{" 2": 3}', "bucket key ' 2' is not a number"),
        ('{"\u0663": 3}', "bucket key '\u0663' is not a number"),
        ('{"Infinity": 3}', "bucket key 'Infinity' is not a number"),
        ('{"1": 1e999}', "histogram is not valid JSON"),
        ('{"1": 2, "1": 3, "2": 1}', "bucket key '1' appears twice; give each bucket once"),
    ]
    for n, (text, reason) in enumerate(cases):
        if reason:
            bad[len(rows)] = reason
        rows.append(row(20 + n, 3, text))
    rows.append(row(2, 3, {"1": 7, "2": 5, "4": 1}))  # the same build again
    bad[len(rows) - 1] = "same series and build 2025010303 as"
    return rows, bad


def expected_series(rows: list[dict], bad: dict[int, str]) -> dict:
    """A plain per-row sum: (series, day) -> {bucket: count}."""
    sums: dict = defaultdict(lambda: defaultdict(float))
    for i, r in enumerate(rows):
        if i in bad or r["build_id"] == "*":
            continue
        weight, text = 1.0, r["non_norm_histogram"]
        if text is None:
            weight, text = float(r["total_sample"]), r["histogram"]
        key = SeriesKey(r["metric"], r["os"], r["metric_key"], r["app_id"], r["channel"])
        day = dt.datetime.strptime(r["build_id"][:8], "%Y%m%d").date()
        for bucket, count in json.loads(text).items():
            sums[key, day][float(bucket)] += count * weight
    return sums


def assert_series_are(series: dict, sums: dict) -> None:
    assert set(series) == {key for key, _ in sums}
    for (key, day), buckets in sums.items():
        s = series[key]
        i = s.index_of(day)
        assert s.present[i]
        got = dict(zip(s.buckets.tolist(), s.counts[i].tolist(), strict=True))
        assert {b: c for b, c in got.items() if c} == {b: c for b, c in buckets.items() if c}


@pytest.mark.parametrize("small_chunks", [False, True])
def test_jsonl_parquet_and_gzip_give_the_plain_sum_and_the_same_problems(
    tmp_path, monkeypatch, small_chunks
):
    if small_chunks:  # batches, count runs and line blocks end in the middle of things
        monkeypatch.setattr(series_module, "CHUNK_ROWS", 5)
        monkeypatch.setattr(entries_module.Entries, "RUN", 7)
        monkeypatch.setattr(row_files, "BLOCK_BYTES", 61)
    rows, bad = mixed_rows()
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    gz = tmp_path / "rows.jsonl.gz"
    gz.write_bytes(gzip.compress(jsonl.read_bytes()))
    parquet = tmp_path / "rows.parquet"
    pd.DataFrame(rows).to_parquet(parquet)
    sums = expected_series(rows, bad)
    for path, where in ((jsonl, "{}:{}"), (gz, "{}:{}"), (parquet, "{}:row {}")):
        series, problems = read_series([path])
        assert_series_are(series, sums)
        assert len(problems) == len(bad), path
        for problem, (i, reason) in zip(problems, sorted(bad.items()), strict=True):
            assert problem.startswith(where.format(path, i + 1) + ": " + reason), problem


def test_a_row_of_only_numbers_among_odd_ones_keeps_its_counts():
    entries = entries_module.Entries()
    entries.add({"1": 1, "2": 2}, plain=True)
    entries.add({"1": "x", "2": 3})
    entries.add({"2": 4, "3": 5}, plain=True)
    codes, names, counts, raw = entries.arrays()
    assert [names[c] for c in codes] == ["1", "2", "1", "2", "2", "3"]
    assert np.isnan(counts[2]) and raw(2) == "x"
    assert counts[[0, 1, 3, 4, 5]].tolist() == [1, 2, 3, 4, 5]


def lines_of(data: bytes, size=None) -> list:
    return list(binary_lines(io.BytesIO(data), size))


@pytest.mark.parametrize("block", [1, 3, 8, 1 << 20])
def test_binary_lines_split_blocks_like_readline(monkeypatch, block):
    monkeypatch.setattr(row_files, "BLOCK_BYTES", block)
    monkeypatch.setattr(row_files, "MAX_LINE_BYTES", 6)
    data = b'{"a":1}\n\n12345\r\n123456\n1234567890123\nlast'
    got = lines_of(data)
    assert got == [TOO_LONG, b"", b"12345\r", b"123456", TOO_LONG, b"last"]
    assert lines_of(data + b"\n") == got
    assert lines_of(b"x" * 20) == [TOO_LONG]
    # Only the next `size` bytes: the lines that start there.
    assert lines_of(data, size=16) == [TOO_LONG, b"", b"12345\r"]
