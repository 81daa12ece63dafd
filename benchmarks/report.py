"""Benchmark: `alerting report` and `alerting alerts list` on a state with many alerts.

Takes the `state/` of a fleet run (`benchmarks/pipeline.py` writes one per size and format)
and copies its alerts (with their plots and summaries) COPIES times under new ids, every
alert's daily values scaled a little differently: the fleet reuses a pool of generated series
under every probe's name, so its alerts would otherwise share their figures, which a report
draws once. Then, each in a subprocess: the report into a new directory (every figure
drawn), `alerts list`, the report again (nothing changed), and the report after 10 alerts
changed (their figures drawn again). Printed: wall and CPU time of all processes, and the
load average. With `--figures N`, first the CPU time per figure of the first N alerts' page
figures drawn in this process (on a loaded machine, a steadier figure than a whole report).

    python benchmarks/report.py --state /tmp/alerting-bench-fleet/fleet-3000/repo-parquet/state
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path


def copy_state(source: Path, target: Path, copies: int) -> int:
    """`copies` copies of the alerts of `source` under new ids, no two with the same values."""
    shutil.rmtree(target, ignore_errors=True)
    for sub in ("alerts", "plots", "summaries"):
        (target / sub).mkdir(parents=True)
    n = 0
    for copy in range(copies):
        ids = {}
        for path in sorted((source / "alerts").glob("*.json")):
            alert = json.loads(path.read_text())
            new = hashlib.sha256(f"{copy}:{alert['id']}".encode()).hexdigest()[:16]
            ids[alert["id"]] = alert["id"] = new
            alert["probe"] += f"_{copy}"
            plot = json.loads((source / "plots" / path.name).read_text())
            plot["alert"] = new
            for name in ("median", "p05", "p95"):
                scale = 1 + 0.001 * n
                plot[name] = [None if v is None else round(v * scale, 4) for v in plot[name]]
            (target / "alerts" / f"{new}.json").write_text(json.dumps(alert, indent=1))
            (target / "plots" / f"{new}.json").write_text(json.dumps(plot))
            n += 1
        for path in (source / "summaries").glob("*.json"):
            summary = json.loads(path.read_text())
            summary["id"] = (
                "s" + hashlib.sha256(f"{copy}:{summary['id']}".encode()).hexdigest()[:15]
            )
            summary["alerts"] = [ids[i] for i in summary["alerts"] if i in ids]
            (target / "summaries" / f"{summary['id']}.json").write_text(json.dumps(summary))
    return n


def change_alerts(state: Path, count: int) -> None:
    for path in sorted((state / "alerts").glob("*.json"))[:count]:
        alert = json.loads(path.read_text())
        alert["after"]["median"] = round(alert["after"]["median"] * 1.5, 4)
        path.write_text(json.dumps(alert, indent=1))


def timed(name: str, args: list[str]) -> None:
    """Wall and CPU seconds of `alerting ARGS` and its worker processes."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "alerting", *args], capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"alerting {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    said = done.stdout.strip().splitlines()[-1] if args[0] == "report" else ""
    print(f"{name:24} {wall:7.1f} s wall {cpu:7.1f} s CPU  load {load:4.1f}  {said}")


def per_figure(state: Path, count: int) -> None:
    """CPU milliseconds per alert page figure, drawn in this process."""
    from alerting.report import plots
    from alerting.report.records import load_records

    shown = [plots.drawn(a) for a in load_records(state).alerts[:count]]
    plots.page_svgs(shown[0])  # imports, fonts, the figures of its layouts
    started = time.process_time()
    for one in shown:
        plots.page_svgs(one)
    cpu = time.process_time() - started
    load = os.getloadavg()[0]
    print(
        f"{2 * len(shown)} figures in one process: {1000 * cpu / (2 * len(shown)):.1f} ms of CPU "
        f"each  load {load:4.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", type=Path, required=True, help="state/ of a fleet run")
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/alerting-bench-report"))
    parser.add_argument("--figures", type=int, default=0, help="alerts drawn in this process")
    args = parser.parse_args()
    state, site = args.dir / "state", args.dir / "site"
    alerts = copy_state(args.state, state, args.copies)
    shutil.rmtree(site, ignore_errors=True)
    print(f"{alerts} alerts; cores: {os.cpu_count()}")
    if args.figures:
        per_figure(state, args.figures)
    report = ["report", "--out", str(site), "--state", str(state)]
    timed("report, from scratch", report)
    timed("alerts list", ["alerts", "list", "--state", str(state)])
    timed("report, unchanged", report)
    change_alerts(state, 10)
    timed("report, 10 alerts changed", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
