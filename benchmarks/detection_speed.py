"""Detection speed: CPU time of the detect call only, per series-year.

    python benchmarks/detection_speed.py                 # the recorded run
    python benchmarks/detection_speed.py --series 20 --repeats 3

Series of the standard setting and of the hard mix are generated and parsed first; then each
technique's `detect` runs over all of them, timed with the process's CPU clock
(`time.process_time`), so other processes on a busy machine matter far less than with wall
time. Every series is timed `--repeats` times and its median kept; the figure is the median
over series of CPU milliseconds per series-year (and the total over all series).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from detection import END  # noqa: E402

from alerting.data.generator import generate  # noqa: E402
from alerting.data.series import series_from_rows  # noqa: E402
from alerting.detect.registry import techniques  # noqa: E402

SEED = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=40, help="series per setting")
    parser.add_argument("--repeats", type=int, default=5, help="timings per series")
    parser.add_argument("--technique", default=None, help="one technique (default: all)")
    args = parser.parse_args()
    data = {
        family: series_from_rows(
            generate(seed=SEED, n_series=args.series, days=365, end=END, family=family).rows
        )
        for family in ("standard", "hard")
    }
    chosen = sorted(techniques().items())
    if args.technique:
        chosen = [(n, t) for n, t in chosen if n == args.technique]
    print("technique       setting   series  median CPU ms/series-yr  mean  total CPU s")
    for name, technique in chosen:
        defaults = technique.defaults()
        for family, series in data.items():
            per_year = []
            total = 0.0
            for one in series.values():
                years = one.n_days / 365.0
                times = []
                for _ in range(args.repeats):
                    start = time.process_time()
                    technique.detect(one, defaults)
                    times.append(time.process_time() - start)
                total += sum(times)
                per_year.append(1000.0 * statistics.median(times) / years)
            print(
                f"{name:<15} {family:<9} {len(per_year):>6}  {statistics.median(per_year):>23.2f}"
                f"  {statistics.mean(per_year):>4.2f}  {total:>11.1f}"
            )


if __name__ == "__main__":
    main()
