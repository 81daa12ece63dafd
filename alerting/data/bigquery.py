"""GLAM aggregates straight from BigQuery (the optional extra `bigquery`).

One query fetches many metrics at once. The per-day bucket sums are computed in BigQuery, so
one row per (series, day) with only its buckets travels instead of every build's row with
all GLAM columns. Only values travel as query parameters; the table name comes from a fixed
allow-list, so nothing a user types ever becomes SQL text.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from alerting.data.merge import merge_series
from alerting.data.model import CHANNELS, DailySeries, SeriesKey
from alerting.data.series import WHERE, series_from_rows
from alerting.errors import UserError
from alerting.settings import MAXIMUM_BYTES_BILLED

PROJECT_DATASET = "moz-fx-data-shared-prod.glam_etl"
APPS = ("fog", "fenix")
log = logging.getLogger(__name__)

# The only tables a query can name.
TABLES: dict[tuple[str, str], str] = {
    (app, channel): f"{PROJECT_DATASET}.glam_{app}_{channel}_aggregates"
    for app in APPS
    for channel in CHANNELS
}

# Per build row: its day, its histogram (`non_norm_histogram`; older rows only have the
# normalized `histogram`, weighted by their sample or user count, as `series_from_rows` does)
# and whether it is usable. A build row is used whole or not at all: its build id must be a
# real date and hour, its histogram a flat JSON object of numeric keys, none written twice, and
# finite non-negative counts. Unusable rows are counted per day, not summed, so they can be reported.
# The usable rows are summed per day and bucket and folded into one row per (series, day),
# named by the day's first build. Written in the part of BigQuery's SQL that the tests can run
# on DuckDB (transpiled by sqlglot): regular expressions instead of JSON functions.
_SQL = r"""
WITH source AS (
  SELECT
    IFNULL(app_id, '') AS app_id, IFNULL(channel, '') AS channel, metric,
    IFNULL(metric_type, '') AS metric_type, IFNULL(os, '') AS os,
    IFNULL(metric_key, '') AS metric_key, build_id,
    SUBSTR(build_id, 1, 8) AS day,
    IF(IFNULL(non_norm_histogram, '') != '', non_norm_histogram, histogram) AS histogram,
    CASE
      WHEN IFNULL(non_norm_histogram, '') != '' THEN 1.0
      WHEN total_sample > 0 THEN CAST(total_sample AS FLOAT64)
      WHEN total_users > 0 THEN CAST(total_users AS FLOAT64)
      ELSE 1.0
    END AS weight
  FROM `{table}`
  WHERE metric IN UNNEST(@metrics)
    AND build_id != '*'
    AND client_agg_type = 'summed_histogram'
    AND ping_type = @ping_type
    AND SUBSTR(build_id, 1, 8) >= @start_day
    AND SUBSTR(build_id, 1, 8) <= @end_day
    AND (ARRAY_LENGTH(@oses) = 0 OR os IN UNNEST(@oses))
),
parsed AS (
  SELECT
    *,
    REGEXP_EXTRACT_ALL(histogram, r'"([^"]*)"\s*:') AS bucket_keys,
    REGEXP_EXTRACT_ALL(histogram, r':\s*([^,}\s]+)') AS bucket_counts
  FROM source
),
builds AS (
  SELECT
    *,
    IFNULL(
      REGEXP_CONTAINS(build_id, r'^[0-9]{10}([0-9]{4})?$')
      AND SAFE_CAST(
        CONCAT(SUBSTR(build_id, 1, 4), '-', SUBSTR(build_id, 5, 2), '-', SUBSTR(build_id, 7, 2))
        AS DATE
      ) IS NOT NULL
      AND SAFE_CAST(SUBSTR(build_id, 9, 2) AS INT64) < 24
      AND IFNULL(SAFE_CAST(NULLIF(SUBSTR(build_id, 11, 2), '') AS INT64), 0) < 60
      AND IFNULL(SAFE_CAST(NULLIF(SUBSTR(build_id, 13, 2), '') AS INT64), 0) < 62
      AND REGEXP_CONTAINS(
        histogram,
        r'^\s*\{\s*("[^"]*"\s*:\s*[^\s",:{}\[\]]+\s*(,\s*"[^"]*"\s*:\s*[^\s",:{}\[\]]+\s*)*)?\}\s*$'
      )
      AND ARRAY_LENGTH(bucket_keys) = ARRAY_LENGTH(bucket_counts)
      AND ARRAY_LENGTH(bucket_keys) = (SELECT COUNT(DISTINCT text) FROM UNNEST(bucket_keys) AS text)
      AND NOT EXISTS (
        SELECT 1 FROM UNNEST(bucket_keys) AS text
        WHERE SAFE_CAST(text AS FLOAT64) IS NULL OR IS_INF(SAFE_CAST(text AS FLOAT64))
          OR IS_NAN(SAFE_CAST(text AS FLOAT64))
      )
      AND NOT EXISTS (
        SELECT 1 FROM UNNEST(bucket_counts) AS text
        WHERE SAFE_CAST(text AS FLOAT64) IS NULL OR IS_INF(SAFE_CAST(text AS FLOAT64))
          OR IS_NAN(SAFE_CAST(text AS FLOAT64)) OR SAFE_CAST(text AS FLOAT64) < 0
      ),
      FALSE
    ) AS usable
  FROM parsed
),
daily AS (
  SELECT
    app_id, channel, metric, os, metric_key, day, bucket_key,
    SUM(SAFE_CAST(bucket_counts[OFFSET(position)] AS FLOAT64) * weight) AS count
  FROM builds, UNNEST(bucket_keys) AS bucket_key WITH OFFSET AS position
  WHERE usable
  GROUP BY app_id, channel, metric, os, metric_key, day, bucket_key
),
days AS (
  SELECT
    app_id, channel, metric, os, metric_key, day,
    MIN(IF(usable, metric_type, NULL)) AS metric_type,
    MIN(IF(usable, build_id, NULL)) AS first_build_id,
    COUNTIF(NOT usable) AS unusable
  FROM builds
  GROUP BY app_id, channel, metric, os, metric_key, day
)
SELECT
  d.app_id, d.channel, d.metric, d.metric_type, d.os, d.metric_key, d.day,
  d.first_build_id, d.unusable,
  ARRAY_AGG(
    IF(b.count IS NULL, NULL, STRUCT(b.bucket_key AS key, b.count AS count)) IGNORE NULLS
  ) AS buckets
FROM days AS d
LEFT JOIN daily AS b
USING (app_id, channel, metric, os, metric_key, day)
GROUP BY d.app_id, d.channel, d.metric, d.metric_type, d.os, d.metric_key, d.day,
  d.first_build_id, d.unusable
"""

# Fenix has one ping per row kind; desktop FOG aggregates over all pings ('*').
_PING_TYPE = {"fog": "*", "fenix": "metrics"}


@dataclass(frozen=True)
class Parameter:
    """A query parameter, kept library-free so a query can be built and checked anywhere."""

    name: str
    type: str  # BigQuery type; for arrays the element type
    value: object
    array: bool = False


def table_for(app: str, channel: str) -> str:
    try:
        return TABLES[(app, channel)]
    except KeyError:
        raise UserError(
            f"no GLAM table for app {app!r} and channel {channel!r} "
            f"(apps: {', '.join(APPS)}; channels: {', '.join(CHANNELS)})"
        ) from None


def build_query(
    metrics: Sequence[str],
    start: dt.date,
    end: dt.date,
    app: str = "fog",
    channel: str = "nightly",
    oses: Sequence[str] = (),
) -> tuple[str, list[Parameter]]:
    """The SQL text (table from the allow-list) and its parameters."""
    if not metrics:
        raise UserError("no metrics to query")
    sql = _SQL.replace("{table}", table_for(app, channel))
    parameters = [
        Parameter("metrics", "STRING", sorted(set(metrics)), array=True),
        Parameter("ping_type", "STRING", _PING_TYPE[app]),
        Parameter("start_day", "STRING", f"{start:%Y%m%d}"),
        Parameter("end_day", "STRING", f"{end:%Y%m%d}"),
        Parameter("oses", "STRING", list(oses), array=True),
    ]
    return sql, parameters


_LIMIT_SETTING = "[data] maximum_bytes_billed (or ALERTING_DATA_MAXIMUM_BYTES_BILLED)"


def fetch_series(
    metrics: Sequence[str],
    start: dt.date,
    end: dt.date,
    app: str = "fog",
    channel: str = "nightly",
    oses: Sequence[str] = (),
    client=None,
    maximum_bytes_billed: int = MAXIMUM_BYTES_BILLED,
) -> tuple[dict[SeriesKey, DailySeries], list[str]]:
    """Daily series of `metrics` from the GLAM table of `app` and `channel`.

    `client` is a `google.cloud.bigquery.Client` (made from the environment's credentials
    when omitted). BigQuery refuses the query, before it runs, if it would bill more than
    `maximum_bytes_billed`.
    """
    sql, parameters = build_query(metrics, start, end, app, channel, oses)
    client = client or _client("")
    job_config = _job_config(parameters, maximum_bytes_billed=maximum_bytes_billed)
    problems: list[str] = []
    try:
        result = client.query(sql, job_config=job_config).result()
        # Result pages are fetched while iterating: a server error can come here too.
        rows = list(_glam_rows(result, problems))
    except Exception as error:  # google.api_core errors: permissions, quota, bad request
        raise _query_error(error, maximum_bytes_billed) from None
    series = series_from_rows(rows, problems)
    return series, problems


def query_series(settings, configs, client=None, today: dt.date | None = None):
    """The pipeline's BigQuery source: every monitored metric, per app and channel.

    `settings.data` gives the channels, the days of history, the billing project and the
    bytes a query may bill; `configs` are monitor configs (`metric`, `app`). Skipped rows
    are logged as warnings.
    """
    queries = _queries(settings, configs, today)
    limit = _maximum_bytes_billed(settings)
    if client is None and queries:
        client = _client(settings.data.bigquery_project)
    parts = []
    for query in queries:
        found, problems = fetch_series(*query, client=client, maximum_bytes_billed=limit)
        for problem in problems:
            log.warning("%s", problem)
        parts.append(found)
    return merge_series(parts)


def estimate_bytes(settings, configs, client=None, today: dt.date | None = None) -> int:
    """Bytes the run's queries would scan (and bill), from BigQuery dry runs of the very same
    queries and parameters: nothing is read and nothing billed."""
    queries = _queries(settings, configs, today)
    if client is None and queries:
        client = _client(settings.data.bigquery_project)
    total = 0
    for metrics, start, end, app, channel in queries:
        sql, parameters = build_query(metrics, start, end, app, channel)
        job_config = _job_config(parameters, dry_run=True)
        try:
            job = client.query(sql, job_config=job_config)
        except Exception as error:  # google.api_core errors: permissions, bad request
            raise _query_error(error, None) from None
        total += int(job.total_bytes_processed or 0)
    return total


def _queries(settings, configs, today: dt.date | None) -> list[tuple]:
    """(metrics, start, end, app, channel) of each query a run makes: one per app and channel."""
    today = today or dt.date.today()
    start = today - dt.timedelta(days=settings.data.history_days)
    by_app: dict[str, set[str]] = {}
    for config in configs:
        by_app.setdefault(getattr(config, "app", None) or "fog", set()).add(config.metric)
    return [
        (sorted(metrics), start, today, app, channel)
        for app, metrics in sorted(by_app.items())
        for channel in settings.data.channels
    ]


def _maximum_bytes_billed(settings) -> int:
    limit = settings.data.maximum_bytes_billed
    if limit < 1:
        raise UserError(f"{_LIMIT_SETTING} is {limit}; it must be a positive number of bytes")
    return limit


def _client(project: str):
    bigquery = _bigquery()
    try:
        return bigquery.Client(project=project or None)
    except Exception as error:  # the library raises many kinds for missing credentials
        raise UserError(f"cannot connect to BigQuery: {error}") from None


def _job_config(parameters: list[Parameter], maximum_bytes_billed: int = 0, dry_run=False):
    bigquery = _bigquery()
    job_config = bigquery.QueryJobConfig(
        query_parameters=[_to_bigquery(bigquery, p) for p in parameters]
    )
    if dry_run:
        job_config.dry_run = True
        job_config.use_query_cache = False  # a cached answer would estimate 0 bytes
    else:
        job_config.maximum_bytes_billed = maximum_bytes_billed
    return job_config


def _query_error(error: Exception, maximum_bytes_billed: int | None) -> UserError:
    """A failed query as a user error; refused for its size, it names the setting to raise."""
    reasons = {e.get("reason") for e in getattr(error, "errors", None) or () if isinstance(e, dict)}
    if "bytesBilledLimitExceeded" in reasons or "limit for bytes billed" in str(error):
        return UserError(
            f"BigQuery refused the query: it would bill more than {maximum_bytes_billed:,} "
            f"bytes, the limit set by {_LIMIT_SETTING}. Raise the setting if the cost is "
            f"expected, or monitor fewer metrics or fewer days ([data] history_days). "
            f"BigQuery said: {error}"
        )
    return UserError(f"BigQuery query failed: {error}")


def _glam_rows(result: Iterable[Mapping], problems: list[str]) -> Iterable[dict]:
    """Query result rows -> GLAM-shaped rows (one per series and day) for `series_from_rows`."""
    for row in result:
        where = f"bigquery:{row['metric']}:{row['os']}:{row['metric_key']}:{row['day']}"
        skipped = row.get("unusable") or 0
        if skipped:
            rows = "build row" if skipped == 1 else "build rows"
            problems.append(
                f"{where}: {skipped} {rows} skipped (build id not a date and hour, or histogram "
                "not an object of numeric buckets, each once, and non-negative counts)"
            )
        if row["first_build_id"] is None:  # no usable build that day
            continue
        yield {
            WHERE: where,
            "app_id": row["app_id"],
            "channel": row["channel"],
            "metric": row["metric"],
            "metric_type": row["metric_type"],
            "os": row["os"],
            "metric_key": row["metric_key"],
            "build_id": row["first_build_id"],
            "non_norm_histogram": {b["key"]: b["count"] for b in row["buckets"] or ()},
        }


def _to_bigquery(bigquery, parameter: Parameter):
    if parameter.array:
        return bigquery.ArrayQueryParameter(parameter.name, parameter.type, parameter.value)
    return bigquery.ScalarQueryParameter(parameter.name, parameter.type, parameter.value)


def _bigquery():
    """The client library, imported only when BigQuery is used."""
    try:
        from google.cloud import bigquery
    except ImportError:
        raise UserError(
            "reading GLAM from BigQuery needs the optional extra: pip install 'alerting[bigquery]'"
        ) from None
    return bigquery
