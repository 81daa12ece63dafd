"""Numbers as every surface writes them: bugs, digests, pages, plots and the terminal."""

import math

from alerting.numbers import format_change, format_count, format_percent, format_value
from alerting.report.plots import axis_label


def test_values_have_three_significant_digits_and_their_unit():
    assert format_value(61.234, "ms") == "61.2 ms"
    assert format_value(1234.5, "ms") == "1,234 ms"
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
