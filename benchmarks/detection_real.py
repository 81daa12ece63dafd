"""Detection on real, human-annotated series (TCPD) turned into daily histograms.

    pip install ruptures==1.1.10   # benchmark-only: the binary segmentation reference
    python benchmarks/detection_real.py --tcpd PATH/TO/TCPD

TCPD (the Turing Change Point Dataset, github.com/alan-turing-institute/TCPD) holds real
series, each annotated by up to five people. Nothing here was generated or tuned on them.
Each univariate series becomes a daily series, one observation a day: a day's histogram is
SAMPLES draws of a normal distribution centred on the observation, SPREAD_SHARE of the
series' range wide, counted in BUCKETS buckets. `linear` reads the values as they are
(evenly spaced buckets, a custom distribution); `log` reads positive series on exponential
buckets (8 per octave, a timing distribution), the distribution being normal in the log.
A missing observation is a day without data. The observation's own movement is then what
a detector sees: the sampling noise of a median of SAMPLES draws is a few hundredths of the
distribution's width.

Scored as TCPD scores: F1 with a margin of 5 observations, where the series' first point
counts as a change for every annotator and for every method (so "never alert" scores above
zero), precision against all annotators' points together and recall averaged over
annotators. References: `zero` (never alert) and binary segmentation of the daily medians
(offline: it sees the whole series; an l2 cost, penalty 2 log(n) times the noise variance
estimated from one-step differences). Stability: detections of two samplings (seeds 1 and
2) of the same series, and the share of each one's detections the other reports within a
day.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import ndtr

from alerting.data.model import DailySeries, SeriesKey
from alerting.detect.registry import techniques
from alerting.textable import format_table

SAMPLES = 10_000
SPREAD_SHARE = 0.25
BUCKETS = 60
MARGIN = 5
START = dt.date(2024, 1, 1)
SAMPLING_SEEDS = (1, 2)


@dataclass
class Annotated:
    name: str
    values: np.ndarray  # NaN where the observation is missing
    annotations: list[list[int]]  # one list of change indices per annotator


def load_tcpd(root: Path) -> list[Annotated]:
    """The univariate datasets of a TCPD checkout that have annotations."""
    annotations = json.loads((root / "annotations.json").read_text())
    found = []
    for path in sorted(root.glob("datasets/*/*.json")):
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or data.get("name") not in annotations:
            continue
        if data.get("n_dim") != 1:
            continue
        raw = data["series"][0]["raw"]
        values = np.array([np.nan if v is None else float(v) for v in raw])
        found.append(
            Annotated(data["name"], values, [list(a) for a in annotations[data["name"]].values()])
        )
    return found


def to_daily(
    series: Annotated,
    bucketing: str,
    seed: int,
    samples: int = SAMPLES,
    spread_share: float = SPREAD_SHARE,
) -> DailySeries | None:
    """The series as daily histograms (None: `log` of a series with values <= 0)."""
    values = series.values
    present = ~np.isnan(values)
    if bucketing == "log":
        if np.any(values[present] <= 0):
            return None
        centre = np.log2(np.where(present, values, 1.0))
    else:
        centre = np.where(present, values, 0.0)
    lo, hi = float(np.min(centre[present])), float(np.max(centre[present]))
    spread = max(hi - lo, 1e-9) * spread_share
    if bucketing == "log":
        step = 1 / 8  # 8 buckets per octave
        first = math.floor((lo - 3 * spread) / step) * step
        edges = np.arange(first, hi + 3 * spread + step, step)
        buckets = 2.0**edges
        metric_type = "timing_distribution"
    else:
        edges = np.linspace(lo - 3 * spread, hi + 3 * spread, BUCKETS + 1)
        buckets = edges[:-1]
        metric_type = "custom_distribution"
    rng = np.random.default_rng(seed)
    counts = np.zeros((len(values), len(buckets)))
    uppers = edges[1 : len(buckets)]  # every bucket's upper bound but the last's
    for i in np.flatnonzero(present):
        cdf = ndtr((uppers - centre[i]) / spread)
        p = np.diff(np.concatenate(([0.0], cdf, [1.0])))
        counts[i] = rng.multinomial(samples, np.clip(p, 0, None) / p.sum())
    builds = tuple(
        f"{START + dt.timedelta(days=i):%Y%m%d}000000" if present[i] else ""
        for i in range(len(values))
    )
    return DailySeries(
        key=SeriesKey(series.name, "*"),
        metric_type=metric_type,
        start=START,
        buckets=np.asarray(buckets, dtype=float),
        counts=counts,
        present=present,
        build_ids=builds,
    )


def _true_positives(truth: list[int], found: list[int]) -> int:
    """Truth points with a found point within MARGIN, each found point used once."""
    used: set[int] = set()
    hits = 0
    for t in sorted(truth):
        near = [f for f in found if abs(f - t) <= MARGIN and f not in used]
        if near:
            used.add(min(near, key=lambda f: abs(f - t)))
            hits += 1
    return hits


def tcpd_f1(annotations: list[list[int]], found: list[int]) -> float:
    """TCPD's F1: the first point counts as a change in every set."""
    found = sorted({0, *found})
    sets = [sorted({0, *a}) for a in annotations]
    union = sorted(set().union(*sets))
    precision = _true_positives(union, found) / len(found)
    recall = sum(_true_positives(s, found) / len(s) for s in sets) / len(sets)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def medians(series: DailySeries) -> np.ndarray:
    """Each day's median bucket (its lower bound), not `histogram.quantiles`' value
    interpolated inside it: binary segmentation's noise estimate comes from one-step
    differences, which interpolation shrinks on smooth series until it marks most days."""
    cumulative = np.cumsum(series.counts, axis=1)
    index = np.argmax(cumulative >= cumulative[:, -1:] / 2, axis=1)
    return series.buckets[index].astype(float)


def binary_segmentation(series: DailySeries) -> list[int] | None:
    """Change indices of binary segmentation on the present days' medians (None: no ruptures)."""
    try:
        import ruptures
    except ImportError:
        return None
    days = np.flatnonzero(series.present)
    signal = medians(series)[days]
    if series.metric_type == "timing_distribution":
        signal = np.log2(np.maximum(signal, 1e-12))
    if len(signal) < 4:
        return []
    diffs = np.diff(signal)
    sigma = 1.4826 * np.median(np.abs(diffs - np.median(diffs))) / math.sqrt(2)
    sigma = sigma if sigma > 0 else float(np.std(signal)) or 1.0
    ends = ruptures.Binseg(model="l2", min_size=2, jump=1).fit(signal.reshape(-1, 1))
    breaks = ends.predict(pen=2 * math.log(len(signal)) * sigma**2)
    return [int(days[b]) for b in breaks[:-1]]


def detected(technique, series: DailySeries) -> list[int]:
    return [series.index_of(d.date) for d in technique.detect(series, technique.defaults())]


def within_a_day(mine: list[int], theirs: list[int]) -> int:
    return sum(any(abs(m - t) <= 1 for t in theirs) for m in mine)


def unmarked(annotations: list[list[int]], found: list[int]) -> int:
    """Detections no annotator marked a change within MARGIN of: false alerts, as people see it."""
    marks = set().union(*map(set, annotations))
    return sum(all(abs(f - m) > MARGIN for m in marks) for f in found)


@dataclass
class Tally:
    f1: list[float] = field(default_factory=list)
    found: int = 0
    unmarked: int = 0
    agree: int = 0  # detections the other sampling reports within a day
    both: int = 0  # detections of both samplings


def table(data: list[Annotated], bucketing: str, chosen: list, samples: int, spread: float):
    """Per dataset: TCPD F1 of never alerting, binary segmentation and each technique, and each
    technique's detections (those no annotator marked) in the first sampling."""
    rows, tallies = [], {name: Tally() for name in ["zero", "binseg", *(n for n, _ in chosen)]}
    for series in data:
        first, second = (to_daily(series, bucketing, s, samples, spread) for s in SAMPLING_SEEDS)
        if first is None:
            continue
        marks = sum(map(len, series.annotations)) / len(series.annotations)
        row = [series.name, str(len(series.values)), f"{marks:.1f}"]
        found = {"zero": [], "binseg": binary_segmentation(first)}
        for name, technique in chosen:
            found[name] = one = detected(technique, first)
            other = detected(technique, second)
            tally = tallies[name]
            tally.agree += within_a_day(one, other) + within_a_day(other, one)
            tally.both += len(one) + len(other)
        for name, tally in tallies.items():
            if found.get(name) is None:  # no ruptures
                row.append("-")
                continue
            f1, wrong = (
                tcpd_f1(series.annotations, found[name]),
                unmarked(series.annotations, found[name]),
            )
            tally.f1.append(f1)
            tally.found += len(found[name])
            tally.unmarked += wrong
            row.append(f"{f1:.3f} {len(found[name])} ({wrong})")
        rows.append(row)
    summary = [f"mean of {len(rows)}", "", ""]
    for tally in tallies.values():
        mean = f"{np.mean(tally.f1):.3f}" if tally.f1 else "-"
        summary.append(f"{mean} {tally.found} ({tally.unmarked})")
    return [*rows, summary], tallies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tcpd", type=Path, required=True, help="a TCPD checkout")
    parser.add_argument("--technique", default=None, help="one technique (default: all)")
    parser.add_argument("--samples", type=int, default=SAMPLES, help="draws a day")
    parser.add_argument(
        "--spread", type=float, default=SPREAD_SHARE, help="the daily distribution's width"
    )
    args = parser.parse_args()
    start = time.perf_counter()
    if not (args.tcpd / "annotations.json").is_file():
        sys.exit(f"{args.tcpd}: no annotations.json here; give the folder of a TCPD checkout")
    data = load_tcpd(args.tcpd)
    if not data:
        sys.exit(f"no annotated univariate dataset under {args.tcpd}/datasets")
    chosen = sorted(techniques().items())
    if args.technique:
        chosen = [(n, t) for n, t in chosen if n == args.technique]
    print(f"{args.samples} samples a day, spread {args.spread} of the range")
    for bucketing in ("linear", "log"):
        rows, tallies = table(data, bucketing, chosen, args.samples, args.spread)
        print(f"\n{bucketing} buckets: F1, detections (of them unmarked)")
        print(format_table(["dataset", "n", "marks/annotator", *tallies], rows))
        for name, _ in chosen:
            tally = tallies[name]
            share = tally.agree / tally.both if tally.both else 1.0
            print(
                f"  {name} resampling stability: {share:.3f}"
                f" ({tally.agree}/{tally.both} detections within ±1 day)"
            )
    print(f"\ntotal time: {time.perf_counter() - start:.0f} s, {dt.datetime.now():%Y-%m-%d %H:%M}")


if __name__ == "__main__":
    main()
