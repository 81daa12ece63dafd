"""How an alert is named wherever people read it: its explanation, its build, its delivery
state and its dashboard pages. Bugs, digests, the dashboard and the terminal call these, so
they never disagree."""

from __future__ import annotations

import hashlib
import math
import re
from urllib.parse import urlsplit

from alerting.alerts.classify import IMPROVEMENT, REGRESSION, Explanation, explain
from alerting.alerts.model import (
    COMMENTED,
    DELIVERY_BUG,
    DELIVERY_COMMENT,
    DELIVERY_EMAIL,
    DRAFTED,
    FILED,
    PENDING,
    PUSH_RANGE_UNKNOWN,
    SENT,
    SILENCED,
    STATUS_EXPECTED,
    STATUS_SILENCED,
    Alert,
    PushRange,
)
from alerting.detect.model import DEFAULT_MIN_EFFECT, DEFAULT_THRESHOLD
from alerting.numbers import format_value, shared_unit
from alerting.probes.model import ALL_PLATFORMS
from alerting.probes.silences import MAX_SILENCE_DAYS

STRICTER_THRESHOLD = 0.99  # the example of a less sensitive setting owners are given

# What the built-in techniques' scores measure, in owners' words.
_MOVED = {
    "cdf_squared": "the distribution moved {score} times its usual day-to-day noise",
    "quantile_steps": "a percentile (p05 to p99) moved {score} times its usual day-to-day noise",
}


def explanation(alert: Alert) -> Explanation:
    """The alert's explanation. Records written before the probe's goal was kept get it back
    from their stored verdict and direction (a regression that went up: lower is better)."""
    goal = alert.lower_is_better
    if goal is None and alert.classification in (REGRESSION, IMPROVEMENT):
        goal = (alert.direction == "up") == (alert.classification == REGRESSION)
    return explain(alert.before, alert.after, goal, alert.unit)


def unit_shown(alert: Alert) -> str:
    """The one unit an alert's values are shown in, wherever they are (its change, its table
    of quantiles, its figures' axes): the unit its medians read best in."""
    return shared_unit(alert.unit, alert.before.median, alert.after.median)


def chance_alerts(threshold: float) -> str:
    """How often a series without any change alerts by chance at `threshold`, the chance it
    stays silent for a year: `about once in 33 years` (0.97), `about 2.3 times a year` (0.1).
    Chance alerts come at about -ln(threshold) a year (the detector's budget)."""
    if threshold >= 1.0:
        return "never"
    per_year = -math.log(max(threshold, 1e-12))
    years = 1.0 / per_year
    if years >= 9.5:
        return f"about once in {years:,.0f} years"
    if years >= 1.05:
        return f"about once in {years:.2g} years"
    if per_year < 1.05:
        return "about once a year"
    return f"about {per_year:.2g} times a year"


def how_sure(alert: Alert, threshold: float | None = None) -> str:
    """How far the change is beyond the series' usual noise, and what the probe's threshold
    (`None`: not known where the text is made, so the default's) means in false alerts."""
    moved = _MOVED.get(alert.technique)
    score = format_value(alert.score)
    if moved:
        moved = moved.format(score=score)
    else:
        moved = f"{alert.technique} scored {score} ({alert.score_meaning})"
    if threshold is None:
        setting = (
            f"at the default threshold ({DEFAULT_THRESHOLD:g}; the probe's own setting is not "
            "known here)"
        )
    else:
        setting = f"at this probe's threshold ({threshold:g})"
    return (
        f"{moved}; {setting}, a series without any change alerts by chance "
        f"{chance_alerts(DEFAULT_THRESHOLD if threshold is None else threshold)}"
    )


def tuning() -> dict[str, str]:
    """What the "to silence or tune" paragraphs of bugs and digests quote, from the
    detectors' and `probes/silences.yaml`'s own limits."""
    return {
        "threshold": f"{DEFAULT_THRESHOLD:g}",
        "chance": chance_alerts(DEFAULT_THRESHOLD),
        "stricter": f"{STRICTER_THRESHOLD:g}",
        "stricter_chance": chance_alerts(STRICTER_THRESHOLD).removeprefix("about "),
        "min_effect": f"{DEFAULT_MIN_EFFECT:g}",
        "min_effect_percent": f"{DEFAULT_MIN_EFFECT:.0%}",
        "silence_days": str(MAX_SILENCE_DAYS),
    }


def build_text(alert: Alert) -> str:
    """One form of the build everywhere: the nightly's 14-digit build id when known (the
    push range's, so it matches the range shown next to it; or the data's own), else the hour
    the data gives, said to be only that."""
    push = alert.push_range
    if len(push.build) == 14 and push.to_rev:
        return push.build
    build = alert.build_id
    if len(build) == 14:
        return build
    if len(build) == 10 and build.isdigit():
        return f"{build}, known to the hour only"
    return build or "unknown"


def range_follows(push: PushRange) -> bool:
    """Whether later runs look for the push range again: its build was not found (or hg not
    read); a build found without a nightly before it, or a sample build, stays as it is."""
    return not push.to_rev and not push.sample


def no_range(alert: Alert) -> str:
    """Why the alert has no push range, in words ("" when it has one): the reason recorded
    when it was created, or that hg lists no nightly before its build."""
    push = alert.push_range
    if push.from_rev and push.to_rev:
        return ""
    if not range_follows(push):
        return "hg's list of nightly builds has no nightly before this build"
    recorded = [e.detail for e in alert.history if e.event == PUSH_RANGE_UNKNOWN and e.detail]
    return recorded[-1] if recorded else "no nightly matching this build was found"


def range_build(alert: Alert) -> str:
    """The build the pushes before it are to be looked through: the nightly's id when known,
    else the data's (perhaps only its hour)."""
    return alert.push_range.build or alert.build_id


def delivery_text(alert: Alert) -> str:
    """`bug 1234 (filed)`, `bug drafted (outbox)`, `email sent`, ... the same on the
    dashboard and in `alerting alerts list`."""
    if alert.delivery_state == SILENCED:
        return "silenced, not delivered"
    if alert.delivery == DELIVERY_COMMENT:
        on = f"comment on bug {alert.bug}"
        return {COMMENTED: on, DRAFTED: f"{on} drafted (outbox)"}.get(
            alert.delivery_state, f"{on} {alert.delivery_state}"
        )
    if alert.delivery == DELIVERY_BUG:
        if alert.bug:
            return f"bug {alert.bug}" + (" (filed)" if alert.delivery_state == FILED else "")
        return {DRAFTED: "bug drafted (outbox)", PENDING: "bug pending"}.get(
            alert.delivery_state, f"bug {alert.delivery_state}"
        )
    if alert.delivery_state == SENT:
        return "email sent"
    if alert.delivery_state == DRAFTED:
        return "email drafted (outbox)"
    if alert.notified:
        return f"email sent to {len(alert.notified)} of {len(alert.recipients)}"
    return f"email {alert.delivery_state}"


_UNTIL = re.compile(r"until ([0-9]{4}-[0-9]{2}-[0-9]{2})")


def silenced_until(alert: Alert) -> str:
    """The last day of the silence that covered the alert, as its history recorded it."""
    found = [_UNTIL.match(e.detail) for e in alert.history if e.event == SILENCED]
    return next((m[1] for m in reversed(found) if m), "")


def reported_as(alert: Alert) -> str:
    """How an alert reaches people, said where another alert's bug lists it: only an alert
    with a bug of its own gets linked under See Also."""
    if alert.status == STATUS_SILENCED:
        until = silenced_until(alert)
        return f"silenced{f' until {until}' if until else ''} (probes/silences.yaml), no bug"
    if alert.status == STATUS_EXPECTED or alert.delivery == DELIVERY_COMMENT:
        return f"an expected change, reported on bug {alert.bug}" if alert.bug else "expected"
    if alert.delivery == DELIVERY_EMAIL:
        return "reported by email to the probe's owners, no bug"
    if alert.bug:
        return f"its own bug {alert.bug}, linked under See Also"
    return "its own bug, linked under See Also"


def page_name(key: str) -> str:
    """A file name for a record id: the id itself when it is plain, else a slug plus a hash so
    that ids differing only in odd characters still get distinct pages."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._") or "_"
    if slug == key and len(slug) <= 150:
        return slug
    return f"{slug[:120]}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def alert_page(base_url: str, alert_id: str) -> str:
    """The alert's dashboard page under the dashboard's address `base_url`."""
    return f"{base_url.rstrip('/')}/alerts/{page_name(alert_id)}.html"


def summary_page(base_url: str, summary_id: str) -> str:
    return f"{base_url.rstrip('/')}/summaries/{page_name(summary_id)}.html"


def platform_text(platform: str) -> str:
    """A platform as owners read it: GLAM's all-OS aggregate (stored as `All`) is `all
    platforms`."""
    return "all platforms" if platform == ALL_PLATFORMS else platform


def series_text(platform: str, channel: str) -> str:
    """`Windows nightly`, `nightly (all platforms)`."""
    if platform == ALL_PLATFORMS:
        return f"{channel} ({platform_text(platform)})"
    return f"{platform} {channel}"


def where(alert: Alert) -> str:
    """`networking.x [label] on Windows nightly`, `... on nightly (all platforms)`."""
    label = f" [{alert.label}]" if alert.label else ""
    return f"{alert.probe}{label} on {series_text(alert.platform, alert.channel)}"


def http_url(url: object) -> str | None:
    """The URL if it is an absolute http(s) link; `javascript:`, `data:` etc. never become
    links on a page or in a mail."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None
