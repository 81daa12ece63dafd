"""What happens to a generated series: where its changes and nuisances go, and the noise-free
distribution (per day, per bucket) they make."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

from alerting.data.build_calendar import Calendar
from alerting.data.families import Traits

# A rare slowdown is a slow sub-population of 1-3 % of the samples (one hardware or add-on
# configuration hitting a slow path): it moves only the top of the distribution.
CHANGE_KINDS = ("median_step", "tail", "slow_subpopulation", "rare_slowdown")
_KIND_SHARES = (0.45, 0.2, 0.2, 0.15)
NUISANCE_KINDS = ("spike", "volume")


@dataclass
class Group:
    """Series that share their injected behaviour: one metric and label on several OSes.

    Real regressions land in a build and hit every platform, so changes are drawn per group;
    noise, volume and missing days are drawn per OS.
    """

    metric: str
    metric_type: str
    label: str
    app: str
    oses: tuple[str, ...]  # OS components simulated
    emit: tuple[str, ...]  # GLAM `os` values written out ('*' = sum of the components)
    rng: np.random.Generator
    change_free: bool
    changes: list[dict] = field(default_factory=list)
    nuisances: list[dict] = field(default_factory=list)
    traits: Traits = field(default_factory=Traits)
    # Draws of a family's traits come from their own generator, so the default setting's
    # series stay what they were.
    traits_rng: np.random.Generator | None = None
    # Draws of the samples themselves (given a day's distribution and volume), when they come
    # from another seed than the process: the same series sampled again.
    sampling_rng: np.random.Generator | None = None


def plan(group: Group, cal: Calendar, build_days: np.ndarray) -> None:
    """Choose change and nuisance days (days that have builds, apart from each other)."""
    rng = group.rng
    n = cal.n_days
    days_with_builds = np.unique(build_days)
    taken: list[int] = []

    def pick(lo: int, hi: int, gap: int) -> int | None:
        candidates = days_with_builds[(days_with_builds >= lo) & (days_with_builds <= hi)]
        candidates = [int(c) for c in candidates if all(abs(int(c) - t) >= gap for t in taken)]
        if not candidates:
            return None
        day = int(rng.choice(candidates))
        taken.append(day)
        return day

    if not group.change_free and n >= 40:
        n_changes = int(rng.choice([1, 2], p=[0.6, 0.4])) if n >= 150 else 1
        lo = max(28, n // 6)
        for _ in range(n_changes):
            day = pick(lo, n - 8, gap=50)
            if day is None:
                break
            kind = str(rng.choice(CHANGE_KINDS, p=_KIND_SHARES))
            up = bool(rng.random() < 0.5)
            change = {"day": day, "kind": kind, "up": up}
            if kind == "median_step":
                size = float(np.exp(rng.uniform(np.log(0.04), np.log(0.4))))
                change["shift"] = math.log1p(size) if up else math.log1p(-size / (1 + size))
            elif kind == "tail":
                factor = float(rng.uniform(1.2, 1.6))
                change["sigma_factor"] = factor if up else 1 / factor
            elif kind == "slow_subpopulation":
                change["share"] = float(rng.uniform(0.05, 0.15))
                change["slowdown"] = float(rng.uniform(3.0, 8.0))
            else:
                change["share"] = float(rng.uniform(0.01, 0.03))
                change["slowdown"] = float(rng.uniform(5.0, 12.0))
            group.changes.append(change)
        group.changes.sort(key=lambda c: c["day"])
    n_nuisances = int(min(3, rng.poisson(1.2))) if n >= 20 else 0
    for _ in range(n_nuisances):
        day = pick(7, n - 3, gap=10)
        if day is None:
            break
        kind = str(rng.choice(NUISANCE_KINDS, p=[0.6, 0.4]))
        if kind == "spike":
            length = int(rng.integers(1, 3))
            shift = float(rng.uniform(0.25, 0.8)) * (1 if rng.random() < 0.5 else -0.6)
            group.nuisances.append({"day": day, "kind": kind, "days": length, "shift": shift})
        else:
            length = int(min(n - day, rng.integers(14, 61)))
            factor = float(rng.uniform(2.0, 3.0) if rng.random() < 0.5 else rng.uniform(0.3, 0.5))
            group.nuisances.append({"day": day, "kind": kind, "days": length, "factor": factor})


@dataclass
class Shape:
    """The noise-free distribution parameters of one OS component, per day."""

    mu: np.ndarray  # log of the main population's median (ns/bytes/units)
    sigma: np.ndarray
    slow_share: np.ndarray
    slowdown: np.ndarray


def shape_of(group: Group, n_days: int, mu0: float, sigma0: float) -> Shape:
    """Apply the group's changes (not noise, not nuisances) to the base parameters (on linear
    buckets the location is in value units, and a step moves it by an absolute amount)."""
    mu = np.full(n_days, mu0)
    sigma = np.full(n_days, sigma0)
    slow_share = np.zeros(n_days)
    slowdown = np.full(n_days, 4.0)
    previous = 0
    for change in sorted(group.changes, key=lambda c: c["day"]):
        d = change["day"]
        if change["kind"] == "median_step":
            mu[d:] += (
                mu0 * math.expm1(change["shift"]) if group.traits.linear_width else change["shift"]
            )
        elif change["kind"] == "tail":
            sigma[d:] *= change["sigma_factor"]
        elif change["up"]:  # a slow sub-population (or a rare slowdown) appears
            slow_share[d:] = change["share"]
            slowdown[d:] = change["slowdown"]
        else:  # it goes away: it was there since the change before (a later change must not
            # overwrite an earlier one, or the earlier labelled change would not be in the data)
            slow_share[previous:d] = change["share"]
            slowdown[previous:d] = change["slowdown"]
        previous = d
    return Shape(mu, sigma, slow_share, slowdown)


def bucket_probs(
    mu: np.ndarray,
    sigma: np.ndarray,
    share: np.ndarray,
    slowdown: np.ndarray,
    edges: np.ndarray,
    traits: Traits,
) -> np.ndarray:
    """Share of samples per bucket for each row of parameters (rows x buckets): a main
    population, a slow one of `share` (a change) and, for a bimodal baseline, a slow path that
    is always there. On linear buckets the parameters are in value units."""
    linear = bool(traits.linear_width)
    at = edges[None, :] if linear else np.log(edges)[None, :]

    def mode(offset: np.ndarray) -> np.ndarray:
        step = 1.5 * sigma * offset if linear else offset
        return ndtr((at - (mu + step)[:, None]) / sigma[:, None])

    cdf = (1 - share)[:, None] * mode(np.zeros_like(mu)) + share[:, None] * mode(np.log(slowdown))
    if traits.bimodal:
        base_share, base_slowdown = traits.bimodal
        slow_path = mode(np.full_like(mu, math.log(base_slowdown)))
        cdf = (1 - base_share) * cdf + base_share * slow_path
    cdf[:, 0] = 0.0
    cdf[:, -1] = 1.0
    return np.diff(cdf, axis=1)
