"""Small hand-built daily series for the detection tests: a log-normal in Glean-like buckets
(timing: 8 per octave, memory: 16 per octave) or a normal in linear buckets."""

from __future__ import annotations

import datetime as dt

import numpy as np
from scipy.special import ndtr

from alerting.data.model import DailySeries, SeriesKey

START = dt.date(2024, 1, 1)
BUCKETS = 2.0 ** (np.arange(80, 200) / 8)  # timing-like: 8 buckets per octave
MEMORY_BUCKETS = 2.0 ** (np.arange(160, 400) / 16)  # memory-like: 16 buckets per octave
LINEAR_BUCKETS = np.arange(0.0, 100.0, 2.0)  # a custom distribution: 0-100 in steps of 2


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
    buckets: str = "timing",
    bimodal: tuple[float, float] | None = None,
    weekly: float = 0.0,
    drift: tuple[int, int, float] | None = None,
    phi: float = 0.0,
    width: float | None = None,
) -> DailySeries:
    """`shift`/`spike`: day -> log shift of the median (a step lasts, a spike only that day);
    `volume`: day -> sample factor from that day on; `gaps`: days without data; `slow`: day ->
    (share, slowdown) of a slow sub-population from that day on; `buckets`: timing, memory
    or linear (then shifts and noise are shares of the median, moved by absolute amounts);
    `bimodal`: (share, slowdown) of a slow path always there; `weekly`: amplitude of a
    weekday pattern (log units); `drift`: (first day, days, log shift) of a slow linear drift;
    `phi`: lag-1 correlation of the day noise; `width`: spread of the distribution (log units,
    0.8 unless given; values for linear buckets, 10 unless given)."""
    rng = np.random.default_rng(seed)
    linear = buckets == "linear"
    lower = {"timing": BUCKETS, "memory": MEMORY_BUCKETS, "linear": LINEAR_BUCKETS}[buckets]
    level = np.zeros(days)
    for day, size in (shift or {}).items():
        level[day:] += size
    wander = rng.normal(0, noise, days)
    for i in range(1, days):
        wander[i] += phi * wander[i - 1]
    level += wander
    for day, size in (spike or {}).items():
        level[day] += size
    if weekly:
        level += weekly * np.array([0.2, 0.1, 0.0, -0.1, 0.3, -1.0, -0.8])[np.arange(days) % 7]
    if drift:
        first, length, size = drift
        level += size * np.clip((np.arange(days) - first) / length, 0.0, 1.0)
    n = np.full(days, samples)
    for day, factor in (volume or {}).items():
        n[day:] *= factor
    share = np.zeros(days)
    slowdown = np.ones(days)
    for day, (part, factor) in (slow or {}).items():
        share[day:], slowdown[day:] = part, factor
    if linear:
        at = np.append(lower, lower[-1] + 2.0)[None, :]
        mu, sigma = 40.0 * (1.0 + level), width or 10.0
        slow_mu = mu + 1.5 * sigma * np.log(slowdown)
    else:
        at = np.log(np.append(lower, lower[-1] * lower[-1] / lower[-2]))[None, :]
        mu, sigma = np.log(2.0 ** (14 if buckets == "timing" else 20)) + level, width or 0.8
        slow_mu = mu + np.log(slowdown)
    main = ndtr((at - mu[:, None]) / sigma)
    slower = ndtr((at - slow_mu[:, None]) / sigma)
    cdf = (1 - share)[:, None] * main + share[:, None] * slower
    if bimodal:
        part, factor = bimodal
        far = mu + (1.5 * sigma * np.log(factor) if linear else np.log(factor))
        cdf = (1 - part) * cdf + part * ndtr((at - far[:, None]) / sigma)
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
        metric_type=f"{'custom' if linear else buckets}_distribution",
        start=START,
        buckets=lower.copy(),
        counts=counts,
        present=present,
        build_ids=build_ids,
    )


def day(i: int) -> dt.date:
    return START + dt.timedelta(days=i)


def ar_level(rng: np.random.Generator, phi: float, spread: float, days: int) -> np.ndarray:
    """A level of AR(1) days (lag-1 correlation `phi`) already at its stationary `spread` on
    day 0, unlike `build`'s `phi`, which starts from nothing and takes weeks to get there."""
    level = rng.normal(0.0, spread * np.sqrt(1.0 - phi * phi), days)
    level[0] = rng.normal(0.0, spread)
    for i in range(1, days):
        level[i] += phi * level[i - 1]
    return level
