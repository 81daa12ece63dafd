"""Numbers as every surface writes them: bugs, digests, pages, plots and the terminal."""

import math

from alerting.numbers import format_change, format_count, format_percent, format_value
from alerting.report.plots import axis_label


def test_values_have_three_significant_digits_and_their_unit():
    assert format_value(61.234, "ms") == "61.2 ms"
    assert format_value(1234.5, "mbps") == "1,234 mbps"
    assert format_value(999.96) == "1,000"  # rounding up never gives "1e+03"
    # Rounding up into the next decade keeps three digits, not four.
    assert [format_value(v) for v in (9.996, 99.96, 0.9996)] == ["10.0", "100", "1.00"]
    assert format_value(0.00412, "MB") == "0.00412 MB"
    assert format_value(0.012345) == "0.0123"
    assert format_value(123456.0) == "123,456"
    assert format_value(42.0) == "42.0" and format_value(0) == "0"
    assert format_value(3.1e-5) == "3.10e-05"
    assert format_value(None, "ms") == "n/a" and format_value(math.nan) == "n/a"
    assert format_count(56877572.0) == "56,877,572" and format_count(None) == "n/a"


def test_times_and_sizes_are_shown_in_the_unit_that_reads_best():
    """Was: `19,319,200 ns` and `4,378,000 B`."""
    assert format_value(19319200.0, "ns") == "19.3 ms"
    assert format_value(4378000.0, "B") == "4.18 MiB"  # binary, as the probes' memory units
    assert format_value(1234.5, "ms") == "1.23 s" and format_value(0.993, "ms") == "993 µs"
    assert format_value(2.5e9, "ns") == "2.50 s" and format_value(5000.0, "s") == "5,000 s"
    assert format_value(3.5, "GiB") == "3.50 GiB" and format_value(0.25, "MiB") == "256 KiB"
    assert format_value(1000.0, "KiB") == "0.977 MiB"  # never four digits of a unit
    assert format_value(999.96, "µs") == "1.00 ms"  # what rounding shows decides
    assert format_value(0.5, "ns") == "0.500 ns" and format_value(0, "B") == "0 B"
    assert format_value(-4378000.0, "B") == "-4.18 MiB" and format_value(None, "ns") == "n/a"
    assert format_value(90.0, "min") == "90.0 min"  # other units as they are
    assert format_change(4378000.0, 6127220.0, "ns") == "4.38 ms → 6.13 ms (+40.0%)"


def test_changes_show_direction_and_small_changes_are_not_rounded_away():
    assert format_change(42, 61, "ms") == "42.0 ms → 61.0 ms (+45.2%)"
    assert format_percent(-0.0002) == "-0.02%" and format_percent(0.004) == "+0.4%"
    assert format_percent(0.028) == "+2.8%" and format_percent(0.0098) == "+1.0%"
    assert format_percent(0) == "+0.0%" and format_percent(None) == "n/a"
    assert format_change(0, 5) == "0 → 5.00"  # no base, no percentage


def test_axis_labels_name_the_unit_and_the_scale():
    assert axis_label("ms") == "value (ms)"
    assert axis_label("ms", log=True) == "value (ms, log scale)"
    assert axis_label("") == "value" and axis_label("", log=True) == "value (log scale)"


def test_huge_times_and_sizes_are_shown_without_overflowing():
    """Was: OverflowError from `format_value(1e300, "s")`, each value multiplied by its unit's
    size before being divided (1e300 * 1e9 is inf), crashing `alerts list|show` and `report`."""
    for value, unit in ((1e300, "s"), (1e306, "ms"), (1e297, "TiB"), (-1e300, "s")):
        assert format_value(value, unit).endswith(f" {unit if unit != 'ms' else 's'}")
    assert format_value(1e300, "ns").endswith(" s") and format_value(1.5e300, "B").endswith("TiB")
    assert format_change(1e300, 2e300, "s").endswith(" s (+100.0%)")


def test_a_change_is_shown_in_one_unit():
    """Was: `0.991 MiB → 864 KiB (-14.9%)`, before and after each in the unit it read best in;
    both are now in the unit the larger reads best in."""
    assert format_change(0.991 * 2**20, 864 * 2**10, "B") == "0.991 MiB → 0.844 MiB (-14.9%)"
    assert format_change(0.5, 2.0, "ms") == "0.500 ms → 2.00 ms (+300.0%)"  # not 500 µs
    assert format_change(None, 2.0e6, "ns") == "n/a → 2.00 ms"
