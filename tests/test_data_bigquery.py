import datetime as dt
import sys
from types import SimpleNamespace

import pytest

from alerting.data import bigquery as bq
from alerting.data.model import SeriesKey
from alerting.errors import UserError

START, END = dt.date(2025, 1, 1), dt.date(2025, 1, 31)
HOSTILE = "x'; DROP TABLE t; --"


def test_query_names_only_allow_listed_tables_and_passes_values_as_parameters():
    sql, params = bq.build_query(
        ["b_metric", "a_metric", HOSTILE], START, END, app="fenix", channel="beta", oses=["Android"]
    )
    assert "`moz-fx-data-shared-prod.glam_etl.glam_fenix_beta_aggregates`" in sql
    assert HOSTILE not in sql and "2025" not in sql and "Android" not in sql
    for name in ("@metrics", "@start_day", "@end_day", "@oses", "@ping_type"):
        assert name in sql
    by_name = {p.name: p for p in params}
    assert by_name["metrics"].array and by_name["metrics"].value == sorted(
        ["b_metric", "a_metric", HOSTILE]
    )
    assert by_name["start_day"].value == "20250101" and by_name["end_day"].value == "20250131"
    assert by_name["ping_type"].value == "metrics"
    assert by_name["oses"].value == ["Android"]
    # Per-day sums happen in the query: grouped by day and bucket, not one row per build.
    assert "GROUP BY app_id, channel, metric, os, metric_key, day, bucket_key" in sql
    assert "build_id != '*'" in sql


def test_unknown_table_or_no_metrics_is_a_user_error():
    with pytest.raises(UserError, match="no GLAM table"):
        bq.build_query(["m"], START, END, app="desktop; --", channel="nightly")
    with pytest.raises(UserError, match="no GLAM table"):
        bq.build_query(["m"], START, END, channel="aurora")
    with pytest.raises(UserError, match="no metrics"):
        bq.build_query([], START, END)


class FakeJob:
    def __init__(self, rows):
        self.rows = rows

    def result(self):
        return iter(self.rows)


class FakeClient:
    """Captures what a google.cloud.bigquery.Client would receive; answers canned rows."""

    def __init__(self, rows):
        self.rows = rows
        self.calls = []

    def query(self, sql, job_config=None):
        self.calls.append((sql, job_config))
        return FakeJob(self.rows)


def result_row(day, first_build_id, buckets, os="Windows", unusable=0):
    return {
        "app_id": "firefox_desktop", "channel": "nightly", "metric": "m",
        "metric_type": "timing_distribution", "os": os, "metric_key": "", "day": day,
        "first_build_id": first_build_id, "buckets": buckets, "unusable": unusable,
    }  # fmt: skip


def test_fetch_series_with_a_fake_client():
    pytest.importorskip("google.cloud.bigquery")
    client = FakeClient(
        [
            result_row(
                "20250101", "2025010103", [{"key": "2", "count": 4.0}, {"key": "10", "count": 1.0}]
            ),
            result_row("20250103", "2025010309", [{"key": "1", "count": 2.0}], unusable=3),
        ]
    )
    series, problems = bq.fetch_series(["m"], START, END, client=client)
    ((sql, config),) = client.calls
    assert "glam_fog_nightly_aggregates" in sql
    params = {p.name: p for p in config.query_parameters}
    assert params["metrics"].values == ["m"]
    assert params["start_day"].value == "20250101"
    assert params["ping_type"].value == "*"
    assert problems == [
        "bigquery:m:Windows::20250103: 3 build rows skipped (build id not a date and hour, or "
        "histogram not an object of numeric buckets, each once, and non-negative counts)"
    ]
    s = series[SeriesKey("m", "Windows", "", "firefox_desktop", "nightly")]
    assert s.buckets.tolist() == [1.0, 2.0, 10.0]
    assert s.counts.tolist() == [[0, 4, 1], [0, 0, 0], [2, 0, 0]]
    assert s.present.tolist() == [True, False, True]
    assert s.build_ids == ("2025010103", "", "2025010309")


def test_missing_extra_is_a_clear_user_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.cloud.bigquery", None)
    monkeypatch.setitem(sys.modules, "google.cloud", None)
    with pytest.raises(UserError, match=r"pip install 'alerting\[bigquery\]'"):
        bq.fetch_series(["m"], START, END, client=FakeClient([]))


def test_pipeline_source_queries_each_app_and_channel_once():
    pytest.importorskip("google.cloud.bigquery")
    settings = SimpleNamespace(
        data=SimpleNamespace(
            history_days=30,
            channels=["nightly", "beta"],
            bigquery_project="",
            maximum_bytes_billed=12345,
        )
    )
    configs = [
        SimpleNamespace(metric="m", app="fog"),
        SimpleNamespace(metric="n", app="fog"),
        SimpleNamespace(metric="k", app="fenix"),
    ]
    client = FakeClient([result_row("20250101", "2025010103", [{"key": "1", "count": 1.0}])])
    series = bq.query_series(settings, configs, client=client, today=END)
    tables = sorted(sql.split("FROM `")[1].split("`")[0] for sql, _ in client.calls)
    assert tables == [
        "moz-fx-data-shared-prod.glam_etl.glam_fenix_beta_aggregates",
        "moz-fx-data-shared-prod.glam_etl.glam_fenix_nightly_aggregates",
        "moz-fx-data-shared-prod.glam_etl.glam_fog_beta_aggregates",
        "moz-fx-data-shared-prod.glam_etl.glam_fog_nightly_aggregates",
    ]
    assert {c.maximum_bytes_billed for _, c in client.calls} == {12345}
    metrics = sorted(
        tuple(p.values) for _, c in client.calls for p in c.query_parameters if p.name == "metrics"
    )
    assert metrics == [("k",), ("k",), ("m", "n"), ("m", "n")]
    # The fake answers the same row for every query: merged, the day counts four times.
    assert series[SeriesKey("m", "Windows", "", "firefox_desktop", "nightly")].counts.tolist() == [
        [4.0]
    ]


def fleet_settings(limit=10**12):
    from alerting.settings import Settings

    settings = Settings()
    settings.data.channels = ["nightly", "beta"]
    settings.data.maximum_bytes_billed = limit
    return settings


FLEET = [SimpleNamespace(metric="m", app="fog"), SimpleNamespace(metric="k", app="fenix")]


class DryRunClient(FakeClient):
    """Answers dry runs with the bytes the query would scan: 1,000 per query parameter value."""

    def query(self, sql, job_config=None):
        self.calls.append((sql, job_config))
        assert job_config.dry_run and not job_config.use_query_cache
        job = FakeJob([])
        job.total_bytes_processed = 1000 * len(job_config.query_parameters[0].values)
        return job


def test_estimate_dry_runs_the_queries_of_the_run():
    pytest.importorskip("google.cloud.bigquery")
    client = DryRunClient([])
    settings = fleet_settings()
    assert bq.estimate_bytes(settings, FLEET, client=client, today=END) == 4000
    runs = FakeClient([])
    bq.query_series(settings, FLEET, client=runs, today=END)
    # The very queries (text and parameters) the run makes, each with the cost guard.
    assert [sql for sql, _ in client.calls] == [sql for sql, _ in runs.calls]
    for (_, dry), (_, real) in zip(client.calls, runs.calls, strict=True):
        assert [p.to_api_repr() for p in dry.query_parameters] == [
            p.to_api_repr() for p in real.query_parameters
        ]
        assert real.maximum_bytes_billed == 10**12 and not real.dry_run


class RefusingClient(FakeClient):
    def query(self, sql, job_config=None):
        from google.api_core.exceptions import BadRequest

        message = "Query exceeded limit for bytes billed: 1000. 10485760 or higher required."
        raise BadRequest(message, errors=[{"reason": "bytesBilledLimitExceeded"}])


def test_a_query_refused_for_its_size_names_the_setting():
    pytest.importorskip("google.cloud.bigquery")
    with pytest.raises(UserError) as caught:
        bq.query_series(fleet_settings(1000), FLEET, client=RefusingClient([]), today=END)
    message = str(caught.value)
    assert "would bill more than 1,000 bytes" in message
    assert "[data] maximum_bytes_billed" in message
    assert "ALERTING_DATA_MAXIMUM_BYTES_BILLED" in message
    assert "10485760 or higher required" in message


class FailingPages:
    """A result whose next page fails to arrive (a 503 while iterating)."""

    def __init__(self, rows):
        self.rows = rows

    def result(self):
        yield from self.rows
        raise RuntimeError("503 backend error while fetching the next page of results")


class FlakyClient(FakeClient):
    def query(self, sql, job_config=None):
        self.calls.append((sql, job_config))
        return FailingPages(self.rows)


def test_a_server_error_while_fetching_result_pages_is_a_clear_error():
    pytest.importorskip("google.cloud.bigquery")
    client = FlakyClient([result_row("20250101", "2025010103", [{"key": "2", "count": 4.0}])])
    with pytest.raises(UserError, match="503 backend error"):
        bq.fetch_series(["m"], START, END, client=client)


def test_limit_must_be_positive():
    with pytest.raises(UserError, match=r"maximum_bytes_billed.* is 0; it must be a positive"):
        bq.query_series(fleet_settings(0), FLEET, client=FakeClient([]), today=END)
