"""The pure core of alerts: ids, classification, grouping, rendering and escaping."""

import re

import pytest

from alerting.alerts.classify import CHANGE, IMPROVEMENT, REGRESSION, classify
from alerting.alerts.grouping import assign_summaries
from alerting.alerts.ids import alert_id, is_same_change, whiteboard_marker
from alerting.alerts.markdown import escape_markdown, link
from alerting.alerts.model import Summary, Values
from alerting.alerts.render import bug_request, digest_markdown, digest_subject
from tests.alert_factory import make_alert


def test_alert_id_is_stable_and_depends_on_every_part():
    base = ("p.x", "Windows", "", "nightly", "2026-10-20")
    assert alert_id(*base) == alert_id(*base)
    assert len(alert_id(*base)) == 16
    variants = {alert_id(*base[:i], "other", *base[i + 1 :]) for i in range(len(base))}
    assert alert_id(*base) not in variants and len(variants) == len(base)


def test_small_date_drift_is_the_same_change():
    assert is_same_change("2026-10-20", "2026-10-22")
    assert is_same_change("2026-10-20", "2026-10-17")
    assert not is_same_change("2026-10-20", "2026-10-25")


@pytest.mark.parametrize(
    ("direction", "lower_is_better", "expected"),
    [
        ("up", True, REGRESSION),
        ("down", True, IMPROVEMENT),
        ("up", False, IMPROVEMENT),
        ("down", False, REGRESSION),
        ("up", None, CHANGE),
        ("down", None, CHANGE),
    ],
)
def test_classification_for_every_lower_is_better_case(direction, lower_is_better, expected):
    before, after = Values(10, 2, 50, 100), Values(12, 2.4, 60, 100)
    assert classify(direction, lower_is_better, before, after) == expected


def test_negligible_effect_is_a_generic_change():
    before, after = Values(10, 2, 50, 100), Values(10.05, 2, 50.1, 100)
    assert classify("up", True, before, after) == CHANGE


def test_alerts_within_a_day_share_a_summary_and_later_ones_join_it():
    a = make_alert(id="a", build_id="2026102009")
    b = make_alert(id="b", build_id="2026102021", platform="Linux")
    c = make_alert(id="c", build_id="2026102509", platform="Darwin")
    changed = assign_summaries([a, b, c], {}, {x.id: x for x in (a, b, c)})
    assert len(changed) == 2
    assert a.summary == b.summary != c.summary
    existing = {s.id: s for s in changed}
    d = make_alert(id="d", build_id="2026102103", platform="All")  # within a day of b
    again = assign_summaries([d], existing, {x.id: x for x in (a, b, c, d)})
    assert [s.id for s in again] == [a.summary]
    assert again[0].alerts == ["a", "b", "d"]


def test_summary_ids_do_not_depend_on_processing_order():
    a = make_alert(id="a", build_id="2026102009")
    b = make_alert(id="b", build_id="2026102010")
    first = assign_summaries([a, b], {}, {"a": a, "b": b})[0].id
    a2, b2 = make_alert(id="a", build_id="2026102009"), make_alert(id="b", build_id="2026102010")
    assert assign_summaries([b2, a2], {}, {"a": a2, "b": b2})[0].id == first
    assert isinstance(Summary.from_json(Summary(first, "2026-10-20").to_json()), Summary)


def test_bug_request_has_the_fields_bugzilla_needs():
    request = bug_request(make_alert(), "Time from AsyncOpen to first byte")
    assert request["summary"].startswith(
        "Telemetry Alert for networking.http_channel_page_open_to_first_sent on 2026-10-20"
    )
    assert (request["product"], request["component"]) == ("Core", "Networking")
    assert (
        request["type"] == "defect" and request["severity"] == "S4" and request["priority"] == "P5"
    )
    assert request["keywords"] == ["telemetry-alert", "regression"]
    assert request["whiteboard"] == whiteboard_marker("a1")
    assert request["flags"] == [
        {"name": "needinfo", "status": "?", "requestee": "owner@example.com"}
    ]
    assert request["cc"] == ["cc@example.com"]
    description = request["description"]
    assert "10.0 → 12.0" in description and "+20.0%" in description
    assert "Warning" not in description  # samples moved by 1 %
    assert "[pushes between the nightlies](https://hg.mozilla.org/" in description


def test_improvements_are_not_filed_as_regressions_and_volume_changes_warn():
    alert = make_alert(classification=IMPROVEMENT, after=Values(8, 1.5, 40, 14000))
    request = bug_request(alert)
    assert request["keywords"] == ["telemetry-alert"]
    assert "**Warning:** the number of samples changed by +40.0%" in request["description"]


def test_hostile_probe_names_and_descriptions_are_escaped():
    hostile = "evil<script>alert(1)</script>[click](javascript:x)|`rm`\n# heading"
    alert = make_alert(label=hostile, probe="p.q_<img src=x onerror=1>")
    text = bug_request(alert, description=hostile)["description"]
    digest = digest_markdown([alert], "2026-10-22")
    for rendered in (text, digest):
        assert not re.search(r"(?<!\\)[<>]", rendered)  # every angle bracket escaped
        assert "[click](javascript" not in rendered
        assert not re.search(r"(?<!\\)`", rendered)  # no code span can be opened
    assert "\n# heading" not in text
    assert "\\<script\\>" in text


def test_digest_subject_is_one_bounded_line():
    alerts = [make_alert(probe=f"cat.probe_{i}\r\nBcc: victim@example.com") for i in range(40)]
    subject = digest_subject(alerts, "2026-10-22")
    assert "\n" not in subject and "\r" not in subject and len(subject) <= 255


def test_links_only_for_http_targets():
    assert link("x", "javascript:alert(1)") == "x"
    assert link("a]", "https://example.com/(x)") == "[a\\]](https://example.com/%28x%29)"
    assert escape_markdown("a*b_c") == "a\\*b\\_c"


def test_values_and_units_are_spaced_and_unitless_probes_have_no_stray_space():
    digest = digest_markdown([make_alert()], "2026-10-22")
    assert "Median 10.0 → 12.0 millisecond (+20.0%)" in digest
    unitless = digest_markdown([make_alert(unit="")], "2026-10-22")
    assert "Median 10.0 → 12.0 (+20.0%)" in unitless
