"""Reading the data files metric by metric (through their index) gives what reading them
whole gives: the same series, and each problem once."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

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
