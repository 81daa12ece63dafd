"""The configured data source (sample | files | bigquery), as daily series for some probes.

One switch for the daily run and the backtest, so both always read the same data.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from alerting.data.model import DailySeries, SeriesKey
from alerting.errors import UserError
from alerting.settings import Settings

log = logging.getLogger(__name__)

# The embedded default's data ends here, so the demo is the same on every machine and day.
SAMPLE_END = dt.date(2026, 11, 1)


def load_series(settings: Settings, configs: list) -> dict[SeriesKey, DailySeries]:
    """The daily series of the configured data source (the generator by default)."""
    from alerting.data.series import series_from_rows

    source = settings.data.source
    if source == "sample":
        from alerting.data.generator import generate_for_probes

        data = generate_for_probes(
            configs,
            end=sample_end(settings),
            days=settings.data.history_days,
            seed=settings.data.sample_seed,
        )
        return series_from_rows(data.rows)
    if source == "files":
        from alerting.data.rows import read_series

        if not settings.data.paths:
            raise UserError("data source 'files' needs [data] paths (or ALERTING_DATA_PATHS)")
        if settings.data.cache_dir:
            from alerting.data.cache import cached_load

            folder = Path(settings.data.cache_dir).expanduser()
            found, problems = cached_load(folder, settings.data.paths, read_series)
        else:
            found, problems = read_series(settings.data.paths)
        for problem in problems:
            log.warning("%s", problem)
        return found
    from alerting.data.bigquery import query_series

    return query_series(settings, configs)


def estimate_bytes(settings: Settings, batches: list[list]) -> int | None:
    """Bytes the queries of a run would scan (and bill), loading `batches` of monitor configs
    one after the other as the run does; from BigQuery dry runs, so nothing is read or billed.
    None when the source is not BigQuery (nothing to bill)."""
    if settings.data.source != "bigquery":
        return None
    from alerting.data.bigquery import estimate_bytes as estimate

    return sum(estimate(settings, batch) for batch in batches)


def describe_bytes(count: int) -> str:
    return f"{count / 2**30:,.2f} GiB ({count:,} bytes)"


def sample_end(settings: Settings) -> dt.date:
    """The last day of the embedded sample data."""
    if settings.data.sample_end:
        return dt.date.fromisoformat(settings.data.sample_end)
    return SAMPLE_END


def default_as_of(settings: Settings) -> dt.date:
    """The last day with data, for the sources where it is known without reading the data."""
    if settings.data.source == "sample":
        return sample_end(settings)
    return dt.date.today() - dt.timedelta(days=1)  # BigQuery: yesterday's nightlies
