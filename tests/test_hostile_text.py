"""Text from probe files and data lands in URLs, Markdown (bugs, digests, run summaries) and
the terminal: every piece is encoded for where it lands, so none of it becomes markup."""

from __future__ import annotations

import re

from alerting.alerts import pushes
from alerting.alerts.digest import digest_html, digest_markdown, digest_text
from alerting.alerts.markdown import escape_markdown, link
from alerting.alerts.model import PushRange
from alerting.alerts.render import bug_description, bug_summary
from alerting.settings import Settings
from tests.alert_factory import make_alert

HOSTILE_NAME = "a\n\n[r]: https://evil.example/x\n<img src=x onerror=alert(1)>"
HOSTILE_LABEL = "x) [y](javascript:alert(1)) \x1b[31m"


def hostile_alert():
    push = PushRange("20261019094512", "20261020094512", "", "a" * 40, "b" * 40)
    links = pushes.links(
        push,
        "https://hg.mozilla.org/mozilla-central",
        "fog",
        HOSTILE_NAME,
        "Windows",
        HOSTILE_LABEL,
    )
    return make_alert(metric=HOSTILE_NAME, probe=HOSTILE_NAME, label=HOSTILE_LABEL, links=links)


def test_every_url_component_is_percent_encoded():
    glam = hostile_alert().links["glam"]
    assert glam.startswith("https://glam.telemetry.mozilla.org/fog/probe/a%0A%0A%5Br%5D")
    assert not any(c in glam for c in "\n []()<>\x1b")
    assert "aggKey=x%29+%5By%5D%28javascript%3Aalert%281%29%29+%1B%5B31m" in glam


def test_links_cannot_end_early_or_carry_markup():
    rendered = link("text [x]", "https://example.org/a b)\n[r]: https://evil.example")
    assert rendered == (
        "[text \\[x\\]](https://example.org/a%20b%29%0A%5Br%5D:%20https://evil.example)"
    )
    assert link("t", "javascript:alert(1)") == "t"


def test_bug_text_and_digests_hold_no_live_markdown_from_names_or_labels():
    alert = hostile_alert()
    settings = Settings()
    for text in (
        bug_description(alert, HOSTILE_NAME),
        digest_markdown([alert], "2026-10-21", settings),
    ):
        lines = text.splitlines()
        assert not any(line.lstrip().startswith("[r]:") for line in lines)
        assert not re.search(r"(?<!\\)<img|(?<!\\)\]\(javascript", text)  # escaped only
        assert "\\<img" in text and "\x1b" not in text
    plain = digest_text([alert], "2026-10-21", settings)
    assert not any(line.lstrip().startswith("[r]:") for line in plain.splitlines())
    assert "\x1b" not in plain
    html = digest_html([alert], "2026-10-21", settings)
    assert "<img" not in html and "&lt;img" in html and "\x1b" not in html
    summary = bug_summary(alert)
    assert "\n" not in summary and "\x1b" not in summary and "\\x1b[31m" in summary


def test_a_long_bug_summary_is_cut_to_what_bugzilla_takes():
    short = bug_summary(make_alert(probe="dom.probe", label=""))
    assert short.startswith("Telemetry Alert for dom.probe") and "…" not in short
    long = make_alert(probe="dom." + "very_long_probe_name_" * 12, label="label " * 20)
    summary = bug_summary(long)
    assert len(summary) == 255 and summary.endswith("…")
    assert summary.startswith("Telemetry Alert for dom.very_long_probe_name_")


def test_escape_markdown_shows_control_characters():
    assert escape_markdown("a\x1b[2Jb\x00\u202e") == "a\\\\x1b\\[2Jb\\\\x00\\\\u202e"


def test_bare_urls_in_names_and_descriptions_are_never_live_links():
    # GitHub and Bugzilla link a bare https://... or www.... without any markup.
    assert escape_markdown("see https://evil.example/fix") == "see https\\://evil.example/fix"
    assert escape_markdown("WWW.evil.example and ftp://x") == "WWW\\.evil.example and ftp\\://x"
    assert escape_markdown("p05: 9.77 ms, mywww.x") == "p05: 9.77 ms, mywww.x"  # left alone
    alert = make_alert(label="see https://phish.example/login")
    assert "https://phish.example" not in bug_description(alert, Settings())
