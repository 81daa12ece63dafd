"""Numbers as people read them, the same in bugs, digests, the dashboard and the terminal:
three significant digits, thousands separators, signed percentages, `n/a` when unknown."""

from __future__ import annotations

import math

MISSING = "n/a"


def _known(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def format_value(value: float | None, unit: str = "") -> str:
    """`61.2 ms`, `22.0 ms`, `1,234 ms`, `0.00412 ms`, `3.10e-05`; `n/a` when missing."""
    if not _known(value):
        return MISSING
    magnitude = abs(value)
    if magnitude == 0:
        text = "0"
    elif magnitude < 1e-3:
        text = f"{value:.2e}"
    else:
        digits = max(0, 2 - math.floor(math.log10(magnitude)))
        rounded = round(value, digits)
        if digits and abs(rounded) >= 10 ** (3 - digits):  # 9.996 rounds up to 10.00: 10.0
            digits -= 1
            rounded = round(value, digits)
        text = f"{rounded:,.0f}" if abs(rounded) >= 1000 else f"{rounded:.{digits}f}"
    return f"{text} {unit}" if unit else text


def format_count(value: float | None) -> str:
    """Sample counts: whole numbers with thousands separators."""
    return f"{value:,.0f}" if _known(value) else MISSING


def relative_change(before: float | None, after: float | None) -> float | None:
    """after/before - 1, or None when there is no meaningful base."""
    if not (_known(before) and _known(after)) or before == 0:
        return None
    return (after - before) / abs(before)


def format_percent(change: float | None, signed: bool = True) -> str:
    """`+45.2%`, `-3.0%`, small changes still visible (`-0.025%`, never `-0.0%`);
    `45.2%` unsigned, for sentences that say "rose" or "fell"."""
    if change is None:
        return MISSING
    percent = change * 100
    sign = "+" if signed else ""
    if percent == 0 or abs(percent) >= 0.1:
        return f"{percent:{sign}.1f}%"
    return f"{percent:{sign}.2g}%"


def percent_change(before: float | None, after: float | None) -> str:
    return format_percent(relative_change(before, after))


def format_change(
    before: float | None, after: float | None, unit: str = "", percent: bool = True
) -> str:
    """`42 ms → 61.2 ms (+45.7%)`; without the percentage when `percent` is false."""
    text = f"{format_value(before, unit)} → {format_value(after, unit)}"
    change = relative_change(before, after)
    return f"{text} ({format_percent(change)})" if percent and change is not None else text
