"""Fuzz the parsers of untrusted input with a large budget: examples tried per target, crashes.

The same targets as `tests/test_fuzz.py` (probe YAML and monitor blocks, GLAM rows and row
files, Bugzilla answers), each with `--examples` random examples from `--seed`. A crash prints
Hypothesis's smallest failing example and counts against its target.

    python benchmarks/fuzz.py [--examples 5000] [--seed 1] [--target NAME]
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the `tests` package

from hypothesis import HealthCheck, seed, settings  # noqa: E402

from tests import fuzz_targets as fuzz  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--target", choices=list(fuzz.TARGETS), action="append")
    args = parser.parse_args()

    budget = settings(
        max_examples=args.examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    crashed = 0
    print(f"{'target':28} {'examples':>9} {'crashes':>8} {'seconds':>8}")
    for name in args.target or fuzz.TARGETS:
        started = time.perf_counter()
        failures = 0
        try:
            seed(args.seed)(lambda name=name: fuzz.run(name, budget))()
        except Exception:
            failures = 1
            traceback.print_exc()
        crashed += failures
        elapsed = time.perf_counter() - started
        print(f"{name:28} {fuzz.TRIED[name]:>9,} {failures:>8} {elapsed:>8.1f}", flush=True)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
