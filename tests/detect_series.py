"""Small hand-built daily series for the detection tests: a log-normal in Glean-like buckets."""

from __future__ import annotations

import datetime as dt

import numpy as np
from scipy.special import ndtr

from alerting.data.model import DailySeries, SeriesKey

START = dt.date(2024, 1, 1)
BUCKETS = 2.0 ** (np.arange(80, 200) / 8)  # timing-like: 8 buckets per octave


def build(
    days: int = 120,
    shift: dict[int, float] | None = None,
    spike: dict[int, float] | None = None,
    volume: dict[int, float] | None = None,
    noise: float = 0.02,
    samples: float = 20000.0,
    seed: int = 0,
    gaps: tuple[int, ...] = (),
    slow: dict[int, tuple[float, float]] | None = None,
) -> DailySeries:
    """`shift`/`spike`: day -> log shift of the median (a step lasts, a spike only that day);
    `volume`: day -> sample factor from that day on; `gaps`: days without data; `slow`: day ->
    (share, slowdown) of a slow sub-population from that day on."""
    rng = np.random.default_rng(seed)
    mu = np.full(days, np.log(2.0**14))
    for day, size in (shift or {}).items():
        mu[day:] += size
    mu += rng.normal(0, noise, days)
    for day, size in (spike or {}).items():
        mu[day] += size
    n = np.full(days, samples)
    for day, factor in (volume or {}).items():
        n[day:] *= factor
    edges = np.log(np.append(BUCKETS, BUCKETS[-1] * 2 ** (1 / 8)))
    share = np.zeros(days)
    slowdown = np.ones(days)
    for day, (part, factor) in (slow or {}).items():
        share[day:], slowdown[day:] = part, factor
    main = ndtr((edges[None, :] - mu[:, None]) / 0.8)
    slower = ndtr((edges[None, :] - (mu + np.log(slowdown))[:, None]) / 0.8)
    cdf = (1 - share)[:, None] * main + share[:, None] * slower
    probs = np.diff(cdf, axis=1)
    counts = rng.poisson(probs * n[:, None]).astype(float)
    present = np.ones(days, dtype=bool)
    present[list(gaps)] = False
    counts[~present] = 0.0
    build_ids = tuple(
        "" if not present[i] else (START + dt.timedelta(days=i)).strftime("%Y%m%d") + "03"
        for i in range(days)
    )
    return DailySeries(
        key=SeriesKey("test_metric", "Windows"),
        metric_type="timing_distribution",
        start=START,
        buckets=BUCKETS.copy(),
        counts=counts,
        present=present,
        build_ids=build_ids,
    )


def day(i: int) -> dt.date:
    return START + dt.timedelta(days=i)
