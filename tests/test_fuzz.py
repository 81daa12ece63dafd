"""The fuzz targets with a small fixed budget: derandomized, so every run tries the same
examples. `python benchmarks/fuzz.py` runs them with a large budget."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from tests import fuzz_targets as fuzz

BUDGET = settings(
    max_examples=120,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.parametrize("name", list(fuzz.TARGETS))
def test_arbitrary_input_gives_a_result_or_a_located_error(name):
    before = fuzz.TRIED[name]
    fuzz.run(name, BUDGET)
    assert fuzz.TRIED[name] - before >= 50  # the examples really ran
