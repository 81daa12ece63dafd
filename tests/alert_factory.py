"""One realistic alert for tests, with any field overridden."""

from __future__ import annotations

from alerting.alerts.classify import REGRESSION
from alerting.alerts.model import Alert, PushRange, Values


def make_alert(**overrides) -> Alert:
    values = dict(
        id="a1",
        probe="networking.http_channel_page_open_to_first_sent",
        metric="networking_http_channel_page_open_to_first_sent",
        metric_type="timing_distribution",
        platform="Windows",
        label="",
        channel="nightly",
        app="fog",
        date="2026-10-20",
        build_id="2026102009",
        direction="up",
        classification=REGRESSION,
        lower_is_better=True,
        technique="cdf_squared",
        score=9.5,
        score_meaning="noise widths",
        unit="millisecond",
        before=Values(10.0, 2.0, 50.0, 10000),
        after=Values(12.0, 2.5, 60.0, 10100),
        summary="s1",
        delivery="bug",
        recipients=["owner@example.com", "cc@example.com"],
        bugzilla_product="Core",
        bugzilla_component="Networking",
        push_range=PushRange(
            "20261019094512", "20261020094512", "20261021094512", "a" * 40, "b" * 40
        ),
        links={
            "treeherder": "https://treeherder.mozilla.org/jobs?repo=mozilla-central&revision="
            + "b" * 40,
            "treeherder_range": "https://treeherder.mozilla.org/jobs?repo=mozilla-central&fromchange=x&tochange=y",
            "pushlog": "https://hg.mozilla.org/mozilla-central/pushloghtml?startdate=2026-10-19&enddate=2026-10-21",
            "glam": "https://glam.telemetry.mozilla.org/fog/probe/x/explore?os=Windows",
        },
    )
    values.update(overrides)
    return Alert(**values)
