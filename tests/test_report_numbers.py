"""Numbers as the pages and plots write them."""

import math

from alerting.report.numbers import format_change, format_count, format_percent, format_value
from alerting.report.plots import axis_label


def test_values_have_three_significant_digits_and_their_unit():
    assert format_value(61.234, "ms") == "61.2 ms"
    assert format_value(1234.5, "ms") == "1,234 ms"
    assert format_value(0.00412, "MB") == "0.00412 MB"
    assert format_value(42.0) == "42"
    assert format_value(None, "ms") == "-" and format_value(math.nan) == "-"
    assert format_count(56877572.0) == "56,877,572"


def test_changes_show_direction_and_small_changes_are_not_rounded_away():
    assert format_change(42, 61, "ms") == "42 ms → 61 ms (+45%)"
    assert format_percent(-0.0002) == "-0.02%" and format_percent(0.004) == "+0.4%"
    assert format_percent(0) == "+0%" and format_percent(None) == "-"
    assert format_change(0, 5) == "0 → 5"  # no base, no percentage


def test_axis_labels_name_the_unit_and_the_scale():
    assert axis_label("ms") == "value (ms)"
    assert axis_label("ms", log=True) == "value (ms, log scale)"
    assert axis_label("") == "value" and axis_label("", log=True) == "value (log scale)"
