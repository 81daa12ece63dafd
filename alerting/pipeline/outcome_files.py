"""Detection outcomes kept in files: handed from worker processes to the run one batch at a
time (a fleet's findings, each with its series, would not fit in memory at once), and kept
between runs so a rerun on the same input reuses them instead of detecting again.

Plain arrays and JSON, no pickle: nothing in the folder can run code when loaded. A file is
kept with the digest of what was written and checked when loaded (`alerting.data.cache`), so a
damaged or edited file is refused (DamagedEntry) rather than used.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from alerting.data.cache import (
    expect,
    is_list_of,
    json_array,
    json_of,
    kept_day,
    load_arrays,
    save_arrays,
    series_from_arrays,
    series_to_arrays,
)
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
    arrays["meta"] = json_array(meta)
    save_arrays(path, arrays)


def load_outcome(path: Path, configs: list[MonitorConfig]) -> Outcome:
    """The outcome `save_outcome` wrote for the same batch of `configs`; DamagedEntry (or
    OSError) when the file is not exactly that."""
    stored = load_arrays(path)
    meta = json_of(stored)
    names = {"monitored", "notes", "errors", "series", "candidates"}
    expect(isinstance(meta, dict) and meta.keys() == names, "meta")
    series = series_from_arrays(meta["series"], stored)
    expect(len(stored) == 1 + 3 * len(series), "arrays of no series")
    monitored = meta["monitored"]
    expect(isinstance(monitored, dict), "monitored")
    for watched in monitored.values():
        expect(isinstance(watched, list), "monitored")
        expect(all(is_list_of(m, str, 3) for m in watched), "monitored series")
    expect(is_list_of(meta["notes"], str) and is_list_of(meta["errors"], str), "notes, errors")
    expect(isinstance(meta["candidates"], list), "candidates")
    candidates = []
    for item in meta["candidates"]:
        expect(isinstance(item, list) and len(item) == 6, "a candidate is not 6 values")
        config, platform, channel, key, number, detection = item
        expect(type(config) is int and 0 <= config < len(configs), "candidate's config")
        expect(type(number) is int and 0 <= number < len(series), "candidate's series")
        expect(type(platform) is str and type(channel) is str, "candidate's platform, channel")
        expect(is_list_of(key, str, len(dataclasses.fields(SeriesKey))), "candidate's key")
        candidates.append(
            Candidate(
                config=configs[config],
                platform=platform,
                channel=channel,
                key=SeriesKey(*key),
                series=series[number],
                detection=_detection(detection),
            )
        )
    return Outcome(
        monitored={p: [tuple(m) for m in ms] for p, ms in monitored.items()},
        candidates=candidates,
        notes=meta["notes"],
        errors=meta["errors"],
    )


def _detection(data: object) -> Detection:
    names = {f.name for f in dataclasses.fields(Detection)}
    expect(isinstance(data, dict) and data.keys() == names, "detection's fields")
    text = ("build_id", "direction", "technique", "score_meaning")
    expect(all(type(data[name]) is str for name in text), "detection's text")
    expect(data["direction"] in ("up", "down"), "detection's direction")
    expect(_number(data["score"]), "detection's score")
    return Detection(
        **{
            **data,
            "date": kept_day(data["date"]),
            "before": _snapshot(data["before"]),
            "after": _snapshot(data["after"]),
        }
    )


def _snapshot(data: object) -> Snapshot:
    names = {f.name for f in dataclasses.fields(Snapshot)}
    expect(isinstance(data, dict) and data.keys() == names, "snapshot's fields")
    expect(all(_number(v) for v in data.values()), "snapshot's values")
    return Snapshot(**data)


def _number(value: object) -> bool:
    return type(value) in (int, float)
