"""`cdf_squared`: the default technique (declaration; the detector lands with the detection issue)."""

from __future__ import annotations

from alerting.data.model import DailySeries
from alerting.detect.model import Detection
from alerting.detect.registry import ArgSpec, Technique, register


def detect(series: DailySeries, args: dict) -> list[Detection]:
    raise NotImplementedError("cdf_squared detection is built by the detection issue")


TECHNIQUE = register(
    Technique(
        name="cdf_squared",
        aliases=("cdf-squared",),
        summary="Compares the CDF of the days before and after each day, calibrated on the series' own noise.",
        detect=detect,
        args=(
            ArgSpec(
                "threshold",
                float,
                0.85,
                "how sure a change must be (0..1) before it alerts",
                0.0,
                1.0,
            ),
            ArgSpec(
                "short_term_spikes_ignored", bool, True, "ignore changes that revert within 2 days"
            ),
        ),
    )
)
