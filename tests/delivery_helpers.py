"""Alerts, settings and a crash for the delivery tests."""

from __future__ import annotations

from alerting.alerts.model import DELIVERY_BUG, Alert, PushRange, Values
from alerting.delivery.bugzilla import BugzillaClient
from alerting.settings import Settings
from tests.alert_factory import make_alert as factory_alert
from tests.doubles.bugzilla import API_KEY


class Crash(BaseException):
    """The process dying mid-step: not an Exception, so no step may swallow it."""


def make_alert(
    alert_id: str,
    *,
    delivery: str = DELIVERY_BUG,
    recipients: tuple[str, ...] = ("owner@example.com", "cc@example.com"),
    probe: str = "networking.http_channel_page_open_to_first_sent",
    summary: str = "s-1",
    bug: int | None = None,
    product: str = "Core",
    component: str = "Networking: HTTP",
) -> Alert:
    metric = probe.replace(".", "_")
    return factory_alert(
        id=alert_id,
        probe=probe,
        metric=metric,
        date="2025-01-01",
        build_id="20250101093000",
        score=3.5,
        score_meaning="distance between the CDFs",
        unit="ms",
        before=Values(10.0, 2.0, 40.0, 1000.0),
        after=Values(14.0, 3.0, 55.0, 1010.0),
        summary=summary,
        delivery=delivery,
        recipients=list(recipients),
        bug=bug,
        bugzilla_product=product,
        bugzilla_component=component,
        push_range=PushRange(
            "20241231093000", "20250101093000", "20250102093000", "a" * 40, "b" * 40
        ),
        links={
            "treeherder": f"https://treeherder.mozilla.org/jobs?repo=mozilla-central&revision={'b' * 40}",
            "treeherder_range": "https://treeherder.mozilla.org/jobs?repo=mozilla-central"
            f"&fromchange={'a' * 40}&tochange={'b' * 40}",
            "pushlog": "https://hg.mozilla.org/mozilla-central/pushloghtml?startdate=2024-12-31&enddate=2025-01-02",
            "glam": f"https://glam.telemetry.mozilla.org/fog/probe/{metric}",
        },
    )


def settings_for(url: str = "https://bugzilla.mozilla.org", cap: int = 50) -> Settings:
    settings = Settings()
    settings.delivery.mode = "live"
    settings.bugzilla.url = url
    settings.email.cap = cap
    return settings


def client_for(url: str, key: str = API_KEY, **kwargs) -> BugzillaClient:
    """Fast retries and a short read timeout, so injected hangs cost half a second."""
    options = {"retries": 3, "backoff": 0.0, "timeout": (2.0, 0.5)}
    options.update(kwargs)
    return BugzillaClient(url, key, **options)


def fake_png(alert: Alert) -> bytes:
    """Stands in for the plot where the test is about filing, not drawing."""
    return b"\x89PNG\r\n\x1a\n" + alert.id.encode()
