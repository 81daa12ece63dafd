"""Detection outcomes kept in files: handed from worker processes to the run one batch at a
time (a fleet's findings, each with its series, would not fit in memory at once), and kept
between runs so a rerun on the same input reuses them instead of detecting again.

Plain arrays and JSON, no pickle: nothing in the folder can run code when loaded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from pathlib import Path

import numpy as np

from alerting.data.cache import series_from_arrays, series_to_arrays
from alerting.data.model import SeriesKey
from alerting.detect.model import Detection, Snapshot
from alerting.pipeline.findings import Candidate, Outcome
from alerting.probes.model import MonitorConfig


def save_outcome(path: Path, outcome: Outcome, configs: list[MonitorConfig]) -> None:
    """Write `outcome` (of a batch of `configs`) to `path` atomically."""
    series: dict[int, int] = {}  # id of a candidate's series -> its number in the file
    held = []
    for candidate in outcome.candidates:
        if id(candidate.series) not in series:
            series[id(candidate.series)] = len(held)
            held.append(candidate.series)
    arrays: dict[str, np.ndarray] = {}
    meta = {
        "monitored": outcome.monitored,
        "notes": outcome.notes,
        "errors": outcome.errors,
        "series": series_to_arrays(held, arrays),
        "candidates": [
            [
                next(i for i, config in enumerate(configs) if config is c.config),
                c.platform,
                c.channel,
                list(dataclasses.astuple(c.key)),
                series[id(c.series)],
                c.detection.to_json(),
            ]
            for c in outcome.candidates
        ],
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    temporary = path.with_name(path.name + ".tmp.npz")
    np.savez(temporary, **arrays)
    os.replace(temporary, path)


def load_outcome(path: Path, configs: list[MonitorConfig]) -> Outcome:
    """The outcome `save_outcome` wrote for the same batch of `configs`."""
    with np.load(path, allow_pickle=False) as stored:
        meta = json.loads(stored["meta"].tobytes())
        series = series_from_arrays(meta["series"], stored)
    candidates = [
        Candidate(
            config=configs[config],
            platform=platform,
            channel=channel,
            key=SeriesKey(*key),
            series=series[number],
            detection=_detection(detection),
        )
        for config, platform, channel, key, number, detection in meta["candidates"]
    ]
    return Outcome(
        monitored={p: [tuple(m) for m in ms] for p, ms in meta["monitored"].items()},
        candidates=candidates,
        notes=meta["notes"],
        errors=meta["errors"],
    )


def _detection(data: dict) -> Detection:
    return Detection(
        **{
            **data,
            "date": dt.date.fromisoformat(data["date"]),
            "before": Snapshot(**data["before"]),
            "after": Snapshot(**data["after"]),
        }
    )
