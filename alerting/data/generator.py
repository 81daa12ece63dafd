"""Realistic GLAM rows with known, labelled changes: the data for demos, tests and benchmarks.

Each series is a log-normal-like distribution (optionally with a slow sub-population) put into
Glean's exponential buckets, sampled per nightly build. On top of that come the things real
nightly data has and a detector must live with: day-to-day noise with a weekly pattern, 1-3
builds a day, varying volume, missing days, empty buckets dropped; and the things it must not
call changes: 1-2 day spikes that revert, volume-only changes. The truth lists every injected
change with the first day of the new behaviour, so detection can be scored.

Everything is drawn from numpy generators seeded by the caller's seed (and, for probe-driven
data, by the metric and label name), so the same inputs always give the same rows.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

from alerting.data.families import Traits, gap_days, level_path, plan_nuisances, traits_for
from alerting.data.histogram import quantiles
from alerting.data.model import ALL_OS, os_of

try:
    import orjson

    def _dumps(value: dict) -> str:
        return orjson.dumps(value).decode()

except ImportError:  # pragma: no cover - orjson is a dependency, json is the safety net

    def _dumps(value: dict) -> str:
        return json.dumps(value, separators=(",", ":"))


DESKTOP_OSES = ("Windows", "Linux", "Darwin")
MOBILE_OSES = ("Android",)

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

# A rare slowdown is a slow sub-population of 1-3 % of the samples (one hardware or add-on
# configuration hitting a slow path): it moves only the top of the distribution.
CHANGE_KINDS = ("median_step", "tail", "slow_subpopulation", "rare_slowdown")
_KIND_SHARES = (0.45, 0.2, 0.2, 0.15)
# The quantiles a change of the distribution's upper part is measured at in the truth.
_TAIL_QUANTILES = (0.75, 0.9, 0.95, 0.99)
NUISANCE_KINDS = ("spike", "volume")


@dataclass
class GeneratedData:
    """GLAM rows plus the truth about what was injected into each series."""

    rows: list[dict]
    truth: list[dict]


@dataclass
class _Group:
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


def generate(
    seed: int = 0,
    n_series: int = 20,
    days: int = 365,
    end: dt.date | None = None,
    change_free_share: float = 1 / 3,
    family: str = "standard",
    sampling_seed: int | None = None,
) -> GeneratedData:
    """`n_series` independent series, a `change_free_share` of them without any change, drawn
    as `family` describes (see alerting.data.families). With a `sampling_seed`, the same
    series (same changes, same day-to-day behaviour) are sampled again with other samples."""
    end = end or dt.date.today() - dt.timedelta(days=1)
    rng = np.random.default_rng([seed, 0x5E71E5])
    n_free = round(n_series * change_free_share)
    free = set(rng.permutation(n_series)[:n_free].tolist())
    groups = []
    for i, (metric, metric_type, label, os_value, app) in enumerate(_generic_series(n_series)):
        traits_rng = np.random.default_rng([seed, 0xFA, i])
        traits = traits_for(family, traits_rng, metric_type)
        groups.append(
            _Group(
                metric=metric,
                metric_type=traits.metric_type or metric_type,
                label=label,
                app=app,
                oses=(os_value,),
                emit=(os_value,),
                rng=np.random.default_rng([seed, 0x6E0, i]),
                change_free=i in free,
                traits=traits,
                traits_rng=traits_rng,
                sampling_rng=(
                    None if sampling_seed is None else np.random.default_rng([sampling_seed, i])
                ),
            )
        )
    return _simulate(groups, seed=seed, end=end, days=days)


def generate_for_probes(configs: Iterable, end: dt.date, days: int, seed: int) -> GeneratedData:
    """Rows for monitored probes: the embedded default data source of `alerting run`.

    `configs` are objects with `metric` (GLAM name), `type`/`metric_type`, `platforms`
    (Windows/Linux/Darwin/Android/All), `labels` (None when unlabeled) and `app`
    ('fog' or 'fenix'). Each (metric, label) draws from its own seed, so adding a probe
    never changes another probe's data. `All` rows are the sums of per-OS builds.
    """
    groups = []
    for config in configs:
        metric = config.metric
        metric_type = getattr(config, "metric_type", None) or config.type
        app = getattr(config, "app", None) or "fog"
        platforms = list(config.platforms or [])
        emit = tuple(dict.fromkeys(os_of(p) for p in platforms))
        oses = tuple(o for o in emit if o != ALL_OS)
        if ALL_OS in emit:
            oses = MOBILE_OSES if app == "fenix" else DESKTOP_OSES
            oses = tuple(dict.fromkeys([*oses, *(o for o in emit if o != ALL_OS)]))
        for label in list(config.labels or [""]):
            name_seed = zlib.crc32(f"{metric}\0{label}".encode())
            rng = np.random.default_rng([seed, name_seed])
            groups.append(
                _Group(
                    metric=metric,
                    metric_type=metric_type,
                    label=label,
                    app=app,
                    oses=oses,
                    emit=emit,
                    rng=rng,
                    change_free=bool(rng.random() < 1 / 3),
                )
            )
    return _simulate(groups, seed=seed, end=end, days=days)


# Plausible probes for `generate`: (GLAM metric name, type, labels).
_GENERIC_PROBES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("networking_http_channel_page_open_to_first_sent", "timing_distribution", ()),
    ("performance_pageload_fcp", "timing_distribution", ()),
    ("javascript_gc_total_time", "timing_distribution", ()),
    ("networking_dns_lookup_time", "timing_distribution", ()),
    ("memory_total", "memory_distribution", ()),
    ("fog_ipc_flush_durations", "timing_distribution", ()),
    ("networking_http_3_connection_time", "labeled_timing_distribution", ("h2", "h3")),
    ("memory_heap_allocated", "memory_distribution", ()),
    ("paint_build_displaylist_time", "timing_distribution", ()),
    ("thumbnails_capture_time", "timing_distribution", ()),
    ("network_tcp_connection", "timing_distribution", ()),
    ("power_total_thread_wakeups", "custom_distribution", ()),
)


def _generic_series(n_series: int) -> list[tuple[str, str, str, str, str]]:
    """(metric, type, label, os, app) for `generate`; every sixth series is Fenix/Android."""
    out = []
    round_ = 0
    while len(out) < n_series:
        for name, metric_type, labels in _GENERIC_PROBES:
            metric = name if round_ == 0 else f"{name}_{round_}"
            for label in labels or ("",):
                for os_value in (*DESKTOP_OSES, "Android"):
                    app = "fenix" if os_value == "Android" else "fog"
                    out.append((metric, metric_type, label, os_value, app))
        round_ += 1
    return out[:n_series]


# ---------------------------------------------------------------------------------------------
# The build calendar: shared by all series (nightlies are built for every probe at once).


@dataclass
class _Calendar:
    start: dt.date
    n_days: int
    build_day: np.ndarray  # int, day index of each build
    build_hour: np.ndarray  # int
    build_minute: np.ndarray  # int (14-digit ids only)
    build_second: np.ndarray

    def build_id(self, b: int, app: str) -> str:
        day = self.start + dt.timedelta(days=int(self.build_day[b]))
        stem = f"{day:%Y%m%d}{int(self.build_hour[b]):02d}"
        if app == "fenix":
            return f"{stem}{int(self.build_minute[b]):02d}{int(self.build_second[b]):02d}"
        return stem

    def build_date(self, b: int) -> str:
        day = self.start + dt.timedelta(days=int(self.build_day[b]))
        return f"{day:%Y-%m-%d} {int(self.build_hour[b]):02d}:00:00"


def _calendar(seed: int, end: dt.date, days: int) -> _Calendar:
    rng = np.random.default_rng([seed, 0xB111D])
    start = end - dt.timedelta(days=days - 1)
    per_day = rng.choice([1, 2, 3], size=days, p=[0.3, 0.5, 0.2])
    per_day[rng.random(days) < 0.012] = 0  # no nightly that day (tree closed, failed builds)
    build_day, hours = [], []
    for d, n in enumerate(per_day):
        slots = np.sort(rng.choice([3, 9, 15, 21], size=n, replace=False))
        build_day.extend([d] * n)
        hours.extend(slots.tolist())
    n_builds = len(build_day)
    return _Calendar(
        start=start,
        n_days=days,
        build_day=np.asarray(build_day, dtype=np.int64),
        build_hour=np.asarray(hours, dtype=np.int64),
        build_minute=rng.integers(0, 60, n_builds),
        build_second=rng.integers(0, 60, n_builds),
    )


def _version(day: dt.date) -> int:
    """Nightly version number: a new one every four weeks (Firefox 100 nightly began 2022-03-07)."""
    return 100 + (day - dt.date(2022, 3, 7)).days // 28


# ---------------------------------------------------------------------------------------------
# Per-group plans: where the changes and nuisances go.


def _family(metric_type: str) -> str:
    base = metric_type.removeprefix("labeled_")
    if base.startswith("timing") or base == "timespan":
        return "timing"
    if base.startswith("memory"):
        return "memory"
    return "custom"


def _bucketing(metric_type: str) -> tuple[int, float]:
    return {"timing": _TIMING, "memory": _MEMORY}.get(_family(metric_type), _CUSTOM)


def _plan(group: _Group, cal: _Calendar, build_days: np.ndarray) -> None:
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
class _Shape:
    """The noise-free distribution parameters of one OS component, per day."""

    mu: np.ndarray  # log of the main population's median (ns/bytes/units)
    sigma: np.ndarray
    slow_share: np.ndarray
    slowdown: np.ndarray


def _shape(group: _Group, n_days: int, mu0: float, sigma0: float) -> _Shape:
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
    return _Shape(mu, sigma, slow_share, slowdown)


def _bucket_probs(
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


# ---------------------------------------------------------------------------------------------
# Simulation.


@dataclass
class _Component:
    """One OS of a group: its per-build counts and users."""

    os: str
    builds: np.ndarray  # indices into the calendar's builds
    counts: np.ndarray  # (n_builds, n_buckets) int64
    users: np.ndarray  # (n_builds,) int64
    expected: np.ndarray  # (n_days, n_buckets) noise-free bucket shares
    weight: float  # typical daily volume, to mix components into `All`


def _simulate(groups: Sequence[_Group], seed: int, end: dt.date, days: int) -> GeneratedData:
    cal = _calendar(seed, end, days)
    rows: list[dict] = []
    truth: list[dict] = []
    for group in groups:
        group_rows, group_truth = _simulate_group(group, cal)
        rows.extend(group_rows)
        truth.extend(group_truth)
    return GeneratedData(rows=rows, truth=truth)


def _simulate_group(group: _Group, cal: _Calendar) -> tuple[list[dict], list[dict]]:
    rng = group.rng
    per_magnitude, max_value = _bucketing(group.metric_type)
    lo, hi = _MEDIAN_RANGE[_family(group.metric_type)]
    mu_group = rng.uniform(math.log(lo), math.log(hi))
    sigma_group = rng.uniform(0.5, 1.2)
    _plan(group, cal, cal.build_day)
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
            rows.extend(_all_rows(group, cal, components, names))
        else:
            comp = next(c for c in components if c.os == os_value)
            rows.extend(_rows(group, cal, os_value, comp.builds, comp.counts, comp.users, names))
    truth = [_truth(group, cal, os_value, components, lower) for os_value in group.emit]
    return rows, truth


def _simulate_component(
    group: _Group,
    cal: _Calendar,
    os_value: str,
    mu_group: float,
    sigma_group: float,
    edges: np.ndarray,
) -> _Component:
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
    shape = _shape(group, n_days, mu0, sigma0)
    expected = _bucket_probs(shape.mu, shape.sigma, shape.slow_share, shape.slowdown, edges, traits)

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
    probs = _bucket_probs(
        build_mu, sigma_day[bday], shape.slow_share[bday], shape.slowdown[bday], edges, traits
    )
    sampler = rng if group.sampling_rng is None else group.sampling_rng
    counts = sampler.poisson(probs * (daily_samples[bday] * share)[:, None])
    totals = counts.sum(axis=1)
    users = np.floor(totals / samples_per_user * np.exp(sampler.normal(0, 0.1, len(builds))))
    keep = users > 10  # GLAM publishes only aggregates of more than ten clients
    return _Component(
        os=os_value,
        builds=builds[keep],
        counts=counts[keep],
        users=users[keep].astype(np.int64),
        expected=expected,
        weight=float(np.median(daily_samples)),
    )


def _all_rows(
    group: _Group, cal: _Calendar, components: list[_Component], names: list[str]
) -> list[dict]:
    """The `os = '*'` rows: per build, the sum of the OS components that have that build."""
    n_builds = len(cal.build_day)
    n_buckets = len(names)
    counts = np.zeros((n_builds, n_buckets), dtype=np.int64)
    users = np.zeros(n_builds, dtype=np.int64)
    for comp in components:
        counts[comp.builds] += comp.counts
        users[comp.builds] += comp.users
    builds = np.flatnonzero(users > 10)
    return _rows(group, cal, ALL_OS, builds, counts[builds], users[builds], names)


def _rows(
    group: _Group,
    cal: _Calendar,
    os_value: str,
    builds: np.ndarray,
    counts: np.ndarray,
    users: np.ndarray,
    names: list[str],
) -> list[dict]:
    rows = []
    fenix = group.app == "fenix"
    totals = counts.sum(axis=1).tolist()
    users_list = users.tolist()
    for j, b in enumerate(builds.tolist()):
        nonzero = np.flatnonzero(counts[j])  # GLAM drops empty buckets
        values = counts[j, nonzero].tolist()
        histogram = {names[k]: v for k, v in zip(nonzero.tolist(), values, strict=True)}
        day = cal.start + dt.timedelta(days=int(cal.build_day[b]))
        rows.append(
            {
                "app_id": "nightly",
                "channel": "nightly",
                "version": _version(day),
                "ping_type": "metrics" if fenix else "*",
                "os": os_value,
                "build_id": cal.build_id(b, group.app),
                "build_date": cal.build_date(b),
                "metric": group.metric,
                "metric_type": group.metric_type,
                "metric_key": group.label,
                "client_agg_type": "summed_histogram",
                "total_users": users_list[j],
                "total_sample": totals[j],
                "non_norm_histogram": _dumps(histogram),
            }
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Truth.


def _truth(
    group: _Group,
    cal: _Calendar,
    os_value: str,
    components: list[_Component],
    lower: np.ndarray,
) -> dict:
    """What was injected into one emitted series, measured on that series."""
    parts = components if os_value == ALL_OS else [c for c in components if c.os == os_value]
    expected = sum(c.weight * c.expected for c in parts)
    observed = np.zeros_like(expected)
    for comp in parts:
        np.add.at(observed, cal.build_day[comp.builds], comp.counts)
    changes = []
    previous = 0
    for change in group.changes:
        d = change["day"]
        # A step of the median moves every quantile alike: the median describes it. A longer
        # tail or a slow sub-population moves the upper quantiles, a small sub-population only
        # the top ones: the label describes the quantile that moved most in its own noise.
        qs = [0.5] if change["kind"] == "median_step" else list(_TAIL_QUANTILES)
        before, after = quantiles(lower, expected[[d - 1, d]], qs)
        sizes = after / before - 1
        window = observed[max(previous, d - 56) : d]
        daily = quantiles(lower, window[window.sum(axis=1) > 0], qs)
        if len(daily):
            center = np.median(daily, axis=0)
            spread = 1.4826 * np.median(np.abs(daily - center), axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                noise_sd = np.where(center > 0, np.maximum(spread / center, 1e-6), np.nan)
        else:
            noise_sd = np.full(len(qs), np.nan)
        widths = np.abs(sizes) / noise_sd
        best = int(np.nanargmax(widths)) if np.isfinite(widths).any() else 0
        size = float(sizes[best])
        changes.append(
            {
                "date": (cal.start + dt.timedelta(days=d)).isoformat(),
                "direction": "up" if size > 0 else "down",
                "kind": change["kind"],
                "quantile": qs[best],
                "size": round(size, 4),
                "noise_widths": round(float(widths[best]), 2),
            }
        )
        previous = d
    nuisances = [
        {
            "date": (cal.start + dt.timedelta(days=x["day"])).isoformat(),
            "kind": x["kind"],
            "days": x["days"],
        }
        for x in sorted(group.nuisances, key=lambda x: x["day"])
    ]
    return {
        "metric": group.metric,
        "metric_type": group.metric_type,
        "os": os_value,
        "metric_key": group.label,
        "app": group.app,
        "changes": changes,
        "nuisances": nuisances,
    }
