"""Benchmark: the daily pipeline (`alerting run`) over a fleet, reading GLAM-row files.

For each fleet size (series-years) a throw-away repository monitors timing, memory and
labelled timing probes on Windows, Linux and Darwin (about four series per probe), with
`[data] source = "files"` and delivery to the outbox. The rows (1-3 builds a day, a year and
a day) are written once per size and format, JSON lines and Parquet, before anything is
timed: a pool of series is generated and its rows reused under each probe's name, so writing
10,000 series takes seconds, not the generator's half hour; cost does not depend on the
values repeating. Then, each in a subprocess:

1. `alerting run --date D` on a fresh state (D = the year's last day but one);
2. `alerting alerts list` and `alerting report` on the resulting `state/`;
3. the same run again (same day, nothing new: the findings kept in `[data] cache_dir`
   are reused);
4. the next day's run (`--date D+1`), its data file touched first so it is read again;
5. `alerting report` again into the same site: only the figures of new or changed alerts drawn.

Printed per step: wall time, CPU time and peak resident memory of all processes together
(the run and its worker processes, sampled every 0.1 s). Targets: 10,000 series-years in
<= 120 s and <= 2 GB on 2 cores, growing no faster than linearly; `report` and `alerts list`
<= 30 s; a rerun <= 25 % of a full run.

    python benchmarks/pipeline.py --sizes 1000,3000 [--formats jsonl,parquet] [--steps run,...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import orjson

from alerting.data.generator import generate_for_probes

END = dt.date(2025, 6, 30)  # the data's last day: the next-day run's date
DAYS = 366
PLATFORMS = ("Windows", "Linux", "Darwin")
LABELS = ("h2", "h3")
KINDS = ("timing_distribution", "memory_distribution", "labeled_timing_distribution")
POOL_PER_KIND = 16
PLACEHOLDER = "@@metric@@"
PROBES_PER_FILE = 500  # probe files are refused over 1 MiB
# `parquet-by-day`: the Parquet rows ordered by day, every metric in every row group.
FILE_NAMES = {"jsonl": "rows.jsonl", "parquet": "rows.parquet", "parquet-by-day": "by-day.parquet"}

HEADER = """\
$schema: moz://mozilla.org/schemas/glean/metrics/2-0-0
$tags:
  - 'Core :: Performance'

benchmark:
"""

PROBE = """\
  probe_{i:05d}:
    type: {kind}
    {unit}
    description: Generated benchmark probe {i}.
    bugs: ["https://bugzilla.mozilla.org/show_bug.cgi?id=1"]
    data_reviews: ["https://bugzilla.mozilla.org/show_bug.cgi?id=1"]
    notification_emails: [owner{owner}@example.com]
    expires: never
    metadata:
      monitor:
        alert: {alert}
        platforms: [{platforms}]
        lower_is_better: True
        bugzilla_notification_emails: [owner{owner}@example.com]
"""


def series_per_probe(kind: str) -> int:
    return len(PLATFORMS) * (len(LABELS) if kind.startswith("labeled") else 1)


def fleet(n_series: int) -> list[str]:
    """The kind of each probe, in turn, until the probes have `n_series` series."""
    kinds, total = [], 0
    while total < n_series:
        kind = KINDS[len(kinds) % len(KINDS)]
        kinds.append(kind)
        total += series_per_probe(kind)
    return kinds


def probes_yaml(kinds: list[str], first: int = 0) -> str:
    units = {
        "timing_distribution": "time_unit: millisecond",
        "memory_distribution": "memory_unit: kilobyte",
        "labeled_timing_distribution": f"time_unit: millisecond\n    labels: [{', '.join(LABELS)}]",
    }
    probes = [
        PROBE.format(
            i=i,
            kind=kind,
            unit=units[kind],
            owner=i % 40,
            alert="True" if i % 2 else "False",
            platforms=", ".join(PLATFORMS),
        )
        for i, kind in enumerate(kinds, start=first)
    ]
    return HEADER + "".join(probes)


def pool_rows() -> dict[str, list[dict[tuple[str, str], list[dict]]]]:
    """Generated rows of POOL_PER_KIND probes of each kind: kind -> [per probe: series -> rows]."""
    configs = [
        SimpleNamespace(
            metric=f"pool_{kind}_{j}",
            type=kind,
            platforms=list(PLATFORMS),
            labels=list(LABELS) if kind.startswith("labeled") else None,
            app="fog",
        )
        for kind in KINDS
        for j in range(POOL_PER_KIND)
    ]
    data = generate_for_probes(configs, end=END, days=DAYS, seed=3)
    by_metric: dict[str, dict[tuple[str, str], list[dict]]] = defaultdict(lambda: defaultdict(list))
    for row in data.rows:
        by_metric[row["metric"]][row["os"], row["metric_key"]].append(row)
    return {kind: [by_metric[f"pool_{kind}_{j}"] for j in range(POOL_PER_KIND)] for kind in KINDS}


def write_data(folder: Path, kinds: list[str], pool, formats: list[str]) -> dict[str, Path]:
    """The fleet's rows as one file per format (written once, reused by later runs)."""
    paths = {f: folder / FILE_NAMES[f] for f in formats}
    todo = [f for f in formats if not paths[f].exists()]
    if not todo:
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    seen: dict[str, int] = defaultdict(int)
    sources = []  # (GLAM metric of the probe, its pool probe's series)
    for i, kind in enumerate(kinds):
        sources.append((f"benchmark_probe_{i:05d}", pool[kind][seen[kind] % POOL_PER_KIND]))
        seen[kind] += 1
    if "jsonl" in todo:
        templates = {}  # id of a pool probe -> its rows as JSON lines, metric left open
        with open(paths["jsonl"].with_suffix(".tmp"), "wb") as out:
            for metric, series in sources:
                text = templates.get(id(series))
                if text is None:
                    rows = [r for key in sorted(series) for r in series[key]]
                    text = b"".join(
                        orjson.dumps({**r, "metric": PLACEHOLDER}) + b"\n" for r in rows
                    )
                    templates[id(series)] = text
                out.write(text.replace(PLACEHOLDER.encode(), metric.encode()))
        os.replace(paths["jsonl"].with_suffix(".tmp"), paths["jsonl"])
    if "parquet" in todo:
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables: dict[int, pa.Table] = {}
        writer = None
        pending: list[pa.Table] = []
        for metric, series in sources:
            table = tables.get(id(series))
            if table is None:
                rows = [r for key in sorted(series) for r in series[key]]
                table = tables[id(series)] = pa.Table.from_pylist(rows)
            column = table.schema.get_field_index("metric")
            pending.append(table.set_column(column, "metric", pa.array([metric] * len(table))))
            if sum(len(t) for t in pending) >= 65536 or metric == sources[-1][0]:
                chunk = pa.concat_tables(pending)
                if writer is None:
                    writer = pq.ParquetWriter(paths["parquet"].with_suffix(".tmp"), chunk.schema)
                writer.write_table(chunk, row_group_size=65536)
                pending = []
        writer.close()
        os.replace(paths["parquet"].with_suffix(".tmp"), paths["parquet"])
    if "parquet-by-day" in todo:
        write_by_day(paths["parquet-by-day"], sources)
    sizes = ", ".join(f"{f} {paths[f].stat().st_size / 2**20:,.0f} MiB" for f in todo)
    print(f"  wrote the rows once ({sizes}) in {time.perf_counter() - started:.0f} s")
    return paths


def tree_rss(root_pid: int) -> int:
    """Resident bytes of a process and all its descendants, from /proc."""
    parents, rss = {}, {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/statm") as handle:
                rss[int(entry)] = int(handle.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
        parents[int(entry)] = int(fields[1])
    tree, grew = {root_pid}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(rss.get(pid, 0) for pid in tree)


def timed(args: list[str], root: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak memory (bytes, all processes) of `alerting ARGS`."""
    command = [sys.executable, "-m", "alerting", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss(process.pid))
        time.sleep(0.1)
    _, stderr = process.communicate()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode not in (0, 1) or "Traceback" in stderr:
        raise SystemExit(f"alerting {' '.join(args)} failed:\n{stderr[-3000:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, peak


STEPS = "run,alerts,report,rerun,next"  # the steps' first words


def write_by_day(path: Path, sources: list) -> None:
    """The same rows ordered by build day (as an export by date is): every metric in every
    row group, so no batch of probes can read only its own row groups."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    tables: dict[int, tuple[pa.Table, np.ndarray]] = {}
    for _, series in sources:
        if id(series) not in tables:
            table = pa.Table.from_pylist([r for key in sorted(series) for r in series[key]])
            day = pc.utf8_slice_codeunits(table["build_id"], 0, 8).to_numpy(zero_copy_only=False)
            tables[id(series)] = (table, day.astype(np.int64))
    days = np.unique(np.concatenate([day for _, day in tables.values()]))
    rows = sum(len(tables[id(series)][0]) for _, series in sources)
    per_group = max(1, len(days) * 65536 // rows)  # days in a row group of about 65,536 rows
    writer = None
    for start in range(0, len(days), per_group):
        low, high = days[start], days[min(start + per_group, len(days)) - 1]
        parts = []
        for metric, series in sources:
            table, day = tables[id(series)]
            part = table.take(np.nonzero((day >= low) & (day <= high))[0])
            column = part.schema.get_field_index("metric")
            parts.append(part.set_column(column, "metric", pa.array([metric] * len(part))))
        chunk = pa.concat_tables(parts)
        if writer is None:
            writer = pq.ParquetWriter(path.with_suffix(".tmp"), chunk.schema)
        writer.write_table(chunk, row_group_size=len(chunk))
    writer.close()
    os.replace(path.with_suffix(".tmp"), path)


def bench(
    size: int, fmt: str, kinds: list[str], path: Path, folder: Path, chosen: list[str]
) -> list[tuple]:
    root = folder / f"repo-{fmt}"
    shutil.rmtree(root, ignore_errors=True)
    (root / "probes").mkdir(parents=True)
    for n, start in enumerate(range(0, len(kinds), PROBES_PER_FILE)):  # files under 1 MiB
        text = probes_yaml(kinds[start : start + PROBES_PER_FILE], start)
        (root / "probes" / f"metrics-{n:02d}.yaml").write_text(text)
    (root / "alerting.toml").write_text(
        f'[data]\nsource = "files"\npaths = ["{path}"]\nhistory_days = 365\ncache_dir = "cache"\n'
        '[hg]\nsource = "sample"\n'  # no network: made-up pushes, as the embedded default
    )
    day = END - dt.timedelta(days=1)
    state = str(root / "state")
    steps = [
        ("run", ["run", "-q", "--root", str(root), "--date", day.isoformat()]),
        ("alerts list", ["alerts", "list", "--state", state]),
        ("report", ["report", "-q", "--out", str(root / "site"), "--state", state]),
        ("rerun, same day", ["run", "-q", "--root", str(root), "--date", day.isoformat()]),
        ("next day", ["run", "-q", "--root", str(root), "--date", END.isoformat()]),
        # The daily report: the day's new alerts drawn, the earlier figures kept.
        ("report, next day", ["report", "-q", "--out", str(root / "site"), "--state", state]),
    ]
    results = []
    for name, args in [
        (name, args) for name, args in steps if name.split()[0].strip(",") in chosen
    ]:
        if name == "next day":  # new data arrived: the files changed, nothing kept is used
            os.utime(path)
        wall, cpu, peak = timed(args, root)
        results.append((size, fmt, name, wall, cpu, peak))
        print(f"  {fmt:8} {name:16} {wall:7.1f} s wall {cpu:7.1f} s CPU {peak / 2**20:7,.0f} MiB")
    alerts = len(list((root / "state" / "alerts").glob("*.json")))
    print(f"  {fmt:8} alerts in state/: {alerts}")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,3000", help="series-years, comma separated")
    parser.add_argument(
        "--formats", default="jsonl,parquet", help="jsonl, parquet and/or parquet-by-day"
    )
    parser.add_argument("--dir", type=Path, default=Path("/tmp/alerting-bench-fleet"))
    parser.add_argument(
        "--steps", default=STEPS, help=f"the steps to time, by first word ({STEPS})"
    )
    args = parser.parse_args()
    formats = [f for f in args.formats.split(",") if f]
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    pool = None
    table = []
    for size in (int(s) for s in args.sizes.split(",")):
        kinds = fleet(size)
        n_series = sum(series_per_probe(k) for k in kinds)
        print(f"\n{n_series:,} series-years ({len(kinds):,} probes):")
        folder = args.dir / f"fleet-{n_series}"
        if any(not (folder / FILE_NAMES[f]).exists() for f in formats) and pool is None:
            started = time.perf_counter()
            pool = pool_rows()
            print(f"  generated the pool of series in {time.perf_counter() - started:.0f} s")
        paths = write_data(folder, kinds, pool, formats)
        for fmt in formats:
            table += bench(n_series, fmt, kinds, paths[fmt], folder, args.steps.split(","))
    print("\nseries   format   step              wall s   CPU s   peak MiB   ms/series")
    for size, fmt, name, wall, cpu, peak in table:
        print(
            f"{size:<8,} {fmt:8} {name:16} {wall:7.1f} {cpu:7.1f} {peak / 2**20:10,.0f}"
            f" {1000 * wall / size:10.2f}"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
