"""`alerting alerts list|show`: the alerts in `state/`, readable."""

from __future__ import annotations

import argparse
import json
import sys

from alerting.cliargs import add_command, add_group
from alerting.errors import UserError


def register(subparsers) -> None:
    alerts = add_group(subparsers, "alerts", "list and show alerts in state/")
    listing = add_command(alerts, "list", "list alerts, newest first", list_command)
    listing.add_argument(
        "--status", help="only alerts with this status (new, resolved, silenced, expected)"
    )
    listing.add_argument("--json", action="store_true", help="JSON array instead of a table")
    listing.add_argument("--state", default="state", help="state directory (default: state)")
    show = add_command(alerts, "show", "show one alert as JSON", show_command)
    show.add_argument("id", help="alert id (a unique prefix is enough)")
    show.add_argument("--state", default="state", help="state directory (default: state)")


ALERT_KEYS = (
    "id",
    "probe",
    "metric",
    "platform",
    "label",
    "channel",
    "date",
    "build_id",
    "direction",
    "classification",
    "status",
    "resolution",
    "bug",
    "summary",
    "push_range",
    "delivery",
    "delivery_state",
    "unit",
    "before",
    "after",
)


def _load(state: str):
    from alerting.alerts.store import StateStore

    store = StateStore(state)
    alerts = store.alerts()
    for error in store.errors:
        print(f"alerting: warning: {error}", file=sys.stderr)
    return alerts


def list_command(args: argparse.Namespace) -> int:
    alerts = sorted(_load(args.state).values(), key=lambda a: (a.date, a.id), reverse=True)
    if args.status:
        alerts = [a for a in alerts if a.status == args.status]
    if args.json:
        rows = [{k: a.to_json()[k] for k in ALERT_KEYS} for a in alerts]
        print(json.dumps(rows, indent=2, sort_keys=True))
        return 0
    from alerting.numbers import format_value
    from alerting.textable import format_table

    headers = ("DATE", "PROBE", "LABEL", "PLATFORM", "CLASS", "MEDIAN", "STATUS", "BUG", "ID")
    rows = [
        (
            a.date,
            a.probe,
            a.label or "-",
            a.platform,
            a.classification,
            f"{format_value(a.before.median)} → {format_value(a.after.median, a.unit)}",
            a.resolution or a.status,
            a.bug or f"{a.delivery}: {a.delivery_state}",
            a.id,
        )
        for a in alerts
    ]
    print(format_table(headers, rows) if rows else "no alerts")
    return 0


def show_command(args: argparse.Namespace) -> int:
    alerts = _load(args.state)
    matches = [a for key, a in alerts.items() if key.startswith(args.id)]
    if len(matches) != 1:
        found = "no alert" if not matches else f"{len(matches)} alerts"
        raise UserError(f"{found} with id {args.id!r} in {args.state}/alerts")
    print(json.dumps(matches[0].to_json(), indent=2, sort_keys=True, ensure_ascii=False))
    return 0
