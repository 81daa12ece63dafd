"""The plots: labelled in the probe's unit, the change marked, log axes only where they fit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import matplotlib.dates as mdates
import numpy as np

from alerting.alerts.model import Plot
from alerting.report import plots
from tests.report_fixtures import LINEAR_BUCKETS, TIMING_BUCKETS_MS, sample_alerts


def _alert(index: int = 0):
    return sample_alerts()[index]


def test_series_axes_are_in_the_probe_unit_with_the_change_marked():
    alert = _alert()
    ax = plots.series_figure(plots.drawn(alert)).axes[0]
    assert ax.get_ylabel() == "value (ms)"
    assert "day" in ax.get_xlabel()
    change = mdates.date2num(dt.date.fromisoformat(alert.date))
    verticals = [
        line
        for line in ax.get_lines()
        if len(line.get_xdata()) and set(mdates.date2num(line.get_xdata())) == {change}
    ]
    assert verticals, "no vertical line at the change date"
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert {"median", "p05", "p95", f"change {alert.date}"} <= set(labels)


def test_figures_of_large_times_are_drawn_in_the_unit_the_table_uses():
    """Was: axes of `value (ns)` up to 30,000,000 while the table said 19.3 ms."""
    alert = _alert()
    in_ns = dataclasses.replace(
        alert,
        unit="ns",
        before=dataclasses.replace(alert.before, median=alert.before.median * 1e6),
        after=dataclasses.replace(alert.after, median=alert.after.median * 1e6),
        plot=dataclasses.replace(
            alert.plot,
            median=[None if v is None else v * 1e6 for v in alert.plot.median],
            p05=[None if v is None else v * 1e6 for v in alert.plot.p05],
            p95=[None if v is None else v * 1e6 for v in alert.plot.p95],
            buckets=[v * 1e6 for v in alert.plot.buckets],
        ),
    )
    shown = plots.drawn(in_ns)
    assert shown.unit == "ms" and shown.before_median == alert.before.median
    assert np.allclose(shown.plot.buckets, alert.plot.buckets)
    assert np.allclose(
        np.array(shown.plot.median, float), np.array(alert.plot.median, float), equal_nan=True
    )
    assert shown.plot.cdf_before == alert.plot.cdf_before
    assert plots.cdf_figure(shown).axes[0].get_xlabel().startswith("value (ms")
    assert plots.drawn(alert) == plots.drawn(alert) and plots.drawn(alert).unit == "ms"


def test_series_svg_carries_labels_and_change_as_text():
    svg = plots.to_svg(plots.series_figure(plots.drawn(_alert())))
    assert svg.startswith("<?xml") and "<svg" in svg
    for text in ("value (ms)", "change 2025-08-15", "median before", "median after", "p95"):
        assert text in svg


def test_cdf_is_log_scaled_for_exponential_buckets_and_linear_otherwise():
    timing, linear = _alert(0), _alert(4)
    ax = plots.cdf_figure(plots.drawn(timing)).axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "value (ms, log scale)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "before (median 43.5 ms)",
        "after (median 63.3 ms)",
    ]
    ax = plots.cdf_figure(plots.drawn(linear)).axes[0]
    assert ax.get_xscale() == "linear" and ax.get_xlabel() == "value (percent)"
    assert ax.get_ylabel().startswith("share of samples")


def test_exponential_buckets_are_told_apart_from_linear_ones():
    assert plots.exponential(list(TIMING_BUCKETS_MS))
    assert not plots.exponential(list(LINEAR_BUCKETS))
    assert not plots.exponential([0.0, 1.0])


def test_change_png_has_both_panels_and_is_deterministic():
    alert = _alert()
    figure = plots.change_figure(alert)
    assert len(figure.axes) == 2
    assert "regression: median 43.5 ms → 63.3 ms (+45.4%)" in figure.get_suptitle()
    png = plots.change_png(alert)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000
    assert plots.change_png(alert) == png
    assert plots.to_svg(plots.cdf_figure(plots.drawn(alert))) == plots.to_svg(
        plots.cdf_figure(plots.drawn(alert))
    )


def test_dollar_signs_in_names_and_units_stay_literal():
    alert = dataclasses.replace(_alert(), probe="a.$x^2$", unit="$ms$")
    svg = plots.to_svg(plots.change_figure(alert))
    assert "a.$x^2$" in svg and "value ($ms$)" in svg


def test_missing_plot_data_says_so_instead_of_failing():
    alert = dataclasses.replace(_alert(), plot=Plot())
    svg = plots.to_svg(plots.change_figure(alert))
    assert "no daily values recorded" in svg and "no distribution recorded" in svg


def test_gaps_break_the_daily_line():
    alert = _alert(1)  # one day has no data
    assert None in alert.plot.median
    ax = plots.series_figure(plots.drawn(alert)).axes[0]
    median = next(line for line in ax.get_lines() if line.get_label() == "median")
    assert sum(1 for v in median.get_ydata() if v != v) == 1  # NaN, not a bridged value


def test_the_bug_attachment_draws_the_plot_kept_in_state(tmp_path):
    """Alerts read back through the store (the plot from its own file) draw the same
    attachment as the alerts that were written."""
    from alerting.alerts.store import StateStore
    from tests.report_fixtures import write_state

    written = write_state(tmp_path)
    loaded = StateStore(tmp_path).alerts()
    for alert in written:
        assert loaded[alert.id].plot == alert.plot and not alert.plot.is_empty()
        assert plots.change_png(loaded[alert.id]) == plots.change_png(alert)


def _others(shown: plots.Drawn) -> list[plots.Drawn]:
    """Figures unlike `shown` in everything that differs between alerts: days, values and
    their range, units, colour, log or linear axes, missing data."""
    days = [(dt.date(2024, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(120)]
    wide = [float(10 ** (i % 7)) for i in range(120)]
    longer = dataclasses.replace(
        shown.plot,
        days=days,
        median=wide,
        p05=[v / 3 for v in wide],
        p95=[v * 3 for v in wide],
        buckets=list(LINEAR_BUCKETS),
        cdf_before=list(np.linspace(0, 1, len(LINEAR_BUCKETS))),
        cdf_after=list(np.linspace(0, 1, len(LINEAR_BUCKETS)) ** 2),
    )
    other = dataclasses.replace(
        shown, date=days[60], unit="a very long unit name", before_median=3e6, plot=longer
    )
    return [
        other,
        dataclasses.replace(other, kind="improvement"),
        dataclasses.replace(shown, plot=Plot()),
        *(plots.drawn(a) for a in sample_alerts()),
    ]


def _in_new_process(shown: list[plots.Drawn]) -> list[tuple[str, str]]:
    with ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        return list(pool.map(plots.page_svgs, shown))


def test_a_reused_page_figure_is_byte_identical_to_one_drawn_first_in_a_new_process():
    """Page figures reuse their artists within a process: nothing drawn before may show."""
    shown = [plots.drawn(a) for a in sample_alerts()]
    layouts = {
        (s.kind, plots._series_log(s.plot), plots.exponential(s.plot.buckets)) for s in shown
    }
    assert len(layouts) >= 4  # the alerts below do reuse figures drawn in other layouts
    first = _in_new_process(shown[:1])
    drawn = _in_new_process([*_others(shown[0]), *shown[::-1]])[-len(shown) :][::-1]
    assert drawn[0] == first[0]
    for one, svgs in zip(shown, drawn, strict=True):  # each the same as on new axes
        fresh = [plots.fresh_figure(draw, one) for draw in (plots.draw_series, plots.draw_cdfs)]
        assert svgs == tuple(plots.to_svg(fig) for fig in fresh)


def test_reused_page_figures_are_scaled_to_their_own_data():
    for other in _others(plots.drawn(sample_alerts()[0])):
        plots.page_svgs(other)
    for alert in sample_alerts():
        shown = plots.drawn(alert)
        low, high = plots.series_figure(shown).axes[0].get_ylim()
        values = [v for v in (*shown.plot.p05, *shown.plot.p95) if v is not None]
        assert low <= min(values) and max(values) <= high
        assert (high - low) < 1.5 * (max(values) - min(values))
        xlim = plots.cdf_figure(shown).axes[0].get_xlim()
        assert set(xlim) <= set(shown.plot.buckets)


def test_figures_of_huge_values_are_drawn_in_a_finite_unit():
    """Was: an inf factor (the value moved to its unit through inf), so every value drawn was
    inf or nan; the medians are now moved by the ratio of the units' sizes."""
    alert = _alert()
    huge = dataclasses.replace(
        alert,
        unit="ms",
        before=dataclasses.replace(alert.before, median=1e306),
        after=dataclasses.replace(alert.after, median=2e306),
    )
    shown = plots.drawn(huge)
    assert shown.unit == "s" and (shown.before_median, shown.after_median) == (1e303, 2e303)
    assert np.allclose(shown.plot.buckets, np.array(alert.plot.buckets) / 1e3)


def test_the_distribution_legend_gives_both_medians_in_the_axis_unit():
    """Was: `before (median 0.991 MiB)` beside `after (median 864 KiB)` on a MiB axis."""
    kib = 2.0**10
    alert = dataclasses.replace(
        _alert(),
        unit="B",
        before=dataclasses.replace(_alert().before, median=1015 * kib),
        after=dataclasses.replace(_alert().after, median=864 * kib),
        plot=dataclasses.replace(_alert().plot, buckets=[v * kib for v in _alert().plot.buckets]),
    )
    ax = plots.cdf_figure(plots.drawn(alert)).axes[0]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["before (median 0.991 MiB)", "after (median 0.844 MiB)"]
