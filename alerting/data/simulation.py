"""Simulation of generated series: per OS, the daily level with its noise, volume and missing
days, and the sampled counts of every build."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from alerting.data.build_calendar import Calendar, make_calendar
from alerting.data.families import Traits, gap_days, level_path, plan_nuisances
from alerting.data.glam_rows import Component, all_rows, build_rows, truth_of
from alerting.data.model import ALL_OS
from alerting.data.series_plans import Group, bucket_probs, plan, shape_of

# Glean bucketing: bucket i holds samples with floor(n * log2(x)) == i and is named by its
# minimum floor(2 ** (i / n)). Timing distributions use n = 8 (nanoseconds, up to 10 minutes),
# memory distributions n = 16 (bytes, up to 1 TB).
_TIMING = (8, 1e9 * 60 * 10)
_MEMORY = (16, 2.0**40)
_CUSTOM = (8, 1e9)

# Where the median of each kind of metric sits (log-uniform between the two).
_MEDIAN_RANGE = {
    "timing": (2e5, 8e8),  # 0.2 ms .. 0.8 s in ns
    "memory": (2e3, 2e8),  # 2 KB .. 200 MB
    "custom": (3.0, 5e3),
}


@dataclass
class GeneratedData:
    """GLAM rows plus the truth about what was injected into each series."""

    rows: list[dict]
    truth: list[dict]


def _family(metric_type: str) -> str:
    base = metric_type.removeprefix("labeled_")
    if base.startswith("timing") or base == "timespan":
        return "timing"
    if base.startswith("memory"):
        return "memory"
    return "custom"


def _bucketing(metric_type: str) -> tuple[int, float]:
    return {"timing": _TIMING, "memory": _MEMORY}.get(_family(metric_type), _CUSTOM)


def simulate(groups: Sequence[Group], seed: int, end: dt.date, days: int) -> GeneratedData:
    cal = make_calendar(seed, end, days)
    rows: list[dict] = []
    truth: list[dict] = []
    for group in groups:
        group_rows, group_truth = _simulate_group(group, cal)
        rows.extend(group_rows)
        truth.extend(group_truth)
    return GeneratedData(rows=rows, truth=truth)


def _simulate_group(group: Group, cal: Calendar) -> tuple[list[dict], list[dict]]:
    rng = group.rng
    per_magnitude, max_value = _bucketing(group.metric_type)
    lo, hi = _MEDIAN_RANGE[_family(group.metric_type)]
    mu_group = rng.uniform(math.log(lo), math.log(hi))
    sigma_group = rng.uniform(0.5, 1.2)
    plan(group, cal, cal.build_day)
    traits = group.traits
    if group.traits_rng is not None and traits != Traits():
        change_days = [c["day"] for c in group.changes]
        group.nuisances += plan_nuisances(traits, group.traits_rng, cal.n_days, change_days)

    if traits.linear_width:
        # A custom distribution with linear buckets from 0 to 100 (a percentage, a count).
        mu_group = rng.uniform(20.0, 60.0)
        sigma_group = rng.uniform(6.0, 15.0)
        lower = np.arange(0.0, 100.0, traits.linear_width)
        edges = np.append(lower, np.inf)
        edges[0] = -np.inf
    else:
        # One bucket range for the whole group so components add up for `All`.
        span = 7.5 * sigma_group * 1.6 + math.log(8.0)
        if traits.bimodal:
            span += math.log(traits.bimodal[1])
        top = math.log(max_value)
        lo_index = max(0, math.floor(per_magnitude * (mu_group - span - 1.0) / math.log(2)))
        hi_index = math.ceil(per_magnitude * min(top, mu_group + span + 1.0) / math.log(2))
        # Small indices share a minimum (floor(2 ** (i / n)) is 1 for several i): one bucket.
        lower = np.unique(np.floor(np.exp2(np.arange(lo_index, hi_index + 1) / per_magnitude)))
        edges = np.append(lower, 1e300)  # everything above the last bucket lands in it
        edges[0] = 1e-300  # and everything below the first one in the first
    names = [str(int(m)) for m in lower]

    components = [
        _simulate_component(group, cal, os_value, mu_group, sigma_group, edges)
        for os_value in group.oses
    ]
    rows = []
    for os_value in group.emit:
        if os_value == ALL_OS:
            rows.extend(all_rows(group, cal, components, names))
        else:
            comp = next(c for c in components if c.os == os_value)
            rows.extend(
                build_rows(group, cal, os_value, comp.builds, comp.counts, comp.users, names)
            )
    truth = [truth_of(group, cal, os_value, components, lower) for os_value in group.emit]
    return rows, truth


def _simulate_component(
    group: Group,
    cal: Calendar,
    os_value: str,
    mu_group: float,
    sigma_group: float,
    edges: np.ndarray,
) -> Component:
    rng = group.rng
    n_days = cal.n_days
    day_index = np.arange(n_days)
    weekday = np.array([(cal.start + dt.timedelta(days=int(d))).weekday() for d in day_index[:7]])[
        day_index % 7
    ]
    weekend = weekday >= 5

    traits = group.traits
    mu0 = mu_group + rng.normal(0, 0.15 * (mu_group if traits.linear_width else 1.0))
    sigma0 = sigma_group * rng.uniform(0.9, 1.1)
    shape = shape_of(group, n_days, mu0, sigma0)
    expected = bucket_probs(shape.mu, shape.sigma, shape.slow_share, shape.slowdown, edges, traits)

    # Day-to-day noise: a little autocorrelated, plus a weekend shift (other machines, other use).
    tau = rng.uniform(*traits.tau)
    if group.traits_rng is None or traits == Traits():
        noise = rng.normal(0, tau, n_days)
        for d in range(1, n_days):
            noise[d] += 0.3 * noise[d - 1]
    else:
        noise = level_path(traits, group.traits_rng, tau, weekday)
    weekly = rng.uniform(-1.5, 1.5) * tau * weekend
    spikes = np.zeros(n_days)
    volume = np.ones(n_days)
    for nuisance in group.nuisances:
        d, length = nuisance["day"], nuisance["days"]
        if nuisance["kind"] in ("spike", "holiday"):
            spikes[d : d + length] += nuisance["shift"]
        if nuisance["kind"] == "drift":
            spikes[d:] += nuisance["shift"] * np.minimum(np.arange(1, n_days - d + 1) / length, 1)
        if nuisance["kind"] in ("volume", "holiday"):
            volume[d : d + length] *= nuisance["factor"]
    offset = noise + weekly + spikes  # relative to the median: log units, or shares of mu0
    mu_day = shape.mu + offset * (mu0 if traits.linear_width else 1.0)
    sigma_day = shape.sigma * np.exp(rng.normal(0, tau / 2, n_days))

    # Volume: per-series level, slow drift of the nightly population, weekends lower.
    level = math.exp(rng.uniform(math.log(3e3), math.log(3e6)))
    if traits.low_volume:  # 40-1,000 samples a build, about two builds a day
        level = 2.0 * math.exp(rng.uniform(math.log(40), math.log(1000)))
    drift = np.exp(np.linspace(0, rng.normal(0, 0.3), n_days))
    daily_samples = (
        level
        * drift
        * volume
        * np.where(weekend, rng.uniform(0.6, 0.9), 1.0)
        * np.exp(rng.normal(0, 0.15, n_days))
    )
    samples_per_user = rng.uniform(1, 3) if traits.low_volume else rng.uniform(3, 40)

    # Missing days for this OS: scattered days plus the odd outage of a few days.
    missing = rng.random(n_days) < 0.02
    for _ in range(rng.poisson(n_days / 180)):
        start = int(rng.integers(0, n_days))
        missing[start : start + int(rng.integers(2, 6))] = True
    if group.traits_rng is not None and traits.gaps:
        changes = [c["day"] for c in group.changes]
        missing |= gap_days(traits, group.traits_rng, n_days, changes)
    protected = [c["day"] for c in group.changes] + [x["day"] for x in group.nuisances]
    missing[protected] = False

    builds = np.flatnonzero(~missing[cal.build_day])
    bday = cal.build_day[builds]
    # Builds of a day split its samples; each build also wobbles a little around the day.
    share = rng.gamma(4.0, size=len(builds))
    share /= np.bincount(bday, weights=share, minlength=n_days)[bday]
    build_mu = mu_day[bday] + rng.normal(0, tau / 2, len(builds)) * (
        mu0 if traits.linear_width else 1.0
    )
    probs = bucket_probs(
        build_mu, sigma_day[bday], shape.slow_share[bday], shape.slowdown[bday], edges, traits
    )
    sampler = rng if group.sampling_rng is None else group.sampling_rng
    counts = sampler.poisson(probs * (daily_samples[bday] * share)[:, None])
    totals = counts.sum(axis=1)
    users = np.floor(totals / samples_per_user * np.exp(sampler.normal(0, 0.1, len(builds))))
    keep = users > 10  # GLAM publishes only aggregates of more than ten clients
    return Component(
        os=os_value,
        builds=builds[keep],
        counts=counts[keep],
        users=users[keep].astype(np.int64),
        expected=expected,
        weight=float(np.median(daily_samples)),
    )
