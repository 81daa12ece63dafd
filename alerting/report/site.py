"""The static dashboard: index, one page per alert, per summary and per probe, with plots.

Everything is rendered by Jinja2 with autoescaping, from view dictionaries built here; only
http(s) links are ever emitted. The site needs no server and no network (filters are a small
local script), so it works from GitHub Pages and from a file:// checkout alike. Output is a
pure function of `state/`, so an unchanged state rebuilds byte-identical files.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from alerting.alerts.describe import (
    build_text,
    delivery_text,
    explanation,
    how_sure,
    http_url,
    page_name,
    platform_text,
    series_text,
    unit_shown,
)
from alerting.alerts.model import QUIET_STATUSES, STATUS_RESOLVED, Alert, Summary
from alerting.alerts.render import same_range, values_table
from alerting.errors import UserError, writing_to
from alerting.numbers import format_change, format_value
from alerting.report import plots
from alerting.report.figures import FOLDER, update_figures
from alerting.report.records import load_records
from alerting.terminal import printable

STATIC_FILES = ("style.css", "filter.js")
MARKER = ".alerting-report"  # marks a directory this command may clean and rewrite
# The keys `alerting.alerts.pushes.links` and delivery write, in the order people use them.
LINK_TITLES = {
    "bug": "Bug",
    "plot": "Plot on the bug",
    "treeherder": "Treeherder push",
    "treeherder_range": "Treeherder range",
    "pushlog": "Pushlog",
    "glam": "GLAM",
}
ALWAYS_SHOWN = ("bug", "treeherder", "treeherder_range", "pushlog", "glam")  # "none" if missing
RANGE_LINKS = ("treeherder_range", "pushlog")  # shared by the alerts of one push range


@dataclass
class SiteResult:
    alerts: int = 0
    pages: int = 0
    drawn: int = 0  # figure files drawn; the others were kept from the earlier report
    reused: int = 0
    skipped: list[str] = field(default_factory=list)


def newest_first(alerts: list[Alert]) -> list[Alert]:
    ordered = sorted(alerts, key=lambda a: (a.probe, a.label, a.platform, a.channel, a.id))
    return sorted(ordered, key=lambda a: a.date, reverse=True)


def status_text(alert: Alert) -> str:
    if alert.status == STATUS_RESOLVED and alert.resolution:
        return f"{alert.status} ({alert.resolution})"
    return alert.status


def _row(alert: Alert, root: str, summaries: set[str]) -> dict:
    """One alert as the tables show it; hrefs relative to the page at `root`."""
    return {
        "id": alert.id,
        "date": alert.date,
        "probe": alert.probe,
        "label": alert.label,
        "platform": alert.platform,  # the filter's value
        "platform_text": platform_text(alert.platform),
        "channel": alert.channel,
        "classification": explanation(alert).kind,
        "status": alert.status,
        "status_text": status_text(alert),
        "quiet": alert.status in QUIET_STATUSES,  # greyed, with the entry's reason
        "reason": alert.reason,
        "change": format_change(alert.before.median, alert.after.median, alert.unit),
        "bug": alert.bug,
        "bug_url": http_url(alert.links.get("bug")),
        "delivery": delivery_text(alert),
        "volume": bool(explanation(alert).volume),
        "href": f"{root}alerts/{page_name(alert.id)}.html",
        "probe_href": f"{root}probes/{page_name(alert.probe)}.html",
        "summary_href": (
            f"{root}summaries/{page_name(alert.summary)}.html"
            if alert.summary in summaries
            else None
        ),
    }


def _links(links: dict, keys: tuple[str, ...] = tuple(LINK_TITLES)) -> list[dict]:
    """Known links in a fixed order; only http(s) URLs become links, and the essential ones
    are listed as unavailable when missing so their absence is visible."""
    shown = []
    for key in keys:
        url = http_url(links.get(key))
        if url or key in ALWAYS_SHOWN:
            shown.append({"name": LINK_TITLES[key], "url": url})
    return shown


def _shown(value: object) -> object:
    """Every text the pages print: bidi overrides and invisible characters (from a label in
    the data, say) shown as escapes, so a name cannot reorder or imitate another."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return printable(value)
    return value


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("alerting.report", "templates"),
        finalize=_shown,
        autoescape=True,  # templates are *.html.j2, which select_autoescape would not match
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _filters(alerts: list[Alert]) -> dict[str, list[tuple[str, str]]]:
    """Each filter's (value, text) options; the value is what the rows carry."""
    platforms = sorted({a.platform for a in alerts})
    return {
        "status": [(s, s) for s in sorted({a.status for a in alerts})],
        "platform": [(p, platform_text(p)) for p in platforms],
        "classification": [(k, k) for k in sorted({explanation(a).kind for a in alerts})],
    }


def _prepare(out_dir: Path, state_dir: Path) -> None:
    """An empty directory or an earlier report (whose stale pages are removed); anything else
    is refused, so a mistyped `--out` can never delete `state/` or a source tree. The earlier
    report's figures stay for `update_figures` to reuse."""
    resolved = out_dir.resolve()
    if resolved == state_dir.resolve() or state_dir.resolve() in resolved.parents:
        raise UserError(f"{out_dir}: the report cannot be written inside the state directory")
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir}: exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
        raise UserError(
            f"{out_dir}: not empty and not an earlier report (no {MARKER}); "
            "choose an empty or new directory"
        )
    for sub in ("alerts", "summaries", "probes"):  # pages of deleted records go away
        shutil.rmtree(out_dir / sub, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER).write_text("written by `alerting report`; safe to rebuild\n")


def build_site(
    state_dir: Path | str, out_dir: Path | str, thresholds: Mapping[str, float] | None = None
) -> SiteResult:
    """Write the whole site to `out_dir`; unreadable records are skipped and listed. Each
    probe's `thresholds` (see `alerting.alerts.thresholds`) are what its pages say how sure a
    change is at; a probe without one is said to be at the default's."""
    thresholds = thresholds or {}
    state_dir, out_dir = Path(state_dir), Path(out_dir)
    records = load_records(state_dir)
    env = _environment()
    alerts = newest_first(records.alerts)
    summaries = sorted(records.summaries, key=lambda s: (s.date, s.id), reverse=True)
    summary_ids = {s.id for s in summaries}
    by_id = {a.id: a for a in alerts}
    owned = {s.id: _members(s, by_id) for s in summaries}
    by_probe: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_probe.setdefault(alert.probe, []).append(alert)
    result = SiteResult(alerts=len(alerts), skipped=list(records.problems))

    with writing_to(out_dir):  # a folder that cannot be written: a clear error
        _prepare(out_dir, state_dir)
        static = resources.files("alerting.report") / "static"
        for name in STATIC_FILES:
            (out_dir / name).write_bytes((static / name).read_bytes())

        def render(path: str, template: str, root: str, **context) -> None:
            html = env.get_template(template).render(root=root, **context)
            _write(out_dir / path, html)
            result.pages += 1

        render(
            "index.html",
            "index.html.j2",
            "",
            rows=[_row(a, "", summary_ids) for a in alerts],
            filters=_filters(alerts),
            summaries=[
                {
                    "id": s.id,
                    "date": s.date,
                    "count": _count(s, owned[s.id][1]),
                    "href": f"summaries/{page_name(s.id)}.html",
                }
                for s in summaries
            ],
            probes=[
                {"name": p, "count": len(a), "href": f"probes/{page_name(p)}.html"}
                for p, a in sorted(by_probe.items())
            ],
            skipped=result.skipped,
        )
        figures = update_figures(out_dir, [plots.drawn(a) for a in alerts])
        result.drawn, result.reused = figures.drawn, figures.reused
        for alert, (series_file, cdf_file) in zip(alerts, figures.names, strict=True):
            name = page_name(alert.id)
            render(
                f"alerts/{name}.html",
                "alert.html.j2",
                "../",
                alert=alert,
                row=_row(alert, "../", summary_ids),
                title=plots.title(alert),
                explained=explanation(alert),
                build=build_text(alert),
                values=values_table(alert),
                unit=unit_shown(alert),  # the figures' unit, which their alt texts name
                links=_links(alert.links),
                series_svg=f"../{FOLDER}/{series_file}",
                cdf_svg=f"../{FOLDER}/{cdf_file}",
                score=format_value(alert.score),
                sure=how_sure(alert, thresholds.get(alert.probe)),
            )
        for summary in summaries:
            members, elsewhere = owned[summary.id]
            render(
                f"summaries/{page_name(summary.id)}.html",
                "summary.html.j2",
                "../",
                summary=summary,
                count=_count(summary, elsewhere),
                ranges=_ranges(summary, members, summary_ids),
                missing=[i for i in summary.alerts if i not in by_id],
                elsewhere=sorted(elsewhere.items()),
            )
        for probe, history in sorted(by_probe.items()):
            render(
                f"probes/{page_name(probe)}.html",
                "probe.html.j2",
                "../",
                probe=probe,
                rows=[_row(a, "../", summary_ids) for a in history],
                glam=_glam_links(history),
            )
    return result


def _members(summary: Summary, by_id: dict[str, Alert]) -> tuple[list[Alert], dict[str, list[str]]]:
    """The listed alerts whose own record names this summary, and the other summary ids
    named by the rest (a hand edit): an alert is shown on the page of its own summary only,
    so it never appears twice."""
    members: list[Alert] = []
    elsewhere: dict[str, list[str]] = {}
    for alert in (by_id[i] for i in summary.alerts if i in by_id):
        if alert.summary == summary.id:
            members.append(alert)
        else:
            elsewhere.setdefault(alert.summary, []).append(alert.id)
    return members, elsewhere


def _count(summary: Summary, elsewhere: dict[str, list[str]]) -> int:
    """The alerts a summary lists, less those recorded in another one."""
    return len(summary.alerts) - sum(len(ids) for ids in elsewhere.values())


def _ranges(summary: Summary, members: list[Alert], summary_ids: set[str]) -> list[dict]:
    """The summary's alerts grouped by their push range, each group with its own range and
    links (taken from its alerts), so a page never shows one range and links another."""
    groups: list[list[Alert]] = []
    for alert in newest_first(members):
        group = next((g for g in groups if same_range(g[0], alert)), None)
        if group is None:
            groups.append([alert])
        else:
            group.append(alert)
    return [
        {
            "push": group[0].push_range,
            "links": _links(group[0].links, RANGE_LINKS),
            "rows": [_row(a, "../", summary_ids) for a in group],
        }
        for group in groups
    ]


def _glam_links(history: list[Alert]) -> list[dict]:
    """One GLAM link per series (platform and label) of a probe."""
    seen: dict[str, str] = {}
    for alert in history:
        url = http_url(alert.links.get("glam"))
        series = series_text(alert.platform, alert.channel)
        series += f" [{alert.label}]" if alert.label else ""
        if url and series not in seen:
            seen[series] = url
    return [{"name": name, "url": url} for name, url in sorted(seen.items())]
