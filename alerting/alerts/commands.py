"""`alerting alerts list|show`: the alerts in `state/`, readable."""

from __future__ import annotations

import argparse
import json
import sys

from alerting.cliargs import add_command, add_group, add_root, state_dir
from alerting.errors import UserError


def register(subparsers) -> None:
    alerts = add_group(subparsers, "alerts", "list and show alerts in state/")
    listing = add_command(alerts, "list", "list alerts, newest first", list_command)
    listing.add_argument(
        "--status",
        metavar="STATUS",
        help=f"only alerts with this status: {', '.join(status_choices())} (open: still new, "
        "as the run counts them), or resolved with this Bugzilla resolution: "
        f"{', '.join(RESOLUTIONS)} (any case)",
    )
    listing.add_argument("--json", action="store_true", help="JSON array instead of a table")
    add_root(listing)
    show = add_command(
        alerts, "show", "show one alert: what changed, where, what happened", show_command
    )
    show.add_argument("id", help="alert id (a unique prefix is enough)")
    show.add_argument("--json", action="store_true", help="the whole record as JSON")
    add_root(show)


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


def _load(args: argparse.Namespace):
    from alerting.alerts.store import StateStore

    store = StateStore(state_dir(args))
    alerts = store.alerts()
    for error in store.errors:
        print(f"alerting: warning: {error}", file=sys.stderr)
    return alerts


# Bugzilla's resolutions (a resolved alert carries the bug's).
RESOLUTIONS = (
    "fixed",
    "wontfix",
    "invalid",
    "worksforme",
    "duplicate",
    "incomplete",
    "inactive",
    "moved",
)
# Words the product prints for a set of statuses: the run ends with "N alerts (M open)",
# counting the alerts still `new` (not resolved, silenced or expected).
STATUS_ALIASES = {"open": "new"}


def known_statuses() -> list[str]:
    """Every alert status the model defines, so a new one is accepted without listing it here."""
    from alerting.alerts import model

    return sorted({v for k, v in vars(model).items() if k.startswith("STATUS_")})


def status_choices() -> list[str]:
    """What `--status` takes besides resolutions: the aliases, then the statuses."""
    return [*STATUS_ALIASES, *known_statuses()]


def _matches_status(alert, wanted: str) -> bool:
    wanted = STATUS_ALIASES.get(wanted, wanted)
    return wanted in (alert.status, alert.resolution.lower())


def list_command(args: argparse.Namespace) -> int:
    from alerting.alerts.describe import delivery_text, explanation
    from alerting.alerts.digest import one_line
    from alerting.alerts.model import newest_first
    from alerting.numbers import format_change
    from alerting.textable import format_table

    alerts = newest_first(_load(args).values())
    if args.status:
        wanted = args.status.lower()
        resolutions = {a.resolution.lower() for a in alerts if a.resolution}
        if wanted not in {*status_choices(), *RESOLUTIONS, *resolutions}:
            raise UserError(
                f"unknown status {args.status!r}; use one of {', '.join(status_choices())} "
                f"or a resolution ({', '.join(RESOLUTIONS)})"
            )
        alerts = [a for a in alerts if _matches_status(a, wanted)]
    if args.json:
        rows = [{k: a.to_json()[k] for k in ALERT_KEYS} for a in alerts]
        print(json.dumps(rows, indent=2, sort_keys=True))
        return 0
    headers = ("DATE", "PROBE", "LABEL", "PLATFORM", "KIND", "MEDIAN", "STATUS", "DELIVERY", "ID")
    rows = [
        (
            a.date,
            one_line(a.probe),
            one_line(a.label) or "-",
            one_line(a.platform),
            explanation(a).kind,
            format_change(a.before.median, a.after.median, one_line(a.unit)),
            a.resolution or a.status,
            delivery_text(a),
            a.id,
        )
        for a in alerts
    ]
    if rows:
        print(format_table(headers, rows))
    elif args.status:
        print(f"no alerts with status {args.status}")
    else:
        print("no alerts yet: `alerting run` creates them")
    return 0


def show_command(args: argparse.Namespace) -> int:
    from alerting.alerts.show import alert_text

    alerts = _load(args)
    matches = [a for key, a in alerts.items() if key.startswith(args.id)]
    if not matches:
        raise UserError(f"no alert with id {args.id!r}; `alerting alerts list` shows the ids")
    if len(matches) > 1:
        ids = ", ".join(sorted(a.id for a in matches))
        raise UserError(f"{args.id!r} starts {len(matches)} alert ids ({ids}); give more of the id")
    if args.json:
        print(json.dumps(matches[0].to_json(), indent=2, sort_keys=True, ensure_ascii=False))
        return 0
    from alerting.alerts.thresholds import command_thresholds
    from alerting.settings import load_settings

    settings = load_settings(args.root)
    alert = matches[0]
    threshold = command_thresholds(args, settings).get(alert.probe)
    print(alert_text(alert, settings, threshold))
    return 0
