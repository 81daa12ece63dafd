import datetime as dt
import json
from types import SimpleNamespace

import numpy as np

from alerting.data.generator import generate, generate_for_probes
from alerting.data.histogram import quantiles
from alerting.data.model import SeriesKey
from alerting.data.series import series_from_rows

END = dt.date(2025, 6, 30)
COLUMNS = {
    "app_id", "channel", "version", "ping_type", "os", "build_id", "build_date", "metric",
    "metric_type", "metric_key", "client_agg_type", "total_users", "total_sample",
    "non_norm_histogram",
}  # fmt: skip


def test_same_seed_same_data_other_seed_other_data():
    a = generate(seed=3, n_series=6, days=120, end=END)
    b = generate(seed=3, n_series=6, days=120, end=END)
    c = generate(seed=4, n_series=6, days=120, end=END)
    assert a.rows == b.rows and a.truth == b.truth
    assert a.rows != c.rows


def test_rows_have_glam_columns_and_shapes():
    data = generate(seed=1, n_series=8, days=90, end=END)
    for r in data.rows:
        assert set(r) == COLUMNS
        hist = json.loads(r["non_norm_histogram"])
        assert all(v > 0 for v in hist.values())  # empty buckets dropped
        assert r["total_sample"] == sum(hist.values())
        assert r["total_users"] > 10
        assert len(r["build_id"]) == (14 if r["os"] == "Android" else 10)
        assert r["build_date"].startswith(
            f"{r['build_id'][:4]}-{r['build_id'][4:6]}-{r['build_id'][6:8]}"
        )
    days = {r["build_id"][:8] for r in data.rows}
    assert max(days) == "20250630"
    builds_per_day = {}
    for r in data.rows:
        if r["os"] == "Windows":
            builds_per_day.setdefault((r["metric"], r["build_id"][:8]), set()).add(r["build_id"])
    assert {len(v) for v in builds_per_day.values()} <= {1, 2, 3}


def test_truth_shape_and_change_free_share():
    data = generate(seed=2, n_series=30, days=365, end=END)
    assert len(data.truth) == 30
    series = series_from_rows(data.rows)
    assert len(series) == 30
    assert sum(1 for t in data.truth if not t["changes"]) == 10
    kinds = set()
    for t in data.truth:
        assert {"metric", "os", "metric_key", "changes", "nuisances"} <= set(t)
        for c in t["changes"]:
            assert set(c) >= {"date", "direction", "kind", "size", "noise_widths"}
            assert c["direction"] == ("up" if c["size"] > 0 else "down")
            dt.date.fromisoformat(c["date"])
            kinds.add(c["kind"])
        for n in t["nuisances"]:
            assert n["kind"] in {"spike", "volume"} and n["days"] >= 1
    assert kinds == {"median_step", "tail", "slow_subpopulation", "rare_slowdown"}


def test_a_labelled_median_step_is_visible_in_the_daily_medians():
    data = generate(seed=5, n_series=40, days=365, end=END)
    series = series_from_rows(data.rows)
    steps = [
        (t, c)
        for t in data.truth
        for c in t["changes"]
        if c["kind"] == "median_step" and c["noise_widths"] > 4
    ]
    assert steps
    for t, c in steps:
        s = next(v for k, v in series.items() if (k.metric, k.os, k.metric_key) ==
                 (t["metric"], t["os"], t["metric_key"]))  # fmt: skip
        i = s.index_of(dt.date.fromisoformat(c["date"]))
        med = quantiles(s.buckets, s.counts, [0.5])[:, 0]
        before = np.nanmedian(med[max(0, i - 14) : i])
        after = np.nanmedian(med[i : i + 7])
        assert (after > before) == (c["direction"] == "up"), (t, c)


def test_probe_data_all_rows_sum_the_os_rows_and_probes_are_independent():
    probe = SimpleNamespace(
        metric="networking_http_channel_page_open_to_first_sent",
        type="timing_distribution",
        platforms=["Windows", "Linux", "All"],
        labels=None,
        app="fog",
    )
    other = SimpleNamespace(
        metric="fog_ipc_flush_durations", type="labeled_timing_distribution",
        platforms=["Windows"], labels=["a", "b"], app="fog",
    )  # fmt: skip
    alone = generate_for_probes([probe], end=END, days=60, seed=9)
    both = generate_for_probes([other, probe], end=END, days=60, seed=9)
    mine = [r for r in both.rows if r["metric"] == probe.metric]
    assert mine == alone.rows
    series = series_from_rows(both.rows)
    keys = {(k.metric, k.os, k.metric_key) for k in series}
    assert keys == {
        (probe.metric, "Windows", ""), (probe.metric, "Linux", ""), (probe.metric, "*", ""),
        (other.metric, "Windows", "a"), (other.metric, "Windows", "b"),
    }  # fmt: skip
    # '*' is the sum over all desktop OSes (Darwin included), so at least Windows + Linux.
    star = series[SeriesKey(probe.metric, "*", "", "nightly", "nightly")]
    win = series[SeriesKey(probe.metric, "Windows", "", "nightly", "nightly")]
    lin = series[SeriesKey(probe.metric, "Linux", "", "nightly", "nightly")]
    assert star.samples().sum() > win.samples().sum() + lin.samples().sum()
    assert {t["os"] for t in both.truth if t["metric"] == probe.metric} == {"Windows", "Linux", "*"}


def test_all_rows_are_exactly_the_sum_of_their_components():
    probe = SimpleNamespace(
        metric="m_all", type="memory_distribution",
        platforms=["Windows", "Linux", "Darwin", "All"], labels=None, app="fog",
    )  # fmt: skip
    data = generate_for_probes([probe], end=END, days=30, seed=1)
    per_build: dict = {}
    for r in data.rows:
        hist = json.loads(r["non_norm_histogram"])
        sign = 1 if r["os"] == "*" else -1
        acc = per_build.setdefault(r["build_id"], {})
        for k, v in hist.items():
            acc[k] = acc.get(k, 0) + sign * v
    assert per_build and all(v == 0 for acc in per_build.values() for v in acc.values())


def test_families_label_drifts_and_holidays_as_nuisances_and_keep_their_bucketing():
    hard = generate(seed=6, n_series=12, days=200, end=END, family="hard")
    kinds = {n["kind"] for t in hard.truth for n in t["nuisances"]}
    assert {"drift", "holiday"} <= kinds
    linear = series_from_rows(generate(seed=6, n_series=3, days=60, end=END, family="linear").rows)
    for series in linear.values():
        widths = np.diff(series.buckets)
        assert series.metric_type == "custom_distribution"
        assert np.all(widths % widths.min() == 0)  # evenly spaced (empty buckets dropped)
    memory = series_from_rows(generate(seed=6, n_series=3, days=60, end=END, family="memory").rows)
    assert {s.metric_type for s in memory.values()} == {"memory_distribution"}


def test_the_same_series_sampled_again_has_the_same_truth_and_other_samples():
    a = generate(seed=6, n_series=4, days=90, end=END, family="wandering", sampling_seed=1)
    b = generate(seed=6, n_series=4, days=90, end=END, family="wandering", sampling_seed=2)

    def injected(data):  # noise widths are measured on the samples, the rest is the process
        return [
            ([(c["date"], c["kind"]) for c in t["changes"]], t["nuisances"]) for t in data.truth
        ]

    assert injected(a) == injected(b)
    assert a.rows != b.rows


def test_the_default_family_is_what_the_generator_always_drew():
    assert generate(seed=3, n_series=4, days=60, end=END, family="standard").rows == (
        generate(seed=3, n_series=4, days=60, end=END).rows
    )
