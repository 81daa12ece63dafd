"""Numbers as people read them, the same in bugs, digests, the dashboard and the terminal:
three significant digits, thousands separators, signed percentages, `n/a` when unknown.

Times and sizes are shown in the unit that reads best: 19,319,200 ns is 19.3 ms and
4,378,000 B is 4.18 MiB. Sizes are binary (1 KiB = 1,024 B), as the probes' memory units are.
"""

from __future__ import annotations

import math

MISSING = "n/a"

# Units a value moves along, smallest first, with their size in the first: a value is shown
# in the smallest of them that needs fewer than 1,000 of it (three digits), the largest when
# none does. Other units (mbps, counts, minutes) are shown as they are.
_LADDERS = (
    (("ns", 1.0), ("µs", 1e3), ("ms", 1e6), ("s", 1e9)),
    (("B", 1.0), ("KiB", 2.0**10), ("MiB", 2.0**20), ("GiB", 2.0**30), ("TiB", 2.0**40)),
)
_RUNGS = {unit: (ladder, size) for ladder in _LADDERS for unit, size in ladder}


def _known(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _same_ladder(unit: str, to: str) -> bool:
    return unit in _RUNGS and to in _RUNGS and _RUNGS[unit][0] is _RUNGS[to][0]


def in_unit(value: float, unit: str, to: str) -> float:
    """`value` (in `unit`) in `to`, a unit of the same ladder; unchanged when either is on no
    ladder or they are on different ones. Multiplies or divides by the ratio of the two sizes,
    never by a size first, so a value whose result is finite never overflows on the way
    (`1e300 s` in s is `1e300`, not `1e300 * 1e9 / 1e9`, which is inf)."""
    if unit == to or not _same_ladder(unit, to):
        return value
    size, step = _RUNGS[unit][1], _RUNGS[to][1]
    return value * (size / step) if size >= step else value / (step / size)


def readable(value: float, unit: str) -> tuple[float, str]:
    """`value` in the unit of its ladder that reads best (`19,319,200 ns` -> `19.3 ms`,
    `0.5 ms` -> `500 µs`, `4,378,000 B` -> `4.18 MiB`); other units unchanged. A unit the
    value would be too large to hold (not finite) is never chosen."""
    if unit not in _RUNGS or not _known(value) or value == 0:
        return value, unit
    ladder, _ = _RUNGS[unit]
    for name, _ in ladder:
        shown = in_unit(value, unit, name)
        # as shown: 999.96 µs is 1.00 ms
        if math.isfinite(shown) and abs(float(f"{shown:.3g}")) < 1000:
            return shown, name
    name, _ = ladder[-1]
    return in_unit(value, unit, name), name


def _moved(value: float, unit: str, to: str) -> float | None:
    """`value` in `to` when that is its unit or one of its ladder and the value fits in it."""
    if to != unit and not _same_ladder(unit, to):
        return None
    moved = in_unit(value, unit, to)
    return moved if math.isfinite(moved) else None


def shared_unit(unit: str, *values: float | None) -> str:
    """The one unit values compared with each other are shown in (a change's before and
    after; an alert's table and figures, by its medians): the unit the largest of them reads
    best in, so `0.991 MiB → 864 KiB` is `0.991 MiB → 0.844 MiB`."""
    known = [abs(v) for v in values if _known(v) and v != 0]
    return readable(max(known), unit)[1] if known else unit


def format_value(value: float | None, unit: str = "", shown_in: str | None = None) -> str:
    """`61.2 ms`, `22.0 ms`, `1.23 s`, `4.12 µs`, `4.18 MiB`, `1,234 mbps`, `3.10e-05`;
    `n/a` when missing. Times and sizes are moved to the unit that reads best, or to
    `shown_in` (see `shared_unit`) when given and the value fits in it."""
    if not _known(value):
        return MISSING
    moved = None if shown_in is None else _moved(value, unit, shown_in)
    value, unit = readable(value, unit) if moved is None else (moved, shown_in)
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
    """`42 ms → 61.2 ms (+45.7%)`, both in one unit; without the percentage when `percent`
    is false."""
    shown = shared_unit(unit, before, after)
    text = f"{format_value(before, unit, shown)} → {format_value(after, unit, shown)}"
    change = relative_change(before, after)
    return f"{text} ({format_percent(change)})" if percent and change is not None else text
