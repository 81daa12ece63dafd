"""The published detector (mozdetect, as Treeherder runs it) on our GLAM rows, for the
side-by-side figures of the benchmarks. Benchmark-only: `pip install mozdetect==0.2.0`."""

from __future__ import annotations

import logging
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable

Key = tuple[str, str, str]


def by_series(rows: Iterable[dict]) -> dict[Key, list[dict]]:
    """Rows per (metric, os, metric_key), in build order."""
    grouped: dict[Key, list[dict]] = defaultdict(list)
    for row in rows:
        grouped[row["metric"], row["os"], row["metric_key"]].append(row)
    return {key: sorted(found, key=lambda r: r["build_id"]) for key, found in grouped.items()}


def load() -> Callable[[Key, list[dict]], tuple[list, float, float]] | None:
    """A function running mozdetect's `cdf_squared` with its defaults on one series' rows,
    returning (detections, wall s, CPU s); None when mozdetect is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import pandas as pd
        from mozdetect.data import TelemetryTimeSeries
        from mozdetect.timeseries_detectors import get_timeseries_detectors
    except ImportError:
        return None
    logging.getLogger("CDFSquaredTimeSeries").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    detector = get_timeseries_detectors()["cdf_squared"]

    def run(key: Key, rows: list[dict]) -> tuple[list, float, float]:
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            detections = detector(TelemetryTimeSeries(pd.DataFrame(rows))).detect_changes()
        except Exception as error:  # it fails on some inputs; that counts as no detection
            print(f"  mozdetect failed on {key}: {type(error).__name__}: {error}")
            detections = []
        return detections, time.perf_counter() - started, time.process_time() - cpu_started

    return run
