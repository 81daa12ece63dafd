"""`probes/silences.yaml`: what entries cover, each validation error with its line, the
validate command, and what `probes diff` says about a change to the file."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from alerting.cli import main
from alerting.detect.model import Detection, Snapshot
from alerting.probes.config import collect
from alerting.probes.silences import Change, Expected, Scope, Silence, Silences
from alerting.probes.silences_file import check_document, read_silences
from alerting.probes.yamlsafe import loads
from alerting.review.backtest import Hit
from alerting.review.silences_diff import diff_silences, silences_markdown
from tests.alert_factory import make_alert
from tests.test_review import git, metric, repo  # noqa: F401  (fixture: repo)

TODAY = dt.date(2026, 11, 29)
KNOWN = ["networking.trr_fetch_duration", "networking.trr_skip_reason", "fog.ipc.buffer_sizes"]


def check(text: str, today: dt.date = TODAY):
    source = textwrap.dedent(text)
    return check_document(loads(source, "silences.yaml"), "silences.yaml", KNOWN, today)


def problems(text: str, today: dt.date = TODAY) -> list[str]:
    return [str(p) for p in check(text, today).problems]


def change(probe="networking.trr_fetch_duration", platform="Darwin", label="h2", day=10):
    return Change(probe, platform, label, "nightly", dt.date(2026, 10, day), "up")


# -- what entries cover -----------------------------------------------------------------------
def test_a_silence_covers_changes_up_to_until_on_its_series():
    silence = Silence(Scope("networking.trr_*", ("Darwin",), ("h2",)), dt.date(2026, 10, 10), "r")
    assert silence.covers(change())
    assert not silence.covers(change(day=11))  # starts after the silence ends
    assert not silence.covers(change(platform="Linux"))
    assert not silence.covers(change(label="h3"))
    assert not silence.covers(change(probe="fog.ipc.buffer_sizes"))
    nightly_only = Silence(Scope("networking.*", channels=("beta",)), dt.date(2026, 12, 1), "r")
    assert not nightly_only.covers(change())


def test_an_expected_change_covers_its_window_and_direction_and_wins_over_a_silence():
    expected = Expected(
        Scope("networking.trr_fetch_duration"),
        dt.date(2026, 10, 8),
        dt.date(2026, 10, 10),
        7,
        "r",
        "up",
    )
    silence = Silence(Scope("networking.*"), dt.date(2026, 12, 1), "noisy")
    rules = Silences((silence,), (expected,))
    assert rules.rule_for(change(day=10)) is expected
    assert rules.rule_for(change(day=11)) is silence  # outside the window: the silence
    down = Change(
        "networking.trr_fetch_duration", "Darwin", "", "nightly", dt.date(2026, 10, 9), "down"
    )
    assert not expected.covers(down)
    assert Silences((), (expected,)).rule_for(change(day=7)) is None


def test_expiring_lists_silences_ending_within_a_week_soonest_first():
    def ends(day: int) -> Silence:
        return Silence(Scope("fog.*"), TODAY + dt.timedelta(days=day), f"{day}")

    rules = Silences((ends(9), ends(7), ends(0), ends(-1), ends(3)))
    assert [s.reason for s in rules.expiring(TODAY)] == ["0", "3", "7"]


# -- validation ---------------------------------------------------------------------------------
def test_a_valid_file_gives_its_entries_and_no_problem():
    result = check(
        """\
        silences:
          - probes: "networking.trr_*"
            platforms: [Darwin]
            labels: [h2]
            channels: [nightly]
            until: 2026-12-31
            reason: "TRR rework: noisy until the new resolver lands"
            bug: 1234567
        expected:
          - probes: "fog.ipc.buffer_sizes"
            from: 2026-10-01
            to: "2026-10-05"
            direction: up
            bug: 1234568
            reason: "bigger IPC buffers on purpose"
        """
    )
    assert result.problems == [] and result.warnings == []
    [silence], [expected] = result.silences.silences, result.silences.expected
    assert silence.scope == Scope("networking.trr_*", ("Darwin",), ("h2",), ("nightly",))
    assert (silence.until, silence.bug, silence.line) == (dt.date(2026, 12, 31), 1234567, 2)
    assert (expected.start, expected.end, expected.direction, expected.bug) == (
        dt.date(2026, 10, 1),
        dt.date(2026, 10, 5),
        "up",
        1234568,
    )


def test_unknown_keys_are_errors_with_their_line():
    assert problems(
        """\
        silences:
          - probes: "fog.*"
            until: 2026-12-01
            reason: r
            colour: red
        expectations: []
        """
    ) == [
        "silences.yaml:5: silence fog.*: colour: unknown key; an entry of `silences` has bug, "
        "channels, labels, platforms, probes, reason, until",
        "silences.yaml:6: expectations: unknown key; the file has `silences:` and `expected:` "
        "lists",
    ]


def test_keys_written_twice_are_errors_and_drop_nothing_silently():
    result = check(
        """\
        expected:
          - probes: "fog.ipc.buffer_sizes"
            from: 2026-10-01
            to: 2026-10-05
            bug: 1234568
            reason: r
        silences:
          - probes: "fog.*"
            until: 2026-12-01
            until: 2026-12-02
            reason: r
        expected: []
        """
    )
    twice = "written twice (first on line {}); YAML keeps only the last: keep one"
    assert [str(p) for p in result.problems] == [
        f"silences.yaml:10: silence fog.*: until: {twice.format(9)}",
        f"silences.yaml:12: expected: {twice.format(1)}",
    ]
    assert result.silences.silences == ()  # which `until` was meant is unknown


def test_a_glob_that_matches_no_monitored_probe_is_an_error():
    assert problems(
        """\
        silences:
          - probes: "networking.tr_*"
            until: 2026-12-01
            reason: r
        """
    ) == [
        "silences.yaml:2: silence networking.tr_*: probes: 'networking.tr_*' matches no "
        "monitored probe; check the name (`alerting probes list` shows them)"
    ]


@pytest.mark.parametrize("glob", ["networking.trr_[a-z", "networking/trr", "Networking.*", "a]b"])
def test_bad_globs_are_errors(glob):
    [problem] = problems(
        f"""\
        expected:
          - probes: "{glob}"
            from: 2026-10-01
            to: 2026-10-05
            bug: 1
            reason: r
        """
    )
    assert problem.startswith(f"silences.yaml:2: expected {glob}: probes: ")
    assert "is not a glob over dotted probe names" in problem


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("31/12/2026", "'31/12/2026'"),
        ('"2026-12-1"', "'2026-12-1'"),
        ("2026-12-31 10:00:00", "2026-12-31 10:00:00"),
        ("20261231", "20261231"),
        ('"2026-02-30"', "'2026-02-30'"),
    ],
)
def test_dates_in_the_wrong_form_are_errors(written, shown):
    assert problems(
        f"""\
        silences:
          - probes: "fog.*"
            until: {written}
            reason: r
        """
    ) == [
        f"silences.yaml:3: silence fog.*: until: {shown} is not a date written YYYY-MM-DD, "
        "e.g. 2026-12-31"
    ]


def test_until_more_than_90_days_ahead_is_an_error():
    text = """\
        silences:
          - probes: "fog.*"
            until: 2027-02-28
            reason: r
        """
    assert problems(text) == [
        "silences.yaml:3: silence fog.*: until: 2027-02-28 is more than 90 days ahead; silence "
        "until 2027-02-27 at the latest and renew it in a later change if still needed (until "
        "then the daily run applies the entry as written and reports this error)"
    ]
    assert problems(text, TODAY + dt.timedelta(days=1)) == []  # exactly 90 days: fine
    # Still applied: the owner asked for quiet, and dropping the entry would notify instead.
    [silence] = check(text).silences.silences
    assert silence.until == dt.date(2027, 2, 28)


def test_an_entry_too_far_ahead_with_another_error_is_dropped():
    text = """        silences:
          - probes: "fog.*"
            platforms: [Mac]
            until: 2027-02-28
            reason: r
        """
    assert len(problems(text)) == 2
    assert check(text).silences.silences == ()  # which series it meant is unknown


def test_until_already_past_is_a_warning_naming_the_entry_and_the_entry_stays():
    result = check(
        """\
        silences:
          - probes: "fog.*"
            until: 2026-11-28
            reason: r
        """
    )
    assert result.problems == []
    assert [str(w) for w in result.warnings] == [
        "silences.yaml:3: silence fog.*: until: this silence ended on 2026-11-28; remove the entry"
    ]
    assert len(result.silences.silences) == 1


def test_missing_and_malformed_values_are_errors():
    assert problems(
        """\
        silences:
          - probes: "fog.*"
            platforms: [Mac]
            channels: nightly
        expected:
          - probes: "fog.*"
            from: 2026-10-05
            to: 2026-10-01
            direction: sideways
            bug: "1234568"
            reason: 12
          - "fog.*"
        """
    ) == [
        'silences.yaml:2: silence fog.*: reason: missing; say why, e.g. "TRR rework: noisy '
        'until it lands"',
        "silences.yaml:2: silence fog.*: until: missing; a date written YYYY-MM-DD, e.g. "
        "2026-12-31",
        "silences.yaml:3: silence fog.*: platforms: unknown 'Mac'; use Windows, Linux, Darwin, "
        "Android, All",
        "silences.yaml:8: expected fog.*: to: 2026-10-01 is before from (2026-10-05); the "
        "window runs from..to",
        "silences.yaml:9: expected fog.*: direction: 'sideways': use up or down, or leave it out",
        "silences.yaml:10: expected fog.*: bug: '1234568' is not a bug number; write it as e.g. "
        "1234567",
        'silences.yaml:11: expected fog.*: reason: must be text; say what lands, e.g. "bigger '
        'IPC buffers on purpose"',
        "silences.yaml:12: expected: an entry is a mapping (probes:, reason:, ...)",
    ]


def test_an_expected_change_needs_its_bug():
    assert problems(
        """\
        expected:
          - probes: "fog.*"
            from: 2026-10-01
            to: 2026-10-05
            reason: r
        """
    ) == ["silences.yaml:2: expected fog.*: bug: missing; the bug number, e.g. 1234567"]


def test_a_bug_number_too_large_for_bugzilla_is_no_bug_number():
    # It would be written into the alert's record, which the next run could not read back.
    huge = "9" * 30
    assert problems(
        f"""\
        expected:
          - probes: "fog.*"
            from: 2026-10-01
            to: 2026-10-05
            bug: {huge}
            reason: r
        """
    ) == [
        f"silences.yaml:5: expected fog.*: bug: {huge} is not a bug number; write it as e.g. 1234567"
    ]


def test_an_expected_window_is_at_most_90_days_and_ends_at_most_90_days_ahead():
    def entry(start: str, end: str) -> str:
        return f"""\
        expected:
          - probes: "*"
            from: {start}
            to: {end}
            bug: 1
            reason: r
        """

    assert problems(entry("1970-01-01", "9999-12-31")) == [
        "silences.yaml:4: expected *: to: the window from 1970-01-01 to 9999-12-31 is longer than"
        " 90 days; an expected change starts within days of its landing: narrow it"
    ]
    assert problems(entry("2027-02-20", "2027-03-01")) == [
        "silences.yaml:4: expected *: to: 2027-03-01 is more than 90 days ahead; add the entry"
        " when the landing is near (until then the daily run applies the entry as written and"
        " reports this error)"
    ]
    assert check(entry("1970-01-01", "9999-12-31")).silences.expected == ()
    [ahead] = check(entry("2027-02-20", "2027-03-01")).silences.expected  # applied, as above
    assert (ahead.start, ahead.end) == (dt.date(2027, 2, 20), dt.date(2027, 3, 1))
    assert problems(entry("2026-09-01", "2026-11-30")) == []  # 90 days, ended: fine


def test_an_impossible_date_drops_only_its_entry():
    found = check(
        """\
        silences:
          - probes: "fog.*"
            until: 2026-12-31
            reason: r
        expected:
          - probes: "fog.*"
            from: 2026-10-01
            to: 2026-11-31
            bug: 1
            reason: r
          - probes: "networking.*"
            from: 2026-10-01
            to: 2026-10-05
            bug: 2
            reason: r
        """
    )
    assert [str(p) for p in found.problems] == [
        "silences.yaml:8: expected fog.*: to: '2026-11-31' is not a valid date (day is out of "
        "range for month); use a date written YYYY-MM-DD, e.g. 2026-12-31"
    ]
    assert [s.scope.probes for s in found.silences.silences] == ["fog.*"]
    assert [e.bug for e in found.silences.expected] == [2]


def test_the_file_is_loaded_safely(tmp_path):
    path = tmp_path / "silences.yaml"
    path.write_text("silences: &a [*a]\n")
    [problem] = read_silences(path, KNOWN, TODAY).problems
    assert problem.line == 1 and "recursive" in problem.message
    path.write_text("silences:\n" + "  - probes: x\n" * 90_000)
    [problem] = read_silences(path, KNOWN, TODAY).problems
    assert "larger than" in problem.message
    assert read_silences(tmp_path / "absent.yaml", KNOWN, TODAY).silences == Silences()


# -- the validate command ----------------------------------------------------------------------
METRICS = "$schema: moz://mozilla.org/schemas/glean/metrics/2-0-0\n\nperf:\n" + metric(
    "first_paint", "platforms: [Windows]\n"
)


def test_validate_checks_the_silences_file_and_does_not_read_it_as_metrics(tmp_path, capsys):
    (tmp_path / "metrics.yaml").write_text(METRICS)
    silences = tmp_path / "silences.yaml"
    silences.write_text("silences:\n  - probes: perf.*\n    until: 2026-11-01\n    reason: r\n")
    assert main(["probes", "validate", str(tmp_path), "--date", "2026-11-29"]) == 0
    out = capsys.readouterr().out
    assert f"{silences}:3: silence perf.*: until: this silence ended on 2026-11-01" in out
    assert "(warning)" in out and "ok: 1 monitored probe(s) in 2 files" in out
    assert [c.probe for c in collect([tmp_path])[0]] == ["perf.first_paint"]

    silences.write_text("silences:\n  - probes: perf.paint\n    until: 2026-11-30\n    reason: r\n")
    assert (
        main(["probes", "validate", str(tmp_path), "--format", "github", "--date", "2026-11-29"])
        == 1
    )
    out = capsys.readouterr().out
    assert f"::error file={silences},line=2,title=silence perf.paint%3A probes::" in out


def test_validate_reports_a_silences_file_that_is_not_directly_in_the_folder(tmp_path, capsys):
    (tmp_path / "metrics.yaml").write_text(METRICS)
    nested = tmp_path / "perf" / "silences.yaml"
    nested.parent.mkdir()
    nested.write_text("silences:\n  - probes: perf.*\n    until: 2026-12-01\n    reason: r\n")
    assert main(["probes", "validate", str(tmp_path), "--date", "2026-11-29"]) == 1
    out = capsys.readouterr().out
    assert f"{nested}:1: never read: the silences file must sit directly in probes/" in out


# -- probes diff -------------------------------------------------------------------------------
def test_diff_text_names_added_and_removed_entries_and_what_they_cover():
    old = check(
        """\
        silences:
          - probes: "networking.trr_skip_reason"
            until: 2026-12-01
            reason: "old silence"
        """
    ).silences
    new = check(
        """\
        expected:
          - probes: "fog.ipc.buffer_sizes"
            from: 2026-10-01
            to: 2026-10-05
            bug: 1234568
            reason: "bigger IPC buffers"
        silences:
          - probes: "networking.trr_*"
            platforms: [Darwin]
            until: 2026-12-31
            reason: "TRR rework"
        """
    ).silences
    diff = diff_silences(old, new)
    assert [r.reason for r in diff.added] == ["bigger IPC buffers", "TRR rework"]
    assert [r.reason for r in diff.removed] == ["old silence"]
    alerts = [
        make_alert(
            id="a-trr",
            probe="networking.trr_fetch_duration",
            platform="Darwin",
            label="h2",
            date="2026-10-18",
            direction="down",
        ),
        make_alert(id="a-trr-linux", probe="networking.trr_fetch_duration", platform="Linux"),
        make_alert(id="a-fog", probe="fog.ipc.buffer_sizes", platform="All", date="2026-10-03"),
        make_alert(id="a-fog-late", probe="fog.ipc.buffer_sizes", date="2026-10-20"),
    ]
    snap = Snapshot(1.0, 1.0, 1.0, 1.0)
    detection = Detection(dt.date(2026, 10, 2), "2026100209", "up", "t", 7.114, "s", snap, snap)
    hits = [Hit("fog.ipc.buffer_sizes", "Windows", "", "nightly", detection)]
    text = silences_markdown(diff, "main", alerts, hits, "2026-08-04 to 2026-11-01", "Data: x.")
    assert text == textwrap.dedent(
        """\
        ### Silences and expected changes against main

        2 entries added, 1 removed. Entries apply to alerts created from now on: silenced alerts are kept but nobody is notified; an expected change is reported as a comment on its bug instead of a new bug or email. Alerts already in state/ keep their status.

        #### Added

        | kind | entry | reason | defined at | alerts in state/ | detections |
        |---|---|---|---|---|---|
        | expected change | fog.ipc.buffer\\_sizes; 2026-10-01 to 2026-10-05; bug 1234568 | bigger IPC buffers | silences.yaml:2 | 1 | 1 |
        | silence | networking.trr\\_\\*; platforms Darwin; until 2026-12-31 | TRR rework | silences.yaml:8 | 1 | 0 |

        #### Alerts in state/ the added entries cover

        | entry | probe | platform | label | change starts | direction | status | alert |
        |---|---|---|---|---|---|---|---|
        | expected change at line 2 | fog.ipc.buffer\\_sizes | All | - | 2026-10-03 | up | new | a-fog |
        | silence at line 8 | networking.trr\\_fetch\\_duration | Darwin | h2 | 2026-10-18 | down | new | a-trr |

        #### Backtest detections the added entries cover (2026-08-04 to 2026-11-01)

        Data: x.

        | entry | probe | platform | label | change starts | direction | score |
        |---|---|---|---|---|---|---|
        | expected change at line 2 | fog.ipc.buffer\\_sizes | Windows | - | 2026-10-02 | up | 7.11 |

        #### Removed

        | kind | entry | reason |
        |---|---|---|
        | silence | networking.trr\\_skip\\_reason; until 2026-12-01 | old silence |
        """
    )
    assert diff_silences(new, new).empty


def test_diff_command_covers_the_backtest_and_state_on_a_real_repository(repo, capsys):  # noqa: F811
    soon, later = (dt.date.today() + dt.timedelta(days=d) for d in (30, 60))
    silences = repo / "probes" / "silences.yaml"
    silences.write_text(
        f"silences:\n  - probes: perf.first_paint\n    until: {soon}\n    reason: r\n"
    )
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "a silence")
    assert main(["probes", "diff", "--base", "HEAD"]) == 0
    assert "Silences and expected changes" not in capsys.readouterr().out  # unchanged: quiet
    silences.write_text(
        f"silences:\n  - probes: perf.first_paint\n    until: {later}\n    reason: longer\n"
    )
    assert main(["probes", "diff", "--base", "HEAD", "--days", "30"]) == 0
    out = capsys.readouterr().out
    assert "1 entry added, 1 removed." in out
    assert (
        f"| silence | perf.first\\_paint; until {later} | longer | probes/silences.yaml:2 | 0 |"
        in out
    )
    assert "#### Backtest detections the added entries cover (" in out
    assert "Data: the embedded sample data" in out
    assert f"| silence | perf.first\\_paint; until {soon} | r |" in out
