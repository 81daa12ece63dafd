"""`alerting backtest`: what the changed probes' new configs would have alerted on over recent
days, next to what their configs at the base commit would have, on the same data.

Detection runs as of the last day over each monitored series; a detection counts when its
change starts inside the window. Old and new configs see identical series: data is loaded once
for the union of both sides' platforms and labels.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass, field

from alerting.alerts.ids import is_same_change
from alerting.alerts.markdown import escape_markdown
from alerting.data.model import DailySeries, SeriesKey
from alerting.detect.model import Detection
from alerting.detect.registry import get_technique
from alerting.probes.model import MonitorConfig
from alerting.review.mdtable import markdown_table
from alerting.settings import Settings, secret

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hit:
    """One detection a config would have alerted on."""

    probe: str
    platform: str
    label: str
    channel: str
    detection: Detection

    def same_change(self, other: Hit) -> bool:
        where = (self.probe, self.platform, self.label, self.channel)
        there = (other.probe, other.platform, other.label, other.channel)
        return where == there and is_same_change(
            self.detection.date.isoformat(), other.detection.date.isoformat()
        )


@dataclass
class ProbeBacktest:
    probe: str
    old: MonitorConfig | None
    new: MonitorConfig | None
    old_hits: list[Hit] = field(default_factory=list)
    new_hits: list[Hit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def only_old(self) -> list[Hit]:
        return [h for h in self.old_hits if not any(h.same_change(n) for n in self.new_hits)]

    @property
    def only_new(self) -> list[Hit]:
        return [h for h in self.new_hits if not any(h.same_change(o) for o in self.old_hits)]


def union_configs(pairs: list[tuple[MonitorConfig | None, MonitorConfig | None]]) -> list:
    """One config per probe covering both sides' platforms and labels, to load data once."""
    merged = []
    for old, new in pairs:
        base = new or old
        if base is None:
            continue
        sides = [c for c in (old, new) if c is not None]
        platforms = list(dict.fromkeys(p for c in sides for p in c.platforms))
        labels = None
        if all(c.labels is not None for c in sides):
            labels = list(dict.fromkeys(label for c in sides for label in c.labels))
        merged.append(dataclasses.replace(base, platforms=platforms, labels=labels))
    return merged


def config_hits(
    config: MonitorConfig,
    series: dict[SeriesKey, DailySeries],
    settings: Settings,
    start: dt.date,
    end: dt.date,
    notes: list[str],
) -> list[Hit]:
    """Detections of `config`'s technique and args, as of `end`, whose change starts in range."""
    from alerting.data.monitored import monitored_series

    technique = get_technique(config.technique)
    if technique is None:  # a valid config always names a known technique
        notes.append(f"{config.probe}: unknown technique {config.technique}")
        return []
    wanted, missing = monitored_series(series, settings.data.channels, config)
    notes += missing
    hits = []
    for platform, channel, key in wanted:
        try:
            detections = technique.detect(series[key].until(end), config.args)
        except Exception as error:  # one odd series must not hide the rest of the report
            log.debug("backtest detection failed on %s", key, exc_info=True)
            notes.append(f"{config.probe} {platform} {key.metric_key}: detection failed: {error}")
            continue
        hits += [
            Hit(config.probe, platform, key.metric_key, channel, d)
            for d in detections
            if start <= d.date <= end
        ]
    return hits


def backtest(
    pairs: list[tuple[MonitorConfig | None, MonitorConfig | None]],
    series: dict[SeriesKey, DailySeries],
    settings: Settings,
    start: dt.date,
    end: dt.date,
) -> list[ProbeBacktest]:
    results = []
    for old, new in pairs:
        probe = (new or old).probe
        result = ProbeBacktest(probe, old, new)
        if old is not None:
            result.old_hits = config_hits(old, series, settings, start, end, result.notes)
        if new is not None:
            result.new_hits = config_hits(new, series, settings, start, end, result.notes)
        result.notes = list(dict.fromkeys(result.notes))
        results.append(result)
    return results


def _cell(config: MonitorConfig | None, hits: list[Hit]) -> str:
    return "not monitored" if config is None else str(len(hits))


def backtest_markdown(
    results: list[ProbeBacktest], base: str, start: dt.date, end: dt.date, data_note: str
) -> str:
    days = (end - start).days + 1
    lines = [
        f"### Backtest: alerts over the last {days} days ({start} to {end})",
        "",
        data_note,
        "",
    ]
    if not results:
        lines.append("No probe changes monitoring, so there is nothing to backtest.")
        return "\n".join(lines) + "\n"
    rows = [
        (
            r.probe,
            _cell(r.old, r.old_hits),
            _cell(r.new, r.new_hits),
            len(r.only_old) if r.old and r.new else None,
            len(r.only_new) if r.old and r.new else None,
        )
        for r in results
    ]
    headers = ("probe", f"alerts at {base}", "alerts with this change", "no longer", "new")
    lines += [markdown_table(headers, rows), ""]
    detail = []
    for r in results:
        old_only, new_only = r.only_old, r.only_new
        for side, hits in (("base only", old_only), ("this change only", new_only)):
            detail += [_detail_row(h, side) for h in hits]
        detail += [_detail_row(h, "both") for h in r.new_hits if h not in new_only]
    if detail:
        detail.sort(key=lambda row: (row[0], row[1], row[2], row[3]))
        lines += [
            "#### Detections",
            "",
            markdown_table(
                ("probe", "platform", "label", "change starts", "direction", "score", "raised by"),
                detail,
            ),
            "",
        ]
    notes = [n for r in results for n in r.notes]
    if notes:
        lines += ["#### Notes", "", *(f"- {escape_markdown(n)}" for n in notes), ""]
    return "\n".join(lines)


def _detail_row(hit: Hit, side: str) -> tuple:
    d = hit.detection
    return (
        hit.probe,
        hit.platform,
        hit.label,
        d.date.isoformat(),
        d.direction,
        f"{d.score:.3g}",
        side,
    )


def data_settings(settings: Settings) -> tuple[Settings, str]:
    """The settings to load data with, and a sentence saying which data the backtest used.

    A pull request from a fork has no secrets: without credentials for BigQuery the backtest
    says so and uses the embedded sample data instead of failing.
    """
    source = settings.data.source
    if source == "bigquery" and not secret("GOOGLE_APPLICATION_CREDENTIALS"):
        sample = dataclasses.replace(settings.data, source="sample")
        return (
            dataclasses.replace(settings, data=sample),
            "No data credentials in this job (GOOGLE_APPLICATION_CREDENTIALS is not set), so "
            "this backtest uses the embedded sample data, not real GLAM data.",
        )
    if source == "sample":
        return settings, "Data: the embedded sample data (generated GLAM rows), not real data."
    if source == "files":
        return settings, f"Data: GLAM rows from {len(settings.data.paths)} configured file(s)."
    return settings, "Data: GLAM aggregates from BigQuery."


def backtest_command(args: argparse.Namespace) -> int:
    from alerting.data.source import load_series
    from alerting.review.baseline import base_and_current
    from alerting.review.diff import diff_configs
    from alerting.settings import load_settings

    configured = load_settings()
    old, new, problems = base_and_current(args.base, args.paths or None, configured)
    changed = diff_configs(old, new, problems).changed_probes
    before = {c.probe: c for c in old}
    after = {c.probe: c for c in new}
    pairs = [(before.get(p), after.get(p)) for p in changed]
    settings, data_note = data_settings(configured)
    series = load_series(settings, union_configs(pairs)) if pairs else {}
    end = args.date or max((s.end for s in series.values() if s.n_days), default=dt.date.today())
    start = end - dt.timedelta(days=args.days - 1)
    results = backtest(pairs, series, settings, start, end)
    print(backtest_markdown(results, args.base, start, end, data_note), end="")
    return 0
