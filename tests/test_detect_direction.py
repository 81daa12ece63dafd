"""The direction of a change, read in the space of the buckets."""

import numpy as np
import pytest
from scipy.special import ndtr

from alerting.detect.detections import direction
from tests.detect_series import BUCKETS, LINEAR_BUCKETS


def histogram(at: np.ndarray, parts: list[tuple[float, float, float]]) -> np.ndarray:
    """Bucket shares of a mixture of normals (share, centre, spread) over bucket bounds `at`."""
    edges = np.append(at, np.inf)
    cdf = sum(share * ndtr((edges - centre) / spread) for share, centre, spread in parts)
    cdf[0], cdf[-1] = 0.0, 1.0
    return np.diff(cdf)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ([(1.0, 50.0, 10.0)], [(1.0, 46.0, 10.0)], "down"),  # a step by an absolute amount
        ([(1.0, 50.0, 10.0)], [(1.0, 53.0, 10.0)], "up"),
        ([(1.0, 50.0, 10.0)], [(1.0, 50.0, 14.0)], "up"),  # wider: the upper tail is longer
        ([(1.0, 50.0, 14.0)], [(1.0, 50.0, 10.0)], "down"),
        ([(1.0, 50.0, 10.0)], [(0.98, 50.0, 10.0), (0.02, 85.0, 10.0)], "up"),  # rare slow path
    ],
)
def test_direction_on_linear_buckets_follows_the_values_not_their_ratios(before, after, expected):
    at = LINEAR_BUCKETS.astype(float)
    assert direction(at, histogram(at, before), histogram(at, after)) == expected


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ([(1.0, 10.0, 0.8)], [(1.0, 10.0, 1.1)], "up"),  # a longer tail on a log scale
        ([(1.0, 10.0, 0.8)], [(0.8, 10.0, 0.8), (0.2, 8.0, 0.5)], "down"),  # a faster path
        ([(1.0, 10.0, 0.8)], [(1.0, 10.1, 0.8)], "up"),
    ],
)
def test_direction_on_exponential_buckets_is_read_on_a_log_scale(before, after, expected):
    at = BUCKETS.astype(float)
    log_at = np.log(np.maximum(at, 1e-300))
    assert direction(at, histogram(log_at, before), histogram(log_at, after)) == expected


@pytest.mark.parametrize(("centre", "expected"), [(10.1, "up"), (9.9, "down")])
def test_a_huge_empty_bucket_does_not_decide_the_direction(centre, expected):
    """A bucket key near the float limit (1e300) once overflowed the bucket middles to inf,
    inf x 0 made the sum NaN and every change read `down`."""
    at = np.append(BUCKETS.astype(float), 1e300)
    log_at = np.log(at)
    before = histogram(log_at, [(1.0, 10.0, 0.8)])
    after = histogram(log_at, [(1.0, centre, 0.8)])
    assert before[-1] == after[-1] == 0.0
    assert direction(at, before, after) == expected
