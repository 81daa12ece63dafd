"""Numbers in the probe's unit, written the way people read them (3 significant digits)."""

from __future__ import annotations

import math


def format_value(value: float | None, unit: str = "") -> str:
    """`61.2 ms`, `1,234 ms`, `0.00412 ms`; `-` for a missing or non-finite value."""
    if value is None or not math.isfinite(value):
        return "-"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    else:
        text = f"{value:.3g}"
        if "e" in text:  # tiny values: plain decimals read better than exponents
            text = f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) >= 1e-3 else f"{value:.2e}"
    return f"{text} {unit}".rstrip() if unit else text


def format_count(value: float) -> str:
    """Sample counts: whole numbers with thousands separators."""
    return f"{value:,.0f}" if math.isfinite(value) else "-"


def relative_change(before: float, after: float) -> float | None:
    """after/before - 1, or None when there is no meaningful base."""
    if not (math.isfinite(before) and math.isfinite(after)) or before == 0:
        return None
    return after / before - 1


def format_percent(change: float | None) -> str:
    """`+45%`, `-3%`, and small changes still visible (`-0.025%`, never `-0%`)."""
    if change is None:
        return "-"
    percent = change * 100
    return f"{percent:+.0f}%" if abs(percent) >= 1 or percent == 0 else f"{percent:+.2g}%"


def format_change(before: float, after: float, unit: str = "") -> str:
    """`42 ms → 61 ms (+45%)`."""
    text = f"{format_value(before, unit)} → {format_value(after, unit)}"
    change = relative_change(before, after)
    return f"{text} ({format_percent(change)})" if change is not None else text
