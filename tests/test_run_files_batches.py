"""The daily run on data files read batch by batch of probes, in worker processes, against
the files read whole: the same state to the byte, the same date, the same problems."""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from alerting.data import regroup
from alerting.data import rows as rows_module
from alerting.data.generator import generate_for_probes
from alerting.pipeline import detect, detect_files
from alerting.pipeline.run import run
from alerting.settings import load_settings

END = dt.date(2025, 3, 31)
KINDS = ("timing_distribution", "memory_distribution", "labeled_timing_distribution")
PROBE = """\
  probe_{i}:
    type: {kind}
    {unit}
    description: Probe {i}.
    bugs: ["https://bugzilla.mozilla.org/show_bug.cgi?id=1"]
    data_reviews: ["https://bugzilla.mozilla.org/show_bug.cgi?id=1"]
    notification_emails: [owner@example.com]
    expires: never
    metadata:
      monitor:
        alert: {alert}
        platforms: [Windows, Linux]
        lower_is_better: True
        bugzilla_notification_emails: [owner@example.com]
"""
UNITS = {
    "timing_distribution": "time_unit: millisecond",
    "memory_distribution": "memory_unit: kilobyte",
    "labeled_timing_distribution": "time_unit: millisecond\n    labels: [a, b]",
}


def fleet_rows(probes: int) -> list[dict]:
    """Rows of `probes` probes and of one probe nobody monitors, in the generator's order."""
    configs = [
        SimpleNamespace(
            metric=f"fleet_probe_{i}",
            type=KINDS[i % 3],
            platforms=["Windows", "Linux"],
            labels=["a", "b"] if KINDS[i % 3].startswith("labeled") else None,
            app="fog",
        )
        for i in range(probes + 1)
    ]
    configs[-1].metric = "fleet_unmonitored"
    return generate_for_probes(configs, end=END, days=180, seed=5).rows


def write_repo(root: Path, probes: int, kind: str, cache: bool = False) -> None:
    """A repository of `probes` monitored probes read from one file of `kind`; with `cache`,
    the run keeps its findings in `cache/`."""
    rows = fleet_rows(probes)
    # Bad rows: each is reported once and affects only itself.
    rows[7] = {**rows[7], "build_id": "20251399"}
    rows[40] = {**rows[40], "non_norm_histogram": '{"1": -4}'}
    rows.insert(60, {**rows[59]})  # the same build of a series twice
    rows.insert(90, {k: v for k, v in rows[90].items() if k != "metric"})
    (root / "probes").mkdir(parents=True)
    yaml = "$schema: moz://mozilla.org/schemas/glean/metrics/2-0-0\n\nfleet:\n" + "".join(
        PROBE.format(i=i, kind=KINDS[i % 3], unit=UNITS[KINDS[i % 3]], alert=i % 2 == 0)
        for i in range(probes)
    )
    (root / "probes" / "metrics.yaml").write_text(yaml)
    if kind == "jsonl":
        lines = [json.dumps(r) for r in rows]
        lines.insert(120, "{broken")
        lines.insert(130, "")
        (root / "rows.jsonl").write_text("\n".join(lines) + "\n")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if kind == "parquet-by-day":  # every metric in every row group, as an export by day
            rows.sort(key=lambda row: str(row.get("build_id")))
        pq.write_table(pa.Table.from_pylist(rows), root / "rows.parquet", row_group_size=300)
    (root / "alerting.toml").write_text(
        f'[data]\nsource = "files"\npaths = ["rows.{kind.split("-")[0]}"]\nhistory_days = 180\n'
        + ('cache_dir = "cache"\n' if cache else "")
        + '[detect]\nlookback_days = 180\n[hg]\nsource = "sample"\n'
    )


def count_detections(monkeypatch) -> list:
    """A list that grows by one each time the run reads and detects a batch of files."""
    calls: list = []
    real = detect_files._read_and_detect
    monkeypatch.setattr(
        detect_files, "_read_and_detect", lambda *task: calls.append(1) or real(*task)
    )
    return calls


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def run_logged(root: Path, caplog, as_of: dt.date | None = None):
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        result = run(load_settings(root, environ={}), root=root, as_of=as_of)
    return result, [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize("kind", ["jsonl", "parquet", "parquet-by-day"])
def test_batches_in_workers_write_the_same_state_as_the_files_read_whole(
    tmp_path, monkeypatch, caplog, kind
):
    write_repo(tmp_path / "whole", 9, kind)
    write_repo(tmp_path / "batched", 9, kind)
    with monkeypatch.context() as patch:
        patch.setattr(detect, "indexable", lambda paths: False)
        whole, whole_problems = run_logged(tmp_path / "whole", caplog)
    monkeypatch.setattr(detect, "BATCH", 2)  # five batches of probes
    monkeypatch.setattr(detect_files, "OTHER_METRICS", 1)
    monkeypatch.setattr(rows_module, "PARALLEL_BYTES", 1)  # worker processes
    regrouped = []
    real_regroup = regroup.regroup
    monkeypatch.setattr(regroup, "regroup", lambda *a: regrouped.append(1) or real_regroup(*a))
    batched, batched_problems = run_logged(tmp_path / "batched", caplog)

    # A Parquet file with every metric in every row group is copied once per batch.
    assert bool(regrouped) == (kind == "parquet-by-day")
    assert not list((tmp_path / "batched").rglob("regrouped"))
    assert whole.date == batched.date == END.isoformat()
    assert whole.new_alerts and batched.new_alerts == whole.new_alerts
    assert snapshot(tmp_path / "batched" / "state") == snapshot(tmp_path / "whole" / "state")
    name = f"rows.{kind.split('-')[0]}"
    assert [p.replace(str(tmp_path / "batched"), "") for p in batched_problems] == [
        p.replace(str(tmp_path / "whole"), "") for p in whole_problems
    ]
    reasons = {p.split(": ", 1)[1] for p in batched_problems}
    assert len(batched_problems) == (5 if kind == "jsonl" else 4)
    assert "missing metric" in reasons and all(name in p for p in batched_problems)


def test_a_rerun_on_the_same_input_reuses_the_kept_findings_and_anything_new_detects_again(
    tmp_path, monkeypatch, caplog
):
    root = tmp_path / "repo"
    write_repo(root, 4, "parquet", cache=True)
    calls = count_detections(monkeypatch)
    first, first_problems = run_logged(root, caplog)
    made = snapshot(root / "state")
    assert calls and first.new_alerts and len(list((root / "cache").glob("findings-*"))) == 1

    # Same input, fresh state: the kept findings make the same state, nothing read again.
    calls.clear()
    (root / "state").rename(tmp_path / "first-state")
    again, again_problems = run_logged(root, caplog)
    assert calls == [] and again.new_alerts == first.new_alerts
    assert snapshot(root / "state") == made and again_problems == first_problems
    assert run_logged(root, caplog)[0].new_alerts == [] and calls == []
    assert snapshot(root / "state") == made  # a rerun changes no byte
    kept = sorted((root / "cache").glob("findings-*/batch-*.npz"))[0]
    kept.write_bytes(kept.read_bytes()[:100])  # damaged: detected again
    assert run_logged(root, caplog)[0].errors == [] and calls
    assert snapshot(root / "state") == made
    calls.clear()

    # A changed config, another date, new data: detected again (and only the latest kept).
    yaml = (root / "probes" / "metrics.yaml").read_text()
    (root / "probes" / "metrics.yaml").write_text(yaml.replace("Windows, Linux", "Linux", 1))
    run_logged(root, caplog)
    assert calls
    calls.clear()
    run_logged(root, caplog, END - dt.timedelta(days=1))
    assert calls
    calls.clear()
    (root / "rows.parquet").touch()
    run_logged(root, caplog)
    assert calls and len(list((root / "cache").glob("findings-*"))) == 1


def _npz(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as stored:
        return {name: stored[name] for name in stored.files if name != "sha256"}


def _with_meta(arrays: dict, meta: object) -> dict:
    return {**arrays, "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}


def _edit_batch(change):
    def edit(arrays: dict) -> dict:
        meta = json.loads(arrays["meta"].tobytes())
        change(meta)
        return _with_meta(arrays, meta)

    return edit


FINDINGS_DAMAGE = {  # the reviewer's edits of kept findings, each still a readable .npz
    "batch_meta_list": ("batch", lambda arrays: _with_meta(arrays, [1])),
    "batch_candidates_bad": (
        "batch",
        _edit_batch(lambda m: m["candidates"][0].__setitem__(0, 999)),
    ),
    "batch_detection_extra": (
        "batch",
        _edit_batch(lambda m: m["candidates"][0][5].update(bogus=1)),
    ),
    "batch_counts_removed": (
        "batch",
        lambda arrays: {k: v for k, v in arrays.items() if k != "counts0"},
    ),
    "batch_detection_date": (
        "batch",
        _edit_batch(lambda m: m["candidates"][0][5].update(date="2059-09-09")),
    ),
    "manifest_items_int": ("manifest", lambda arrays: _with_meta(arrays, [1])),
    "manifest_empty": ("manifest", lambda arrays: _with_meta(arrays, [])),
    "manifest_bad_day": (
        "manifest",
        _edit_batch(lambda m: m[0].__setitem__("days", ["2026-99-99", "2026-11-01"])),
    ),
    "manifest_missing_days": ("manifest", _edit_batch(lambda m: m[0].pop("days"))),
}


@pytest.mark.parametrize("signed", [False, True], ids=["edited", "edited-with-digest"])
def test_damaged_kept_findings_are_detected_again_never_an_error_of_the_run(
    tmp_path, monkeypatch, caplog, signed
):
    """A kept file that is not exactly what the run wrote is not used: the run reads and
    detects again, as on a first run, with a warning naming the file."""
    from alerting.data.cache import load_arrays, save_arrays

    root = tmp_path / "repo"
    write_repo(root, 4, "jsonl", cache=True)
    calls = count_detections(monkeypatch)
    first, _ = run_logged(root, caplog)
    made = snapshot(root / "state")
    (kept,) = (root / "cache").glob("findings-*")
    good = snapshot(kept)
    assert first.new_alerts and {"batch-00000.npz", "manifest.npz"} <= good.keys()
    for mode, (which, damage) in FINDINGS_DAMAGE.items():
        for name, data in good.items():
            (kept / name).write_bytes(data)
        path = kept / ("manifest.npz" if which == "manifest" else "batch-00000.npz")
        if signed:
            save_arrays(path, damage(load_arrays(path)))
        else:
            np.savez(path.with_suffix(""), **damage(_npz(path)))
        shutil.rmtree(root / "state")
        calls.clear()
        again, warnings = run_logged(root, caplog)
        assert again.errors == [] and calls, mode
        assert snapshot(root / "state") == made, mode
        assert any(w.startswith(f"{path}: unusable cache entry") for w in warnings), mode


def test_a_file_that_cannot_be_read_is_a_problem_of_its_own_and_the_run_goes_on(
    tmp_path, monkeypatch, caplog
):
    import pyarrow as pa
    import pyarrow.parquet as pq

    write_repo(tmp_path / "alone", 4, "jsonl")
    root = tmp_path / "repo"
    write_repo(root, 4, "jsonl")
    (root / "garbage.jsonl").write_text("hello world\nfoo\n")
    (root / "garbage.parquet").write_bytes(b"PAR1 not a Parquet file")
    # Rows of metrics nobody monitors, every one in every row group (copied per batch), the
    # pages after the first row groups damaged.
    rows = [{**r, "metric": f"other_{r['metric']}"} for r in fleet_rows(2)]
    rows.sort(key=lambda row: row["build_id"])
    pq.write_table(pa.Table.from_pylist(rows), root / "damaged.parquet", row_group_size=300)
    raw = bytearray((root / "damaged.parquet").read_bytes())
    raw[len(raw) // 2 : len(raw) // 2 + 3000] = bytes(3000)
    (root / "damaged.parquet").write_bytes(bytes(raw))
    bad = ["garbage.jsonl", "garbage.parquet", "damaged.parquet"]
    paths = ", ".join(f'"{name}"' for name in ["rows.jsonl", *bad])
    settings = (root / "alerting.toml").read_text()
    (root / "alerting.toml").write_text(settings.replace('["rows.jsonl"]', f"[{paths}]"))
    monkeypatch.setattr(rows_module, "PARALLEL_BYTES", 1)  # worker processes
    monkeypatch.setattr(detect_files, "OTHER_METRICS", 1)
    regrouped = []
    real_regroup = regroup.regroup
    monkeypatch.setattr(regroup, "regroup", lambda *a: regrouped.append(1) or real_regroup(*a))

    alone, alone_problems = run_logged(tmp_path / "alone", caplog)
    result, problems = run_logged(root, caplog)
    assert regrouped  # (the damage found then, the file is read by parts)
    assert result.new_alerts and result.new_alerts == alone.new_alerts
    assert snapshot(root / "state") == snapshot(tmp_path / "alone" / "state")
    files = [p for p in problems if not p.startswith(f"{root / 'rows.jsonl'}:")]
    assert [p.split(": ", 1)[0] for p in files] == [str(root / name) for name in bad]
    assert all(p.endswith("; the rest of this file is not used") for p in files)
    # What `alerting detect` says of the same files.
    monkeypatch.setattr(rows_module, "PARALLEL_BYTES", 1 << 40)
    _, whole = rows_module.read_series([root / name for name in ["rows.jsonl", *bad]])
    assert files[:2] == [p for p in whole if "garbage" in p]
    assert len(problems) - len(files) == len(alone_problems)


def test_a_file_given_twice_is_read_once_and_named(tmp_path, caplog):
    write_repo(tmp_path / "alone", 4, "jsonl")
    root = tmp_path / "repo"
    write_repo(root, 4, "jsonl")
    settings = (root / "alerting.toml").read_text()
    paths = '["rows.jsonl", "./rows.jsonl"]'
    (root / "alerting.toml").write_text(settings.replace('["rows.jsonl"]', paths))
    alone, alone_problems = run_logged(tmp_path / "alone", caplog)
    result, problems = run_logged(root, caplog)
    assert result.new_alerts and result.new_alerts == alone.new_alerts
    assert snapshot(root / "state") == snapshot(tmp_path / "alone" / "state")
    repeat = f"{root / 'rows.jsonl'}: given twice; its rows are read once"
    assert [p for p in problems if p == repeat] == [repeat]
    assert len(problems) == len(alone_problems) + 1


def test_at_most_a_hundred_problems_of_a_file_are_listed_however_many_batches_read_it(
    tmp_path, monkeypatch, caplog
):
    root = tmp_path / "repo"
    write_repo(root, 4, "jsonl")
    bad = [
        {"metric": f"fleet_probe_{n % 4}", "os": "Linux", "build_id": f"2025{n:06d}"}
        for n in range(150)
    ]
    (root / "bad.jsonl").write_text("".join(json.dumps(row) + "\n" for row in bad))
    settings = (root / "alerting.toml").read_text()
    (root / "alerting.toml").write_text(
        settings.replace('["rows.jsonl"]', '["rows.jsonl", "bad.jsonl"]')
    )
    monkeypatch.setattr(detect, "BATCH", 2)  # each batch reads half the bad rows
    _, problems = run_logged(root, caplog)
    listed = [p for p in problems if p.startswith(f"{root / 'bad.jsonl'}:")]
    assert [int(p.split(":")[1]) for p in listed] == list(range(1, 101))
    assert problems[-1] == (
        f"50 more problems in {root / 'bad.jsonl'} not listed (only the first 100 of a file "
        "are); fix those and run again to see the rest"
    )
