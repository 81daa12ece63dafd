import pytest

from alerting.data.units import display_unit
from alerting.errors import UserError


@pytest.mark.parametrize(
    ("unit", "divisor", "label"),
    [
        ("nanosecond", 1, "ns"),
        ("microsecond", 1e3, "µs"),
        ("millisecond", 1e6, "ms"),
        ("second", 1e9, "s"),
        ("minute", 60e9, "min"),
        ("hour", 3600e9, "h"),
        ("day", 86400e9, "d"),
    ],
)
def test_timing_distributions_are_nanoseconds_shown_in_their_time_unit(unit, divisor, label):
    assert display_unit("timing_distribution", time_unit=unit) == (divisor, label)
    assert display_unit("labeled_timing_distribution", time_unit=unit) == (divisor, label)


def test_memory_units_are_powers_of_two():
    assert display_unit("memory_distribution", memory_unit="kilobyte") == (1024, "KiB")
    assert display_unit("memory_distribution", memory_unit="megabyte") == (2**20, "MiB")
    assert display_unit("memory_distribution", memory_unit="gigabyte") == (2**30, "GiB")
    assert display_unit("memory_distribution") == (1, "B")


def test_defaults_and_other_types_unchanged():
    assert display_unit("timing_distribution", time_unit="millisecond") == (1e6, "ms")
    assert display_unit("timing_distribution") == (1, "ns")
    assert display_unit("custom_distribution", unit="tabs") == (1, "tabs")
    assert display_unit("counter") == (1, "")
    assert display_unit("quantity") == (1, "")


def test_unknown_unit_is_a_user_error():
    with pytest.raises(UserError, match="time_unit: unknown unit 'fortnight'"):
        display_unit("timing_distribution", time_unit="fortnight")
