"""Detection on labelled series from a generator written independently of the family generator.

    python benchmarks/detection_independent.py                      # 40 series per family
    python benchmarks/detection_independent.py --series 20 --details
    python benchmarks/detection_independent.py --technique quantile_steps

The techniques were tuned on `alerting.data.generator`; this script draws its own series from
a description of real nightly telemetry (shapes, noise processes, nuisances and changes are
chosen here, not copied), writes them as GLAM rows, reads them with `series_from_rows` and
scores a technique with `detection.py`'s matching, so its figures say whether the tuned
detector holds on data it was not tuned on.

What a series is (all sizes relative to the median unless said otherwise):
- a metric: timing (exponential buckets, 8 per octave, ms or ns), memory (16 per octave, KB
  or bytes), custom with linear buckets (0-100, 20-100 buckets; changes move values by
  absolute amounts) or a bimodal timing (a fast and a slow path, slow share 5-40 %, 4-30x
  slower); the log-value is normal, logistic, Gumbel (Weibull) or log-gamma;
- day-to-day noise: an AR(1) level (phi 0-0.6, 0.8-0.92 in `wandering`, 0-0.9 in `hard`) with
  Student-t innovations (3, 5, 10 degrees of freedom or normal), marginal sd 0.5-3 % of the
  median (1.5-5 % wandering), a smaller AR wander of the spread and of the slow share, per-build
  jitter, 0-2.5 % of days far off (5-15 sds), 1-3 builds a day, lognormal daily volume and
  samples clustered by client (overdispersed counts);
- nuisances (per family): weekend shifts of 4-12 % (noise 0.4-1.2 %), holiday dips of 1-3
  days, drifts of 4-15 % over 45-150 days, gaps of 5-12 days, 40-1,000 samples a build,
  volume steps of 4x up or down, spikes of 1-2 days (and 3-day ones) of 8-40 %;
- changes (two thirds of the series, one or two each, 45 days apart or more, days 40 to 339):
  location shifts of 1-30 % (log-uniform; linear: of the typical value, in absolute units),
  spread x e^(+-0.05..0.5), a slow tail (3-10x, linear: +2-4 spreads) growing from 0 to 1-15 %
  of the samples or shrinking to 10-50 % of itself, the slow share's logit moved by 0.3-1.5
  (a bimodal's location shift moves both paths or the fast one only).

`noise_widths` of a change: the largest, over p05/p25/p50/p75/p95 measured in fractional
bucket positions, of |the quantile's shift between the noise-free distributions just before
and after the change| / (that quantile's standard deviation over the days of the same series
simulated without changes, weekly pattern, nuisances or far-off days, but with its own AR
level, spread and share noise, build jitter, volume and sampling noise). `direction` is the
sign of that quantile's shift (for a change of spread, whether its widest-moving quantile went
up: ambiguous by nature).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import special

sys.path.insert(0, str(Path(__file__).parent))

from detection import (  # noqa: E402
    HEADERS,
    SIZE_BINS,
    Dataset,
    Score,
    match,
    report,
    run_technique,
)

from alerting.data.series import series_from_rows  # noqa: E402
from alerting.detect.registry import techniques  # noqa: E402
from alerting.detect.technique import Technique  # noqa: E402
from alerting.textable import format_table  # noqa: E402

END = dt.date(2024, 12, 31)
N_DAYS = 365
START = END - dt.timedelta(days=N_DAYS - 1)
FAMILIES = (
    "plain",
    "linear",
    "memory",
    "bimodal",
    "wandering",
    "weekly",
    "holidays",
    "drift",
    "gaps",
    "low_volume",
    "volume_steps",
    "spikes",
    "hard",
)
KINDS = ("timing", "memory", "linear", "bimodal")
SHAPES = ("normal", "logistic", "gumbel", "loggamma")
QUANTILES = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
# Holidays of 2024 that dip nightly usage: (first day, days).
HOLIDAYS = (
    (dt.date(2024, 3, 29), 3),
    (dt.date(2024, 7, 4), 1),
    (dt.date(2024, 11, 28), 2),
    (dt.date(2024, 12, 24), 3),
    (dt.date(2024, 12, 31), 1),
)
OSES = ("Windows", "Linux", "Darwin")
COLUMNS = (1, 2, 3, 4, 5, 6, 11, 12)  # of detection.HEADERS: no replay latency (not run here)


@dataclass
class Metric:
    """A probe's distribution: bucket bounds and the noise-free parameters of its mixture."""

    kind: str
    metric_type: str
    bounds: np.ndarray  # bucket lower bounds, ascending
    log: bool  # values compared on a log scale (exponential buckets)
    shape: str
    k: float  # log-gamma shape
    loc: float  # log of the typical value, or the typical value (linear)
    spread: float  # sd of the (log-)value
    tail_gap: float  # where the slow tail sits, above loc
    tail0: float  # its share at the start
    slow_gap: float = 0.0  # bimodal: slow path above the fast one (log)
    slow_spread: float = 1.0
    share0: float = 0.0  # bimodal: slow share at the start

    def rel(self, fraction: np.ndarray | float) -> np.ndarray | float:
        """A shift of `fraction` of the median in the units of `loc` (log ratio or absolute)."""
        if self.log:
            return np.sign(fraction) * np.log1p(np.abs(fraction))
        return np.asarray(fraction) * self.loc


@dataclass
class Params:
    """Per-row (or per-day) parameters of the mixture."""

    loc: np.ndarray
    spread: np.ndarray
    tail: np.ndarray
    share: np.ndarray
    slow_shift: np.ndarray

    def take(self, index: np.ndarray) -> Params:
        return Params(*(getattr(self, f)[index] for f in Params.__dataclass_fields__))


@dataclass
class Plan:
    """What one series draws: its noise, nuisances and volumes."""

    family: str
    kind: str
    phi: float
    sd: float
    df: float
    outlier_rate: float
    builds: tuple[float, float, float]  # chance of 1, 2, 3 builds a day
    volume: float  # typical samples a day
    volume_sd: float
    cluster: float  # samples per client: overdispersion of the counts
    per_user: float  # samples per user (total_users)
    weekly: float = 0.0
    weekend_volume: float = 1.0
    holidays: bool = False
    drifts: int = 0
    gaps: int = 0
    steps: int = 0
    spikes: int = 0
    long_spikes: int = 0
    missing_rate: float = 0.0
    short_ids: bool = False


@dataclass
class Generated:
    rows: list[dict]
    truth: dict
    family: str
    kind: str
    events: list[dict] = field(default_factory=list)  # nuisances incl. gaps and outliers


def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    """Sizes spread evenly in ratio: as many small as large ones."""
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def cdf(shape: str, z: np.ndarray, k: float) -> np.ndarray:
    """CDF of a standardised (mean 0, sd 1) log-value of the given shape."""
    if shape == "normal":
        return special.ndtr(z)
    if shape == "logistic":
        return special.expit(z * np.pi / np.sqrt(3.0))
    if shape == "gumbel":  # log of a Weibull variable
        u = -np.euler_gamma + z * np.pi / np.sqrt(6.0)
        return -np.expm1(-np.exp(np.minimum(u, 50.0)))
    u = special.digamma(k) + z * np.sqrt(special.polygamma(1, k))  # log of a gamma variable
    return special.gammainc(k, np.exp(np.minimum(u, 50.0)))


def bucket_probs(m: Metric, p: Params) -> np.ndarray:
    """Expected share of each bucket, one line per entry of `p`."""
    edges = m.bounds[1:]
    u = np.log(edges) if m.log else edges

    def comp(loc: np.ndarray, spread: np.ndarray) -> np.ndarray:
        return cdf(m.shape, (u[None, :] - loc[:, None]) / spread[:, None], m.k)

    main = 1.0 - p.tail - p.share
    F = main[:, None] * comp(p.loc, p.spread)
    F += p.tail[:, None] * comp(p.loc + m.tail_gap, p.spread)
    if m.kind == "bimodal":
        slow = m.slow_spread * p.spread / m.spread
        F += p.share[:, None] * comp(p.loc + m.slow_gap + p.slow_shift, slow)
    n = len(p.loc)
    F = np.concatenate([np.zeros((n, 1)), np.clip(F, 0.0, 1.0), np.ones((n, 1))], axis=1)
    return np.maximum(np.diff(F, axis=1), 0.0)


def positions(hist: np.ndarray) -> np.ndarray:
    """QUANTILES of each line of `hist` as fractional bucket positions (index + share)."""
    total = hist.sum(axis=1, keepdims=True)
    c = np.cumsum(hist, axis=1) / np.maximum(total, 1e-300)
    out = np.empty((hist.shape[0], len(QUANTILES)))
    for j, q in enumerate(QUANTILES):
        i = np.minimum((c < q).sum(axis=1), hist.shape[1] - 1)
        below = np.where(i > 0, c[np.arange(len(i)), i - 1], 0.0)
        width = c[np.arange(len(i)), i] - below
        out[:, j] = i + np.where(width > 0, (q - below) / np.maximum(width, 1e-300), 0.0)
    return out


def draw_metric(rng: np.random.Generator, kind: str) -> Metric:
    """A probe of `kind` with its buckets, shape and typical value."""
    shape = str(rng.choice(SHAPES))
    k = float(rng.uniform(1.5, 6.0))
    tail0 = float(rng.choice([0.0, rng.uniform(0.03, 0.15)], p=[0.6, 0.4]))
    if kind == "linear":
        n = int(rng.choice([20, 25, 50, 100]))
        bounds = np.arange(0.0, 100.0 + 1e-9, 100.0 / n)
        spread = rng.uniform(4.0, 15.0)
        return Metric(
            kind,
            "custom_distribution",
            bounds,
            False,
            shape,
            k,
            loc=float(rng.uniform(15.0, 65.0)),
            spread=float(spread),
            tail_gap=float(spread * rng.uniform(2.0, 4.0)),
            tail0=tail0,
        )
    if kind == "memory":
        if rng.random() < 0.5:  # KB
            bounds, median = np.unique(np.round(2 ** (np.arange(0, 16 * 24) / 16))), 10**4
        else:  # bytes
            bounds, median = np.unique(np.round(2 ** (np.arange(16 * 8, 16 * 34) / 16))), 10**7
        median *= log_uniform(rng, 0.02, 20.0)
        metric_type = "memory_distribution"
        spread = rng.uniform(0.4, 1.4)
    else:
        if rng.random() < 0.5:  # ms
            bounds, scale = np.unique(np.round(2 ** (np.arange(0, 8 * 18) / 8))), 1.0
        else:  # ns
            bounds, scale = np.unique(np.round(2 ** (np.arange(8 * 12, 8 * 38) / 8))), 1e6
        median = scale * log_uniform(rng, 3.0, 2000.0)
        metric_type = "timing_distribution"
        spread = rng.uniform(0.3, 1.3) if kind == "timing" else rng.uniform(0.25, 0.6)
    m = Metric(
        kind,
        metric_type,
        bounds.astype(float),
        True,
        shape,
        k,
        loc=float(np.log(median)),
        spread=float(spread),
        tail_gap=float(np.log(rng.uniform(3.0, 10.0))),
        tail0=tail0,
    )
    if kind == "bimodal":
        m.tail0 = 0.0
        m.slow_gap = float(np.log(rng.uniform(4.0, 30.0)))
        m.slow_spread = float(rng.uniform(0.3, 0.8))
        m.share0 = float(rng.uniform(0.05, 0.4))
    return m


def draw_plan(rng: np.random.Generator, family: str) -> Plan:
    """The base noise every series has, then what its family adds."""
    kind = {"plain": "timing", "linear": "linear", "memory": "memory", "bimodal": "bimodal"}.get(
        family, str(rng.choice(KINDS, p=[0.4, 0.2, 0.2, 0.2]))
    )
    n1 = rng.uniform(0.2, 1.0)
    plan = Plan(
        family=family,
        kind=kind,
        phi=float(rng.uniform(0.0, 0.6)),
        sd=log_uniform(rng, 0.005, 0.03),
        df=float(rng.choice([3.0, 5.0, 10.0, np.inf])),
        outlier_rate=float(rng.uniform(0.0, 0.025)),
        builds=(n1, (1 - n1) * 0.7, (1 - n1) * 0.3),
        volume=log_uniform(rng, 2e4, 2e6),
        volume_sd=float(rng.uniform(0.1, 0.4)),
        cluster=log_uniform(rng, 1.0, 10.0),
        per_user=log_uniform(rng, 3.0, 100.0),
        weekly=float(rng.uniform(-0.02, 0.02)),
        weekend_volume=float(rng.uniform(0.7, 1.0)),
        missing_rate=float(rng.uniform(0.0, 0.02)),
        short_ids=bool(rng.random() < 0.4),
    )
    on = {
        "wandering": family == "wandering",
        "weekly": family == "weekly",
        "holidays": family == "holidays",
        "drift": family == "drift",
        "gaps": family == "gaps",
        "low_volume": family == "low_volume",
        "volume_steps": family == "volume_steps",
        "spikes": family == "spikes",
    }
    if family == "hard":
        on = {name: bool(rng.random() < 0.5) for name in on}
        plan.phi = float(rng.uniform(0.0, 0.9))
    if on["wandering"]:
        plan.phi = float(rng.uniform(0.8, 0.92))
        plan.sd = log_uniform(rng, 0.015, 0.05)
    if on["weekly"]:
        plan.weekly = float(rng.choice([-1, 1]) * rng.uniform(0.04, 0.12))
        plan.sd = log_uniform(rng, 0.004, 0.012)
        plan.weekend_volume = float(rng.uniform(0.4, 0.8))
    plan.holidays = on["holidays"]
    plan.drifts = int(rng.integers(1, 3)) if on["drift"] else 0
    plan.gaps = int(rng.integers(1, 4)) if on["gaps"] else 0
    if on["low_volume"]:
        plan.volume = float(rng.uniform(40, 1000)) * (1 + plan.builds[1] + 2 * plan.builds[2])
        plan.cluster = log_uniform(rng, 1.0, 3.0)
        plan.per_user = log_uniform(rng, 1.5, 3.0)
    plan.steps = int(rng.integers(1, 3)) if on["volume_steps"] else 0
    if on["spikes"]:
        plan.spikes = int(rng.integers(2, 6))
        plan.long_spikes = int(rng.integers(0, 3))
    return plan


def ar1(rng: np.random.Generator, n: int, phi: float, sd: float, df: float) -> np.ndarray:
    """AR(1) with marginal sd `sd` and Student-t innovations (normal when df is infinite)."""
    e = rng.standard_normal(n) if np.isinf(df) else rng.standard_t(df, n) / np.sqrt(df / (df - 2))
    e *= sd * np.sqrt(1 - phi**2)
    x = np.empty(n)
    x[0] = e[0] / np.sqrt(1 - phi**2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


def draw_change_days(rng: np.random.Generator) -> list[int]:
    """None for a third of the series, else one or two days 45 days apart or more."""
    n = 0 if rng.random() < 1 / 3 else (1 if rng.random() < 0.7 else 2)
    while True:
        days = sorted(int(d) for d in rng.integers(40, N_DAYS - 25, n))
        if all(b - a >= 45 for a, b in zip(days, days[1:], strict=False)):
            return days


def free_window(
    rng: np.random.Generator, length: int, taken: list[tuple[int, int]], margin: int
) -> int:
    """A start day whose `length` days keep `margin` days away from every taken span (changes,
    other excursions), so excursions do not merge into longer ones or blur a change."""
    for _ in range(500):
        start = int(rng.integers(5, N_DAYS - length - 5))
        if all(start + length + margin <= a or b + margin <= start for a, b in taken):
            return start
    return start


def counts_of(
    rng: np.random.Generator, probs: np.ndarray, volume: np.ndarray, cluster: float
) -> np.ndarray:
    """Bucket counts with client clustering: negative-binomial with variance `cluster` x mean."""
    mean = probs * volume[:, None]
    if cluster > 1.05:
        mean = rng.gamma(mean / (cluster - 1) + 1e-12, cluster - 1)
    return rng.poisson(mean).astype(float)


def generate_series(rng: np.random.Generator, family: str, index: int) -> Generated:
    """One labelled series: its GLAM rows, its truth and every event drawn in it."""
    plan = draw_plan(rng, family)
    m = draw_metric(rng, plan.kind)
    n = N_DAYS
    days = [START + dt.timedelta(days=t) for t in range(n)]
    weekday = np.array([d.weekday() for d in days])
    change_days = draw_change_days(rng)
    events: list[dict] = []
    taken = [(d, d + 1) for d in change_days]  # spans excursions keep away from

    # Noise that every day has: AR levels of location, spread and slow share.
    level = m.rel(ar1(rng, n, plan.phi, plan.sd, plan.df))
    spread_noise = ar1(rng, n, plan.phi, plan.sd * rng.uniform(0.2, 0.6), plan.df)
    share_noise = ar1(rng, n, plan.phi, plan.sd * rng.uniform(1.0, 3.0), plan.df)

    # What is not noise: weekly pattern, nuisances, then changes (all per day).
    loc_det = np.zeros(n)
    tail_det = np.zeros(n)
    vol_factor = np.ones(n)
    weekend = weekday >= 5
    loc_det[weekend] += m.rel(plan.weekly)
    vol_factor[weekend] *= plan.weekend_volume

    present = rng.random(n) >= plan.missing_rate
    for t in np.flatnonzero(rng.random(n) < plan.outlier_rate):
        loc_det[t] += m.rel(rng.choice([-1, 1]) * rng.uniform(5, 15) * plan.sd)
        events.append({"kind": "outlier", "date": days[t].isoformat(), "days": 1})
    if plan.holidays:
        sign = rng.choice([-1, 1])
        listed = [((d - START).days, length) for d, length in HOLIDAYS]
        taken += [(start, start + length) for start, length in listed]
        for _ in range(int(rng.integers(0, 3))):  # local holidays
            length = int(rng.integers(1, 4))
            listed.append((free_window(rng, length, taken, 5), length))
            taken.append((listed[-1][0], listed[-1][0] + length))
        for start, length in listed:
            loc_det[start : start + length] += m.rel(sign * rng.uniform(0.03, 0.12))
            vol_factor[start : start + length] *= rng.uniform(0.3, 0.7)
            events.append({"kind": "holiday", "date": days[start].isoformat(), "days": length})
    for _ in range(plan.drifts):
        length = int(rng.integers(45, 151))
        start = int(rng.integers(10, n - 30))
        size = rng.choice([-1, 1]) * rng.uniform(0.04, 0.15)
        ramp = np.clip((np.arange(n) - start + 1) / length, 0.0, 1.0)
        loc_det += m.rel(size) * ramp
        events.append({"kind": "drift", "date": days[start].isoformat(), "days": length})
    for i in range(plan.spikes + plan.long_spikes):
        length = int(rng.integers(1, 3)) if i < plan.spikes else 3
        start = free_window(rng, length, taken, 5)
        taken.append((start, start + length))
        if rng.random() < 0.7:
            loc_det[start : start + length] += m.rel(rng.choice([-1, 1]) * rng.uniform(0.08, 0.4))
        else:
            tail_det[start : start + length] += rng.uniform(0.05, 0.2)
        events.append({"kind": "spike", "date": days[start].isoformat(), "days": length})
    for _ in range(plan.steps):
        start = int(rng.integers(20, n - 20))
        vol_factor[start:] *= 4.0 if rng.random() < 0.5 else 0.25
        events.append({"kind": "volume_step", "date": days[start].isoformat(), "days": 1})
    for _ in range(plan.gaps):
        length = int(rng.integers(5, 13))
        start = int(rng.integers(10, n - length - 10))
        present[start : start + length] = False
        events.append({"kind": "gap", "date": days[start].isoformat(), "days": length})

    # Changes: persistent from their day on.
    loc_chg = np.zeros(n)
    spread_chg = np.zeros(n)
    tail_chg = np.zeros(n)
    share_chg = np.zeros(n)
    slow_chg = np.zeros(n)
    changes = []
    tail_now = m.tail0
    for day in change_days:
        kind = draw_change_kind(rng, m)
        before = noise_free(m, loc_chg, spread_chg, tail_chg, share_chg, slow_chg, day)
        if kind == "location":
            delta = m.rel(rng.choice([-1, 1]) * log_uniform(rng, 0.01, 0.3))
            loc_chg[day:] += delta
            if m.kind == "bimodal" and rng.random() < 0.5:  # the fast path only
                slow_chg[day:] -= delta
        elif kind == "spread":
            spread_chg[day:] += rng.choice([-1, 1]) * rng.uniform(0.05, 0.5)
        elif kind == "tail":
            # a tail appears, or an existing one shrinks
            grow = tail_now < 0.02
            step = rng.uniform(0.01, 0.15) if grow else -tail_now * rng.uniform(0.5, 0.9)
            tail_chg[day:] += step
            tail_now += step
        else:
            share_chg[day:] += rng.choice([-1, 1]) * rng.uniform(0.3, 1.5)
        after = noise_free(m, loc_chg, spread_chg, tail_chg, share_chg, slow_chg, day)
        changes.append({"day": day, "kind": kind, "before": before, "after": after})

    # Rows: 1-3 builds a day, each with its own jitter and share of the day's volume.
    n_builds = rng.choice([1, 2, 3], size=n, p=np.array(plan.builds) / sum(plan.builds))
    row_day = np.repeat(np.arange(n), n_builds)
    share_of_day = np.concatenate([rng.dirichlet(np.full(b, 2.0)) for b in n_builds])
    base_volume = plan.volume * np.exp(rng.normal(0.0, plan.volume_sd, n))
    row_volume_ref = base_volume[row_day] * share_of_day
    row_volume = row_volume_ref * vol_factor[row_day]
    jitter = m.rel(rng.normal(0.0, plan.sd * rng.uniform(0.0, 0.5), len(row_day)))

    def params(with_events: bool) -> Params:
        loc = m.loc + level[row_day] + jitter
        spread_log = spread_noise[row_day]
        tail = np.full(len(row_day), m.tail0)
        share_logit = special.logit(max(m.share0, 1e-9)) + share_noise[row_day]
        slow = np.zeros(len(row_day))
        if with_events:
            loc = loc + loc_det[row_day] + loc_chg[row_day]
            spread_log = spread_log + spread_chg[row_day]
            tail = tail + tail_det[row_day] + tail_chg[row_day]
            share_logit = share_logit + share_chg[row_day]
            slow = slow_chg[row_day]
        share = special.expit(share_logit) if m.kind == "bimodal" else np.zeros(len(row_day))
        tail = np.clip(tail, 0.0, 0.5)
        return Params(loc, m.spread * np.exp(spread_log), tail, share, slow)

    counts = counts_of(rng, bucket_probs(m, params(True)), row_volume, plan.cluster)

    # The change-free, nuisance-free twin: each quantile's day-to-day sd (noise widths).
    ref = counts_of(rng, bucket_probs(m, params(False)), row_volume_ref, plan.cluster)
    daily = np.zeros((n, ref.shape[1]))
    np.add.at(daily, row_day, ref)
    sd = positions(daily[daily.sum(axis=1) > 0]).std(axis=0)

    metric = f"{family}_{plan.kind}_{index:03d}"
    os_name = str(rng.choice(OSES))
    rows = make_rows(rng, plan, m, metric, os_name, days, row_day, counts, present)
    present_days = sorted({int(t) for t in row_day[present[row_day]]})
    truth_changes = []
    for change in changes:
        shift = (
            positions(bucket_probs(m, change["after"]))[0]
            - positions(bucket_probs(m, change["before"]))[0]
        )
        widths = np.abs(shift) / np.maximum(sd, 1e-9)
        j = int(np.argmax(widths))
        seen = next((t for t in present_days if t >= change["day"]), change["day"])
        truth_changes.append(
            {
                "date": days[seen].isoformat(),
                "direction": "up" if shift[j] > 0 else "down",
                "kind": change["kind"],
                "noise_widths": float(widths[j]),
            }
        )
    nuisances = [e for e in events if e["kind"] != "gap"]
    truth = {
        "metric": metric,
        "os": os_name,
        "metric_key": "",
        "changes": truth_changes,
        "nuisances": nuisances,
    }
    return Generated(rows, truth, family, plan.kind, events)


def draw_change_kind(rng: np.random.Generator, m: Metric) -> str:
    """Location shifts are the common regression; a bimodal's slow share moves often."""
    if m.kind == "bimodal":
        return str(rng.choice(["share", "location", "spread"], p=[0.45, 0.4, 0.15]))
    return str(rng.choice(["location", "spread", "tail"], p=[0.6, 0.2, 0.2]))


def noise_free(
    m: Metric,
    loc_chg: np.ndarray,
    spread_chg: np.ndarray,
    tail_chg: np.ndarray,
    share_chg: np.ndarray,
    slow_chg: np.ndarray,
    day: int,
) -> Params:
    """The distribution on `day` without noise or nuisances (changes so far included)."""
    share = special.expit(special.logit(max(m.share0, 1e-9)) + share_chg[day])
    return Params(
        np.array([m.loc + loc_chg[day]]),
        np.array([m.spread * np.exp(spread_chg[day])]),
        np.array([np.clip(m.tail0 + tail_chg[day], 0.0, 0.5)]),
        np.array([share if m.kind == "bimodal" else 0.0]),
        np.array([slow_chg[day]]),
    )


def make_rows(
    rng: np.random.Generator,
    plan: Plan,
    m: Metric,
    metric: str,
    os_name: str,
    days: list[dt.date],
    row_day: np.ndarray,
    counts: np.ndarray,
    present: np.ndarray,
) -> list[dict]:
    """GLAM rows: one per build, empty buckets left out, rows of 10 users or fewer dropped."""
    keys = [f"{b:g}" for b in m.bounds]
    rows = []
    hours: dict[int, list[int]] = {}
    for r, t in enumerate(row_day):
        t = int(t)
        if not present[t]:
            continue
        total = float(counts[r].sum())
        users = int(total / plan.per_user * rng.uniform(0.8, 1.2))
        if users <= 10:
            continue
        used = hours.setdefault(t, sorted(rng.choice(24, 3, replace=False).tolist()))
        rank = r - int(np.searchsorted(row_day, t))
        stamp = dt.datetime.combine(days[t], dt.time(used[rank], int(rng.integers(0, 60))))
        if plan.short_ids:
            build_id = stamp.strftime("%Y%m%d%H")
            stamp = stamp.replace(minute=0)
        else:
            build_id = stamp.strftime("%Y%m%d%H%M%S")
        nz = np.flatnonzero(counts[r])
        histogram = {keys[i]: int(counts[r, i]) for i in nz}
        rows.append(
            {
                "app_id": "nightly",
                "channel": "nightly",
                "version": 122 + (days[t] - dt.date(2024, 1, 1)).days // 28,
                "ping_type": "*",
                "os": os_name,
                "build_id": build_id,
                "build_date": stamp.strftime("%Y-%m-%d %H:%M:%S"),
                "metric": metric,
                "metric_type": m.metric_type,
                "metric_key": "",
                "client_agg_type": "summed_histogram",
                "total_users": str(users),
                "total_sample": str(int(total)),
                "non_norm_histogram": json.dumps(histogram),
            }
        )
    return rows


class Recorder:
    """Wraps a technique so the scoring run also keeps every series' detections."""

    def __init__(self, technique: Technique) -> None:
        self.technique = technique
        self.found: dict = {}

    def wrapped(self) -> Technique:
        def detect(series, args):
            detections = self.technique.detect(series, args)
            self.found[series.key.metric] = detections
            return detections

        return Technique(self.technique.name, self.technique.summary, detect, self.technique.args)


def near_events(date: dt.date, events: list[dict], days: int = 7) -> list[str]:
    """Events within `days` of `date` as kind@offset (date minus the event's first day)."""
    out = []
    for e in events:
        start = dt.date.fromisoformat(e["date"])
        if start - dt.timedelta(days=days) <= date <= start + dt.timedelta(days=e["days"] + days):
            out.append(f"{e['kind']}@{(date - start).days:+d}d")
    return out


def details(generated: list[Generated], found: dict) -> None:
    """Every false alert (with the labelled events near it) and every miss."""
    from detection import MATCH, on_excursion

    print("\nfalse alerts and misses:")
    for g in generated:
        detections = found.get(g.truth["metric"], [])
        changes = g.truth["changes"]
        taken: set[int] = set()
        for d in detections:
            hit = next(
                (
                    j
                    for j, c in enumerate(changes)
                    if j not in taken
                    and MATCH[0] <= (d.date - dt.date.fromisoformat(c["date"])).days <= MATCH[1]
                ),
                None,
            )
            if hit is not None:
                taken.add(hit)
                c = changes[hit]
                if d.direction != c["direction"]:
                    print(
                        f"  DIR {g.truth['metric']:<27} {c['date']} {c['kind']:<8} labelled"
                        f" {c['direction']}, found {d.direction} ({c['noise_widths']:.1f} w)"
                    )
                continue
            if on_excursion(d.date, g.truth["nuisances"]):
                continue
            near = near_events(d.date, g.events) or ["-"]
            others = [c["date"] for c in changes]
            print(
                f"  FP {g.truth['metric']:<28} {d.date} {d.direction:<4} score {d.score:7.3g}"
                f"  near: {' '.join(near)}  changes: {others or '-'}"
            )
        for j, c in enumerate(changes):
            if j not in taken:
                day = dt.date.fromisoformat(c["date"])
                far = [e for e in near_events(day, g.events, 30) if not e.startswith("outlier")]
                print(
                    f"  FN {g.truth['metric']:<28} {c['date']} {c['kind']:<8} {c['direction']:<4}"
                    f" {c['noise_widths']:6.2f} w  within 30 days: {' '.join(far) or '-'}"
                )


def directions(generated: list[Generated], found: dict) -> str:
    """Matched changes whose direction agrees, by kind (a spread change has no clear one)."""
    agree: dict = defaultdict(lambda: [0, 0])
    for g in generated:
        detections = found.get(g.truth["metric"], [])
        changes = g.truth["changes"]
        for i, j in match([(d.date, d.direction) for d in detections], changes):
            if j is not None:
                agree[changes[j]["kind"]][0] += detections[i].direction == changes[j]["direction"]
                agree[changes[j]["kind"]][1] += 1
    return ", ".join(f"{k} {a}/{n}" for k, (a, n) in sorted(agree.items()))


def main() -> None:
    """Generate each family, read its rows as the pipeline does, detect and score."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--series", type=int, default=40, help="series per family")
    parser.add_argument("--technique", default="cdf_squared")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--details", action="store_true", help="list false alerts and misses")
    args = parser.parse_args()
    families = [f for f in args.families.split(",") if f]
    unknown = set(families) - set(FAMILIES)
    if unknown:
        parser.error(f"unknown families: {', '.join(sorted(unknown))}")
    technique = techniques().get(args.technique)
    if technique is None:
        parser.error(f"unknown technique {args.technique!r}; known: {', '.join(techniques())}")

    start = time.perf_counter()
    recorder = Recorder(technique)
    wrapped = recorder.wrapped()
    table, overall, generated_all = [], Score(), []
    read_seconds = gen_seconds = 0.0
    for f_index, family in enumerate(families):
        rng = np.random.default_rng([args.seed, f_index])
        t0 = time.perf_counter()
        generated = [generate_series(rng, family, i) for i in range(args.series)]
        t1 = time.perf_counter()
        rows = [row for g in generated for row in g.rows]
        series = series_from_rows(rows)
        t2 = time.perf_counter()
        gen_seconds += t1 - t0
        read_seconds += t2 - t1
        truth = {(g.truth["metric"], g.truth["os"], ""): g.truth for g in generated}
        score = run_technique(wrapped, [Dataset(family, rows, series, truth)], replay=False)
        overall.add(score)
        table.append(_cells(report(family, score), score))
        generated_all += generated
    table.append(_cells(report("all", overall), overall))
    n_series = len(generated_all)
    n_free = sum(not g.truth["changes"] for g in generated_all)
    n_changes = sum(len(g.truth["changes"]) for g in generated_all)
    print(
        f"{args.technique} on {n_series} series ({args.series} per family, {n_free} change-free,"
        f" {n_changes} labelled changes), seed {args.seed}"
    )
    headers = ["family", *(HEADERS[i] for i in COLUMNS), *(f"{b} w" for _, _, b in SIZE_BINS)]
    print(format_table(headers, table))
    sizes = ["<2", "2-4", ">=4"]
    print("\nrecall by kind of change and by size (noise widths), all families:")
    kinds = sorted(overall.by_kind)
    print(
        format_table(
            [*kinds, *(f"{s} w" for s in sizes)],
            [
                [f"{overall.by_kind[k][0]}/{overall.by_kind[k][1]}" for k in kinds]
                + [f"{overall.by_size[s][0]}/{overall.by_size[s][1]}" for s in sizes]
            ],
        )
    )
    widths = sorted(c["noise_widths"] for g in generated_all for c in g.truth["changes"])
    if widths:
        q = np.percentile(widths, [10, 25, 50, 75, 90])
        print(
            "noise widths of the changes, p10/p25/p50/p75/p90: " + " / ".join(f"{v:.1f}" for v in q)
        )
    print("direction agreement by kind of change: " + directions(generated_all, recorder.found))
    if args.details:
        details(generated_all, recorder.found)
    print(
        f"\ngenerating {gen_seconds:.0f} s, reading rows {read_seconds:.0f} s,"
        f" total {time.perf_counter() - start:.0f} s"
    )


def _cells(line: list[str], score: Score) -> list[str]:
    """The report's columns shown here, then recall by size (found/changes)."""
    sizes = [f"{score.by_size[b][0]}/{score.by_size[b][1]}" for _, _, b in SIZE_BINS]
    return [line[0], *(line[i] for i in COLUMNS), *sizes]


if __name__ == "__main__":
    main()
