"""Detection per family of series, on the untuned hard mix, and under resampling.

    python benchmarks/detection_families.py                  # the recorded run
    python benchmarks/detection_families.py --series 20      # smaller, faster
    python benchmarks/detection_families.py --tuning         # the tuning seeds instead
    python benchmarks/detection_families.py --days 180 --no-replay   # shorter series

Every family of `alerting.data.families` (other bucketings, bimodal baselines, wandering
levels, outlier days, weekly cycles, holidays, drifts, gaps, low volume, volume steps,
spikes) on its evaluation seed, then the `hard` mix on seeds fixed before any tuning
(HARD_SEEDS; never tuned on), each with the figures of `detection.py`, and the worst family
next to the overall figure. Stability: the same series sampled again with another sampling
seed (same changes, same day-to-day behaviour, other samples); the share of detections that
the other sample reports within a day, and the most detections any nearly noiseless smooth
trend gets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from detection import (  # noqa: E402
    END,
    HEADERS,
    SIZE_BINS,
    Dataset,
    Score,
    report,
    run_technique,
    size_bin,
)

from alerting.data.families import FAMILIES  # noqa: E402
from alerting.data.generator import generate  # noqa: E402
from alerting.data.series import series_from_rows  # noqa: E402
from alerting.detect.registry import techniques  # noqa: E402
from alerting.textable import format_table  # noqa: E402

# Fixed before any technique was changed for these families; results on them are reported,
# never tuned on.
HARD_SEEDS = (901, 902, 903)
EVAL_SEED = 11
TUNING_SEEDS = (31, 32, 33)
SAMPLING_SEEDS = (1, 2)


def family_dataset(
    family: str,
    seed: int,
    n_series: int,
    sampling_seed: int | None = None,
    free: float = 1 / 3,
    days: int = 365,
) -> Dataset:
    data = generate(
        seed=seed,
        n_series=n_series,
        days=days,
        end=END,
        change_free_share=free,
        family=family,
        sampling_seed=sampling_seed,
    )
    truth = {(t["metric"], t["os"], t["metric_key"]): t for t in data.truth}
    return Dataset(f"{family} seed {seed}", [], series_from_rows(data.rows), truth)


def f1(s: Score) -> float:
    precision = s.tp / (s.tp + s.fp) if s.tp + s.fp else 0.0
    recall = s.tp / (s.tp + s.fn) if s.tp + s.fn else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def stability(technique, a: Dataset, b: Dataset) -> tuple[int, int]:
    """(detections the other sample reports within a day, all detections), both ways."""
    args = technique.defaults()
    agree = total = 0
    for key, one in a.series.items():
        other = b.series.get(key)
        if other is None:
            continue
        first = [d.date for d in technique.detect(one, args)]
        second = [d.date for d in technique.detect(other, args)]
        for mine, theirs in ((first, second), (second, first)):
            for date in mine:
                total += 1
                agree += any(abs((date - o).days) <= 1 for o in theirs)
    return agree, total


def most_on_trend(technique, trends: list[Dataset]) -> int:
    args = technique.defaults()
    return max(len(technique.detect(s, args)) for d in trends for s in d.series.values())


def label_sizes(per_family: dict[str, list[Dataset]]) -> None:
    """The share of labelled changes by size in noise widths, per seed (labels only): recall
    falls steeply under two widths, so a seed's F1 follows how many such changes it drew."""
    counts: dict[str, Counter] = {}
    for datasets in per_family.values():
        for dataset in datasets:
            seed = dataset.name.rsplit(" ", 1)[1]
            for truth in dataset.truth.values():
                for change in truth.get("changes", []):
                    counts.setdefault(seed, Counter())[size_bin(change["noise_widths"])] += 1
    for seed, count in counts.items():
        total = sum(count.values())
        shares = ", ".join(f"{label} {count[label] / total:.1%}" for _, _, label in SIZE_BINS)
        print(f"seed {seed}: {total} changes; by noise widths {shares}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=45, help="series per family")
    parser.add_argument("--hard-series", type=int, default=60, help="series per hard seed")
    parser.add_argument("--stable-series", type=int, default=15, help="resampled per family")
    parser.add_argument("--technique", default=None, help="one technique (default: all)")
    parser.add_argument("--tuning", action="store_true", help="tuning seeds, no hard mix")
    parser.add_argument("--no-replay", action="store_true", help="skip the latency replay")
    parser.add_argument("--days", type=int, default=365, help="days of every series")
    parser.add_argument(
        "--label-sizes", action="store_true", help="only the labelled changes' sizes per seed"
    )
    args = parser.parse_args()
    start = time.perf_counter()
    families = [f for f in FAMILIES if f not in ("hard", "smooth_trend")]
    seeds = TUNING_SEEDS if args.tuning else (EVAL_SEED,)
    per_family = {
        f: [family_dataset(f, s, args.series // len(seeds), days=args.days) for s in seeds]
        for f in families
    }
    if args.label_sizes:
        label_sizes(per_family)
        return
    hard = (
        []
        if args.tuning
        else [family_dataset("hard", s, args.hard_series, days=args.days) for s in HARD_SEEDS]
    )
    stable_families = [*families, "hard"]
    resampled = {
        f: [
            family_dataset(f, seeds[0], args.stable_series, sampling_seed=s, days=args.days)
            for s in SAMPLING_SEEDS
        ]
        for f in stable_families
    }
    trends = [
        family_dataset("smooth_trend", seeds[0], 10, sampling_seed=s, free=1.0, days=args.days)
        for s in SAMPLING_SEEDS
    ]
    print(f"generated in {time.perf_counter() - start:.0f} s; seeds {seeds}, hard {HARD_SEEDS}")

    chosen = sorted(techniques().items())
    if args.technique:
        chosen = [(n, t) for n, t in chosen if n == args.technique]
    for name, technique in chosen:
        rows, scores = [], {}
        overall = Score()
        for family, datasets in per_family.items():
            scores[family] = run_technique(technique, datasets, replay=not args.no_replay)
            overall.add(scores[family])
            rows.append(report(family, scores[family]))
        worst = min(scores, key=lambda f: f1(scores[f]))
        rows.append(report(f"all families (worst: {worst})", overall))
        rows.append(report(f"worst family: {worst}", scores[worst]))
        if hard:
            hard_score = run_technique(technique, hard, replay=not args.no_replay)
            rows.append(report(f"hard mix {','.join(map(str, HARD_SEEDS))}", hard_score))
        print(f"\n{name}:")
        print(format_table(["family", *HEADERS[1:]], rows))
        agree = total = 0
        cells = []
        for family in stable_families:
            a, t = stability(technique, *resampled[family])
            agree, total = agree + a, total + t
            cells.append(f"{family} {a}/{t}")
        share = agree / total if total else 1.0
        print(f"  resampling stability: {share:.3f} ({agree}/{total} detections within ±1 day)")
        print("    " + ", ".join(cells))
        print(
            f"  smooth trend, {sum(len(d.series) for d in trends)} samplings:"
            f" at most {most_on_trend(technique, trends)} detection(s) per series"
        )
    print(f"\ntotal time: {time.perf_counter() - start:.0f} s, {dt.datetime.now():%Y-%m-%d %H:%M}")


if __name__ == "__main__":
    main()
