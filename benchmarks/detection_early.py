"""Steps in a series' first months, which the family benchmark never draws.

    python benchmarks/detection_early.py                     # the recorded run
    python benchmarks/detection_early.py --series 30 --technique cdf_squared

The family generator places changes from a sixth of the series on (day 60 of a year), so how
a detector does while it has only weeks of history is not measured there; a benchmark kept
elsewhere need not wait as long, and a probe can be monitored soon after it lands. Here each
series is 200 days of one of the noise benchmark's level paths (`detection_noise.py`) with
one step of 2-5 of its day-to-day spreads (0.02 in log units) on a day drawn between the
first day a detector can score (four weeks of baseline) and the sixteenth week, in timing
buckets with `--samples` samples a day. Per technique: the steps found (a detection 3 days
before to 7 days after, as the family benchmark matches) and the other detections.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from detection import MATCH  # noqa: E402
from detection_noise import (  # noqa: E402
    LEVELS,
    SPREAD,
    chosen_techniques,
    picked,
    table_rows,
)

from alerting.textable import format_table  # noqa: E402
from tests.detect_series import build  # noqa: E402

DAYS = 200
FIRST, LAST = 35, 112  # step days: after the first scored day, up to sixteen weeks
WIDTHS = (2.0, 5.0)


def early_steps(technique, level: str, n_series: int, samples: float) -> tuple[int, int]:
    """(steps found, other detections) over `n_series` series of the level path `level`."""
    args = technique.defaults()
    path = LEVELS[level][1]
    found = other = 0
    for seed in range(n_series):
        rng = np.random.default_rng(9000 + seed)
        at = int(rng.integers(FIRST, LAST))
        size = float(rng.uniform(*WIDTHS)) * SPREAD * (1 if seed % 2 else -1)
        spike = {i: float(v) for i, v in enumerate(path(rng)[:DAYS])}
        series = build(
            days=DAYS, samples=samples, seed=seed, shift={at: size}, spike=spike, noise=0.0
        )
        days = [(d.date - series.start).days for d in technique.detect(series, args)]
        near = [d for d in days if MATCH[0] <= d - at <= MATCH[1]]
        found += bool(near)
        other += len(days) - min(len(near), 1)
    return found, other


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=60, help="series per level path")
    parser.add_argument("--samples", type=float, default=20000.0, help="samples a day")
    parser.add_argument("--technique", default=None, help="one technique (default: all)")
    parser.add_argument(
        "--levels", default="white,ar_0.6,ar_0.9,long_memory", help="comma-separated paths"
    )
    args = parser.parse_args()
    start = time.perf_counter()
    chosen, names = chosen_techniques(parser, args.technique)
    levels = picked(parser, args.levels, LEVELS, "level path")

    def cell(level: str, name: str) -> str:
        found, other = early_steps(chosen[name], level, args.series, args.samples)
        return f"{found}/{args.series} found, {other} other"

    rows = table_rows(levels, LEVELS, names, cell)
    print(
        f"{args.series} series of {DAYS} days per level path, one step of {WIDTHS[0]:g}-"
        f"{WIDTHS[1]:g} spreads on day {FIRST}-{LAST - 1}, {args.samples:g} samples a day"
    )
    print(format_table(["level", "level path", *names], rows))
    print(f"\ntotal time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
