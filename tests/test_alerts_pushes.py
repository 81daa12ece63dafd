"""Mapping detections to mozilla-central nightlies, against a loopback hg double."""

import json
from pathlib import Path

import pytest

from alerting.alerts import pushes
from alerting.alerts.model import PushRange
from alerting.alerts.pushes import Build
from alerting.errors import UserError
from alerting.http import make_session
from tests.doubles.hg_server import HgDouble

RECORDED = (
    Path(__file__).parent / "fixtures/hg/vct__test-hgweb-firefoxreleases__json-firefoxreleases.json"
)


def build(node: str, buildid: str, platform: str = "win64") -> dict:
    return {
        "node": node * 40,
        "buildid": buildid,
        "channel": "nightly",
        "platform": platform,
        "app_version": "147.0a1",
        "files_url": "https://example.com/",
    }


def test_recorded_firefoxreleases_maps_hour_truncated_fog_build_ids():
    with HgDouble(json.loads(RECORDED.read_text())) as hg:
        builds = pushes.fetch_nightly_builds(hg.url)
    assert {b.platform for b in builds} == {"linux64", "win64", "win32"}
    found = pushes.push_range(builds, "2017052700", "Windows")  # FOG: YYYYMMDDHH
    assert found.build == "20170527000000"
    assert found.to_rev == "dc94f7af4edae241d4382901b48cb67e43c445e1"
    linux = pushes.push_range(builds, "2017052700", "Linux")
    assert linux.to_rev == "4e0f86874d2556a19bcb5b6d090d24a720229178"
    assert pushes.push_range(builds, "2017052701", "Windows").to_rev == ""  # another hour


def test_previous_and_next_nightly_at_hour_precision():
    payload = {
        "builds": [
            build("d", "20261021094011"),
            build("c", "20261020213301"),
            build("b", "20261020094512"),
            build("a", "20261019213301"),
            build("x", "20261020094512", platform="linux64"),
            {**build("e", "20261020100000"), "channel": "beta"},
        ]
    }
    with HgDouble(payload, failures=1) as hg:  # a 503 first: retried
        builds = pushes.fetch_nightly_builds(hg.url, make_session(backoff=0))
        assert len(hg.requests) == 2
    morning = pushes.push_range(builds, "2026102009", "Windows")
    assert (morning.previous_build, morning.build, morning.next_build) == (
        "20261019213301",
        "20261020094512",
        "20261020213301",
    )
    assert (morning.from_rev, morning.to_rev) == ("a" * 40, "b" * 40)
    evening = pushes.push_range(builds, "2026102021", "Windows")
    assert (evening.from_rev, evening.to_rev) == ("b" * 40, "c" * 40)
    links = pushes.links(evening, hg.url, "fog", "a_b", "Windows", "")
    assert links["treeherder_range"].endswith(f"fromchange={'b' * 40}&tochange={'c' * 40}")
    assert "startdate=2026-10-20&enddate=2026-10-21" in links["pushlog"]
    assert links["glam"] == (
        "https://glam.telemetry.mozilla.org/fog/probe/a_b/explore"
        "?normalizationType=non_normalized&os=Windows"
    )


def test_unreachable_hg_is_a_clear_error():
    with (
        HgDouble({"builds": []}, failures=10) as hg,
        pytest.raises(UserError, match="could not read nightly builds"),
    ):
        pushes.fetch_nightly_builds(hg.url, make_session(retries=1, backoff=0))


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ([], "the answer is a list, not an object with `builds`"),
        ({}, "the answer has no `builds`"),
        ({"builds": None}, "`builds` is null, not a list of builds"),
        ({"builds": {"a": 1}}, "`builds` is an object, not a list of builds"),
    ],
)
def test_an_answer_of_another_shape_is_a_clear_error_naming_the_server(payload, problem):
    with HgDouble(payload) as hg, pytest.raises(UserError) as caught:
        pushes.fetch_nightly_builds(hg.url, make_session(retries=0))
    assert str(caught.value) == (
        f"could not read nightly builds from {hg.url}/json-firefoxreleases: {problem}"
    )


def test_a_retry_after_of_thousands_of_digits_is_a_malformed_header():
    with (
        HgDouble({"builds": []}, failures=1, retry_after="9" * 5000) as hg,
        pytest.raises(UserError, match=r"Invalid Retry-After header: 9{20}\.\.\. \(5000 char"),
    ):
        pushes.fetch_nightly_builds(hg.url, make_session(retries=1, backoff=0))


def test_a_retry_after_date_no_calendar_holds_is_a_malformed_header():
    late = "Mon, 01 Jan 99999 00:00:00 GMT"
    with (
        HgDouble({"builds": []}, failures=1, retry_after=late) as hg,
        pytest.raises(UserError, match=f"Invalid Retry-After header: {late}"),
    ):
        pushes.fetch_nightly_builds(hg.url, make_session(retries=1, backoff=0))


def test_malformed_nightly_entries_are_left_out_and_named(caplog):
    # A buildid that is no build time must never become the build a push range starts from.
    good = build("a", "20261001101010")
    bad = [
        build("b", "2026"),
        build("c", "20260230101010"),  # 30 February
        build("d", "２０２６１００１１０１０１０"),  # full-width digits
        {**build("e", "20261001090909"), "node": "e" * 39},
    ]
    with HgDouble({"builds": [*bad, good]}) as hg:
        builds = pushes.fetch_nightly_builds(hg.url)
    assert [b.buildid for b in builds] == ["20261001101010"]
    assert "4 nightly entries left out" in caplog.text and hg.url in caplog.text


def test_sample_builds_are_deterministic_and_marked():
    ids = ["2026102009", "2026101909", "2026102109"]
    first, again = pushes.sample_builds(ids), pushes.sample_builds(reversed(ids))
    assert first == again
    found = pushes.push_range(first, "2026102009", "Darwin")
    assert found.sample and found.previous_build == "20261019090000"
    labeled = pushes.links(
        found, "https://hg.mozilla.org/mozilla-central", "fenix", "m", "All", "a b"
    )
    assert labeled["glam"].endswith("os=%2A&aggKey=a+b")


def test_without_a_previous_nightly_the_pushlog_covers_the_days_before_the_build():
    """Was: the build's own day only (a nightly of 03:00 holds the pushes before it)."""
    first = pushes.push_range([Build("a" * 40, "20261020030000", "win64")], "2026102003", "Windows")
    assert first.to_rev == "a" * 40 and first.previous_build == ""
    for push in (first, PushRange(build="2026102003")):  # found alone, or not found
        link = pushes.links(push, "https://hg.example.org/m-c", "fog", "m", "Windows", "")
        assert link["pushlog"].endswith("startdate=2026-10-18&enddate=2026-10-21")
    assert "treeherder_range" not in link
