"""Regression, improvement or a generic change: direction read against the probe's goal."""

from __future__ import annotations

from alerting.alerts.model import Values

REGRESSION = "regression"
IMPROVEMENT = "improvement"
CHANGE = "change"

# Below this relative shift of median, p05 and p95 the change is too small to call good or bad.
NEGLIGIBLE = 0.01


def relative_shift(before: Values, after: Values) -> float:
    """The largest relative move among median, p05 and p95 (0 when nothing is comparable)."""
    shifts = []
    for name in ("median", "p05", "p95"):
        old, new = getattr(before, name), getattr(after, name)
        if old is None or new is None:
            continue
        scale = max(abs(old), abs(new))
        if scale > 0:
            shifts.append(abs(new - old) / scale)
    return max(shifts, default=0.0)


def classify(direction: str, lower_is_better: bool | None, before: Values, after: Values) -> str:
    if lower_is_better is None or relative_shift(before, after) < NEGLIGIBLE:
        return CHANGE
    got_larger = direction == "up"
    return REGRESSION if got_larger == lower_is_better else IMPROVEMENT
