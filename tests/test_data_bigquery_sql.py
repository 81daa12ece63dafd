"""The BigQuery query, executed: transpiled to DuckDB by sqlglot and run over a table with GLAM's
real aggregates schema, filled with real GLAM rows and generated ones (several builds a day,
labelled metrics, Fenix's 14-digit build ids, `*` build rows, bad rows). Its per-day series
must be what `series_from_rows` makes of the same rows, bucket by bucket.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import yaml

from alerting.data import bigquery as bq
from alerting.data.generator import generate
from alerting.data.series import WHERE, series_from_rows

duckdb = pytest.importorskip("duckdb")
sqlglot = pytest.importorskip("sqlglot")
pytest.importorskip("google.cloud.bigquery")

FIXTURES = Path(__file__).parent / "fixtures" / "data"
SCHEMA = (
    FIXTURES
    / "bigquery-etl__moz-fx-glam-prod__glam_etl__glam_fenix_nightly_aggregates_v1__schema.yaml"
)
REAL = [
    FIXTURES / "glam_stories__enumerated_histogram_build_id.json",
    FIXTURES / "glam_stories__exponential_histogram_build_id.json",
    FIXTURES / "glam_stories__exponential_histogram_version.json",  # only `*` build rows
]
DUCKDB_TYPES = {"STRING": "VARCHAR", "INTEGER": "BIGINT", "BIGNUMERIC": "DECIMAL(38, 9)"}
COLUMNS = [f["name"] for f in yaml.safe_load(SCHEMA.read_text())["fields"]]


class DuckDBClient:
    """Answers `query` as a google.cloud.bigquery.Client does, running the SQL on DuckDB."""

    def __init__(self, connection):
        self.connection = connection
        self.configs = []

    def query(self, sql, job_config=None):
        self.configs.append(job_config)
        transpiled = sqlglot.transpile(sql, read="bigquery", write="duckdb")[0]
        values = {
            p.name: list(p.values) if hasattr(p, "values") else p.value
            for p in job_config.query_parameters
        }
        cursor = self.connection.execute(transpiled, values)
        names = [d[0] for d in cursor.description]
        return _Job([dict(zip(names, row, strict=True)) for row in cursor.fetchall()])


class _Job:
    def __init__(self, rows):
        self.rows = rows

    def result(self):
        return iter(self.rows)


def glam_database(tables: dict[str, list[dict]]):
    """An in-memory DuckDB holding `moz-fx-data-shared-prod.glam_etl.<table>` with GLAM's schema."""
    connection = duckdb.connect()
    connection.execute(f"ATTACH ':memory:' AS \"{bq.PROJECT_DATASET.split('.')[0]}\"")
    connection.execute(f'CREATE SCHEMA "{bq.PROJECT_DATASET.split(".")[0]}".glam_etl')
    fields = yaml.safe_load(SCHEMA.read_text())["fields"]
    declaration = ", ".join(f'"{f["name"]}" {DUCKDB_TYPES[f["type"]]}' for f in fields)
    for table, rows in tables.items():
        name = '"{}"."{}"."{}"'.format(*table.split("."))
        connection.execute(f"CREATE TABLE {name} ({declaration})")
        cells = pa.table({c: [_cell(row.get(c)) for row in rows] for c in COLUMNS})
        connection.register("cells", cells)
        connection.execute(f"INSERT INTO {name} SELECT * FROM cells")  # noqa: S608 (fixed names)
        connection.unregister("cells")
    return connection


def _cell(value):
    """A row value as the table stores it: histograms as JSON text, numbers as text (cast)."""
    if isinstance(value, dict):
        return json.dumps(value)
    return None if value is None else str(value)


def real_rows() -> list[dict]:
    """GLAM API rows of 2019 (normalized histograms only), as rows of a desktop table."""
    rows = []
    for path in REAL:
        for row in json.loads(path.read_text())["response"]:
            rows.append({**row, "version": int(row["version"]), "ping_type": "*"})
    return rows


@functools.cache
def generated_rows(start: dt.date, end: dt.date) -> list[dict]:
    data = generate(seed=5, n_series=30, days=(end - start).days + 1, end=end)
    rows = [dict(row) for row in data.rows]
    # Version aggregates (skipped by both), as GLAM has them next to the build rows.
    rows += [{**row, "build_id": "*"} for row in data.rows[:: len(data.rows) // 20]]
    # Bad rows: each is skipped as a whole and counted; the other builds of its day are used.
    day = f"{start + dt.timedelta(days=20):%Y%m%d}"
    template = next(r for r in data.rows if r["os"] == "Windows" and r["build_id"][:8] == day)
    bad = [
        {"non_norm_histogram": '{"1": 5, "2": -3}'},  # negative count
        {"non_norm_histogram": '{"1": 5, "2": "many"}'},  # count that is no number
        {"non_norm_histogram": '{"1": 5, "two": 3}'},  # key that is no number
        {"non_norm_histogram": '{"1": 5, "2": null}'},
        {"non_norm_histogram": "not json at all"},
        {"non_norm_histogram": '{"1": 5, "2": {"3": 1}}'},
        {"non_norm_histogram": '["1", 5]'},
        {"non_norm_histogram": '{"1": 5, "1": 7, "2": 3}'},  # a bucket written twice
        {"build_id": f"{day[:6]}3203"},  # 32nd day of the month
        {"build_id": f"{day}25"},  # hour 25
        {"build_id": f"{day}0a"},
    ]
    rows += [{**template, **b} for b in bad]
    return rows


def expected(rows, metrics, start, end, ping_type, oses=()):
    """What `series_from_rows` makes of the rows the query selects (its WHERE clause)."""
    chosen = [
        {**row, WHERE: f"row {i}"}
        for i, row in enumerate(rows)
        if row.get("metric") in metrics
        and isinstance(row.get("build_id"), str)
        and row["build_id"] != "*"
        and row.get("client_agg_type") == "summed_histogram"
        and row.get("ping_type") == ping_type
        and f"{start:%Y%m%d}" <= row["build_id"][:8] <= f"{end:%Y%m%d}"
        and (not oses or row.get("os") in oses)
    ]
    problems: list[str] = []
    series = series_from_rows(chosen, problems)
    skipped = Counter()
    for problem in problems:
        row = rows[int(re.match(r"row (\d+):", problem).group(1))]
        key = (row["metric"], row["os"], row["metric_key"], row["build_id"][:8])
        skipped[key] += 1
    return series, skipped


def skipped_by_query(problems: list[str]) -> Counter:
    found = Counter()
    for problem in problems:
        match = re.fullmatch(
            r"bigquery:(.*):(.*):(.*):(\d{8}): (\d+) build rows? skipped.*", problem
        )
        assert match, problem
        found[match.groups()[:4]] += int(match.group(5))
    return found


def assert_same(actual, wanted):
    assert sorted(actual) == sorted(wanted)
    for key, want in wanted.items():
        got = actual[key]
        assert got.metric_type == want.metric_type, key
        assert got.start == want.start, key
        assert got.buckets.tolist() == want.buckets.tolist(), key
        np.testing.assert_allclose(got.counts, want.counts, rtol=1e-12, err_msg=str(key))
        assert got.present.tolist() == want.present.tolist(), key
        assert got.build_ids == want.build_ids, key


def test_query_on_real_glam_rows_matches_series_from_rows():
    rows = real_rows()
    table = bq.table_for("fog", "nightly")
    client = DuckDBClient(glam_database({table: rows}))
    metrics = sorted({r["metric"] for r in rows})
    start, end = dt.date(2019, 9, 1), dt.date(2019, 12, 31)
    series, problems = bq.fetch_series(metrics, start, end, client=client)
    want, skipped = expected(rows, metrics, start, end, ping_type="*")
    assert len(want) == 2 and sum(s.present.sum() for s in want.values()) > 100
    # Several builds on some days; normalized histograms weighted by their users.
    assert max(Counter(r["build_id"][:8] for r in rows).values()) > 2
    assert_same(series, want)
    assert problems == [] and not skipped


@pytest.mark.parametrize("app, oses", [("fog", ()), ("fog", ("Windows", "Linux")), ("fenix", ())])
def test_query_on_generated_rows_matches_series_from_rows(app, oses):
    end = dt.date(2025, 3, 31)
    start = end - dt.timedelta(days=59)
    rows = generated_rows(start - dt.timedelta(days=5), end + dt.timedelta(days=3))
    ping_type = "metrics" if app == "fenix" else "*"
    table = bq.table_for(app, "nightly")
    client = DuckDBClient(glam_database({table: [r for r in rows if r["ping_type"] == ping_type]}))
    metrics = sorted({r["metric"] for r in rows if r["ping_type"] == ping_type})
    series, problems = bq.fetch_series(metrics, start, end, app=app, oses=oses, client=client)
    want, skipped = expected(rows, metrics, start, end, ping_type, oses)
    assert len(want) >= 4
    assert any(key.metric_key for key in want)  # labelled metrics
    if app == "fog" and not oses:
        assert sum(skipped.values()) == 11  # every bad row, each counted once
    assert_same(series, want)
    assert skipped_by_query(problems) == skipped
