"""Deterministic identities, so the same change is never alerted twice."""

from __future__ import annotations

import datetime as dt
import hashlib

# A technique may place one change a little differently as data arrives (or a rerun uses a
# slightly different history window); detections of one series this close are one change.
SAME_CHANGE_DAYS = 3
# Largest bug number: Bugzilla's ids are signed 64-bit integers, and a record must hold only
# numbers every JSON reader (and the state check) takes as they are.
MAX_BUG_ID = (1 << 63) - 1


def alert_id(probe: str, platform: str, label: str, channel: str, change_date: str) -> str:
    """A short stable id from what makes a change unique (not from when it was seen)."""
    key = "\x1f".join((probe, platform, label, channel, change_date))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def summary_id(first_alert_id: str) -> str:
    return "s" + hashlib.sha256(first_alert_id.encode("ascii")).hexdigest()[:15]


def series_id(probe: str, platform: str, label: str, channel: str) -> str:
    """Human-readable key of one monitored series, used in `state/probes/` and logs."""
    return "/".join((probe, platform, label or "-", channel))


def is_same_change(date_a: str, date_b: str) -> bool:
    a, b = dt.date.fromisoformat(date_a), dt.date.fromisoformat(date_b)
    return abs((a - b).days) <= SAME_CHANGE_DAYS


def whiteboard_marker(alert: str) -> str:
    """The Bugzilla whiteboard tag that makes filing exactly-once: before creating a bug the
    delivery step searches for it and adopts a bug that already carries it."""
    return f"[telemetry-alert:{alert}]"


def push_range_marker(alert: str) -> str:
    """Carried by the comment that adds a push range found after filing, so it is posted once
    (the bug's own text never carries it)."""
    return f"[telemetry-alert:{alert} push range]"
