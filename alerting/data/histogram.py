"""Quantiles and CDFs of bucketed histograms, vectorized over many histograms at once."""

from __future__ import annotations

import numpy as np


def cdf(counts: np.ndarray) -> np.ndarray:
    """Cumulative share per bucket along the last axis; all-zero histograms give all-NaN rows."""
    counts = np.asarray(counts, dtype=float)
    totals = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.cumsum(counts, axis=-1) / totals, np.nan)


def quantiles(buckets: np.ndarray, counts: np.ndarray, qs: np.ndarray | list[float]) -> np.ndarray:
    """Quantiles `qs` (0..1) of histograms over bucket lower bounds.

    Interpolates linearly inside the bucket where the cumulative share crosses q, between its
    lower bound and the next bucket's (the last bucket is treated as a point). Works on one
    histogram (shape (B,) -> (Q,)) or many (shape (N, B) -> (N, Q)); empty rows give NaN.
    """
    if np.ndim(counts) == 1:
        return quantiles_of_cdf(buckets, cdf(np.atleast_2d(counts)), qs)[0]
    return quantiles_of_cdf(buckets, cdf(counts), qs)


def quantiles_of_cdf(
    buckets: np.ndarray, c: np.ndarray, qs: np.ndarray | list[float]
) -> np.ndarray:
    """`quantiles` of histograms given by their cumulative shares (N, B), as `cdf` gives them:
    for callers that need the CDF anyway."""
    buckets = np.asarray(buckets, dtype=float)
    qs = np.atleast_1d(np.asarray(qs, dtype=float))
    n, b = c.shape
    out = np.full((n, qs.size), np.nan)
    if b == 0:
        return out
    upper = np.append(buckets[1:], buckets[-1])
    prev = np.concatenate([np.zeros((n, 1)), c[:, :-1]], axis=1)
    valid = ~np.isnan(c[:, -1])
    for j, q in enumerate(qs):
        idx = np.argmax(c >= q - 1e-12, axis=1)  # first bucket whose CDF reaches q
        rows = np.arange(n)
        lo_share, hi_share = prev[rows, idx], c[rows, idx]
        width = hi_share - lo_share
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(width > 0, (q - lo_share) / width, 0.0)
        frac = np.clip(frac, 0.0, 1.0)
        out[:, j] = np.where(valid, buckets[idx] + frac * (upper[idx] - buckets[idx]), np.nan)
    return out
