"""Rows of GLAM's aggregates tables: which ping type and aggregation series are made of."""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alerting.data import rows as rows_module
from alerting.data.generator import generate
from alerting.data.row_index import index_files, read_slices, slices_for
from alerting.data.rows import read_series
from alerting.data.series import series_from_rows
from alerting.errors import UserError

FIXTURES = Path(__file__).parent / "fixtures" / "data"
NOTES = "alerting.data.ping_types"


def with_counts_times(row: dict, factor: int, **changes) -> dict:
    """A copy of a generated row whose counts are `factor` times its own."""
    hist = {k: v * factor for k, v in json.loads(row["non_norm_histogram"]).items()}
    return {**row, "non_norm_histogram": json.dumps(hist), **changes}


def all_pings_export() -> tuple[list[dict], list[dict]]:
    """Rows as GLAM's table holds them (the all-pings row of each build, its `metrics` and
    `baseline` rows, other aggregations), and the all-pings rows alone."""
    data = generate(seed=8, n_series=3, days=40, end=dt.date(2025, 3, 1))
    all_pings = [{**r, "ping_type": "*"} for r in data.rows]
    rows = []
    for row in all_pings:
        rows += [
            row,
            with_counts_times(row, 2, ping_type="metrics"),
            with_counts_times(row, 3, ping_type="baseline"),
            with_counts_times(row, 5, client_agg_type="histogram"),
        ]
    # Rows left out are not looked at: a broken one is no problem.
    rows.append({**all_pings[0], "ping_type": "baseline", "non_norm_histogram": "{broken"})
    rows.append({**all_pings[1], "ping_type": "metrics", "non_norm_histogram": '{"1": -4}'})
    return rows, all_pings


def assert_same_series(found: dict, expected: dict) -> None:
    assert found.keys() == expected.keys()
    for key, s in found.items():
        np.testing.assert_array_equal(s.counts, expected[key].counts)
        np.testing.assert_array_equal(s.buckets, expected[key].buckets)
        assert s.build_ids == expected[key].build_ids and s.start == expected[key].start


def read_at_once_and_in_three_parts(path: Path, monkeypatch) -> list[tuple[dict, list[str]]]:
    at_once = read_series([path])
    monkeypatch.setattr(rows_module, "PARALLEL_BYTES", 1)
    monkeypatch.setattr(rows_module.os, "cpu_count", lambda: 3)
    assert len(rows_module._parts([path])) == 3
    assert rows_module._read_in_parallel([path]) is not None  # not read in one go after all
    return [at_once, read_series([path])]


@pytest.mark.parametrize("order", ["as exported", "reversed", "shuffled"])
@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
def test_the_all_pings_rows_make_the_series_in_any_order_and_parts(
    tmp_path, monkeypatch, order, kind
):
    rows, all_pings = all_pings_export()
    if order == "reversed":
        rows.reverse()
    elif order == "shuffled":
        random.Random(3).shuffle(rows)
    path = tmp_path / f"rows.{kind}"
    if kind == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=100)
    expected = series_from_rows(all_pings)
    for series, problems in read_at_once_and_in_three_parts(path, monkeypatch):
        assert problems == []
        assert_same_series(series, expected)


def test_the_run_reading_by_metric_makes_the_same_series(tmp_path):
    rows, all_pings = all_pings_export()
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    indexes = index_files([path])
    series, problems = read_slices(slices_for(indexes, {r["metric"] for r in rows}))
    assert problems == []
    assert_same_series(series, series_from_rows(all_pings))


def test_fenix_rows_of_the_metrics_ping_make_the_series(tmp_path):
    data = generate(seed=4, n_series=2, days=30, end=dt.date(2025, 3, 1))
    metrics = [{**r, "ping_type": "metrics"} for r in data.rows]
    baseline = [with_counts_times(r, 3, ping_type="baseline") for r in metrics]
    path = tmp_path / "fenix.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in baseline + metrics))
    series, problems = read_series([path])
    assert problems == []
    assert_same_series(series, series_from_rows(metrics))


def test_other_aggregations_are_left_out_with_a_note_naming_the_counts(tmp_path, caplog):
    data = generate(seed=5, n_series=1, days=20, end=dt.date(2025, 3, 1))
    summed = [{**r, "ping_type": "*"} for r in data.rows]
    other = [with_counts_times(r, 2, client_agg_type="histogram") for r in summed[:3]]
    other.append({**summed[-1], "build_id": "2025030123", "client_agg_type": "avg"})
    events = [with_counts_times(r, 4, ping_type="events") for r in summed[:12]]
    baseline = [with_counts_times(r, 3, ping_type="baseline") for r in summed]
    # A second row of a build is no duplicate when its ping type is left out.
    metrics = [with_counts_times(summed[0], 2, ping_type="metrics")] * 2
    path = tmp_path / "rows.jsonl"
    rows = other + summed + events + baseline + metrics
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    caplog.set_level(logging.INFO, logger=NOTES)
    series, problems = read_series([path])
    assert problems == []
    assert_same_series(series, series_from_rows(summed))
    n = len(summed) + 14
    assert [r.getMessage() for r in caplog.records if r.name == NOTES] == [
        f"{path}: {n} rows of other ping types (baseline {len(summed)}, events 12, metrics 2) and "
        "4 rows of other client_agg_types (histogram 3, avg 1) left out"
    ]


def test_an_input_of_left_out_rows_only_says_so(tmp_path):
    data = generate(seed=5, n_series=1, days=10, end=dt.date(2025, 3, 1))
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({**r, "ping_type": "baseline"}) + "\n" for r in data.rows))
    with pytest.raises(UserError, match=rf"{path}: {len(data.rows)} rows of other ping types"):
        read_series([path])


def test_damaged_all_pings_rows_are_no_reason_to_use_the_metrics_rows(tmp_path, caplog):
    data = generate(seed=6, n_series=2, days=20, end=dt.date(2025, 3, 1))
    first = data.rows[0]["metric"], data.rows[0]["os"]
    one = [r for r in data.rows if (r["metric"], r["os"]) == first]
    other = [{**r, "ping_type": "*"} for r in data.rows if (r["metric"], r["os"]) != first]
    # The first series: its `*` rows all damaged (histograms that are no JSON), its `metrics`
    # rows fine. The series has `*` rows, so it is made of them: here of none.
    damaged = [{**r, "ping_type": "*", "non_norm_histogram": "{broken"} for r in one]
    metrics = [{**r, "ping_type": "metrics"} for r in one]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in other + metrics + damaged))
    caplog.set_level(logging.INFO, logger=NOTES)
    series, problems = read_series([path])
    assert_same_series(series, series_from_rows(other))
    assert len(problems) == len(damaged) and all("not valid JSON" in p for p in problems)
    assert [r.getMessage() for r in caplog.records if r.name == NOTES] == [
        f"{path}: {len(metrics)} rows of other ping types (metrics {len(metrics)}) left out"
    ]


def test_the_note_lists_ping_types_of_as_many_rows_by_name_in_any_row_order(tmp_path, caplog):
    data = generate(seed=5, n_series=1, days=10, end=dt.date(2025, 3, 1))
    rows = [{**data.rows[0], "ping_type": "*"}]
    rows += [{**data.rows[0], "ping_type": p} for p in ("events", "baseline")]
    caplog.set_level(logging.INFO, logger=NOTES)
    for order in (rows, rows[::-1]):
        path = tmp_path / "rows.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in order))
        caplog.clear()
        read_series([path])
        assert [r.getMessage() for r in caplog.records if r.name == NOTES] == [
            f"{path}: 2 rows of other ping types (baseline 1, events 1) left out"
        ]


def test_real_glam_rows_are_used_and_their_other_aggregations_left_out(tmp_path, caplog):
    real = FIXTURES / "glam_stories__enumerated_histogram_build_id.json"
    response = json.loads(real.read_text())["response"]
    assert {r["client_agg_type"] for r in response} == {"summed_histogram"}
    # The same rows as exported from the table: another aggregation and per-ping rows beside.
    doubled = [{**r, "histogram": {k: 2 * v for k, v in r["histogram"].items()}} for r in response]
    mixed = [
        *({**r, "client_agg_type": "histogram"} for r in doubled),
        *({**r, "ping_type": "*"} for r in response),
        *({**r, "ping_type": "metrics"} for r in doubled),
    ]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps({"response": mixed}))
    caplog.set_level(logging.INFO, logger=NOTES)
    series, problems = read_series([path])
    expected, expected_problems = read_series([real])
    assert problems == expected_problems == []
    assert_same_series(series, expected)
    assert [r.getMessage() for r in caplog.records if r.name == NOTES] == [
        f"{path}: 134 rows of other ping types (metrics 134) and 134 rows of client_agg_type "
        "'histogram' left out"
    ]
