"""A `state/` directory with realistic alerts for the report tests.

The plot data is computed the way the pipeline does: daily histograms over real bucket layouts
(Glean's exponential timing buckets, a linear custom distribution), summarised with the
project's own `quantiles`/`cdf`. Some names and labels are hostile on purpose, to prove the
site escapes them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from alerting.alerts.model import (
    COMMENTED,
    DELIVERY_BUG,
    DELIVERY_COMMENT,
    DELIVERY_EMAIL,
    FILED,
    PENDING,
    SILENCED,
    STATUS_EXPECTED,
    STATUS_NEW,
    STATUS_RESOLVED,
    STATUS_SILENCED,
    Alert,
    Event,
    Plot,
    PushRange,
    Summary,
    Values,
)
from alerting.alerts.store import StateStore
from alerting.data.histogram import cdf, quantiles

HOSTILE_PROBE = "evil.<script>alert('probe')</script>"
HOSTILE_LABEL = '"><img src=x onerror=alert(1)>'
SILENCE_REASON = "TRR rework: noisy until the new resolver lands"
EXPECTED_REASON = "bigger IPC buffers <on purpose>"
EXPECTED_BUG = 1913500

# Glean timing_distribution buckets: 2**(i/8) ns, rounded to integers, shown in ms.
TIMING_BUCKETS_MS = np.unique(np.floor(2 ** (np.arange(60, 260) / 8.0))) / 1e6
# A linear custom distribution: 0..100 in steps of 2.
LINEAR_BUCKETS = np.arange(0, 102, 2, dtype=float)


def _histogram(buckets: np.ndarray, center: float, spread: float, linear: bool) -> np.ndarray:
    """Counts of a log-normal (or normal, for linear buckets) around `center`."""
    x = buckets if linear else np.log(np.maximum(buckets, 1e-12))
    mu = center if linear else np.log(center)
    return 1e5 * np.exp(-0.5 * ((x - mu) / spread) ** 2)


def make_plot(
    change: dt.date,
    buckets: np.ndarray,
    before: float,
    after: float,
    spread: float,
    linear: bool = False,
    gap: int | None = None,
) -> tuple[Plot, Values, Values]:
    rng = np.random.default_rng(int(before * 1000) % 2**32)
    days = [change + dt.timedelta(days=d) for d in range(-21, 10)]
    daily = []
    for day in days:
        center = after if day >= change else before
        center *= 1 + rng.normal(0, 0.02)
        daily.append(_histogram(buckets, center, spread, linear) * rng.uniform(0.8, 1.2))
    counts = np.array(daily)
    q = quantiles(buckets, counts, [0.5, 0.05, 0.95])
    split = days.index(change)
    pooled_before, pooled_after = counts[:split].sum(axis=0), counts[split:].sum(axis=0)
    qb, qa = (
        quantiles(buckets, pooled_before, [0.5, 0.05, 0.95]),
        quantiles(buckets, pooled_after, [0.5, 0.05, 0.95]),
    )

    def column(j: int) -> list[float | None]:
        values = [round(float(v), 4) for v in q[:, j]]
        return [None if i == gap else v for i, v in enumerate(values)]

    plot = Plot(
        days=[d.isoformat() for d in days],
        median=column(0),
        p05=column(1),
        p95=column(2),
        buckets=[float(b) for b in buckets],
        cdf_before=[round(float(v), 6) for v in cdf(pooled_before)],
        cdf_after=[round(float(v), 6) for v in cdf(pooled_after)],
    )
    b = Values(*(round(float(v), 4) for v in qb), samples=float(pooled_before.sum().round()))
    a = Values(*(round(float(v), 4) for v in qa), samples=float(pooled_after.sum().round()))
    return plot, b, a


def _alert(
    id: str,
    probe: str,
    platform: str,
    date: str,
    direction: str,
    classification: str,
    unit: str,
    plot_values: tuple[Plot, Values, Values],
    summary: str,
    **extra,
) -> Alert:
    plot, before, after = plot_values
    metric = probe.replace(".", "_")
    return Alert(
        id=id,
        probe=probe,
        metric=metric,
        metric_type=extra.pop("metric_type", "timing_distribution"),
        platform=platform,
        label=extra.pop("label", ""),
        channel=extra.pop("channel", "nightly"),
        app=extra.pop("app", "fog"),
        date=date,
        build_id=date.replace("-", "") + "09",
        direction=direction,
        classification=classification,
        technique="cdf_squared",
        score=extra.pop("score", 0.0123),
        score_meaning="mean squared CDF difference",
        unit=unit,
        before=before,
        after=after,
        summary=summary,
        delivery=extra.pop("delivery", DELIVERY_BUG),
        plot=plot,
        **extra,
    )


def sample_alerts() -> list[Alert]:
    aug15, aug22 = dt.date(2025, 8, 15), dt.date(2025, 8, 22)
    rev_a, rev_b = "a1b2c3d4e5f6", "0f9e8d7c6b5a"
    range_a = PushRange("20250814094512", "20250815092233", "20250816093011", rev_a, "b" * 12)
    range_b = PushRange("20250821093001", "20250822094455", "20250823092210", rev_b, "c" * 12)
    tree = "https://treeherder.mozilla.org/jobs?repo=mozilla-central"
    links_a = {
        "treeherder": f"{tree}&revision={'b' * 12}",
        "treeherder_range": f"{tree}&fromchange={rev_a}&tochange={'b' * 12}",
        "pushlog": "https://hg.mozilla.org/mozilla-central/pushloghtml?startdate=2025-08-14&enddate=2025-08-16",
    }
    page_load = "networking.http_channel_page_open_to_first_sent"
    return [
        _alert(
            "2025-08-15-networking.http_channel_page_open_to_first_sent-Windows",
            page_load,
            "Windows",
            "2025-08-15",
            "up",
            "regression",
            "ms",
            make_plot(aug15, TIMING_BUCKETS_MS, 42.0, 61.0, 0.9),
            "2025-08-15-a1b2c3d4e5f6",
            bug=1912345,
            delivery_state=FILED,
            push_range=range_a,
            links={
                **links_a,
                "bug": "https://bugzilla.mozilla.org/show_bug.cgi?id=1912345",
                "plot": "https://bugzilla.mozilla.org/attachment.cgi?id=9400001",
                "glam": f"https://glam.telemetry.mozilla.org/fog/probe/{page_load.replace('.', '_')}/explore?normalizationType=non_normalized&os=Windows",
            },
            history=[
                Event("2025-08-16", "detected", "cdf_squared score 0.0123"),
                Event("2025-08-16", "filed", "bug 1912345"),
            ],
        ),
        _alert(
            "2025-08-15-networking.http_channel_page_open_to_first_sent-Linux",
            page_load,
            "Linux",
            "2025-08-15",
            "up",
            "regression",
            "ms",
            make_plot(aug15, TIMING_BUCKETS_MS, 55.0, 70.0, 0.8, gap=5),
            "2025-08-15-a1b2c3d4e5f6",
            bug=1912346,
            delivery_state=FILED,
            status=STATUS_RESOLVED,
            resolution="FIXED",
            push_range=range_a,
            links={**links_a, "bug": "https://bugzilla.mozilla.org/show_bug.cgi?id=1912346"},
            history=[
                Event("2025-08-16", "detected"),
                Event("2025-08-16", "filed", "bug 1912346"),
                Event("2025-08-29", "resolved", "FIXED"),
            ],
        ),
        _alert(
            "2025-08-22-evil-Darwin",
            HOSTILE_PROBE,
            "Darwin",
            "2025-08-22",
            "down",
            "improvement",
            "ms",
            make_plot(aug22, TIMING_BUCKETS_MS, 8.0, 5.5, 0.7),
            "2025-08-22-0f9e8d7c6b5a",
            label=HOSTILE_LABEL,
            metric_type="labeled_timing_distribution",
            delivery=DELIVERY_EMAIL,
            delivery_state=PENDING,
            push_range=range_b,
            links={"bug": "javascript:alert('bug')", "glam": "data:text/html,<b>x</b>"},
            history=[Event("2025-08-23", "detected", "<b>not bold</b>")],
        ),
        _alert(
            "2025-08-22-memory.resident_peak-Android",
            "memory.resident_peak",
            "Android",
            "2025-08-22",
            "up",
            "change",
            "MB",
            make_plot(aug22, TIMING_BUCKETS_MS * 1e3, 310.0, 352.0, 0.35),
            "2025-08-22-0f9e8d7c6b5a",
            metric_type="memory_distribution",
            app="fenix",
            status=STATUS_RESOLVED,
            resolution="WONTFIX",
            bug=1913000,
            delivery_state=FILED,
            push_range=range_b,
            links={"bug": "https://bugzilla.mozilla.org/show_bug.cgi?id=1913000"},
            history=[Event("2025-08-23", "detected"), Event("2025-09-02", "resolved", "WONTFIX")],
        ),
        _alert(
            "2025-08-22-gfx.checkerboard.severity-Windows-content",
            "gfx.checkerboard.severity",
            "Windows",
            "2025-08-22",
            "up",
            "regression",
            "percent",
            make_plot(aug22, LINEAR_BUCKETS, 30.0, 44.0, 12.0, linear=True),
            "2025-08-22-0f9e8d7c6b5a",
            label="content",
            metric_type="labeled_custom_distribution",
            status=STATUS_NEW,
            push_range=range_b,
        ),
        _alert(
            "2025-08-22-networking.trr_fetch_duration-Darwin-h2",
            "networking.trr_fetch_duration",
            "Darwin",
            "2025-08-22",
            "up",
            "regression",
            "ms",
            make_plot(aug22, TIMING_BUCKETS_MS, 20.0, 26.0, 0.6),
            "2025-08-22-0f9e8d7c6b5a",
            label="h2",
            metric_type="labeled_timing_distribution",
            delivery=DELIVERY_EMAIL,
            delivery_state=SILENCED,
            status=STATUS_SILENCED,
            reason=SILENCE_REASON,
            push_range=range_b,
            history=[Event("2025-08-23", "silenced", f"until 2025-09-30: {SILENCE_REASON}")],
        ),
        _alert(
            "2025-08-22-fog.ipc.buffer_sizes-Windows",
            "fog.ipc.buffer_sizes",
            "Windows",
            "2025-08-22",
            "up",
            "change",
            "B",
            make_plot(aug22, TIMING_BUCKETS_MS * 1e3, 2800.0, 3300.0, 0.5),
            "2025-08-22-0f9e8d7c6b5a",
            metric_type="memory_distribution",
            delivery=DELIVERY_COMMENT,
            delivery_state=COMMENTED,
            status=STATUS_EXPECTED,
            reason=EXPECTED_REASON,
            bug=EXPECTED_BUG,
            push_range=range_b,
            links={"bug": f"https://bugzilla.mozilla.org/show_bug.cgi?id={EXPECTED_BUG}"},
            history=[Event("2025-08-23", "expected", f"bug {EXPECTED_BUG}: {EXPECTED_REASON}")],
        ),
    ]


def sample_summaries(alerts: list[Alert]) -> list[Summary]:
    by_summary: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_summary.setdefault(alert.summary, []).append(alert)
    return [
        Summary(
            id=sid,
            date=members[0].date,
            alerts=[a.id for a in members],
            push_range=members[0].push_range,
        )
        for sid, members in sorted(by_summary.items())
    ]


def write_state(state: Path, alerts: list[Alert] | None = None) -> list[Alert]:
    """Write alerts (with their plots) and their summaries through the pipeline's store."""
    alerts = sample_alerts() if alerts is None else alerts
    store = StateStore(state)
    for alert in alerts:
        store.save_alert(alert)
    for summary in sample_summaries(alerts):
        store.save_summary(summary)
    return alerts
