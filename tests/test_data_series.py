import datetime as dt
import json

import numpy as np

from alerting.data.model import SeriesKey
from alerting.data.series import WHERE, series_from_rows


def row(build_id, hist, os="Windows", metric="m", key="", **extra):
    return {
        "metric": metric,
        "os": os,
        "metric_key": key,
        "build_id": build_id,
        "metric_type": "timing_distribution",
        "non_norm_histogram": json.dumps(hist),
        **extra,
    }


def only(series):
    assert len(series) == 1
    return next(iter(series.values()))


def test_builds_of_a_day_sum_aligned_by_bucket_key_not_position():
    # The second build dropped its empty bucket "2": by position its "3" would land on "2".
    rows = [row("2025010103", {"1": 5, "2": 7, "3": 1}), row("2025010115", {"1": 1, "3": 4})]
    s = only(series_from_rows(rows))
    assert s.buckets.tolist() == [1.0, 2.0, 3.0]
    assert s.counts.tolist() == [[6.0, 7.0, 5.0]]
    assert s.build_ids == ("2025010103",)


def test_bucket_keys_order_numerically_and_union_over_days():
    rows = [row("2025010103", {"10": 1, "9": 2}), row("2025010203", {"100": 3, "2": 4})]
    s = only(series_from_rows(rows))
    assert s.buckets.tolist() == [2.0, 9.0, 10.0, 100.0]
    assert s.counts.tolist() == [[0, 2, 1, 0], [4, 0, 0, 3]]


def test_days_without_data_are_gaps_in_a_contiguous_calendar():
    rows = [row("2025010103", {"1": 1}), row("2025010503", {"1": 2})]
    s = only(series_from_rows(rows))
    assert s.start == dt.date(2025, 1, 1)
    assert s.end == dt.date(2025, 1, 5)
    assert s.present.tolist() == [True, False, False, False, True]
    assert s.counts[:, 0].tolist() == [1, 0, 0, 0, 2]
    assert s.build_ids == ("2025010103", "", "", "", "2025010503")


def test_ten_and_fourteen_digit_build_ids_share_a_day_and_the_earliest_names_it():
    rows = [row("20250101183000", {"1": 1}), row("2025010104", {"1": 2})]
    s = only(series_from_rows(rows))
    assert s.n_days == 1
    assert s.counts.tolist() == [[3.0]]
    assert s.build_ids == ("2025010104",)


def test_version_aggregates_skipped_and_all_os_is_its_own_series():
    rows = [
        row("2025010103", {"1": 1}),
        row("2025010103", {"1": 10}, os="*"),
        row("*", {"1": 100}),
    ]
    problems = []
    series = series_from_rows(rows, problems)
    assert problems == []
    assert series[SeriesKey("m", "Windows")].counts.tolist() == [[1.0]]
    assert series[SeriesKey("m", "*")].counts.tolist() == [[10.0]]
    assert series[SeriesKey("m", "*")].key.platform == "All"


def test_series_split_by_metric_os_label_app_and_channel():
    rows = [
        row("2025010103", {"1": 1}, key="a"),
        row("2025010103", {"1": 1}, key="b"),
        row("2025010103", {"1": 1}, os="Linux", key="a"),
        row("2025010103", {"1": 1}, key="a", app_id="nightly", channel="nightly"),
    ]
    assert sorted(series_from_rows(rows)) == [
        SeriesKey("m", "Linux", "a"),
        SeriesKey("m", "Windows", "a"),
        SeriesKey("m", "Windows", "a", "nightly", "nightly"),
        SeriesKey("m", "Windows", "b"),
    ]


def test_each_bad_row_reported_once_and_skipped():
    good = row("2025010103", {"1": 1, "2": 2})
    bad = [
        row(None, {"1": 1}),
        row("20250101", {"1": 1}),
        row("2025133103", {"1": 1}),
        row("2025010103", {"x": 1, "y": 2}),
        row("2025010103", {"1": -1, "2": -2}),
        {**good, "non_norm_histogram": '{"1": NaN}'},
        {**good, "non_norm_histogram": {"1": float("inf")}},
        {**good, "non_norm_histogram": {"1": "many"}},
        {**good, "non_norm_histogram": "[1, 2]"},
        {**good, "non_norm_histogram": "{not json"},
    ]
    rows = [good, *bad, {**good, "build_id": "2025010203"}]
    for i, r in enumerate(rows, start=1):
        r[WHERE] = f"f.jsonl:{i}"
    problems = []
    s = only(series_from_rows(rows, problems))
    assert [p.split(":")[1] for p in problems] == [str(i) for i in range(2, 12)]
    assert "missing build_id" in problems[0]
    assert "not YYYYMMDDHH" in problems[1]
    assert "not a valid date" in problems[2]
    assert "bucket key 'x' is not a number" in problems[3]
    assert "negative" in problems[4]
    assert "not valid JSON" in problems[5]  # NaN is not JSON
    assert "not finite" in problems[6]
    assert "not a number" in problems[7]
    assert "not an object" in problems[8]
    assert "not valid JSON" in problems[9]
    assert s.counts.tolist() == [[1.0, 2.0], [1.0, 2.0]]


def test_normalized_histogram_weighted_by_samples_then_users():
    rows = [
        {"metric": "m", "os": "*", "build_id": "2025010103", "total_sample": 200,
         "total_users": 10, "histogram": {"1": 0.25, "2": 0.75}},
        {"metric": "m", "os": "*", "build_id": "2025010109", "total_users": 100,
         "histogram": {"1": 0.5, "2": 0.5}},
    ]  # fmt: skip
    s = only(series_from_rows(rows))
    np.testing.assert_allclose(s.counts, [[100.0, 200.0]])


def test_no_rows_no_series():
    assert series_from_rows([]) == {}


def test_merging_parts_equals_building_from_all_rows():
    from alerting.data.merge import merge_series

    rows = [
        row("2025010115", {"1": 1, "4": 2}),
        row("2025010303", {"2": 5}),
        row("20250101030000", {"3": 1}),
        row("2025010603", {"1": 7}),
        row("2025010603", {"1": 7}, os="Linux"),
    ]
    whole = series_from_rows(rows)
    merged = merge_series([series_from_rows(rows[:2]), series_from_rows(rows[2:])])
    assert merged.keys() == whole.keys()
    for key, s in merged.items():
        assert s.start == whole[key].start
        assert s.buckets.tolist() == whole[key].buckets.tolist()
        assert s.counts.tolist() == whole[key].counts.tolist()
        assert s.present.tolist() == whole[key].present.tolist()
        assert s.build_ids == whole[key].build_ids
    assert merged[SeriesKey("m", "Windows")].build_ids[0] == "20250101030000"


def test_rows_read_in_chunks_give_the_same_series_and_problems(monkeypatch):
    from alerting.data import series as series_module
    from alerting.data.generator import generate

    rows = [
        {**r, WHERE: f"line {i}"} for i, r in enumerate(generate(seed=4, n_series=6, days=30).rows)
    ]
    rows[7] = {**rows[7], "non_norm_histogram": '{"1": -2}'}
    rows[40] = {**rows[40], "build_id": "x"}
    rows.insert(0, {"_where": "line -1", "_problem": "not valid JSON"})
    whole_problems: list[str] = []
    whole = series_from_rows(rows, whole_problems)
    for size in (7, len(rows)):  # many chunks; exactly one full chunk and an empty one
        monkeypatch.setattr(series_module, "CHUNK_ROWS", size)
        problems: list[str] = []
        chunked = series_from_rows(rows, problems)
        assert problems == whole_problems and len(problems) == 3
        assert chunked.keys() == whole.keys()
        for key, s in chunked.items():
            assert s.start == whole[key].start and s.build_ids == whole[key].build_ids
            np.testing.assert_array_equal(s.buckets, whole[key].buckets)
            np.testing.assert_allclose(s.counts, whole[key].counts, rtol=1e-15)
            np.testing.assert_array_equal(s.present, whole[key].present)


def test_a_label_given_as_a_number_names_the_series_its_text_names():
    # Rows of one batch: one series whatever the label's JSON type, no row lost.
    rows = [row("2025030103", {"1": 10}, key=1), row("2025030203", {"1": 20}, key="1")]
    problems = []
    series = series_from_rows(rows, problems)
    assert problems == [] and list(series) == [SeriesKey("m", "Windows", "1")]
    np.testing.assert_array_equal(only(series).counts, [[10.0], [20.0]])


def _own_bucket_rows(n_series: int, n_keys: int) -> list[dict]:
    """A row per series, each with `n_keys` bucket keys no other row uses."""
    keys = iter(range(1, n_series * n_keys + 1))
    return [
        row("2025010103", {str(next(keys)): 1 for _ in range(n_keys)}, metric=f"m{i}")
        for i in range(n_series)
    ]


def test_memory_grows_with_the_entries_not_series_times_distinct_buckets():
    # 200 series of 200 buckets each, none shared: 40,000 entries. A table of every series
    # by every bucket of the chunk would be 8,000,000 cells (over 70 MB with its running
    # sums); the series need 40,000 cells.
    import tracemalloc

    rows = _own_bucket_rows(200, 200)
    tracemalloc.start()
    try:
        series = series_from_rows(rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(series) == 200
    assert all(s.counts.shape == (1, 200) for s in series.values())
    assert peak < 40 << 20


def test_series_of_their_own_buckets_are_the_same_whichever_way_buckets_are_found(monkeypatch):
    from alerting.data import series as series_module

    rows = _own_bucket_rows(30, 20)
    rows += [
        row("2025010109", {"1": 5, "2": 7, "300": 1}, metric="m3"),
        row("2025010215", {"2": 1, "9": 4, "61": 1}, metric="m3"),
        row("2025010203", {"10": 1, "9": 2}, os="Linux"),
        row("2025010403", {"100": 3, "2": 4}, os="Linux"),
    ]
    table = series_from_rows(rows)
    monkeypatch.setattr(series_module, "_CELLS_PER_ENTRY", 0)
    monkeypatch.setattr(series_module, "_SMALL_TABLE", 0)
    sorted_ = series_from_rows(rows)
    assert list(sorted_) == list(table)
    for key, s in table.items():
        other = sorted_[key]
        assert other.buckets.tolist() == s.buckets.tolist()
        assert other.counts.tolist() == s.counts.tolist()
        assert (other.start, other.build_ids) == (s.start, s.build_ids)
        assert other.present.tolist() == s.present.tolist()
    m3 = table[SeriesKey("m3", "Windows")]  # its own keys 61-80 and those of its other rows
    assert m3.buckets.tolist() == [1, 2, 9, *range(61, 81), 300]
    assert m3.counts[:, [0, 1, 2, 3, -1]].tolist() == [[5, 7, 0, 1, 1], [0, 1, 4, 1, 0]]


def test_rows_that_name_no_channel_join_the_series_of_the_channel_their_app_id_names():
    # GLAM API rows name the channel in app_id only; an export may have both columns. Both
    # are monitored as that channel, so they are one series, whichever rows name it.
    rows = [
        row("2025010103", {"1": 1}, app_id="nightly", channel="nightly", ping_type="*"),
        row("2025010203", {"1": 2}, app_id="nightly", ping_type="*"),
        row("2025010303", {"1": 3}, app_id="nightly", channel="", ping_type="*"),
        row("2025010303", {"1": 4}, app_id="beta", ping_type="*"),
        row("2025010303", {"1": 5}, app_id="firefox_desktop", ping_type="*"),
        # A row of a ping type left out, without channel: its problem goes with it.
        row("2025010403", {"1": -1}, app_id="nightly", ping_type="metrics"),
    ]
    problems = []
    series = series_from_rows(rows, problems)
    assert problems == []
    nightly = series.pop(SeriesKey("m", "Windows", "", "nightly", "nightly"))
    assert nightly.counts[:, 0].tolist() == [1, 2, 3]
    assert sorted(series) == [
        SeriesKey("m", "Windows", "", "beta", "beta"),
        SeriesKey("m", "Windows", "", "firefox_desktop", ""),
    ]
