"""False alerts on change-free series whose day noise the generator never draws.

    python benchmarks/detection_noise.py                     # the recorded run
    python benchmarks/detection_noise.py --series 20 --samples 2000 --technique cdf_squared

The family benchmark draws its noise from one model (an AR(1) level with a correlation of
0.3, or 0.6-0.9 for the wandering family, plus the sampling of each day's histogram). Real
telemetry, and any benchmark kept elsewhere, has other noise. Here every series is a year of
days without any change: a log-normal whose location follows one of the level paths below (or
whose slow path's share wanders, or that is narrower than a bucket), sampled into timing
buckets (8 per octave) with `--samples` samples a day. The figure is false alerts per
series-year and the most in one series, then the same counting only detections after the
first HISTORY days (per series-year of those days): the daily run reads a year of history and
a newly monitored series alerts only on recent changes, so a change is judged with months of
days before it, while the whole-year figure includes the first weeks, when the detector has
little history to measure the noise on. The target is at most 0.2 false alerts
per change-free series-year (0.3 on hard data). Every model's day-to-day spread is 0.02 in log
units unless said otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerting.detect.registry import techniques  # noqa: E402
from alerting.textable import format_table  # noqa: E402
from tests.detect_series import ar_level, build  # noqa: E402

DAYS = 365
HISTORY = 120  # days of history before the detections counted in the second figure
SPREAD = 0.02


def _ar(rng: np.random.Generator, phi: float, sd: float = SPREAD) -> np.ndarray:
    """A year of AR(1) days with lag-1 correlation `phi` and marginal spread `sd`."""
    return ar_level(rng, phi, sd, DAYS)


def _long_memory(rng: np.random.Generator) -> np.ndarray:
    """Three AR(1) parts of different memory (days, weeks, months) added up."""
    return sum(_ar(rng, phi, SPREAD * w) for phi, w in ((0.5, 1.0), (0.9, 0.6), (0.99, 0.4)))


def _volatility_clusters(rng: np.random.Generator) -> np.ndarray:
    """Calm and noisy months: the day spread changes by a factor of about 2 from month to month."""
    months = np.exp(np.repeat(rng.normal(0.0, 0.6, DAYS // 30 + 1), 30)[:DAYS] - 0.18)
    return rng.normal(0.0, SPREAD, DAYS) * months


def _growing_weekly(rng: np.random.Generator) -> np.ndarray:
    """A weekday pattern whose amplitude grows from nothing to 8 % over the year."""
    profile = np.array([0.2, 0.1, 0.0, -0.1, 0.3, -1.0, -0.8])
    amplitude = np.linspace(0.0, 0.08, DAYS)
    return rng.normal(0.0, 0.01, DAYS) + amplitude * profile[np.arange(DAYS) % 7]


def _slow_share(rng: np.random.Generator) -> dict:
    """A slow path (4x slower) whose share wanders around 15 % (AR(1), correlation 0.9,
    spread 2 points) on 1 % location noise: the shape moves, not the location."""
    share = np.clip(0.15 + _ar(rng, 0.9, 0.02), 0.0, 1.0)
    return {"slow": {i: (float(v), 4.0) for i, v in enumerate(share)}, "noise": 0.01}


def _on_level(path: Callable[[np.random.Generator], np.ndarray]) -> Callable:
    """A level path as the series builder's arguments: the location moved day by day."""
    return lambda rng: {"spike": {i: float(v) for i, v in enumerate(path(rng))}, "noise": 0.0}


def _narrow(rng: np.random.Generator) -> dict:
    """Values 3 % wide (a timing bucket is 9 %): one or two buckets hold nearly everything, and
    a level wandering by 1 % (AR(1), correlation 0.5) moves their shares."""
    return {**_on_level(lambda r: _ar(r, 0.5, 0.01))(rng), "width": 0.03}


LEVELS: dict[str, tuple[str, Callable[[np.random.Generator], np.ndarray]]] = {
    "white": ("independent normal days", lambda rng: rng.normal(0.0, SPREAD, DAYS)),
    "student_t3": (
        "heavy-tailed days (Student t, 3 degrees of freedom)",
        lambda rng: rng.standard_t(3, DAYS) * SPREAD / np.sqrt(3.0),
    ),
    "ar_0.6": ("AR(1) level, lag-1 correlation 0.6", lambda rng: _ar(rng, 0.6)),
    "ar_0.8": ("AR(1) level, lag-1 correlation 0.8", lambda rng: _ar(rng, 0.8)),
    "ar_0.9": ("AR(1) level, lag-1 correlation 0.9", lambda rng: _ar(rng, 0.9)),
    "ar_0.97": ("AR(1) level, lag-1 correlation 0.97", lambda rng: _ar(rng, 0.97)),
    "random_walk": (
        "a random walk (0.4 % a day): no level to return to",
        lambda rng: np.cumsum(rng.normal(0.0, 0.004, DAYS)),
    ),
    "long_memory": ("AR(1) parts of days, weeks and months added", _long_memory),
    "volatility": ("calm and noisy months", _volatility_clusters),
    "growing_weekly": ("a weekday pattern growing to 8 %", _growing_weekly),
    "seasonal": (
        "a yearly swing of 10 % on 1.5 % noise",
        lambda rng: rng.normal(0.0, 0.015, DAYS) + 0.1 * np.sin(2 * np.pi * np.arange(DAYS) / DAYS),
    ),
}
# What each model passes to the series builder.
MODELS: dict[str, tuple[str, Callable[[np.random.Generator], dict]]] = {
    **{name: (text, _on_level(path)) for name, (text, path) in LEVELS.items()},
    "slow_share": ("a slow path's share wandering around 15 %", _slow_share),
    "narrow": ("values in one or two buckets, the level wandering by 1 %", _narrow),
}


def false_alerts(technique, model: str, n_series: int, samples: float) -> tuple[int, int, int]:
    """(false alerts in all series, most in one series, those after the first HISTORY days)."""
    args = technique.defaults()
    make = MODELS[model][1]
    counts = []
    late = 0
    for seed in range(n_series):
        series = build(
            days=DAYS, samples=samples, seed=seed, **make(np.random.default_rng(1000 + seed))
        )
        found = technique.detect(series, args)
        counts.append(len(found))
        late += sum((d.date - series.start).days >= HISTORY for d in found)
    return sum(counts), max(counts), late


def chosen_techniques(parser: argparse.ArgumentParser, technique: str | None) -> tuple[dict, list]:
    """All techniques by name, and the names to run: `technique` alone, or all of them."""
    chosen = techniques()
    if technique and technique not in chosen:
        parser.error(f"unknown technique {technique}; known: {', '.join(chosen)}")
    return chosen, [technique] if technique else list(chosen)


def picked(parser: argparse.ArgumentParser, text: str, known: dict, what: str) -> list[str]:
    """The comma-separated names in `text`, each one of `known`."""
    names = text.split(",")
    unknown = [name for name in names if name not in known]
    if unknown:
        parser.error(f"unknown {what}(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return names


def table_rows(
    keys: list[str], described: dict, names: list[str], cell: Callable[[str, str], str]
) -> list[list[str]]:
    """One row per key (the key, its description, then one cell per technique name)."""
    return [[key, described[key][0], *(cell(key, name) for name in names)] for key in keys]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=40, help="series-years per model")
    parser.add_argument("--samples", type=float, default=20000.0, help="samples a day")
    parser.add_argument("--technique", default=None, help="one technique (default: all)")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated models")
    args = parser.parse_args()
    start = time.perf_counter()
    chosen, names = chosen_techniques(parser, args.technique)
    models = picked(parser, args.models, MODELS, "model")
    late_years = args.series * (DAYS - HISTORY) / DAYS

    def cell(model: str, name: str) -> str:
        total, most, late = false_alerts(chosen[name], model, args.series, args.samples)
        return f"{total / args.series:.3f} (max {most}); {late / late_years:.3f}"

    rows = table_rows(models, MODELS, names, cell)
    print(
        f"{args.series} change-free series-years per model, {args.samples:g} samples a day;"
        f" per technique: false alerts per series-year (most in one series); the same after"
        f" day {HISTORY}"
    )
    print(format_table(["model", "level path", *names], rows))
    print(f"\ntotal time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
