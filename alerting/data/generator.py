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
import zlib
from collections.abc import Iterable

import numpy as np

from alerting.data.families import traits_for
from alerting.data.model import ALL_OS, os_of
from alerting.data.series_plans import Group
from alerting.data.simulation import GeneratedData, simulate

__all__ = ["GeneratedData", "generate", "generate_for_probes"]

DESKTOP_OSES = ("Windows", "Linux", "Darwin")
MOBILE_OSES = ("Android",)


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
            Group(
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
    return simulate(groups, seed=seed, end=end, days=days)


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
                Group(
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
    return simulate(groups, seed=seed, end=end, days=days)


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
