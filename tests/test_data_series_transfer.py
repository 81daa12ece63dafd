"""Series handed from a reading process to the calling one through a temporary file."""

import datetime as dt
import json
import tempfile

import numpy as np

from alerting.data import rows as rows_module
from alerting.data import series_transfer
from alerting.data.generator import generate
from alerting.data.rows import read_series
from alerting.data.series import series_from_rows
from alerting.data.series_transfer import SentSeries, discard, receive, send
from alerting.errors import UserError


def some_series():
    data = generate(seed=4, n_series=3, days=30, end=dt.date(2025, 3, 1))
    return series_from_rows(data.rows)


def same(a, b):
    assert a.keys() == b.keys()
    for key, one in a.items():
        other = b[key]
        np.testing.assert_array_equal(one.counts, other.counts)
        np.testing.assert_array_equal(one.buckets, other.buckets)
        np.testing.assert_array_equal(one.present, other.present)
        assert (one.start, one.build_ids, one.metric_type) == (
            other.start,
            other.build_ids,
            other.metric_type,
        )


def test_series_come_back_whole_and_their_file_is_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    series = some_series()
    sent = send(series)
    assert isinstance(sent, SentSeries) and list(tmp_path.iterdir())
    assert all(one.counts.size == 0 for one, _ in sent.series)  # counts are in the file only
    received = receive(sent)
    assert not list(tmp_path.iterdir())
    same(received, series)
    key = next(iter(received))
    received[key].counts[0, 0] += 1  # private memory: the arrays can be changed
    assert received[key].counts[0, 0] == series[key].counts[0, 0] + 1


def test_no_series_and_series_without_days_come_back_too(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert receive(send({})) == {}
    series = some_series()
    key = next(iter(series))
    empty = series[key].until(series[key].start - dt.timedelta(days=1))
    assert empty.n_days == 0
    same(receive(send({key: empty})), {key: empty})


def test_without_a_writable_temporary_folder_the_series_go_as_they_are(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    series = some_series()
    assert send(series) is series and receive(series) is series
    discard(series)  # nothing to remove


def test_a_parallel_read_removes_every_file_even_when_a_part_fails(tmp_path, monkeypatch):
    data = generate(seed=8, n_series=4, days=40, end=dt.date(2025, 3, 1))
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in data.rows) + "\n")
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))  # the forked readers' too
    sequential, _ = read_series([path])
    monkeypatch.setattr(rows_module, "PARALLEL_BYTES", 1)
    monkeypatch.setattr(rows_module.os, "cpu_count", lambda: 3)
    sent = []
    monkeypatch.setattr(rows_module, "receive", lambda s: sent.append(s) or receive(s))
    parallel, _ = read_series([path])
    assert len(sent) == 2 and all(isinstance(s, SentSeries) for s in sent)
    same(parallel, sequential)
    assert not list(folder.iterdir())

    load_part = rows_module._load_part

    def last_part_fails(part):
        if part.end == path.stat().st_size:
            raise UserError(f"{path}: cannot read")
        return load_part(part)

    monkeypatch.setattr(rows_module, "_load_part", last_part_fails)
    fallback, _ = read_series([path])  # read again one file at a time, which reports the file
    same(fallback, sequential)
    assert not list(folder.iterdir())


def test_a_full_disk_sends_the_series_through_the_pool(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    series = some_series()

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(series_transfer.os, "fdopen", full)
    assert send(series) is series
    assert not list(tmp_path.iterdir())


def test_a_file_system_that_cannot_map_files_gets_the_counts_read(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    series = some_series()
    sent = send(series)

    def refuse(*args, **kwargs):
        raise OSError(19, "No such device")

    monkeypatch.setattr(series_transfer.mmap, "mmap", refuse)
    received = receive(sent)
    same(received, series)
    assert not list(tmp_path.iterdir())
    key = next(iter(received))
    received[key].counts[0, 0] += 1  # still arrays of their own
