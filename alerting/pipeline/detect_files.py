"""Detection on local data files, batch by batch of probes, on every core.

One pass over the files finds where each metric's rows are; then each batch of probes, in a
worker process, reads only its probes' rows, builds only their series, detects on them and
writes its findings to a file. The run holds no more than a batch's series at a time and
takes the findings batch by batch. Rows of metrics no probe monitors, and rows without a
metric, are read by batches of their own: their problems are reported and their days count
towards the data's last day, as when the files are read whole.

With `[data] cache_dir`, the findings are kept there: a rerun on the same input (the same
files, unchanged; the same configs, channels and date; the same code) reuses them instead of
reading and detecting again. Anything different detects again, and so does a kept file that is
not exactly what was written (checked by its digest and its contents, as the data cache does).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from alerting.data import rows
from alerting.data.cache import (
    DAMAGED,
    expect,
    files_identity,
    is_list_of,
    json_array,
    json_of,
    kept_day,
    load_arrays,
    save_arrays,
)
from alerting.data.ping_types import LeftOut, log_notes
from alerting.data.problems import listed
from alerting.data.regroup import slices_per_unit
from alerting.data.row_index import NO_METRIC, Slice, index_files, read_slices
from alerting.errors import UserError
from alerting.pipeline.batch import detect_batch
from alerting.pipeline.findings import Outcome
from alerting.pipeline.outcome_files import load_outcome, save_outcome
from alerting.probes.model import MonitorConfig

log = logging.getLogger(__name__)

FORMAT = 2  # bump when findings are kept differently, so older ones are not used
MANIFEST = "manifest.npz"
# Metrics no probe monitors are read this many at a time (for their problems and days).
OTHER_METRICS = 120

Days = tuple[str, str] | None  # first and last day of a batch's series (None: no series)


@dataclasses.dataclass
class FileFindings:
    """What detection on the files found: the data's first and last day and the findings of
    each batch of probes, loaded one batch at a time."""

    first: dt.date
    last: dt.date
    outcomes: Iterator[Outcome]


def files_findings(
    paths: list[Path],
    chunks: list[list[MonitorConfig]],
    channels: list[str],
    as_of: dt.date | None,
    cache_dir: str = "",
) -> FileFindings:
    """Detect on `paths` for each chunk of configs; see the module docstring.

    `as_of` None is the data's last day: every series is seen whole, which is the same as
    seeing it up to that day."""
    identity = [FORMAT, _code_identity(), files_identity(paths), channels, str(as_of)]
    identity.append([[dataclasses.asdict(c) for c in chunk] for chunk in chunks])
    digest = hashlib.sha256(json.dumps(identity, default=str).encode()).hexdigest()[:32]
    temporary = None
    if cache_dir:
        folder = Path(cache_dir) / f"findings-{digest}"
    else:
        temporary = tempfile.TemporaryDirectory(prefix="alerting-findings-")
        folder = Path(temporary.name)
    done = _kept(folder, chunks)
    if done is None:
        done = _detect_all(folder, paths, chunks, channels, as_of)
        if cache_dir:
            _keep_only(folder)
    problems = _in_file_order(list(dict.fromkeys(p for d in done for p in d["problems"])), paths)
    problems = listed(problems, paths)  # each batch listed up to LIMIT of a file's problems
    left_out: LeftOut = Counter()
    for d in done:
        left_out.update({(source, column, value): n for source, column, value, n in d["left_out"]})
    notes = log_notes(left_out)
    if not any(d["series"] for d in done) and (problems or notes):
        raise rows.no_usable_row(problems + notes)
    days = [d["days"] for d in done if d["days"]]
    if not days:
        raise UserError("the data files hold no data for the monitored probes")
    for problem in problems:
        log.warning("%s", problem)
    return FileFindings(
        first=dt.date.fromisoformat(min(first for first, _ in days)),
        last=dt.date.fromisoformat(max(last for _, last in days)),
        outcomes=_outcomes(folder, chunks, temporary),
    )


def _detect_all(
    folder: Path,
    paths: list[Path],
    chunks: list[list[MonitorConfig]],
    channels: list[str],
    as_of: dt.date | None,
) -> list[dict]:
    """Read and detect, batch by batch (in worker processes when the input is big)."""
    if folder.exists():
        shutil.rmtree(folder)  # an entry left unfinished
    folder.mkdir(parents=True)
    indexes = index_files(paths)
    monitored = {c.metric for chunk in chunks for c in chunk}
    others = list(dict.fromkeys(m for i in indexes for m in i.places if m not in monitored))
    if NO_METRIC in others:  # rows without a metric: read last, by a batch of their own
        others.remove(NO_METRIC)
        others.append(NO_METRIC)
    units = [(chunk, {c.metric for c in chunk}) for chunk in chunks]
    units += [
        ([], set(others[i : i + OTHER_METRICS])) for i in range(0, len(others), OTHER_METRICS)
    ]
    big = sum(p.stat().st_size for p in paths) >= rows.PARALLEL_BYTES
    workers = min(len(units), os.cpu_count() or 1) if big else 1
    regrouped = folder / "regrouped"  # copies of spread input, removed however this ends
    try:
        slices = slices_per_unit(indexes, [metrics for _, metrics in units], regrouped, workers)
        tasks = [
            (parts, configs, channels, as_of, folder / _name(i))
            for i, (parts, (configs, _)) in enumerate(zip(slices, units, strict=True))
        ]
        if workers < 2:
            done = [_read_and_detect(*task) for task in tasks]
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                done = list(pool.map(_read_and_detect, *zip(*tasks, strict=True)))
    finally:
        shutil.rmtree(regrouped, ignore_errors=True)
    save_arrays(folder / MANIFEST, {"meta": json_array(done)})
    return done


def _read_and_detect(
    slices: list[Slice],
    configs: list[MonitorConfig],
    channels: list[str],
    as_of: dt.date | None,
    path: Path,
) -> dict:
    """One batch: its rows read, its series built and detected on, the findings written to
    `path`; returns the batch's days, problems, rows left out and number of series."""
    left_out: LeftOut = Counter()
    series, problems = read_slices(slices, left_out)
    held = [s for s in series.values() if s.n_days]
    days = None
    if held:
        days = (min(s.start for s in held).isoformat(), max(s.end for s in held).isoformat())
    if configs:
        outcome = detect_batch(configs, series, channels, as_of or dt.date.max)
        save_outcome(path, outcome, configs)
    left = [[*where, n] for where, n in left_out.items()]
    return {"days": days, "problems": problems, "left_out": left, "series": len(series)}


def _outcomes(
    folder: Path, chunks: list[list[MonitorConfig]], temporary: object
) -> Iterator[Outcome]:
    """The findings of each batch in turn (the temporary folder, if any, removed after)."""
    try:
        for i, chunk in enumerate(chunks):
            yield load_outcome(folder / _name(i), chunk)
    finally:
        if temporary is not None:
            temporary.cleanup()


def _kept(folder: Path, chunks: list[list[MonitorConfig]]) -> list[dict] | None:
    """What a run on the same input kept in `folder`, if it is all there and each file is
    what was written; None (detect again, with a warning naming the file) otherwise."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return None
    path = manifest
    try:
        done = json_of(load_arrays(manifest))
        _check_manifest(done, len(chunks))
        for i, chunk in enumerate(chunks):  # each batch loads, whole (one at a time)
            path = folder / _name(i)
            load_outcome(path, chunk)
    except DAMAGED as error:
        log.warning("%s: unusable cache entry (%s); reading the data files", path, error)
        return None
    return done


def _check_manifest(done: object, batches: int) -> None:
    """DamagedEntry unless `done` is what `_detect_all` returns for `batches` batches of
    probes (and those of unmonitored metrics after them)."""
    expect(isinstance(done, list) and len(done) >= batches, "not one entry per batch")
    for d in done:
        expect(isinstance(d, dict), "a batch is not an object")
        expect(d.keys() == {"days", "problems", "left_out", "series"}, "a batch's fields")
        expect(d["days"] is None or is_list_of(d["days"], str, 2), "a batch's days")
        if d["days"] is not None:
            expect(kept_day(d["days"][0]) <= kept_day(d["days"][1]), "a batch's days")
        expect(is_list_of(d["problems"], str), "a batch's problems")
        expect(type(d["series"]) is int and d["series"] >= 0, "a batch's number of series")
        expect(isinstance(d["left_out"], list), "a batch's rows left out")
        for left in d["left_out"]:
            expect(isinstance(left, list) and len(left) == 4, "a batch's rows left out")
            expect(all(type(v) is str for v in left[:3]), "a batch's rows left out")
            expect(type(left[3]) is int and left[3] > 0, "a batch's rows left out")


def _keep_only(folder: Path) -> None:
    """Remove the findings of earlier inputs (only the latest can be reused)."""
    for old in folder.parent.glob("findings-*"):
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)


def _name(batch: int) -> str:
    return f"batch-{batch:05d}.npz"


def _code_identity() -> str:
    """The package's source: findings made by other code are not reused."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for source in sorted(package.rglob("*.py")):
        digest.update(str(source.relative_to(package)).encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()


def _in_file_order(problems: list[str], paths: list[Path]) -> list[str]:
    """Problems ordered by file and line (a file's own problems, naming no line, before those
    of its lines; those naming no file last, in their order)."""
    prefixes = [f"{p}:" for p in paths]

    def place(problem: str) -> tuple[int, int]:
        for number, prefix in enumerate(prefixes):
            if problem.startswith(prefix):
                line = re.match(r"(?:row )?(\d+):", problem[len(prefix) :])
                return number, int(line.group(1)) if line else 0
        return len(prefixes), 0

    return sorted(problems, key=place)
