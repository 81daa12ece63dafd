"""The detections of a fixed set of generated series, pinned: work on the speed of the step
search must not change a single date, direction or figure without anyone noticing.

A deliberate change of what the techniques find rewrites the pinned file:
    python -m tests.test_detect_pinned
"""

import datetime as dt
import json
from pathlib import Path

import pytest

from alerting.data.generator import generate
from alerting.data.series import series_from_rows
from alerting.detect.registry import get_technique

PINNED = Path(__file__).parent / "fixtures" / "detections" / "pinned.json"
END = dt.date(2025, 6, 30)
FAMILIES = ("standard", "hard", "low_volume", "bimodal", "wandering", "gaps", "linear", "drift")
NAMES = ("cdf_squared", "quantile_steps")


def current() -> dict:
    """Every technique's detections on every pinned series, as JSON."""
    out: dict = {}
    for family in FAMILIES:
        rows = generate(seed=3, n_series=5, days=365, end=END, family=family).rows
        for key, series in sorted(series_from_rows(rows).items(), key=lambda item: str(item[0])):
            for name in NAMES:
                technique = get_technique(name)
                found = technique.detect(series, technique.defaults())
                out[f"{family} {key.metric} {key.os} {name}"] = [d.to_json() for d in found]
    return out


def _without_scores(result: dict) -> dict:
    return {
        name: [{k: v for k, v in d.items() if k != "score"} for d in found]
        for name, found in result.items()
    }


def test_detections_of_the_pinned_series_are_unchanged():
    pinned = json.loads(PINNED.read_text())
    now = current()
    assert sum(len(found) for found in pinned.values()) > 20  # the set holds changes
    assert _without_scores(now) == _without_scores(pinned)
    for name, found in pinned.items():
        assert [d["score"] for d in now[name]] == pytest.approx(
            [d["score"] for d in found], abs=2e-3
        ), name


if __name__ == "__main__":
    PINNED.write_text(json.dumps(current(), indent=1, sort_keys=True) + "\n")
