"""Benchmark: the daily pipeline (`alerting run`) over a fleet of generated series.

Writes a throw-away repository whose `probes/` monitors N timing probes on three platforms
(about 1,000 series by default), runs `alerting run` on the embedded sample data (365 days)
in a subprocess, and prints wall time and peak memory. Target: <= 60 s and <= 2 GB on 2 cores.

    python benchmarks/pipeline.py [--probes 334] [--days 365]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = """\
$schema: moz://mozilla.org/schemas/glean/metrics/2-0-0
$tags:
  - 'Core :: Performance'

benchmark:
"""

PROBE = """\
  probe_{i:04d}:
    type: timing_distribution
    time_unit: millisecond
    description: Generated benchmark probe {i}.
    bugs: ["https://bugzilla.mozilla.org/show_bug.cgi?id=1"]
    data_reviews: ["https://bugzilla.mozilla.org/show_bug.cgi?id=1"]
    notification_emails: [owner{owner}@example.com]
    expires: never
    metadata:
      monitor:
        alert: {alert}
        platforms: [Windows, Linux, Darwin]
        lower_is_better: True
        bugzilla_notification_emails: [owner{owner}@example.com]
"""


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=334, help="probes (x3 platforms = series)")
    parser.add_argument("--days", type=int, default=365, help="days of history")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="alerting-bench-") as tmp:
        root = Path(tmp)
        (root / "probes").mkdir()
        probes = "".join(
            PROBE.format(i=i, owner=i % 40, alert="True" if i % 2 else "False")
            for i in range(args.probes)
        )
        (root / "probes" / "metrics.yaml").write_text(HEADER + probes)
        (root / "alerting.toml").write_text(f"[data]\nhistory_days = {args.days}\n")
        command = [sys.executable, "-m", "alerting", "run", "-q", "--root", str(root)]
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        peak_tree = 0
        while process.poll() is None:  # the run and its worker processes, added up
            peak_tree = max(peak_tree, tree_rss(process.pid))
            time.sleep(0.1)
        _, stderr = process.communicate()
        wall = time.perf_counter() - started
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        alerts = len(list((root / "state" / "alerts").glob("*.json")))
    if process.returncode not in (0, 1):
        print(stderr, file=sys.stderr)
        return process.returncode
    series = args.probes * 3
    print(f"series:        {series} x {args.days} days ({args.probes} probes x 3 platforms)")
    print(f"alerts:        {alerts}")
    print(f"wall time:     {wall:.1f} s   (target <= 60 s)")
    print(
        f"peak memory:   {peak_tree / 2**20:.0f} MiB in all processes together (target <= 2048 MiB)"
    )
    print(f"               {peak_kib / 1024:.0f} MiB in the largest single process")
    print(f"per series:    {1000 * wall / series:.1f} ms end to end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
