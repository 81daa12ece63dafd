"""Reading `state/` for the report (through `StateStore`), so a broken record costs only itself.

The dashboard is how people notice that something is wrong, so one hand-edited or truncated
alert file must not take the whole site down: it is reported (file and what is wrong) and
left out, and every other alert is still published.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from alerting.alerts.model import Alert, Summary
from alerting.alerts.store import StateStore
from alerting.errors import UserError


@dataclass
class Records:
    alerts: list[Alert] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "FILE: what is wrong"


def _check_alert(alert: Alert) -> None:
    """What the pages and plots rely on beyond the record's schema (which the store checks)."""
    for name in ("median", "p05", "p95", "samples"):
        for values in (alert.before, alert.after):
            if not isinstance(getattr(values, name), int | float):
                raise ValueError(f"before/after {name} must be a number")
    if not math.isfinite(float(alert.score)):
        raise ValueError("score must be a finite number")


def load_records(state_dir: Path) -> Records:
    """Every alert and summary that can be read and drawn.

    A deployment without alerts yet gets an empty site; it is fatal only when there are alert
    files and none of them can be shown."""
    alerts_dir = state_dir / "alerts"
    if not state_dir.is_dir():
        raise UserError(
            f"{state_dir}: no such state directory (pass --root DIR, the alerting repository)"
        )
    store = StateStore(state_dir, dry_run=True)
    records = Records(summaries=sorted(store.summaries().values(), key=lambda s: s.id))
    for alert in sorted(store.alerts().values(), key=lambda a: a.id):
        try:
            _check_alert(alert)
        except (TypeError, ValueError) as error:
            path = alerts_dir / f"{alert.id}.json"
            store.errors.append(f"{path}: alert {alert.id!r} cannot be shown: {error}")
            continue
        records.alerts.append(alert)
    records.problems = list(store.errors)
    if not records.alerts and records.problems:  # every alert unreadable: nothing to show
        found = "".join(f"\n  {problem}" for problem in records.problems)
        raise UserError(
            f"{alerts_dir}: no readable alerts (expected {alerts_dir}/<id>.json, written by the "
            f"daily run){found}"
        )
    return records
