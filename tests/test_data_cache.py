"""Series of unchanged data files kept between runs."""

import datetime as dt
import json
import os

import numpy as np

from alerting.data.cache import cached_load
from alerting.data.generator import generate
from alerting.data.rows import read_series
from alerting.data.source import load_series as load_source
from alerting.settings import load_settings


def write_rows(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_unchanged_files_are_not_read_again(tmp_path, caplog):
    rows = generate(seed=2, n_series=3, days=20, end=dt.date(2025, 1, 31)).rows
    data = tmp_path / "rows.jsonl"
    write_rows(data, [*rows, {"build_id": "20250101"}])
    calls = []

    def counting(paths):
        calls.append(paths)
        return read_series(paths)

    folder = tmp_path / "cache"
    first, first_problems = cached_load(folder, [str(data)], counting)
    again, again_problems = cached_load(folder, [str(data)], counting)
    assert len(calls) == 1 and again_problems == first_problems and len(first_problems) == 1
    assert again.keys() == first.keys()
    for key, s in again.items():
        assert (s.metric_type, s.start, s.build_ids) == (
            first[key].metric_type,
            first[key].start,
            first[key].build_ids,
        )
        np.testing.assert_array_equal(s.counts, first[key].counts)
        np.testing.assert_array_equal(s.buckets, first[key].buckets)
        np.testing.assert_array_equal(s.present, first[key].present)

    write_rows(data, rows)  # the next day's file: read again, and only its entry is kept
    os.utime(data, ns=(1, 1))
    _, problems = cached_load(folder, [str(data)], counting)
    assert len(calls) == 2 and problems == []
    assert len(list(folder.glob("series-*.npz"))) == 1

    entry = next(folder.glob("series-*.npz"))
    whole = entry.read_bytes()
    entry.write_bytes(b"damaged")
    _, problems = cached_load(folder, [str(data)], counting)
    assert len(calls) == 3 and "unusable cache entry" in caplog.text
    entry.write_bytes(whole[: len(whole) // 2])  # cut short, as by a full disk
    _, problems = cached_load(folder, [str(data)], counting)
    assert len(calls) == 4 and problems == []


def test_the_files_source_uses_the_cache_only_when_configured(tmp_path):
    rows = generate(seed=2, n_series=2, days=10, end=dt.date(2025, 1, 31)).rows
    write_rows(tmp_path / "rows.jsonl", rows)
    (tmp_path / "alerting.toml").write_text('[data]\nsource = "files"\npaths = ["rows.jsonl"]\n')
    assert load_settings(tmp_path).data.cache_dir == ""
    load_source(load_settings(tmp_path), [])
    assert not (tmp_path / "cache").exists()
    with open(tmp_path / "alerting.toml", "a") as handle:
        handle.write('cache_dir = "cache"\n')
    series = load_source(load_settings(tmp_path), [])
    assert len(series) == 2 and len(list((tmp_path / "cache").glob("series-*.npz"))) == 1
    assert load_source(load_settings(tmp_path), []).keys() == series.keys()
