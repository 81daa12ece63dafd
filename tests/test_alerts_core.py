"""The pure core of alerts: ids, classification, grouping, rendering and escaping."""

import re
from types import SimpleNamespace

import pytest

from alerting.alerts.classify import CHANGE, IMPROVEMENT, REGRESSION, classify, explain
from alerting.alerts.digest import digest_markdown, digest_subject, digest_text
from alerting.alerts.grouping import assign_summaries
from alerting.alerts.ids import alert_id, is_same_change, whiteboard_marker
from alerting.alerts.markdown import escape_markdown, link
from alerting.alerts.model import PushRange, Summary, Values
from alerting.alerts.render import bug_request, run_summary
from alerting.settings import Settings
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
    ("after", "lower_is_better", "expected"),
    [
        (Values(12, 2.4, 60, 100), True, REGRESSION),
        (Values(8, 1.6, 40, 100), True, IMPROVEMENT),
        (Values(12, 2.4, 60, 100), False, IMPROVEMENT),
        (Values(8, 1.6, 40, 100), False, REGRESSION),
        (Values(12, 2.4, 60, 100), None, CHANGE),
        (Values(8, 1.6, 40, 100), None, CHANGE),
    ],
)
def test_classification_for_every_lower_is_better_case(after, lower_is_better, expected):
    assert classify(lower_is_better, Values(10, 2, 50, 100), after) == expected


def test_negligible_effect_is_a_generic_change():
    before, after = Values(10, 2, 50, 100), Values(10.05, 2, 50.1, 100)
    assert classify(True, before, after) == CHANGE
    assert "each moved by 1% or less" in explain(before, after, True).what
    # Shown as +1.0% in the table below the sentence: the words must not say "less than 1%".
    edge = explain(Values(100, 20, 200, 100), Values(101, 20.2, 202, 100), True)
    assert edge.what == "p05, median and p95 each moved by 1% or less"


def test_a_median_that_did_not_move_is_never_the_reason():
    """Was: "590 → 590 (+0.0%)" called a regression from the detector's direction alone."""
    explained = explain(Values(590, 100, 2000, 100), Values(590, 100, 1700, 100), True, "ms")
    assert explained.kind == IMPROVEMENT
    assert explained.what == "p95 fell 15.0% (2.00 s → 1.70 s)"
    assert explained.sentence.endswith("lower is better, so an improvement.")
    unknown = explain(Values(590, 100, 2000, 100), Values(590, 100, 1700, 100), None, "ms")
    assert unknown.kind == CHANGE and "(lower_is_better), so a change" in unknown.why


def test_a_mixed_picture_says_so_and_names_what_got_worse():
    """Was: throughput (higher is better) called a regression from its median, which rose."""
    before, after = Values(488, 146, 1627, 7349), Values(501, 190, 1324, 6935)
    explained = explain(before, after, False, "mbps")
    assert explained.kind == CHANGE and explained.mixed
    assert "p95 fell 18.6% (1,627 mbps → 1,324 mbps)" in explained.what
    assert "p05 rose 30.1%" in explained.what and "median" not in explained.what
    assert explained.why == (
        "higher is better, so a mixed picture: better at the low end, worse at the top"
    )
    worse = explain(before, Values(488, 146, 1324, 7349), False, "mbps")
    assert worse.kind == REGRESSION and worse.why == "higher is better, so a regression"


def test_volume_warning_comes_with_the_explanation():
    explained = explain(Values(10, 2, 50, 1000), Values(12, 2, 60, 290), True)
    assert explained.volume.startswith("samples per day fell 71.0%")
    assert not explain(Values(10, 2, 50, 1000), Values(12, 2, 60, 900), True).volume


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
    assert "median rose 20.0% (10.0 millisecond → 12.0 millisecond)" in description
    assert "| median | 10.0 millisecond | 12.0 millisecond | +20.0% |" in description
    assert "lower is better, so a regression." in description
    assert "Warning" not in description  # samples moved by 1 %
    assert "[pushes between the nightlies](https://hg.mozilla.org/" in description
    assert "(build 20261020094512)" in description  # the nightly's 14 digits, as on its page


def test_bug_description_says_how_to_handle_it_whom_to_ask_and_what_else_moved():
    settings = Settings()
    settings.help.docs = "https://docs.example.org/alerts"
    settings.help.contact = "Ask in #alerts."
    settings.report.url = "https://dash.example.org/site/"
    alert = make_alert(id="a1", summary="s1")
    same = make_alert(id="a2", platform="Darwin", summary="s1")
    nearby = make_alert(id="a3", platform="Linux", summary="s1")
    nearby.push_range.from_rev = "c" * 40
    text = bug_request(alert, "", settings, [same, nearby])["description"]
    assert "[how to handle telemetry alerts](https://docs.example.org/alerts)" in text
    assert "a day before or after" in text
    assert "Ask in \\#alerts." in text
    assert "(https://dash.example.org/site/alerts/a1.html)" in text
    assert "(https://dash.example.org/site/summaries/s1.html)" in text
    assert (
        "on Darwin nightly](https://dash.example.org/site/alerts/a2.html): regression, same push range"
        in text
    )
    assert (
        "on Linux nightly](https://dash.example.org/site/alerts/a3.html): regression, a push range within a day"
        in text
    )


def test_one_build_id_form_everywhere():
    """Was: `2026100215` in a bug and `20261002150000` on its page."""
    from alerting.alerts.describe import build_text
    from alerting.alerts.model import PushRange

    assert build_text(make_alert()) == "20261020094512"  # the nightly's, from hg
    unmapped = make_alert(push_range=PushRange(build="2026102009"))
    assert build_text(unmapped) == "2026102009, known to the hour only"
    sample = make_alert(push_range=PushRange(build="20261020090000", to_rev="b" * 40, sample=True))
    assert build_text(sample) == "20261020090000"  # the (stand-in) nightly of its push range
    assert (
        build_text(make_alert(build_id="20261006033436", push_range=PushRange()))
        == "20261006033436"
    )


def test_improvements_are_not_filed_as_regressions_and_volume_changes_warn():
    alert = make_alert(classification=IMPROVEMENT, after=Values(8, 1.5, 40, 14000))
    request = bug_request(alert)
    assert request["keywords"] == ["telemetry-alert"]
    assert "**Warning:** samples per day rose 40.0%" in request["description"]


def test_hostile_probe_names_and_descriptions_are_escaped():
    hostile = "evil<script>alert(1)</script>[click](javascript:x)|`rm`\n# heading"
    alert = make_alert(label=hostile, probe="p.q_<img src=x onerror=1>")
    text = bug_request(alert, description=hostile)["description"]
    digest = digest_markdown([alert], "2026-10-22", Settings())
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
    digest = digest_text([make_alert()], "2026-10-22", Settings())
    assert "median rose 20.0% (10.0 millisecond → 12.0 millisecond)" in digest
    unitless = digest_text([make_alert(unit="")], "2026-10-22", Settings())
    assert "median rose 20.0% (10.0 → 12.0)" in unitless


def test_delivery_words_for_every_way_an_alert_goes_out():
    from alerting.alerts.describe import delivery_text
    from alerting.alerts.model import COMMENTED, DRAFTED, FILED, PENDING, SENT, SILENCED

    assert delivery_text(make_alert(delivery_state=PENDING)) == "bug pending"
    assert delivery_text(make_alert(delivery_state=DRAFTED)) == "bug drafted (outbox)"
    assert delivery_text(make_alert(delivery_state=FILED, bug=5)) == "bug 5 (filed)"
    email = dict(delivery="email", recipients=["a@x.org", "b@x.org"])
    assert delivery_text(make_alert(**email, delivery_state=SENT)) == "email sent"
    partly = make_alert(**email, notified=["a@x.org"])
    assert delivery_text(partly) == "email sent to 1 of 2"
    assert delivery_text(make_alert(delivery_state=SILENCED)) == "silenced, not delivered"
    comment = dict(delivery="comment", bug=9)
    assert delivery_text(make_alert(**comment, delivery_state=DRAFTED)) == (
        "comment on bug 9 drafted (outbox)"
    )
    assert delivery_text(make_alert(**comment, delivery_state=COMMENTED)) == "comment on bug 9"


def test_the_run_summary_lists_new_alerts_newest_first_like_alerts_list():
    days = ("2025-01-03", "2025-01-09", "2025-01-05")
    alerts = [make_alert(id=f"a{i}", date=day) for i, day in enumerate(days)]
    result = SimpleNamespace(
        date="2025-01-10", mode="outbox", dry_run=False, steps=[], created=alerts, errors=[]
    )
    result.expiring = result.quarantined = []
    rows = [line for line in run_summary(result).splitlines() if line.startswith("| 2025-")]
    assert [row.split(" | ")[0] for row in rows] == ["| 2025-01-09", "| 2025-01-05", "| 2025-01-03"]


def test_the_run_summary_escapes_markdown_for_github_and_not_for_a_terminal():
    alert = make_alert(id="a1", probe="crash_metrics.crash_count", label="a|b\nc\x1b[31m")
    result = SimpleNamespace(
        date="2025-01-10", mode="outbox", dry_run=False, steps=[], created=[alert], errors=[]
    )
    result.expiring = result.quarantined = []
    markdown, plain = run_summary(result), run_summary(result, plain=True)
    assert "crash\\_metrics.crash\\_count" in markdown and "a\\|b c" in markdown
    assert "| crash_metrics.crash_count | a|b c\\x1b[31m |" in plain
    assert "\x1b" not in plain


def test_a_bug_without_push_range_says_why_and_does_not_promise_one_that_never_comes():
    """Was: "not known yet (no previous nightly found …); a later run adds it" whatever the
    cause, though a build hg lists without a nightly before it is never looked up again."""
    first = make_alert(
        push_range=PushRange(build="20261020094512", to_rev="b" * 40),
        links={"treeherder": "https://treeherder.mozilla.org/jobs?revision=" + "b" * 40},
    )
    description = bug_request(first)["description"]
    assert (
        "- Push range: unknown (hg's list of nightly builds has no nightly before this build)."
        in description
    )
    assert "a later run" not in description and "follows in a comment" not in description
    assert "Without a push range, look at the pushes before build 20261020094512" in description
    assert "most likely in this range" not in description
    unlisted = make_alert(push_range=PushRange(build="2026102009"), links={})
    unlisted.record(
        "2026-10-25", "push range unknown", "hg's list of nightly builds did not have it"
    )
    description = bug_request(unlisted)["description"]
    assert (
        "Push range: not known yet (hg's list of nightly builds did not have it when this alert "
        "was made); a later run looks for it again" in description
    )


def test_the_all_os_aggregate_reads_all_platforms_to_owners():
    """Was: "on All nightly" in the bug, the digest and `alerts show`, "(All)" in the bug's
    summary. The stored value and the id keep `All`."""
    from alerting.alerts.show import alert_text

    alert = make_alert(platform="All", label="h2", delivery="email", summary="s1")
    request = bug_request(alert)
    assert request["summary"].endswith("on 2026-10-20 (all platforms, h2)")
    assert "(label h2) on nightly (all platforms), starting 2026-10-20" in request["description"]
    other = make_alert(id="a2", platform="All", summary="s1")
    assert (
        "on nightly (all platforms)](" in bug_request(make_alert(), others=[other])["description"]
    )
    digest = digest_text([alert], "2026-10-25", Settings())
    assert (
        "networking.http_channel_page_open_to_first_sent [h2] on nightly (all platforms)" in digest
    )
    shown = alert_text(alert, Settings())
    assert shown.startswith("networking.http_channel_page_open_to_first_sent [h2] on nightly (all")
    for text in (request["description"], digest, shown):
        assert "All nightly" not in text and "(All" not in text
    assert alert.platform == "All" and alert.to_json()["platform"] == "All"


def test_bug_and_digest_show_large_times_and_sizes_in_a_readable_unit():
    """Was: `| p95 | 19,319,200 ns | 26,926,400 ns |` and `4,378,000 B` in bugs and digests."""
    timing = make_alert(
        unit="ns",
        before=Values(4378000.0, 993337.0, 19319200.0, 1000),
        after=Values(6127220.0, 1396120.0, 26926400.0, 1000),
    )
    description = bug_request(timing)["description"]
    assert "| p95 | 19.3 ms | 26.9 ms | +39.4% |" in description
    assert "p05 rose 40.5% (0.993 ms → 1.40 ms)" in description  # one unit
    memory = make_alert(unit="B", delivery="email", before=Values(4378000.0, 1e6, 8e6, 10))
    digest = digest_text([memory], "2026-10-25", Settings())
    assert "4.18 MiB" in digest and "4,378,000" not in digest


def test_other_alerts_of_the_push_range_say_how_each_is_reported():
    """Was: "Other alerts of this summary … their bugs are linked under See Also" listing
    silenced and email-only alerts, which have no bug to link."""
    from alerting.alerts.model import Event

    filed = make_alert(id="a2", platform="Darwin", summary="s1", bug=1912345)
    drafted = make_alert(id="a3", platform="Linux", summary="s1")
    emailed = make_alert(id="a4", probe="x.emailed", delivery="email", summary="s1")
    silenced = make_alert(
        id="a5",
        probe="x.silenced",
        summary="s1",
        status="silenced",
        delivery_state="silenced",
        reason="noisy",
        history=[Event("2026-10-25", "silenced", "until 2026-12-31: noisy")],
    )
    expected = make_alert(
        id="a6", probe="x.expected", summary="s1", status="expected", delivery="comment", bug=77
    )
    others = [filed, drafted, emailed, silenced, expected]
    text = bug_request(make_alert(summary="s1"), others=others)["description"]
    assert "summary" not in text.replace("**About the probe:**", "")
    assert "**Other alerts in or near this push range** ([all of them on the push range's" in text
    lines = {line.split("](", 1)[0]: line for line in text.splitlines() if line.startswith("- [")}
    assert lines["- [x.emailed on Windows nightly"].endswith(
        "; reported by email to the probe's owners, no bug"
    )
    assert lines["- [x.silenced on Windows nightly"].endswith(
        "; silenced until 2026-12-31 (probes/silences.yaml), no bug"
    )
    assert lines["- [x.expected on Windows nightly"].endswith(
        "; an expected change, reported on bug 77"
    )
    page_load = "- [networking.http\\_channel\\_page\\_open\\_to\\_first\\_sent on "
    assert lines[page_load + "Darwin nightly"].endswith(
        "; its own bug 1912345, linked under See Also"
    )
    assert lines[page_load + "Linux nightly"].endswith("; its own bug, linked under See Also")
    assert text.count("See Also") == 2


def test_how_sure_is_said_in_owners_words_with_what_the_threshold_means():
    """Was: "Detected by cdf_squared with score 4.69 (root mean square over buckets of the CDF
    shift, in the series' own day-to-day noise widths)" in bugs, and nothing in digests."""
    alert = make_alert(technique="cdf_squared", score=4.6867, delivery="email")
    description = bug_request(alert, threshold=0.85)["description"]
    assert (
        "**How sure:** the distribution moved 4.69 times its usual day-to-day noise; at this "
        "probe's threshold (0.85), a series without any change alerts by chance about once in "
        "6.2 years (detected by cdf\\_squared)." in description
    )
    assert "noise widths" not in description and "root mean square" not in description
    unknown = bug_request(alert)["description"]  # the probe's setting not at hand: say so
    assert (
        "at the default threshold (0.97; the probe's own setting is not known here), a series "
        "without any change alerts by chance about once in 33 years" in unknown
    )
    probe = alert.probe
    digest = digest_text([alert], "2026-10-25", Settings(), {probe: 0.99})
    assert (
        "   How sure: the distribution moved 4.69 times its usual day-to-day noise; at this "
        "probe's threshold (0.99), a series without any change alerts by chance about once in "
        "99 years.\n" in digest
    )
    markdown = digest_markdown([alert], "2026-10-25", Settings(), {probe: 0.99})
    assert "How sure: the distribution moved 4.69 times" in markdown


def test_chance_alerts_follow_the_thresholds_budget():
    from alerting.alerts.describe import chance_alerts

    assert chance_alerts(0.97) == "about once in 33 years"  # -1/ln(0.97) = 32.8
    assert chance_alerts(0.9) == "about once in 9.5 years"
    assert chance_alerts(0.37) == "about once a year"
    assert chance_alerts(0.1) == "about 2.3 times a year"
    assert chance_alerts(1.0) == "never"


def test_bugs_and_digests_say_how_to_mark_expected_silence_or_tune():
    """Was: nothing beyond resolving the bug; probes/README.md showed `threshold=0.85` without
    saying what it means and sent owners to a Python module."""
    from pathlib import Path

    from alerting.alerts.digest import digest_html
    from alerting.alerts.render import comment_request

    description = bug_request(make_alert())["description"]
    assert (
        "**If this is expected, or to silence or tune:** in probes/silences.yaml, " in description
    )
    for words in (
        'an "expected:" entry (probes, from, to, bug, reason) reports a planned change as a '
        "comment on its landing's bug instead of a new bug",
        'a "silences:" entry (probes, until at most 90 days ahead, reason) keeps a noisy series',
        "set change_detection_args in its monitor block",
        "threshold is the chance that a series without any change stays silent for a year "
        "(default 0.97, a chance alert about once in 33 years per series; 0.99: once in 99 years)",
        "min_effect the smallest shift of the median, p05 or p95 worth an alert (default 0.02 = 2%)",
    ):
        assert words in description
    comment = comment_request(make_alert(status="expected", delivery="comment", bug=9))
    assert "to silence or tune" not in comment["comment"]  # it is the expected change
    email = make_alert(delivery="email")
    text = digest_text([email], "2026-10-25", Settings())
    assert (
        'If a change is expected, or to silence or tune: in probes/silences.yaml, an "expected:"'
        in text
    )
    assert "stays silent for a year (default 0.97, a chance alert about once in 33 years" in text
    markdown = digest_markdown([email], "2026-10-25", Settings())
    assert (
        "**If a change is expected, or to silence or tune:** in probes/silences.yaml, " in markdown
    )
    html = digest_html([email], "2026-10-25", Settings())
    assert "in <code>probes/silences.yaml</code>" in html and "<code>min_effect</code>" in html

    readme = (Path(__file__).parents[1] / "probes/README.md").read_text("utf-8")
    assert "threshold=0.85" not in readme and "alerting.detect.registry" not in readme
    from alerting.alerts.describe import chance_alerts

    assert f"at 0.97 such a series alerts by chance {chance_alerts(0.97)}" in " ".join(
        readme.split()
    )
    for threshold, years in ((0.99, "99"), (0.9, "9.5"), (0.85, "6.2")):
        assert chance_alerts(threshold) == f"about once in {years} years"
        assert f"at {threshold:g} once in {years}" in " ".join(readme.split())


def test_an_alerts_values_are_shown_in_one_unit_the_figures_use():
    """Was: the median row `0.991 MiB → 864 KiB` and p05 in KiB beside p95 in MiB; every row
    is now in the unit the medians read best in, the unit of the figures' axes."""
    from alerting.alerts.render import values_table
    from alerting.report import plots

    kib = 2.0**10
    alert = make_alert(
        unit="B",
        before=Values(1015 * kib, 200 * kib, 3000 * kib, 10000),
        after=Values(864 * kib, 180 * kib, 2500 * kib, 10100),
    )
    rows = {r["name"]: (r["before"], r["after"]) for r in values_table(alert)}
    assert rows["median"] == ("0.991 MiB", "0.844 MiB")
    assert rows["p05"] == ("0.195 MiB", "0.176 MiB") and rows["p95"] == ("2.93 MiB", "2.44 MiB")
    assert plots.drawn(alert).unit == "MiB"
