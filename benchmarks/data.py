"""Reading and aggregating a year of generated GLAM rows: rows/second, and the total time.

Writes the rows as JSON lines first (not timed), then times `load_series` (read, validate,
sum per day) on that file. Aim: a year of 1,000 series in under 30 s on 2 cores.

    python benchmarks/data.py [--series 1000] [--days 365] [--dir /tmp/alerting-bench-data]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path

import orjson

from alerting.data.generator import generate
from alerting.data.rows import load_series


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/alerting-bench-data"))
    args = parser.parse_args()

    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / f"rows-{args.series}x{args.days}-seed{args.seed}.jsonl"
    started = time.perf_counter()
    if not path.exists():
        data = generate(
            seed=args.seed, n_series=args.series, days=args.days, end=dt.date(2025, 6, 30)
        )
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as out:
            out.writelines(orjson.dumps(row) + b"\n" for row in data.rows)
        os.replace(tmp, path)
        print(
            f"generated and wrote {len(data.rows):,} rows in {time.perf_counter() - started:.1f} s"
        )
    size_mb = path.stat().st_size / 2**20

    started = time.perf_counter()
    series, problems = load_series([path])
    elapsed = time.perf_counter() - started
    with open(path, "rb") as handle:
        n_rows = sum(1 for _ in handle)
    entries = sum(int((s.counts > 0).sum()) for s in series.values())
    print(f"file: {path} ({size_mb:,.0f} MiB, {n_rows:,} rows)")
    print(
        f"series: {len(series):,}; non-empty day-bucket cells: {entries:,}; problems: {len(problems)}"
    )
    print(f"read + aggregate: {elapsed:.1f} s = {n_rows / elapsed:,.0f} rows/s")
    print(f"cores available: {os.cpu_count()}")


if __name__ == "__main__":
    main()
