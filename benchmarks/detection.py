"""Detection quality and speed on labelled generated series, against the published mozdetect.

    python benchmarks/detection.py                       # the recorded run (a few minutes)
    python benchmarks/detection.py --quick               # one small seed, no mozdetect
    python benchmarks/detection.py --families            # per family, hard mix, resampling
    python benchmarks/detection.py --real --tcpd DIR     # real, human-annotated series
    python benchmarks/detection.py --noise               # change-free series, other noise

`--families` runs detection_families.py (see there): every family of series real telemetry
has, the untuned hard mix, the resampling stability and the worst family next to the overall.
`--real` runs detection_real.py: TCPD's annotated real series turned into daily histograms.
`--noise` runs detection_noise.py: false alerts on change-free series under noise the
generator never draws (strongly correlated levels, random walks, a wandering slow share ...).

For every technique in the registry: precision, recall, F1 (a detection matches a labelled
change when its date lies within [-3, +7] days of it, one match per change), false alerts per
change-free series-year (a detection on a labelled 3-day excursion that reverts, such as a
3-day holiday dip, counts neither way: such an excursion may or may not alert; the `3-day`
column counts them), share of matches within +-1 day, direction agreement, latency in the
`--as-of` replay (first as-of day on which the change is reported, minus its date; the date
must be the final one), and milliseconds of detection per series-year. Recall is also split by
kind of change, by size in noise widths and by daily volume, which is where the techniques
differ.

Datasets: the generator's default setting on seeds the techniques were not tuned on (tuning
used seeds 31-33, see detection_misses.py), and two settings not used while tuning (shorter
series, a different share of change-free ones).

mozdetect (benchmark-only, not a project dependency) is run on the first series of the first
dataset when it is importable; install it into the venv with `pip install mozdetect==0.2.0`.
`alerting detect` end to end (reading the GLAM rows included) is timed as a subprocess on a
JSON-lines file of the same dataset, median of three runs, and compared per series with
mozdetect's median time per series, both in wall time and in CPU time (CPU time does not
depend on what else the shared machine is doing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import mozdetect_runner
import numpy as np

from alerting.data.generator import generate
from alerting.data.series import series_from_rows
from alerting.detect.registry import techniques

END = dt.date(2024, 12, 31)
MATCH = (-3, 7)
# Labelled nuisances that revert: one of three days may or may not alert (1-2 days must not).
EXCURSIONS = ("holiday", "spike")
SIZE_BINS = ((0.0, 2.0, "<2"), (2.0, 4.0, "2-4"), (4.0, float("inf"), ">=4"))
VOLUME_BINS = (
    (0.0, 3e4, "<30k/day"),
    (3e4, 3e5, "30k-300k/day"),
    (3e5, float("inf"), ">=300k/day"),
)
E2E_RUNS = 3


@dataclass
class Dataset:
    name: str
    rows: list[dict]
    series: dict  # SeriesKey -> DailySeries
    truth: dict  # (metric, os, metric_key) -> truth record


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    free_fp: int = 0
    excursions: int = 0  # detections on a 3-day excursion that reverts: neither right nor wrong
    free_years: float = 0.0
    within1: int = 0
    direction_ok: int = 0
    seconds: float = 0.0
    years: float = 0.0
    latency: list[int] = field(default_factory=list)
    latency_big: list[int] = field(default_factory=list)
    replay_moved: int = 0
    by_kind: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    by_size: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    by_volume: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def add(self, other: Score) -> None:
        for name in (
            "tp",
            "fp",
            "fn",
            "free_fp",
            "excursions",
            "free_years",
            "within1",
            "direction_ok",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.seconds += other.seconds
        self.years += other.years
        self.latency += other.latency
        self.latency_big += other.latency_big
        self.replay_moved += other.replay_moved
        for mine, theirs in (
            (self.by_kind, other.by_kind),
            (self.by_size, other.by_size),
            (self.by_volume, other.by_volume),
        ):
            for key, (hit, total) in theirs.items():
                mine[key][0] += hit
                mine[key][1] += total


def make_dataset(name: str, seed: int, n_series: int, days: int, free_share: float) -> Dataset:
    data = generate(seed=seed, n_series=n_series, days=days, end=END, change_free_share=free_share)
    series = series_from_rows(data.rows)
    truth = {(t["metric"], t["os"], t["metric_key"]): t for t in data.truth}
    return Dataset(name, data.rows, series, truth)


def match(found: list[tuple[dt.date, str]], changes: list[dict]) -> list[tuple[int, int | None]]:
    """(detection index, change index or None): each change matches at most one detection."""
    taken: set[int] = set()
    out = []
    for i, (date, _) in enumerate(found):
        hit = None
        for j, change in enumerate(changes):
            offset = (date - dt.date.fromisoformat(change["date"])).days
            if j not in taken and MATCH[0] <= offset <= MATCH[1]:
                hit = j
                taken.add(j)
                break
        out.append((i, hit))
    return out


def size_bin(widths: float) -> str:
    return next(label for lo, hi, label in SIZE_BINS if lo <= widths < hi)


def volume_bin(series) -> str:
    samples = series.samples()[series.present]
    typical = float(np.median(samples)) if samples.size else 0.0
    return next(label for lo, hi, label in VOLUME_BINS if lo <= typical < hi)


def on_excursion(date: dt.date, nuisances: list[dict]) -> bool:
    """Whether `date` falls on a labelled excursion of three days that reverts (a detection
    dated to within a day of its start or on its days), which may or may not alert."""
    for nuisance in nuisances:
        if nuisance["kind"] not in EXCURSIONS or nuisance["days"] != 3:
            continue
        offset = (date - dt.date.fromisoformat(nuisance["date"])).days
        if -1 <= offset < nuisance["days"]:
            return True
    return False


def score_series(
    found, changes, n_days, volume: str = "", nuisances: list[dict] | None = None
) -> Score:
    score = Score()
    years = n_days / 365.0
    if not changes:
        score.free_years = years
    matched = set()
    for i, j in match(found, changes):
        if j is None:
            if on_excursion(found[i][0], nuisances or []):
                score.excursions += 1
                continue
            score.fp += 1
            score.free_fp += not changes
            continue
        matched.add(j)
        score.tp += 1
        change = changes[j]
        date, direction = found[i]
        score.within1 += abs((date - dt.date.fromisoformat(change["date"])).days) <= 1
        score.direction_ok += direction == change["direction"]
    for j, change in enumerate(changes):
        hit = j in matched
        score.fn += not hit
        for table, key in (
            (score.by_kind, change["kind"]),
            (score.by_size, size_bin(change["noise_widths"])),
            (score.by_volume, volume),
        ):
            table[key][0] += hit
            table[key][1] += 1
    return score


def run_technique(technique, datasets: list[Dataset], replay: bool) -> Score:
    total = Score()
    args = technique.defaults()
    for data in datasets:
        for key, series in data.series.items():
            truth = data.truth[(key.metric, key.os, key.metric_key)]
            start = time.perf_counter()
            detections = technique.detect(series, args)
            elapsed = time.perf_counter() - start
            found = [(d.date, d.direction) for d in detections]
            score = score_series(
                found, truth["changes"], series.n_days, volume_bin(series), truth["nuisances"]
            )
            score.seconds = elapsed
            score.years = series.n_days / 365.0
            if replay:
                _replay(technique, args, series, truth["changes"], found, score)
            total.add(score)
    return total


def _replay(technique, args, series, changes, found, score: Score) -> None:
    """Latency: run as the daily job would, day by day from the change's date, until the
    change is reported; the date reported then must be the date of the full-history run."""
    for i, j in match(found, changes):
        if j is None:
            continue
        change_day = dt.date.fromisoformat(changes[j]["date"])
        final_date = found[i][0]
        for lag in range(0, 60):
            as_of = change_day + dt.timedelta(days=lag)
            if as_of > series.end:
                break
            dates = {d.date for d in technique.detect(series.until(as_of), args)}
            near = [d for d in dates if MATCH[0] <= (d - change_day).days <= MATCH[1]]
            if near:
                score.latency.append(lag)
                if changes[j]["noise_widths"] >= 4:
                    score.latency_big.append(lag)
                score.replay_moved += final_date not in near
                break


def run_mozdetect(data: Dataset, n_series: int) -> tuple[Score, float, float] | None:
    """mozdetect's figures on the first `n_series` series, and its median wall and CPU
    seconds per series (the median, so one slow moment of a shared machine does not count)."""
    run = mozdetect_runner.load()
    if run is None:
        return None
    series = mozdetect_runner.by_series(data.rows)
    total = Score()
    per_series = []
    cpu_per_series = []
    for key in sorted(series)[:n_series]:
        rows = series[key]
        detections, elapsed, cpu = run(key, rows)
        per_series.append(elapsed)
        cpu_per_series.append(cpu)
        found = [(d.location, d.direction) for d in detections]
        n_days = (
            dt.date.fromisoformat(rows[-1]["build_date"][:10])
            - dt.date.fromisoformat(rows[0]["build_date"][:10])
        ).days + 1
        truth = data.truth[key]
        score = score_series(found, truth["changes"], n_days, nuisances=truth["nuisances"])
        score.seconds = elapsed
        score.years = n_days / 365.0
        total.add(score)
    return total, statistics.median(per_series), statistics.median(cpu_per_series)


def end_to_end(data: Dataset, techniques_: list[str]) -> dict[str, tuple[float, float]]:
    """Per technique: (wall, CPU) seconds per series of `alerting detect FILE --format json`
    in a subprocess, each the median of E2E_RUNS runs (CPU counts every process of the run,
    the parallel readers included, so it does not depend on how busy the machine is)."""
    import resource

    import orjson

    out = {}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.jsonl"
        with open(path, "wb") as handle:
            for row in data.rows:
                handle.write(orjson.dumps(row) + b"\n")
        for technique in techniques_:
            command = [sys.executable, "-m", "alerting", "detect", str(path), "--format", "json"]
            command += ["--technique", technique]
            walls, cpus = [], []
            for _ in range(E2E_RUNS):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                result = subprocess.run(command, capture_output=True, check=True)
                walls.append(time.perf_counter() - start)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
                json.loads(result.stdout)
            n = len(data.series)
            out[technique] = (statistics.median(walls) / n, statistics.median(cpus) / n)
    return out


def ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "-"


def report(name: str, s: Score) -> list[str]:
    precision = s.tp / (s.tp + s.fp) if s.tp + s.fp else 0.0
    recall = s.tp / (s.tp + s.fn) if s.tp + s.fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    med = statistics.median(s.latency) if s.latency else None
    med_big = statistics.median(s.latency_big) if s.latency_big else None
    return [
        name,
        f"{precision:.3f}",
        f"{recall:.3f}",
        f"{f1:.3f}",
        f"{s.free_fp / s.free_years:.3f}" if s.free_years else "-",
        ratio(s.within1, s.tp),
        ratio(s.direction_ok, s.tp),
        "-" if med is None else f"{med:g}",
        "-" if med_big is None else f"{med_big:g}",
        "-" if not s.latency else str(s.replay_moved),
        f"{1000 * s.seconds / s.years:.2f}" if s.years else "-",
        f"{s.tp}/{s.fp}/{s.fn}",
        str(s.excursions),
    ]


HEADERS = (
    "technique",
    "precision",
    "recall",
    "F1",
    "false/free-yr",
    "within±1d",
    "direction",
    "latency",
    "latency≥4w",
    "moved",
    "ms/series-yr",
    "tp/fp/fn",
    "3-day",
)


# The benchmarks this script runs instead of its own when asked (imported only then).
_DELEGATES = {
    "families": ("detection_families", "per family, hard mix, resampling"),
    "real": ("detection_real", "TCPD's series (with --tcpd DIR)"),
    "noise": ("detection_noise", "change-free series, other noise"),
}


def main() -> None:
    # A delegated benchmark gets every other argument as it is (its --series is its own).
    for flag, (module, _) in _DELEGATES.items():
        if f"--{flag}" in sys.argv[1:]:
            sys.argv = [sys.argv[0], *(a for a in sys.argv[1:] if a != f"--{flag}")]
            importlib.import_module(module).main()
            return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="11,12,13", help="seeds of the default setting")
    parser.add_argument("--series", type=int, default=150, help="series per seed")
    parser.add_argument("--mozdetect-series", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="one seed of 40 series, no mozdetect")
    for flag, (_, text) in _DELEGATES.items():  # listed in --help; handled above
        parser.add_argument(f"--{flag}", action="store_true", help=text)
    args, rest = parser.parse_known_args()
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    from alerting.textable import format_table

    seeds = [int(s) for s in args.seeds.split(",")]
    settings = [(f"seed {s}, 365 d, 1/3 free", s, args.series, 365, 1 / 3) for s in seeds]
    settings.append(("seed 21, 240 d, 1/2 free (untuned)", 21, 120, 240, 0.5))
    settings.append(("seed 22, 150 d, 1/4 free (untuned)", 22, 120, 150, 0.25))
    if args.quick:
        settings = [("seed 11, 365 d, 1/3 free", 11, 40, 365, 1 / 3)]
        args.mozdetect_series = 0

    start = time.perf_counter()
    datasets = [make_dataset(*setting) for setting in settings]
    n_series = sum(len(d.series) for d in datasets)
    n_changes = sum(len(t["changes"]) for d in datasets for t in d.truth.values())
    n_free = sum(not t["changes"] for d in datasets for t in d.truth.values())
    print(
        f"datasets: {len(datasets)}, series: {n_series} ({n_free} change-free), "
        f"labelled changes: {n_changes} (generated in {time.perf_counter() - start:.0f} s)"
    )
    for data in datasets:
        print(f"  {data.name}: {len(data.series)} series")

    rows = []
    overall: dict[str, Score] = {}
    for name, technique in sorted(techniques().items()):
        for data in datasets:
            score = run_technique(technique, [data], replay=True)
            rows.append(report(f"{name} [{data.name}]", score))
            overall.setdefault(name, Score()).add(score)
        rows.append(report(f"{name} [all]", overall[name]))
    print()
    print(format_table(HEADERS, rows))
    print(
        "\nlatency: median days from the change to the first as-of day that reports it; "
        "moved: replay reports whose date differed from the full-history run"
    )

    kinds = sorted({k for s in overall.values() for k in s.by_kind})
    sizes = [label for _, _, label in SIZE_BINS]
    volumes = [label for _, _, label in VOLUME_BINS]
    table = []
    for name, s in overall.items():
        cells = [name]
        cells += [f"{s.by_kind[k][0]}/{s.by_kind[k][1]}" for k in kinds]
        cells += [f"{s.by_size[b][0]}/{s.by_size[b][1]}" for b in sizes]
        cells += [f"{s.by_volume[v][0]}/{s.by_volume[v][1]}" for v in volumes]
        table.append(cells)
    print("\nrecall by kind, by size (noise widths) and by daily volume, all datasets:")
    print(format_table(["technique", *kinds, *[f"{b} w" for b in sizes], *volumes], table))

    first = datasets[0]
    e2e = end_to_end(first, sorted(techniques()))
    print(
        f"\n`alerting detect` end to end on {first.name} ({len(first.series)} series),"
        f" median of {E2E_RUNS} runs:"
    )
    for name, (wall, cpu) in e2e.items():
        print(
            f"  {name}: {1000 * wall:.1f} ms wall, {1000 * cpu:.1f} ms CPU per series"
            " (reading rows included)"
        )

    if args.mozdetect_series:
        result = run_mozdetect(first, args.mozdetect_series)
        if result is None:
            print("\nmozdetect: not importable (pip install mozdetect==0.2.0 to compare)")
        else:
            moz, per_series, cpu_per_series = result
            ours = []
            for name in sorted(techniques()):
                keys = sorted((k.metric, k.os, k.metric_key) for k in first.series)[
                    : args.mozdetect_series
                ]
                subset = Dataset(
                    first.name,
                    [],
                    {
                        k: v
                        for k, v in first.series.items()
                        if (k.metric, k.os, k.metric_key) in keys
                    },
                    first.truth,
                )
                ours.append(
                    report(
                        f"{name} [same series]", run_technique(techniques()[name], [subset], False)
                    )
                )
            print(
                f"\nmozdetect 0.2.0 cdf_squared on the first {args.mozdetect_series} series of {first.name}:"
            )
            print(format_table(HEADERS, [report("mozdetect cdf_squared", moz), *ours]))
            print(
                f"  mozdetect: {per_series:.2f} s wall, {cpu_per_series:.2f} s CPU per series"
                " (median; its own aggregation of the rows included)"
            )
            for name, (wall, cpu) in e2e.items():
                print(
                    f"  alerting detect --technique {name}: {per_series / wall:,.0f}x faster per"
                    f" series in wall time, {cpu_per_series / cpu:,.0f}x in CPU time"
                )
    print(f"\ntotal benchmark time: {time.perf_counter() - start:.0f} s on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
