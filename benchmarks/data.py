"""Reading GLAM rows, and `alerting detect` end to end against the published mozdetect.

Generates a year of series (1-3 builds a day) and writes their rows once, with every bucket
of a series present in every row (zeros included, the most text to parse), as JSON lines and
as Parquet (not timed). Then:

- reading: `read_series` on each file (read, validate, sum per day) against the bare parse of
  the same JSON (each line and its histogram text with orjson, nothing else), the floor any
  reader of this format pays;
- end to end: `alerting detect FILE --format json` in a subprocess on each file, median of
  `--runs` runs, wall and CPU time (all processes of the run);
- mozdetect 0.2.0 (`cdf_squared`, its defaults, its own aggregation of the rows) on the first
  `--mozdetect-series` series in this same process, median time per series, and the ratios.

    pip install mozdetect==0.2.0   # benchmark-only, by hand; never a project dependency
    python benchmarks/data.py [--series 150] [--days 365] [--mozdetect-series 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import mozdetect_runner
import orjson

from alerting.data.generator import generate
from alerting.data.rows import read_series


def write_rows(folder: Path, series: int, days: int, seed: int) -> tuple[Path, Path]:
    """The JSON lines and Parquet files of the dataset (made once, then reused)."""
    jsonl = folder / f"full-buckets-{series}x{days}-seed{seed}.jsonl"
    parquet = jsonl.with_suffix(".parquet")
    if jsonl.exists() and parquet.exists():
        return jsonl, parquet
    import pyarrow as pa
    import pyarrow.parquet as pq

    started = time.perf_counter()
    data = generate(seed=seed, n_series=series, days=days, end=dt.date(2025, 6, 30))
    keys: dict[tuple, set[str]] = defaultdict(set)
    for row in data.rows:
        keys[row["metric"], row["os"], row["metric_key"]].update(
            orjson.loads(row["non_norm_histogram"])
        )
    ordered = {key: sorted(names, key=float) for key, names in keys.items()}
    rows = []
    for row in data.rows:
        histogram = orjson.loads(row["non_norm_histogram"])
        names = ordered[row["metric"], row["os"], row["metric_key"]]
        full = {name: histogram.get(name, 0) for name in names}
        rows.append({**row, "non_norm_histogram": orjson.dumps(full).decode()})
    folder.mkdir(parents=True, exist_ok=True)
    with open(jsonl.with_suffix(".tmp"), "wb") as out:
        out.writelines(orjson.dumps(row) + b"\n" for row in rows)
    os.replace(jsonl.with_suffix(".tmp"), jsonl)
    pq.write_table(pa.Table.from_pylist(rows), parquet, row_group_size=65536)
    print(f"wrote {len(rows):,} rows in {time.perf_counter() - started:.0f} s")
    return jsonl, parquet


def bare_parse(path: Path) -> float:
    """CPU seconds to parse every line and its histogram text with orjson, nothing else."""
    started = time.process_time()
    with open(path, "rb") as handle:
        for line in handle:
            orjson.loads(orjson.loads(line)["non_norm_histogram"])
    return time.process_time() - started


def _cpu() -> float:
    """CPU seconds of this process and of its finished child processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def detect_end_to_end(path: Path, runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of `alerting detect FILE --format json`."""
    command = [sys.executable, "-m", "alerting", "detect", str(path), "--format", "json"]
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def mozdetect_seconds(path: Path, n_series: int) -> tuple[float, float] | None:
    """mozdetect's median wall and CPU seconds per series on the first `n_series` series."""
    run = mozdetect_runner.load()
    if run is None:
        return None
    with open(path, "rb") as handle:
        series = mozdetect_runner.by_series(orjson.loads(line) for line in handle)
    walls, cpus = [], []
    for key in sorted(series)[:n_series]:
        _, wall, cpu = run(key, series[key])
        walls.append(wall)
        cpus.append(cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=150)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mozdetect-series", type=int, default=10)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/alerting-bench-data"))
    args = parser.parse_args()
    jsonl, parquet = write_rows(args.dir, args.series, args.days, args.seed)
    with open(jsonl, "rb") as handle:
        n_rows = sum(1 for _ in handle)
    print(f"{args.series} series x {args.days} days: {n_rows:,} rows, every bucket present")
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")

    print("\nreading (in this process; files over 64 MiB of JSON lines use every core):")
    floor = bare_parse(jsonl)
    print(f"  bare orjson parse of the JSON lines: {floor:.2f} s CPU")
    for path in (jsonl, parquet):
        started, cpu_started = time.perf_counter(), _cpu()
        series, problems = read_series([path])
        wall = time.perf_counter() - started
        cpu = _cpu() - cpu_started
        size = path.stat().st_size / 2**20
        print(
            f"  read_series {path.suffix[1:]:8} ({size:,.0f} MiB): {wall:.2f} s wall, "
            f"{cpu:.2f} s CPU (its reader processes included), {n_rows / wall:,.0f} rows/s; "
            f"{len(series)} series, {len(problems)} problems"
        )

    print(f"\n`alerting detect` end to end, median of {args.runs} runs:")
    ours = {}
    for path in (jsonl, parquet):
        wall, cpu = detect_end_to_end(path, args.runs)
        ours[path.suffix[1:]] = (wall / args.series, cpu / args.series)
        print(
            f"  {path.suffix[1:]:8} {1000 * wall / args.series:6.1f} ms wall, "
            f"{1000 * cpu / args.series:6.1f} ms CPU per series"
        )
    moz = mozdetect_seconds(jsonl, args.mozdetect_series) if args.mozdetect_series else None
    if moz is None:
        print("\nmozdetect: not run (pip install mozdetect==0.2.0 to compare)")
        return
    print(
        f"\nmozdetect 0.2.0 cdf_squared, median of {args.mozdetect_series} series: "
        f"{moz[0]:.2f} s wall, {moz[1]:.2f} s CPU per series"
    )
    for kind, (wall, cpu) in ours.items():
        print(
            f"  alerting detect on {kind}: {moz[0] / wall:,.0f}x faster in wall time, "
            f"{moz[1] / cpu:,.0f}x in CPU time"
        )


if __name__ == "__main__":
    main()
