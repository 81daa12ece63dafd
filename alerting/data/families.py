"""Families of generated series: what real nightly telemetry does beyond the default setting.

The default setting (`standard`) is a log-normal-like distribution with mildly correlated day
noise. The other families each add one thing a detector must survive (other bucketings, a
bimodal baseline, a wandering level, outlier days, a strong weekly cycle, holiday dips, slow
drifts, gaps, very low volume, volume steps, frequent spikes), and `hard` mixes all of them at
random, several per series; `smooth_trend` is a nearly noiseless level that moves smoothly
all year (no change at all, whatever the sampling). A family only changes how a series is drawn, never how it is
labelled: injected changes are labelled as before, drifts and holidays are nuisances.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FAMILIES = (
    "standard",
    "timing",
    "memory",
    "linear",
    "bimodal",
    "wandering",
    "outliers",
    "weekly",
    "holidays",
    "drift",
    "gaps",
    "low_volume",
    "volume_steps",
    "spikes",
    "hard",
    "smooth_trend",
)
# The metric type a family's series have (None: the default rotation of probe types).
_METRIC_TYPES = {
    "timing": "timing_distribution",
    "memory": "memory_distribution",
    "linear": "custom_distribution",
}
# The share of `hard` series with each trait.
_HARD_SHARES = {
    "bimodal": 0.25,
    "wandering": 0.4,
    "outliers": 0.3,
    "weekly": 0.3,
    "holidays": 0.3,
    "drift": 0.3,
    "gaps": 0.3,
    "low_volume": 0.25,
    "volume_steps": 0.2,
    "spikes": 0.3,
}

# The first day (0-based) each nuisance may be placed on: a series must have more days than
# that, else the nuisance would land after its end (see `plan_nuisances`).
_FIRST_DAY = {"holidays": 30, "drift": 10, "volume_steps": 30, "spikes": 20}


def min_days(family: str) -> int:
    """The fewest days a series of `family` can have: one more than the latest first day of
    the nuisances it may get (`hard` may get every one of them)."""
    chosen = set(_HARD_SHARES) if family == "hard" else {family}
    return max((_FIRST_DAY[name] + 1 for name in chosen & set(_FIRST_DAY)), default=1)


@dataclass(frozen=True)
class Traits:
    """How one series departs from the default setting."""

    metric_type: str | None = None
    linear_width: int = 0  # > 0: linear buckets of this width from 0 to 100
    bimodal: tuple[float, float] | None = None  # (share, slowdown) of a slow path always there
    phi: float = 0.3  # lag-1 correlation of the day noise
    tau: tuple[float, float] = (0.01, 0.04)  # range of the day noise (log units)
    outlier_rate: float = 0.0  # share of days far off
    weekly_amplitude: float = 0.0  # > 0: per-weekday profile up to this share of the median
    holidays: int = 0  # 1-3 day dips (nuisances)
    drift: bool = False  # a slow drift of 4-15 % over 45-150 days (a nuisance)
    gaps: int = 0  # runs of 5-12 days without data
    low_volume: bool = False  # 40-1,000 samples a build
    volume_step: bool = False  # a lasting 4x step of volume (a nuisance)
    spikes: int = 0  # extra 1-2 day spikes (nuisances)
    trend: float = 0.0  # smooth move of the level over the whole series (log units)


def traits_for(family: str, rng: np.random.Generator, probe_type: str) -> Traits:
    """The traits of one series of `family` (`probe_type`: the default rotation's type)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; one of: {', '.join(FAMILIES)}")
    if family == "standard":
        return Traits()
    if family == "smooth_trend":
        size = float(rng.uniform(0.1, 0.3)) * (1 if rng.random() < 0.5 else -1)
        return Traits(metric_type=probe_type, phi=0.0, tau=(5e-4, 1e-3), trend=size)
    if family == "hard":
        bucketing = str(rng.choice(["timing", "memory", "linear", "default"]))
        chosen = {name for name, share in _HARD_SHARES.items() if rng.random() < share}
    else:
        bucketing, chosen = family, {family}
    metric_type = _METRIC_TYPES.get(bucketing, probe_type)
    tau = (0.01, 0.04)
    weekly = 0.0
    if "weekly" in chosen:
        tau = (0.004, 0.012)
        weekly = float(rng.uniform(0.05, 0.12))
    return Traits(
        metric_type=metric_type,
        linear_width=int(rng.choice([1, 2, 4, 5])) if bucketing == "linear" else 0,
        bimodal=(
            (float(rng.uniform(0.2, 0.5)), float(rng.uniform(4.0, 20.0)))
            if "bimodal" in chosen
            else None
        ),
        phi=float(rng.uniform(0.6, 0.9)) if "wandering" in chosen else 0.3,
        tau=tau,
        outlier_rate=0.02 if "outliers" in chosen else 0.0,
        weekly_amplitude=weekly,
        holidays=int(rng.integers(1, 4)) if "holidays" in chosen else 0,
        drift="drift" in chosen,
        gaps=int(rng.integers(1, 3)) if "gaps" in chosen else 0,
        low_volume="low_volume" in chosen,
        volume_step="volume_steps" in chosen,
        spikes=int(rng.integers(2, 5)) if "spikes" in chosen else 0,
    )


def plan_nuisances(
    traits: Traits, rng: np.random.Generator, n_days: int, change_days: list[int]
) -> list[dict]:
    """The nuisances a family adds: holidays, a drift, a volume step, spikes (apart from the
    labelled changes, so the truth stays unambiguous); `n_days` is at least the family's
    `min_days`."""
    out: list[dict] = []

    def free_day(lo: int, hi: int, length: int) -> int | None:
        for _ in range(50):
            day = int(rng.integers(lo, max(lo + 1, hi)))
            if all(abs(day - c) > 10 and abs(day + length - c) > 10 for c in change_days):
                return day
        return None

    for _ in range(traits.holidays):
        day = free_day(_FIRST_DAY["holidays"], n_days - 5, 3)
        if day is not None:
            length = int(rng.integers(1, 4))
            shift = -float(rng.uniform(0.03, 0.12))
            factor = float(rng.uniform(0.3, 0.6))
            out.append(
                {"day": day, "kind": "holiday", "days": length, "shift": shift, "factor": factor}
            )
    if traits.drift:
        length = int(min(rng.integers(45, 151), max(n_days - 20, 1)))
        first = _FIRST_DAY["drift"]
        day = int(rng.integers(first, max(first + 1, n_days - length)))
        size = float(rng.uniform(0.04, 0.15)) * (1 if rng.random() < 0.5 else -1)
        out.append({"day": day, "kind": "drift", "days": length, "shift": math.log1p(size)})
    if traits.volume_step:
        first = _FIRST_DAY["volume_steps"]
        day = int(rng.integers(first, max(first + 1, n_days - 10)))
        factor = 4.0 if rng.random() < 0.5 else 0.25
        out.append({"day": day, "kind": "volume", "days": n_days - day, "factor": factor})
    for _ in range(traits.spikes):
        day = free_day(_FIRST_DAY["spikes"], n_days - 3, 2)
        if day is not None:
            length = int(rng.integers(1, 3))
            shift = float(rng.uniform(0.25, 0.8)) * (1 if rng.random() < 0.5 else -0.6)
            out.append({"day": day, "kind": "spike", "days": length, "shift": shift})
    return out


def level_path(
    traits: Traits, rng: np.random.Generator, tau: float, weekday: np.ndarray
) -> np.ndarray:
    """The day noise of the location (log units): AR(1) with the family's correlation, outlier
    days, and the weekly profile when the family has one."""
    n_days = weekday.size
    noise = rng.normal(0, tau, n_days)
    for d in range(1, n_days):
        noise[d] += traits.phi * noise[d - 1]
    if traits.outlier_rate:
        far = rng.random(n_days) < traits.outlier_rate
        noise[far] += rng.uniform(6, 15, far.sum()) * tau * rng.choice([-1, 1], far.sum())
    if traits.trend:
        noise += traits.trend * np.sin(0.5 * np.pi * np.arange(n_days) / n_days)
    if traits.weekly_amplitude:
        profile = rng.normal(0, 0.3, 7)
        profile[5:] += rng.choice([-1, 1])
        profile -= profile.mean()
        profile *= traits.weekly_amplitude / np.max(np.abs(profile))
        noise += np.log1p(profile)[weekday]
    return noise


def gap_days(
    traits: Traits, rng: np.random.Generator, n_days: int, change_days: list[int]
) -> np.ndarray:
    """Missing days of the family's gaps: half of them end just before a change."""
    missing = np.zeros(n_days, dtype=bool)
    for _ in range(traits.gaps):
        length = int(rng.integers(5, 13))
        if change_days and rng.random() < 0.5:
            end = int(rng.choice(change_days)) - int(rng.integers(1, 4))
        else:
            end = int(rng.integers(length + 30, max(length + 31, n_days - 5)))
        missing[max(end - length, 0) : max(end, 0)] = True
    return missing
