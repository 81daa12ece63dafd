"""Reading the data files metric by metric (through their index) gives what reading them
whole gives: the same series, and each problem once."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alerting.data import row_index
from alerting.data.generator import generate
from alerting.data.row_index import NO_METRIC, index_files, read_slices, slices_for
from alerting.data.rows import read_series


def tricky_rows() -> list:
    """Rows of three metrics, interleaved, some written in ways a quick look misreads."""
    rows = generate(seed=4, n_series=3, days=30, end=dt.date(2025, 3, 1)).rows
    series = sorted({(r["os"], r["metric_key"]) for r in rows})
    names = ["caf\u00e9_time", "load_time", "paint_time"]
    rows = [{**r, "metric": names[series.index((r["os"], r["metric_key"])) % 3]} for r in rows]
    rows.sort(key=lambda r: (r["build_id"], r["metric"]))  # metrics interleaved
    lines: list = [json.dumps(r) for r in rows]  # the accented name escaped: \u00e9
    lines[5] = json.dumps({"extra": {"metric": names[2]}, **rows[5]})  # a nested "metric"
    lines[9] = json.dumps({**rows[9], "metric": 5})
    lines[12] = "{broken"
    lines[14] = ""
    lines[20] = json.dumps({k: v for k, v in rows[20].items() if k != "metric"})
    lines.append(
        json.dumps({"extra": {"metric": names[1]}, **rows[21]}).replace(
            '"metric": "', '"metric": "x', 1
        )
    )
    return lines


def read_by_metric(path):
    indexes = index_files([path])
    metrics = list(indexes[0].places)
    assert NO_METRIC in metrics
    series, problems = {}, []
    for metric in metrics:
        found, more = read_slices(slices_for(indexes, [metric]))
        assert not series.keys() & found.keys()  # each series from one metric's rows
        series.update(found)
        problems += more
    return series, problems


@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
def test_read_by_metric_is_read_whole(tmp_path, kind):
    lines = tricky_rows()
    path = tmp_path / f"rows.{kind}"
    if kind == "jsonl":
        path.write_text("\n".join(lines) + "\n")
    else:
        rows = [json.loads(line) for line in lines if line.startswith('{"')]
        for row in rows:
            row["metric"] = row["metric"] if isinstance(row.get("metric"), str) else None
        pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=40)
    whole, whole_problems = read_series([path])
    series, problems = read_by_metric(path)
    assert sorted(problems) == sorted(whole_problems) and len(set(problems)) == len(problems)
    assert len(problems) >= (4 if kind == "jsonl" else 2)
    assert series.keys() == whole.keys() and any(k.metric == "caf\u00e9_time" for k in series)
    for key, s in series.items():
        np.testing.assert_array_equal(s.counts, whole[key].counts)
        assert s.build_ids == whole[key].build_ids and s.start == whole[key].start


def test_a_big_file_indexed_by_ranges_of_lines_is_indexed_as_in_one_go(tmp_path, monkeypatch):
    lines = []
    for i in range(300):
        metric = f"m{i // 7 % 5}"
        if i % 50 == 49:
            lines.append("")
        elif i % 61 == 0:
            lines.append('{"metric": "odd\\u0041", "x": 1}')  # read by parsing the line
        else:
            lines.append(json.dumps({"metric": metric, "build_id": str(i)}))
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(lines) + "\n")
    whole = row_index._places_in(path, 0, path.stat().st_size, 1)[0]
    monkeypatch.setattr(row_index, "PARALLEL_BYTES", 1)
    for cores in (2, 3, 7):
        monkeypatch.setattr(row_index.os, "cpu_count", lambda cores=cores: cores)
        ranged = row_index._json_line_places(path)
        assert list(ranged) == list(whole)
        for metric, spans in ranged.items():
            joined = []  # a run across two ranges is two spans: join them to compare
            for start, end, line in spans:
                if joined and joined[-1][1] == start:
                    joined[-1] = (joined[-1][0], end, joined[-1][2])
                else:
                    joined.append((start, end, line))
            assert joined == whole[metric]
