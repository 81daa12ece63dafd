"""Series of unchanged data files kept between runs."""

import datetime as dt
import json
import os

import numpy as np
import pytest

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


def _entry_arrays(entry):
    with np.load(entry, allow_pickle=False) as stored:
        return {name: stored[name] for name in stored.files if name != "sha256"}


def _meta(arrays):
    return json.loads(arrays["meta"].tobytes())


def _with_meta(arrays, meta):
    return {**arrays, "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}


def _edit_meta(change):
    def edit(arrays):
        meta = _meta(arrays)
        change(meta)
        return _with_meta(arrays, meta)

    return edit


DAMAGE = {  # the reviewer's edits of a kept entry, each still a readable .npz
    "meta_list": lambda arrays: _with_meta(arrays, [1, 2]),
    "key_wrong_len": _edit_meta(lambda meta: meta["series"][0].__setitem__(0, ["a"])),
    "problems_not_list": _edit_meta(lambda meta: meta.__setitem__("problems", 5)),
    "bad_date": _edit_meta(lambda meta: meta["series"][0].__setitem__(2, "not-a-date")),
    "shape_mismatch": lambda arrays: {**arrays, "counts0": arrays["counts0"][:, :3]},
    "present_short": lambda arrays: {**arrays, "present0": arrays["present0"][:2]},
    "counts_1d": lambda arrays: {**arrays, "counts0": arrays["counts0"].reshape(-1)},
    "nan_counts": lambda arrays: {**arrays, "counts0": arrays["counts0"] * np.nan},
    "meta_2d": lambda arrays: {**arrays, "meta": np.zeros((2, 2))},
}


def _cached_and_fresh(tmp_path):
    rows = generate(seed=2, n_series=3, days=20, end=dt.date(2025, 1, 31)).rows
    data = tmp_path / "rows.jsonl"
    write_rows(data, rows)
    calls = []

    def counting(paths):
        calls.append(paths)
        return read_series(paths)

    folder = tmp_path / "cache"
    fresh = cached_load(folder, [str(data)], counting)
    return folder, data, counting, calls, fresh


def _same(found, expected):
    series, problems = found
    assert problems == expected[1] and series.keys() == expected[0].keys()
    for key, s in series.items():
        assert (s.start, s.build_ids) == (expected[0][key].start, expected[0][key].build_ids)
        np.testing.assert_array_equal(s.counts, expected[0][key].counts)


@pytest.mark.parametrize("mode", sorted(DAMAGE))
def test_an_edited_cache_entry_is_read_again_not_used(tmp_path, caplog, mode):
    folder, data, counting, calls, fresh = _cached_and_fresh(tmp_path)
    entry = next(folder.glob("series-*.npz"))
    np.savez(entry.with_suffix(""), **DAMAGE[mode](_entry_arrays(entry)))
    _same(cached_load(folder, [str(data)], counting), fresh)
    assert len(calls) == 2 and f"{entry}: unusable cache entry" in caplog.text
    _same(cached_load(folder, [str(data)], counting), fresh)  # the new entry is used
    assert len(calls) == 2


@pytest.mark.parametrize("mode", sorted(DAMAGE))
def test_a_cache_entry_with_a_right_digest_is_still_checked(tmp_path, caplog, mode):
    """What a digest cannot vouch for (an entry written with one by other code) is
    checked for what a series is: its types, shapes and days."""
    from alerting.data.cache import load_arrays, save_arrays

    folder, data, counting, calls, fresh = _cached_and_fresh(tmp_path)
    entry = next(folder.glob("series-*.npz"))
    save_arrays(entry, DAMAGE[mode](load_arrays(entry)))
    _same(cached_load(folder, [str(data)], counting), fresh)
    assert len(calls) == 2 and f"{entry}: unusable cache entry" in caplog.text


def test_a_cache_entry_of_days_no_row_may_hold_is_read_again(tmp_path, caplog):
    from alerting.data.cache import load_arrays, save_arrays

    folder, data, counting, calls, fresh = _cached_and_fresh(tmp_path)
    entry = next(folder.glob("series-*.npz"))
    arrays = load_arrays(entry)
    longer = np.zeros((30000, arrays["counts0"].shape[1]))  # to 2107: after tomorrow
    meta = _meta(arrays)
    meta["series"][0][3] = [""] * len(longer)
    save_arrays(
        entry, _with_meta({**arrays, "counts0": longer, "present0": longer[:, 0] > 0}, meta)
    )
    _same(cached_load(folder, [str(data)], counting), fresh)
    assert len(calls) == 2 and "outside the data's range" in caplog.text


def test_a_cache_entry_that_unpacks_into_more_than_its_size_is_not_unpacked(tmp_path, caplog):
    import zipfile

    folder, data, counting, calls, fresh = _cached_and_fresh(tmp_path)
    entry = next(folder.glob("series-*.npz"))
    with zipfile.ZipFile(entry) as archive:
        members = {m: archive.read(m) for m in archive.namelist()}
    with zipfile.ZipFile(entry, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, raw in members.items():
            archive.writestr(name, raw)
    _same(cached_load(folder, [str(data)], counting), fresh)
    assert len(calls) == 2 and "compressed member" in caplog.text
