"""Raw GLAM values -> the unit a probe owner thinks in, for display.

Glean records timing distributions in nanoseconds and memory distributions in bytes whatever
the probe's `time_unit`/`memory_unit`; those units only say how to show the values. Memory
units are powers of 2 (a kilobyte is 1024 bytes). Other types are shown as recorded.
"""

from __future__ import annotations

from alerting.errors import UserError

# How many raw units (ns, bytes) make one display unit, and its short label.
TIME_UNITS: dict[str, tuple[float, str]] = {
    "nanosecond": (1.0, "ns"),
    "microsecond": (1e3, "µs"),
    "millisecond": (1e6, "ms"),
    "second": (1e9, "s"),
    "minute": (60e9, "min"),
    "hour": (3600e9, "h"),
    "day": (86400e9, "d"),
}
MEMORY_UNITS: dict[str, tuple[float, str]] = {
    "byte": (1.0, "B"),
    "kilobyte": (2.0**10, "KiB"),
    "megabyte": (2.0**20, "MiB"),
    "gigabyte": (2.0**30, "GiB"),
}
# Glean's defaults when a metric does not say.
DEFAULT_TIME_UNIT = "nanosecond"
DEFAULT_MEMORY_UNIT = "byte"


def display_unit(
    metric_type: str,
    time_unit: str | None = None,
    memory_unit: str | None = None,
    unit: str | None = None,
) -> tuple[float, str]:
    """(divisor, label): a raw value divided by `divisor` is in the unit named `label`.

    `unit` is the free-text unit of custom distributions and quantities; it labels values
    that are shown unchanged.
    """
    base = metric_type.removeprefix("labeled_")
    if base == "timing_distribution":
        return _lookup(TIME_UNITS, time_unit or DEFAULT_TIME_UNIT, "time_unit")
    if base == "memory_distribution":
        return _lookup(MEMORY_UNITS, memory_unit or DEFAULT_MEMORY_UNIT, "memory_unit")
    return 1.0, unit or ""


def _lookup(table: dict[str, tuple[float, str]], name: str, field: str) -> tuple[float, str]:
    try:
        return table[name]
    except KeyError:
        known = ", ".join(table)
        raise UserError(f"{field}: unknown unit {name!r} (one of: {known})") from None
