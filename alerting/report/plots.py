"""The two pictures of a change, drawn from an alert's `Plot` record alone.

(a) the daily median with its p05..p95 band over time, the change date marked, and
(b) the distribution before and after as CDFs. People decide from these whether a change is
real, so both are in the probe's own unit, labelled, and scaled so the change fills the view.
Figures are built without pyplot and saved deterministically, so re-running the report on
unchanged state gives identical files. The alert pages' figures are drawn by artists made
once per layout and process and given each alert's data (most of a figure's cost is making
artists, not drawing them): a process draws one page figure at a time, never in threads.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.ticker as ticker  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.collections import FillBetweenPolyCollection, LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.legend import Legend  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from alerting.alerts.describe import explanation, platform_text, unit_shown  # noqa: E402
from alerting.alerts.model import Alert, Plot  # noqa: E402
from alerting.numbers import format_change, format_value, in_unit  # noqa: E402

# Colour of the "after" data by what the change means for users.
AFTER_COLOURS = {"regression": "#c62828", "improvement": "#2e7d32", "change": "#ef6c00"}
BEFORE_COLOUR = "#1f5fa8"
DETERMINISTIC = {"svg.hashsalt": "alerting-report", "svg.fonttype": "none"}
# Log axes when the data spans this many times from smallest to largest value.
LOG_SPAN = 20.0
PANEL_SIZE = (7.2, 4.6)  # inches, one panel of an alert page
PANEL_LEFT, PANEL_RIGHT, PANEL_TOP = 1.1, 0.4, 0.35  # margins in inches
_PLACEHOLDER_DAY = dt.date(2000, 1, 1)  # panels are made before they are given data


@dataclass(frozen=True)
class Drawn:
    """Everything an alert page's two figures show, and nothing else: a hash of it names the
    figure files, so a figure is drawn again only when what it shows has changed."""

    kind: str  # regression, improvement or change: the colour of the "after" data
    date: str  # the change day
    unit: str
    before_median: float
    after_median: float
    plot: Plot

    def medians(self) -> tuple[float, float]:
        return self.before_median, self.after_median


def drawn(alert: Alert) -> Drawn:
    """What an alert's figures show, times and sizes in the unit its medians read best in
    (the axes of a 19,319,200 ns median are in ms, as its table is)."""
    kind = explanation(alert).kind
    before, after = alert.before.median, alert.after.median
    unit = unit_shown(alert)
    if unit == alert.unit:
        return Drawn(kind, alert.date, unit, before, after, alert.plot)

    def moved(*values: float | None) -> list[float | None]:
        return [None if v is None else in_unit(v, alert.unit, unit) for v in values]

    return Drawn(kind, alert.date, unit, *moved(before, after), _scaled(alert.plot, moved))


def _scaled(plot: Plot, moved: Callable[..., list[float | None]]) -> Plot:
    """The plot's values (not its shares) in another unit, each moved by `moved`."""
    return Plot(
        days=plot.days,
        median=moved(*plot.median),
        p05=moved(*plot.p05),
        p95=moved(*plot.p95),
        buckets=moved(*plot.buckets),
        cdf_before=plot.cdf_before,
        cdf_after=plot.cdf_after,
    )


def title(alert: Alert) -> str:
    """One line naming the series and the change, shared by the figures and the pages."""
    label = f" [{alert.label}]" if alert.label else ""
    return f"{alert.probe}{label} · {platform_text(alert.platform)} · {alert.channel}"


def change_line(alert: Alert) -> str:
    median = format_change(alert.before.median, alert.after.median, alert.unit)
    return f"{explanation(alert).kind}: median {median}"


def axis_label(unit: str, log: bool = False) -> str:
    """`value (ms)`, `value (ms, log scale)`; unitless counts read `value (log scale)`."""
    notes = [n for n in (unit, "log scale" if log else "") if n]
    return f"value ({', '.join(notes)})" if notes else "value"


def _floats(values: list[float | None]) -> np.ndarray:
    """Gaps (None) become NaN so lines break there instead of bridging missing days."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _wide_range(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return finite.size > 0 and finite.min() > 0 and finite.max() / finite.min() >= LOG_SPAN


def exponential(buckets: list[float]) -> bool:
    """Buckets that grow by a factor (Glean timing/memory) rather than a step (linear custom
    distributions): their ratios vary less than their differences."""
    positive = np.array([b for b in buckets if b > 0], dtype=float)
    if positive.size < 3:
        return False
    steps, ratios = np.diff(positive), positive[1:] / positive[:-1]
    spread = lambda v: float(np.std(v) / np.mean(v))  # noqa: E731
    return spread(ratios) < spread(steps)


def _plain(legend: Legend) -> None:
    """Units and labels come from probe definitions: a `$` must not switch on mathtext."""
    for text in legend.get_texts():
        text.set_parse_math(False)


def _log_axis(axis, low: float, high: float) -> None:
    """A log axis labelled in plain numbers (1, 2, 5, 10, ...) instead of powers of ten."""
    decades = np.log10(high / low) if low > 0 and high > low else 0.0
    subs = (1.0,) if decades > 3 else (1.0, 2.0, 5.0)
    axis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: format_value(v)))
    axis.set_minor_locator(ticker.NullLocator())  # unlabelled marks: most of a figure's artists


def _title(ax: Axes, text: str) -> None:
    """A panel title at the top left. Placed at a fixed height: left to itself, matplotlib
    measures every tick label at each save to see whether the title must move up (it never
    must here: no labels above the axes)."""
    ax.set_title(text, loc="left", fontsize=11, y=1.0)


def _no_data(ax: Axes, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} recorded", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


@dataclass
class SeriesPanel:
    """The daily-values panel's artists. Made once per layout (colour of the change, log or
    linear values) and given each alert's data by `show_series`: making the axes, their ticks
    and the legend is about a third of a figure's cost, and nothing else differs."""

    ax: Axes
    band: FillBetweenPolyCollection
    median: Line2D
    p05: Line2D
    p95: Line2D
    before: LineCollection  # the median before, a wide bar under the daily line
    after: LineCollection
    change: Line2D
    after_span: Rectangle
    change_label: Text  # in the legend


def series_panel(ax: Axes, kind: str, log: bool) -> SeriesPanel:
    """The artists with placeholder data; `show_series` replaces every value they show."""
    after_colour = AFTER_COLOURS.get(kind, "#6a1b9a")
    _title(ax, "Daily median, p05 and p95")
    day, ones = [_PLACEHOLDER_DAY, _PLACEHOLDER_DAY + dt.timedelta(days=1)], [1.0, 1.0]
    band = ax.fill_between(day, ones, ones, color="#9e9e9e", alpha=0.25, linewidth=0)
    (median,) = ax.plot(
        day, ones, color="#212121", linewidth=2, marker="o", markersize=3, label="median"
    )
    (p05,) = ax.plot(day, ones, color="#616161", linewidth=1, linestyle=(0, (1, 1.5)), label="p05")
    (p95,) = ax.plot(day, ones, color="#616161", linewidth=1, linestyle=(0, (4, 2)), label="p95")
    # The before/after medians as wide translucent bars under the daily line: the step.
    level = {"linewidth": 6, "alpha": 0.45, "zorder": 1.5}
    before = ax.hlines(1.0, *day, colors=BEFORE_COLOUR, **level)
    after = ax.hlines(1.0, *day, colors=after_colour, **level)
    ax.plot([], [], color=BEFORE_COLOUR, linewidth=6, alpha=0.45, label="median before")
    ax.plot([], [], color=after_colour, linewidth=6, alpha=0.45, label="median after")
    change = ax.axvline(day[0], color=after_colour, linewidth=1.5, linestyle="--")
    after_span = ax.axvspan(*day, color=after_colour, alpha=0.06, linewidth=0)
    ax.plot([], [], color=after_colour, linestyle="--", label="change")
    if log:
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=8))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))
    ax.set_xlabel("day (build date)")
    ax.grid(True, which="major", color="#e0e0e0", linewidth=0.8)
    # Below the axes: inside, it would hide the data of whichever corner it picked.
    legend = ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=6, fontsize=8)
    _plain(legend)
    return SeriesPanel(
        ax, band, median, p05, p95, before, after, change, after_span, legend.get_texts()[-1]
    )


def show_series(panel: SeriesPanel, shown: Drawn) -> None:
    """Daily median and p05..p95 band over time, the change day and the before/after levels."""
    plot, ax = shown.plot, panel.ax
    days = np.array([dt.date.fromisoformat(d) for d in plot.days])
    median, p05, p95 = _floats(plot.median), _floats(plot.p05), _floats(plot.p95)
    change = dt.date.fromisoformat(shown.date)
    first, last = days[0], days[-1] + dt.timedelta(days=1)
    panel.band.set_data(days, p05, p95)
    for line, values in ((panel.median, median), (panel.p05, p05), (panel.p95, p95)):
        line.set_data(days, values)
    x_first, x_change, x_last = ax.convert_xunits([first, change, last])
    panel.before.set_segments([[(x_first, shown.before_median), (x_change, shown.before_median)]])
    panel.after.set_segments([[(x_change, shown.after_median), (x_last, shown.after_median)]])
    panel.change.set_xdata([change, change])
    panel.after_span.set_x(x_change)
    panel.after_span.set_width(x_last - x_change)
    panel.change_label.set_text(f"change {shown.date}")
    values = np.concatenate([median, p05, p95])
    if ax.get_yscale() == "log":
        _log_axis(ax.yaxis, np.nanmin(values), np.nanmax(values))
    ax.set_xlim(first, last)
    ax.relim()
    ax.autoscale_view(scalex=False)
    ax.set_ylabel(axis_label(shown.unit), parse_math=False)


def draw_series(ax: Axes, shown: Drawn) -> None:
    """The daily-values panel of one alert on fresh axes."""
    if not shown.plot.days:
        _title(ax, "Daily median, p05 and p95")
        _no_data(ax, "daily values")
        return
    show_series(series_panel(ax, shown.kind, _series_log(shown.plot)), shown)


def _series_log(plot: Plot) -> bool:
    return _wide_range(np.concatenate([_floats(plot.median), _floats(plot.p05), _floats(plot.p95)]))


def _interesting(buckets: np.ndarray, before: np.ndarray, after: np.ndarray) -> tuple[int, int]:
    """Index range where either CDF is between 0.1% and 99.9%, so the change fills the axis."""
    lower = np.minimum(before, after)
    upper = np.maximum(before, after)
    start = int(np.argmax(upper > 0.001)) if (upper > 0.001).any() else 0
    done = np.nonzero(lower >= 0.999)[0]
    stop = int(done[0]) + 1 if done.size else len(buckets) - 1
    return max(start - 1, 0), min(max(stop, start + 1), len(buckets) - 1)


@dataclass
class CdfPanel:
    """The distribution panel's artists, made once per layout like `SeriesPanel`."""

    ax: Axes
    before: Line2D
    after: Line2D
    before_median: Line2D
    after_median: Line2D
    before_label: Text  # in the legend
    after_label: Text


def cdf_panel(ax: Axes, kind: str, log: bool) -> CdfPanel:
    """The artists with placeholder data; `show_cdfs` replaces every value they show."""
    after_colour = AFTER_COLOURS.get(kind, "#6a1b9a")
    _title(ax, "Distribution before and after (CDF)")
    step = {"where": "post", "linewidth": 2}
    (before,) = ax.step([1.0, 2.0], [0.0, 1.0], color=BEFORE_COLOUR, label="before", **step)
    (after,) = ax.step([1.0, 2.0], [0.0, 1.0], color=after_colour, label="after", **step)
    ax.axhline(0.5, color="#9e9e9e", linewidth=0.8, linestyle=":")
    medians = [
        ax.axvline(1.0, color=colour, linewidth=0.8, linestyle=":")
        for colour in (BEFORE_COLOUR, after_colour)
    ]
    if log:
        ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("share of samples ≤ value")
    ax.grid(True, which="major", color="#e0e0e0", linewidth=0.8)
    legend = ax.legend(
        [before, after],
        ["before", "after"],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16),
        ncols=2,
    )
    _plain(legend)
    return CdfPanel(ax, before, after, *medians, *legend.get_texts())


def show_cdfs(panel: CdfPanel, shown: Drawn) -> None:
    """Share of samples at or below each value, before and after: a shift right means larger."""
    plot, ax = shown.plot, panel.ax
    n = min(len(plot.buckets), len(plot.cdf_before), len(plot.cdf_after))
    buckets = np.array(plot.buckets[:n], dtype=float)
    before, after = _floats(plot.cdf_before[:n]), _floats(plot.cdf_after[:n])
    log = ax.get_xscale() == "log"
    if log:  # a log axis cannot show the zero bucket
        keep = buckets > 0
        buckets, before, after = buckets[keep], before[keep], after[keep]
    panel.before.set_data(buckets, before)
    panel.after.set_data(buckets, after)
    panel.before_median.set_xdata([shown.before_median] * 2)
    panel.after_median.set_xdata([shown.after_median] * 2)
    if buckets.size > 1:
        lo, hi = _interesting(buckets, before, after)
        ax.set_xlim(buckets[lo], buckets[hi])
        if log:
            _log_axis(ax.xaxis, buckets[lo], buckets[hi])
    else:  # nothing to zoom on: the data and the medians decide
        ax.set_autoscalex_on(True)
        ax.relim()
        ax.autoscale_view(scaley=False)
    ax.set_xlabel(axis_label(shown.unit, log), parse_math=False)
    before, after = (format_value(v, shown.unit, shown.unit) for v in shown.medians())
    panel.before_label.set_text(f"before (median {before})")
    panel.after_label.set_text(f"after (median {after})")


def draw_cdfs(ax: Axes, shown: Drawn) -> None:
    """The distribution panel of one alert on fresh axes."""
    if not _has_cdfs(shown.plot):
        _title(ax, "Distribution before and after (CDF)")
        _no_data(ax, "distribution")
        return
    show_cdfs(cdf_panel(ax, shown.kind, exponential(shown.plot.buckets)), shown)


def _has_cdfs(plot: Plot) -> bool:
    return min(len(plot.buckets), len(plot.cdf_before), len(plot.cdf_after)) > 0


def _panel(bottom: float) -> Figure:
    """A one-panel page figure with fixed margins (inches): room for the widest tick labels
    our numbers take and for the legend below the axes. A layout engine would fit them
    exactly, but costs two more passes over every artist, most of a report's time."""
    width, height = PANEL_SIZE
    fig = Figure(figsize=PANEL_SIZE, dpi=100)
    fig.subplots_adjust(
        left=PANEL_LEFT / width,
        right=1 - PANEL_RIGHT / width,
        top=1 - PANEL_TOP / height,
        bottom=bottom / height,
    )
    return fig


@cache
def _page_panel(which: str, kind: str, log: bool) -> SeriesPanel | CdfPanel:
    """One figure per layout and process, reused for every alert page drawn there."""
    make = series_panel if which == "series" else cdf_panel
    return make(_panel(bottom=1.05).add_subplot(), kind, log)  # room: tick and axis labels, legend


def fresh_figure(draw: Callable[[Axes, Drawn], None], shown: Drawn) -> Figure:
    """An alert page's figure on new axes: `draw_series` or `draw_cdfs`."""
    fig = _panel(bottom=1.05)
    draw(fig.add_subplot(), shown)
    return fig


def series_figure(shown: Drawn) -> Figure:
    """The alert page's daily-values figure. The figure is reused: it shows this alert until
    the next call."""
    if not shown.plot.days:
        return fresh_figure(draw_series, shown)
    panel = _page_panel("series", shown.kind, _series_log(shown.plot))
    show_series(panel, shown)
    return panel.ax.figure


def cdf_figure(shown: Drawn) -> Figure:
    """The alert page's distribution figure, reused like `series_figure`'s."""
    if not _has_cdfs(shown.plot):
        return fresh_figure(draw_cdfs, shown)
    panel = _page_panel("cdf", shown.kind, exponential(shown.plot.buckets))
    show_cdfs(panel, shown)
    return panel.ax.figure


def page_svgs(shown: Drawn) -> tuple[str, str]:
    """The alert page's two figures as SVG text (the unit of work of a report worker)."""
    return to_svg(series_figure(shown)), to_svg(cdf_figure(shown))


def change_figure(alert: Alert) -> Figure:
    """Both panels under one title: the picture attached to a bug."""
    fig = Figure(figsize=(13, 5.4), dpi=100, layout="constrained")
    series_ax, cdf_ax = fig.subplots(1, 2, width_ratios=[1.25, 1])
    shown = drawn(alert)
    draw_series(series_ax, shown)
    draw_cdfs(cdf_ax, shown)
    fig.suptitle(f"{title(alert)} — {change_line(alert)}", fontsize=12, parse_math=False)
    return fig


def to_svg(fig: Figure) -> str:
    """SVG text; text stays text (searchable, small), no date, stable ids."""
    buffer = io.StringIO()
    with matplotlib.rc_context(DETERMINISTIC):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def to_png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def change_png(alert: Alert) -> bytes:
    """The combined figure as PNG bytes (the Bugzilla attachment)."""
    return to_png(change_figure(alert))
