"""What a change to `probes/silences.yaml` does, for the pull request's job summary: which
entries it adds and removes, and which alerts already in `state/` and which of the backtest's
detections each added entry covers.

Entries apply when an alert is created, so alerts already in `state/` keep their status; the
lists show what the entry is about, so a reviewer sees whether it is too broad or too narrow.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from alerting.alerts.model import Alert
from alerting.probes.silences import Change, Rule, Silence, Silences, describe
from alerting.review.backtest import Hit
from alerting.review.mdtable import markdown_table


@dataclass
class SilencesDiff:
    added: list[Rule] = field(default_factory=list)
    removed: list[Rule] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed)


def _identity(rule: Rule) -> Rule:
    """An entry apart from where it is written: moving it is not a change."""
    return dataclasses.replace(rule, file="", line=0)


def diff_silences(old: Silences, new: Silences) -> SilencesDiff:
    before = {_identity(r) for r in (*old.expected, *old.silences)}
    after = {_identity(r) for r in (*new.expected, *new.silences)}
    return SilencesDiff(
        added=[r for r in (*new.expected, *new.silences) if _identity(r) not in before],
        removed=[r for r in (*old.expected, *old.silences) if _identity(r) not in after],
    )


def alert_change(alert: Alert) -> Change:
    date = dt.date.fromisoformat(alert.date)
    return Change(alert.probe, alert.platform, alert.label, alert.channel, date, alert.direction)


def hit_change(hit: Hit) -> Change:
    d = hit.detection
    return Change(hit.probe, hit.platform, hit.label, hit.channel, d.date, d.direction)


def _kind(rule: Rule) -> str:
    return "silence" if isinstance(rule, Silence) else "expected change"


def _entry(rule: Rule) -> str:
    return f"{_kind(rule)} at line {rule.line}"


def silences_markdown(
    diff: SilencesDiff,
    base: str,
    alerts: list[Alert],
    hits: list[Hit],
    window: str,
    note: str = "",
) -> str:
    """The section; `hits` are the backtest's detections over `window` for the probes the
    added entries name, on the data `note` describes."""
    lines = [f"### Silences and expected changes against {base}", ""]
    lines += [
        f"{len(diff.added)} entr{'y' if len(diff.added) == 1 else 'ies'} added, "
        f"{len(diff.removed)} removed. Entries apply to alerts created from now on: silenced "
        "alerts are kept but nobody is notified; an expected change is reported as a comment on "
        "its bug instead of a new bug or email. Alerts already in state/ keep their status.",
        "",
    ]
    ordered_alerts = sorted(alerts, key=lambda a: (a.probe, a.platform, a.label, a.date, a.id))
    covered = [(r, [a for a in ordered_alerts if r.covers(alert_change(a))]) for r in diff.added]
    detected = [(r, [h for h in hits if r.covers(hit_change(h))]) for r in diff.added]
    if diff.added:
        rows = [
            (_kind(r), describe(r), r.reason, f"{r.file}:{r.line}", len(a), len(h))
            for (r, a), (_, h) in zip(covered, detected, strict=True)
        ]
        headers = ("kind", "entry", "reason", "defined at", "alerts in state/", "detections")
        lines += ["#### Added", "", markdown_table(headers, rows), ""]
    alert_rows = [
        (_entry(r), a.probe, a.platform, a.label or None, a.date, a.direction, a.status, a.id)
        for r, found in covered
        for a in found
    ]
    if alert_rows:
        headers = ("entry", "probe", "platform", "label", "change starts", "direction")
        lines += [
            "#### Alerts in state/ the added entries cover",
            "",
            markdown_table((*headers, "status", "alert"), alert_rows),
            "",
        ]
    hit_rows = [
        (
            _entry(r),
            h.probe,
            h.platform,
            h.label or None,
            h.detection.date.isoformat(),
            h.detection.direction,
            f"{h.detection.score:.3g}",
        )
        for r, found in detected
        for h in found
    ]
    if diff.added:
        lines += [f"#### Backtest detections the added entries cover ({window})", ""]
        lines += [note, ""] if note else []
        if hit_rows:
            headers = ("entry", "probe", "platform", "label", "change starts", "direction")
            lines += [markdown_table((*headers, "score"), hit_rows), ""]
        else:
            lines += ["None.", ""]
    if diff.removed:
        rows = [(_kind(r), describe(r), r.reason) for r in diff.removed]
        lines += ["#### Removed", "", markdown_table(("kind", "entry", "reason"), rows), ""]
    return "\n".join(lines)
