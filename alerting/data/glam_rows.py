"""Output of generated series: GLAM rows of each build and the truth about what was injected."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np

from alerting.data.build_calendar import Calendar, nightly_version
from alerting.data.histogram import quantiles
from alerting.data.model import ALL_OS
from alerting.data.series_plans import Group

try:
    import orjson

    def _dumps(value: dict) -> str:
        return orjson.dumps(value).decode()

except ImportError:  # pragma: no cover - orjson is a dependency, json is the safety net

    def _dumps(value: dict) -> str:
        return json.dumps(value, separators=(",", ":"))


# The quantiles a change of the distribution's upper part is measured at in the truth.
_TAIL_QUANTILES = (0.75, 0.9, 0.95, 0.99)


@dataclass
class Component:
    """One OS of a group: its per-build counts and users."""

    os: str
    builds: np.ndarray  # indices into the calendar's builds
    counts: np.ndarray  # (n_builds, n_buckets) int64
    users: np.ndarray  # (n_builds,) int64
    expected: np.ndarray  # (n_days, n_buckets) noise-free bucket shares
    weight: float  # typical daily volume, to mix components into `All`


def all_rows(
    group: Group, cal: Calendar, components: list[Component], names: list[str]
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
    return build_rows(group, cal, ALL_OS, builds, counts[builds], users[builds], names)


def build_rows(
    group: Group,
    cal: Calendar,
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
                "version": nightly_version(day),
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


def truth_of(
    group: Group,
    cal: Calendar,
    os_value: str,
    components: list[Component],
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
