"""Where a technique misses labelled changes and where it alerts falsely, on generated data.

    python benchmarks/detection_misses.py --seeds 31,32 --technique cdf_squared
    python benchmarks/detection_misses.py --seeds 31,32 --list   # every miss and false alert

Splits recall by kind of change, size (noise widths of the quantile that moved), daily volume,
platform and metric family, and false alerts by series situation (change-free or not, with a
nuisance near the alert). The seeds here are for tuning and analysis; `detection.py` reports
on other seeds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from detection import END, make_dataset, match, size_bin  # noqa: E402

from alerting.detect.registry import get_technique  # noqa: E402
from alerting.textable import format_table  # noqa: E402

VOLUME_BINS = (
    (0, 3e3, "<3k/day"),
    (3e3, 3e4, "3k-30k"),
    (3e4, 3e5, "30k-300k"),
    (3e5, 1e12, ">=300k"),
)


def volume_bin(samples: float) -> str:
    return next(label for lo, hi, label in VOLUME_BINS if lo <= samples < hi)


def family(metric_type: str) -> str:
    return metric_type.removeprefix("labeled_").split("_")[0]


def analyse(technique_name: str, datasets, show: bool) -> None:
    technique = get_technique(technique_name)
    args = technique.defaults()
    hits: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    false_by: dict[str, int] = defaultdict(int)
    listing = []
    tp = fp = fn = 0
    seconds = 0.0
    for data in datasets:
        for key, series in data.series.items():
            truth = data.truth[(key.metric, key.os, key.metric_key)]
            start = time.perf_counter()
            found = technique.detect(series, args)
            seconds += time.perf_counter() - start
            changes = truth["changes"]
            pairs = match([(d.date, d.direction) for d in found], changes)
            matched = {j for _, j in pairs if j is not None}
            samples = series.samples()[series.present]
            volume = volume_bin(float(np.median(samples)) if samples.size else 0.0)
            where = f"{data.name} {key.metric} {key.os} {key.metric_key}".strip()
            for i, j in pairs:
                if j is not None:
                    tp += 1
                    continue
                fp += 1
                d = found[i]
                near = [
                    n["kind"]
                    for n in truth["nuisances"]
                    if -3 <= (d.date - dt.date.fromisoformat(n["date"])).days <= 7
                ]
                situation = "change-free" if not changes else "changing series"
                situation += f", near {'+'.join(near)}" if near else ""
                false_by[situation] += 1
                listing.append(
                    f"FALSE {where}: {d.date} {d.direction} score {d.score} ({situation}, {volume})"
                )
            for j, change in enumerate(changes):
                hit = j in matched
                fn += not hit
                for table, label in (
                    ("kind", change["kind"]),
                    ("size", size_bin(change["noise_widths"])),
                    ("volume", volume),
                    ("platform", key.os),
                    ("family", family(series.metric_type)),
                    ("kind x size", f"{change['kind']} {size_bin(change['noise_widths'])}"),
                ):
                    hits[table][label][0] += hit
                    hits[table][label][1] += 1
                if not hit:
                    listing.append(
                        f"MISS  {where}: {change['date']} {change['kind']} {change['direction']}"
                        f" size {change['size']:+.3f} = {change['noise_widths']} w ({volume})"
                    )
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print(
        f"\n{technique_name}: precision {precision:.3f}, recall {recall:.3f}, F1 {f1:.3f}"
        f" (tp/fp/fn {tp}/{fp}/{fn}); detection {seconds:.1f} s"
    )
    for table, rows in hits.items():
        cells = [[label, f"{h}/{t}", f"{h / t:.2f}"] for label, (h, t) in sorted(rows.items())]
        print(f"\nrecall by {table}:")
        print(format_table([table, "found", "recall"], cells))
    print("\nfalse alerts by situation:")
    print(format_table(["situation", "alerts"], [[k, str(v)] for k, v in sorted(false_by.items())]))
    if show:
        print()
        print("\n".join(listing))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="31,32")
    parser.add_argument("--series", type=int, default=150)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--free", type=float, default=1 / 3)
    parser.add_argument("--technique", action="append")
    parser.add_argument("--list", action="store_true", help="list every miss and false alert")
    args = parser.parse_args()
    datasets = [
        make_dataset(f"seed {s}", int(s), args.series, args.days, args.free)
        for s in args.seeds.split(",")
    ]
    print(f"end {END}; {sum(len(d.series) for d in datasets)} series")
    for name in args.technique or ["cdf_squared"]:
        analyse(name, datasets, args.list)


if __name__ == "__main__":
    main()
