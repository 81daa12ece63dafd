"""The static site: a page for every record, everything escaped, broken records skipped."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from markupsafe import escape

from alerting.cli import main
from alerting.errors import UserError
from alerting.report import figures, plots
from alerting.report.site import build_site, http_url, page_name
from tests.report_fixtures import (
    HOSTILE_LABEL,
    HOSTILE_PROBE,
    sample_alerts,
    sample_summaries,
    write_state,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    alerts = write_state(root / "state")
    result = build_site(root / "state", root / "site")
    return root, alerts, result


def _pages(site: Path) -> dict[str, str]:
    return {str(p.relative_to(site)): p.read_text() for p in site.rglob("*.html")}


def test_a_page_for_every_alert_summary_and_probe(built):
    root, alerts, result = built
    site = root / "site"
    summaries = sample_summaries(alerts)
    probes = {a.probe for a in alerts}
    assert result.alerts == len(alerts) and result.skipped == []
    assert result.pages == 1 + len(alerts) + len(summaries) + len(probes)
    index = (site / "index.html").read_text()
    for alert in alerts:
        name = page_name(alert.id)
        page = (site / "alerts" / f"{name}.html").read_text()
        assert f'href="alerts/{name}.html"' in index
        for figure in figures.file_names(figures.figure_key(plots.drawn(alert))):
            assert f'src="../figures/{figure}"' in page
            assert (site / "figures" / figure).stat().st_size > 10_000
        assert str(escape(alert.build_id)) in page
    for summary in summaries:
        page = (site / "summaries" / f"{page_name(summary.id)}.html").read_text()
        assert page.count("<tr data-status=") == len(summary.alerts)
    for probe in probes:
        page = (site / "probes" / f"{page_name(probe)}.html").read_text()
        assert page.count("<tr data-status=") == sum(a.probe == probe for a in alerts)
    for name in ("style.css", "filter.js"):
        assert (site / name).stat().st_size > 0


def test_index_is_newest_first_with_filters_for_every_value(built):
    root, alerts, _ = built
    index = (root / "site" / "index.html").read_text()
    dates = re.findall(r'<td class="date"><a [^>]+>([0-9-]+)</a>', index)
    assert len(dates) == len(alerts) and dates == sorted(dates, reverse=True)
    for platform in {a.platform for a in alerts}:
        assert f'<option value="{platform}">' in index
    assert "resolved (FIXED)" in index and "bug 1912345" in index


def test_alert_page_has_the_before_after_table_links_and_history(built):
    root, alerts, _ = built
    alert = alerts[0]
    page = (root / "site" / "alerts" / f"{page_name(alert.id)}.html").read_text()
    for text in ("43.5 ms", "63.3 ms", "+45.4%", "56,877,572", alert.push_range.from_rev):
        assert text in page
    for link in ("bug", "plot", "treeherder", "treeherder_range", "pushlog", "glam"):
        assert f'href="{str(escape(alert.links[link]))}"' in page
    assert "cdf_squared score 0.0123" in page and "filed" in page


def test_hostile_names_are_escaped_everywhere(built):
    root, _, _ = built
    pages = _pages(root / "site")
    for name, text in pages.items():
        for raw in (HOSTILE_PROBE, HOSTILE_LABEL, "<b>not bold</b>", "<script>alert"):
            assert raw not in text, (name, raw)
        assert "javascript:" not in text and "data:text" not in text, name
    hostile = next(t for n, t in pages.items() if "evil-Darwin.html" in n)
    assert str(escape(HOSTILE_PROBE)) in hostile and str(escape(HOSTILE_LABEL)) in hostile
    assert "&lt;b&gt;not bold&lt;/b&gt;" in hostile
    # The only scripts are our own file, referenced by the index.
    scripts = [s for t in pages.values() for s in re.findall(r"<script[^>]*>", t)]
    assert scripts == ['<script src="filter.js">']


def test_only_http_links_pass():
    assert http_url("https://bugzilla.mozilla.org/show_bug.cgi?id=1") is not None
    assert http_url("http://127.0.0.1:8000/x") == "http://127.0.0.1:8000/x"
    for bad in (
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "data:text/html,x",
        "//evil",
        "",
        None,
        5,
    ):
        assert http_url(bad) is None


def test_page_names_are_safe_and_distinct():
    assert page_name("2025-08-15-a.b_c-Windows") == "2025-08-15-a.b_c-Windows"
    odd = [HOSTILE_PROBE, "a/b", "a b", "a:b", "../../etc"]
    names = [page_name(key) for key in odd]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", n) and not n.startswith(".") for n in names)


def test_rebuild_is_identical_and_drops_deleted_alerts(tmp_path):
    alerts = write_state(tmp_path / "state")
    build_site(tmp_path / "state", tmp_path / "a")
    build_site(tmp_path / "state", tmp_path / "b")
    files = sorted(
        p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file()
    )
    assert files and all(
        (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files
    )
    gone = alerts[-1]
    (tmp_path / "state" / "alerts" / f"{gone.id}.json").unlink()
    build_site(tmp_path / "state", tmp_path / "a")
    assert not (tmp_path / "a" / "alerts" / f"{page_name(gone.id)}.html").exists()


def test_figures_drawn_in_worker_processes_are_the_ones_drawn_in_one(tmp_path, monkeypatch):
    write_state(tmp_path / "state")
    monkeypatch.setattr(figures, "PER_WORKER", 10**6)  # one process
    build_site(tmp_path / "state", tmp_path / "one")
    monkeypatch.setattr(figures, "PER_WORKER", 1)
    monkeypatch.setattr(figures.os, "cpu_count", lambda: 2)  # workers even on one core
    build_site(tmp_path / "state", tmp_path / "workers")
    names = sorted(p.name for p in (tmp_path / "one" / "figures").glob("*.svg"))
    assert names == sorted(p.name for p in (tmp_path / "workers" / "figures").glob("*.svg"))
    assert names and all(
        (tmp_path / "one" / "figures" / f).read_bytes()
        == (tmp_path / "workers" / "figures" / f).read_bytes()
        for f in names
    )


def test_broken_alert_files_are_skipped_and_reported(tmp_path, capsys):
    alerts = write_state(tmp_path / "state")
    broken = tmp_path / "state" / "alerts"
    (broken / "truncated.json").write_text('{\n  "id": "x",\n  "probe": \n')
    (broken / "missing.json").write_text('{"id": "y", "probe": "a.b"}\n')
    good = (broken / f"{alerts[0].id}.json").read_text()
    bad_date = good.replace('"date": "2025-08-15"', '"date": "soon"')
    (broken / "bad-date.json").write_text(bad_date.replace(alerts[0].id, "bad-date"))
    assert (
        main(["report", "--state", str(tmp_path / "state"), "--out", str(tmp_path / "site")]) == 0
    )
    err = capsys.readouterr().err
    assert f"{broken / 'truncated.json'}:4: broken JSON" in err
    assert f"{broken / 'missing.json'}: /: missing required field(s): 'metric'" in err
    assert f"{broken / 'bad-date.json'}: /date: 'soon' does not match" in err
    assert "Traceback" not in err
    index = (tmp_path / "site" / "index.html").read_text()
    assert index.count("<tr data-status=") == len(alerts)
    assert "truncated.json" in index  # listed under "Records left out"


def test_no_alerts_yet_builds_an_empty_site(tmp_path, capsys):
    (tmp_path / "state").mkdir()
    assert main(["report", "--state", str(tmp_path / "state"), "--out", str(tmp_path / "s")]) == 0
    assert "No alerts yet" in (tmp_path / "s" / "index.html").read_text()


def test_only_unreadable_alerts_is_a_clear_error_without_traceback(tmp_path, capsys):
    (tmp_path / "state" / "alerts").mkdir(parents=True)
    (tmp_path / "state" / "alerts" / "broken.json").write_text("{")
    assert main(["report", "--state", str(tmp_path / "state"), "--out", str(tmp_path / "s")]) == 1
    err = capsys.readouterr().err
    assert "no readable alerts" in err and "Traceback" not in err
    assert main(["report", "--state", str(tmp_path / "nowhere"), "--out", str(tmp_path / "s")]) == 1
    assert "no such state directory" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["a_file/sub", "/proc/forbidden"])
def test_an_out_folder_that_cannot_be_made_is_a_clear_error_naming_it(tmp_path, capsys, where):
    """A file where the folder should be, or a place no folder can be made (NotADirectoryError,
    FileNotFoundError: once an "unexpected error", exit 3)."""
    if where.startswith("/proc") and not Path("/proc/self").exists():
        pytest.skip("no /proc")
    (tmp_path / "a_file").write_text("mine")
    out = where if where.startswith("/") else str(tmp_path / where)
    write_state(tmp_path / "state")
    assert main(["report", "--state", str(tmp_path / "state"), "--out", out]) == 1
    err = capsys.readouterr().err
    assert f"cannot write to {out}" in err and "unexpected" not in err
    assert (tmp_path / "a_file").read_text() == "mine"


def test_refuses_to_overwrite_a_directory_that_is_not_a_report(tmp_path):
    write_state(tmp_path / "state")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "keep.txt").write_text("mine")
    with pytest.raises(UserError, match="not empty"):
        build_site(tmp_path / "state", tmp_path / "src")
    with pytest.raises(UserError, match="inside the state directory"):
        build_site(tmp_path / "state", tmp_path / "state" / "site")
    assert (tmp_path / "src" / "keep.txt").read_text() == "mine"
    assert (tmp_path / "state" / "alerts").is_dir()


def _readers_state(tmp_path: Path):
    """Windows and Darwin in one push range, Linux in the next: one summary."""
    import json

    from alerting.alerts.model import DRAFTED, FILED, PushRange, Summary, Values
    from tests.alert_factory import make_alert

    windows = make_alert(id="w1", summary="s1", delivery_state=DRAFTED)
    darwin = make_alert(id="d1", platform="Darwin", summary="s1", bug=77, delivery_state=FILED)
    darwin.links["bug"] = "https://bugzilla.mozilla.org/show_bug.cgi?id=77"
    linux = make_alert(
        id="l1",
        platform="Linux",
        summary="s1",
        after=Values(12.0, 2.5, 60.0, 2900),  # samples per day fell 71 %
        push_range=PushRange("20261020094512", "20261021094512", "", "b" * 40, "c" * 40),
        build_id="2026102109",
    )
    linux.links["treeherder_range"] = (
        "https://treeherder.mozilla.org/jobs?fromchange=bbb&tochange=ccc"
    )
    state = tmp_path / "state"
    for alert in (windows, darwin, linux):
        (state / "alerts").mkdir(parents=True, exist_ok=True)
        (state / "alerts" / f"{alert.id}.json").write_text(json.dumps(alert.to_json()))
    summary = Summary("s1", "2026-10-20", ["d1", "l1", "w1"], windows.push_range)
    (state / "summaries").mkdir()
    (state / "summaries" / "s1.json").write_text(json.dumps(summary.to_json()))
    build_site(state, tmp_path / "site")
    return tmp_path / "site", (windows, darwin, linux)


def test_summary_page_shows_each_range_with_its_own_links(tmp_path):
    """Was: pushes of one alert next to links of another, and "likely one culprit" for
    alerts whose ranges differ."""
    site, _ = _readers_state(tmp_path)
    page = (site / "summaries" / "s1.html").read_text()
    assert "likely one culprit" not in page and "2 different push ranges" in page
    first, second = page.split("Push range 2 of 2")
    assert "a" * 40 in first and "fromchange=x&amp;tochange=y" in first
    assert "c" * 40 in second and "fromchange=bbb&amp;tochange=ccc" in second
    assert "fromchange=x" not in second


def test_pages_and_terminal_agree_on_delivery_build_numbers_and_volume(tmp_path, capsys):
    """Was: "no bug" on the page where the terminal said "bug: drafted"; the volume warning
    only in bugs; build ids in two forms."""
    site, (windows, darwin, linux) = _readers_state(tmp_path)
    index = (site / "index.html").read_text()
    assert "bug drafted (outbox)" in index and "bug 77 (filed)" in index
    assert "no bug" not in index
    assert "10.0 millisecond → 12.0 millisecond (+20.0%)" in index
    linux_page = (site / "alerts" / "l1.html").read_text()
    assert "samples per day fell 71.0%" in linux_page
    assert "2026102109, known to the hour only" not in linux_page  # the nightly is known
    assert "<code>20261021094512</code>" in linux_page
    assert "median rose 20.0% (10.0 millisecond → 12.0 millisecond)" in linux_page
    assert main(["alerts", "list", "--root", str(tmp_path)]) == 0
    listing = capsys.readouterr().out
    assert "bug drafted (outbox)" in listing and "bug 77 (filed)" in listing
    assert "10.0 millisecond → 12.0 millisecond (+20.0%)" in listing
    assert main(["alerts", "show", "l1", "--root", str(tmp_path)]) == 0
    shown = capsys.readouterr().out
    assert "samples per day fell 71.0%" in shown and "build 20261021094512" in shown
    assert "median rose 20.0%" in shown and "lower is better, so a regression" in shown


def test_bidi_overrides_and_invisible_characters_are_shown_not_obeyed():
    from alerting.alerts.digest import one_line
    from alerting.report.site import _environment

    label = "h2\u202e3pmuj_ton\u200b"  # reads reversed; a zero-width space imitates "h2"
    page = _environment().from_string("<td>{{ label }}</td>").render(label=label)
    assert page == "<td>h2\\u202e3pmuj_ton\\u200b</td>"
    assert one_line(label) == "h2\\u202e3pmuj_ton\\u200b"  # the emails' text and HTML


def test_an_alert_listed_by_another_summary_is_shown_on_its_own_page_only(store, tmp_path):
    """Was: a summary listing an alert that belongs to another summary (a hand edit) showed
    it on both pages; the page of the summary that lists it names it as a problem."""
    from alerting.alerts.model import Summary
    from tests.alert_factory import make_alert

    own = make_alert(id="a1", summary="s1")
    other = make_alert(id="b1", platform="Darwin", summary="s2")
    for alert in (own, other):
        store.save_alert(alert)
    store.save_summary(Summary("s1", own.date, ["a1", "b1"], own.push_range))
    store.save_summary(Summary("s2", other.date, ["b1"], other.push_range))
    build_site(tmp_path / "state", tmp_path / "site")
    pages = _pages(tmp_path / "site")
    first, second = pages["summaries/s1.html"], pages["summaries/s2.html"]
    assert first.count("<tr data-status=") == 1 and "alerts/a1.html" in first
    assert "alerts/b1.html" not in first and "1 alert whose" in first
    assert "Listed here but recorded in summary <code>s2</code>: <code>b1</code>" in first
    assert second.count("<tr data-status=") == 1 and "alerts/b1.html" in second
    assert "Listed here" not in second
    assert "s1</a> (1 alert)" in pages["index.html"]


def test_the_all_os_aggregate_reads_all_platforms_on_the_dashboard(tmp_path):
    """Was: "All" in the table, the page title and the filter; the filter's value stays `All`."""
    from alerting.alerts.store import StateStore
    from tests.alert_factory import make_alert

    StateStore(tmp_path / "state").save_alert(make_alert(id="all1", platform="All"))
    build_site(tmp_path / "state", tmp_path / "site")
    index = (tmp_path / "site/index.html").read_text()
    page = (tmp_path / "site/alerts/all1.html").read_text()
    assert '<option value="All">all platforms</option>' in index
    assert 'data-platform="All"' in index and "<td>all platforms</td>" in index
    assert "<td>All</td>" not in index
    assert "first_sent · all platforms · nightly" in page
    assert '<p class="subtitle">all platforms · nightly' in page


def test_figure_alt_texts_name_the_unit_the_figures_are_drawn_in(tmp_path):
    """Was: `in ns` for axes drawn in ms (the alt texts named the probe's unit)."""
    alert = sample_alerts()[0]
    in_ns = dataclasses.replace(
        alert,
        unit="ns",
        before=dataclasses.replace(alert.before, median=alert.before.median * 1e6),
        after=dataclasses.replace(alert.after, median=alert.after.median * 1e6),
    )
    write_state(tmp_path / "state", [in_ns])
    build_site(tmp_path / "state", tmp_path / "site")
    page = (tmp_path / "site" / "alerts" / f"{page_name(alert.id)}.html").read_text()
    assert "p05 and p95 in ms," in page and f"before and after {alert.date} in ms" in page
    assert " in ns" not in page


def test_a_folder_where_a_figure_goes_is_named_not_the_temporary_file(tmp_path, capsys):
    """Was: `cannot write to site (site/figures/.<name>-cdf.svg.bsvnc9_b): Is a directory`,
    naming the atomic writer's temporary file instead of the figure it renames it to."""
    write_state(tmp_path / "state")
    out = tmp_path / "site"
    build_site(tmp_path / "state", out)
    figure = next((out / figures.FOLDER).glob("*-cdf.svg"))
    figure.unlink()
    figure.mkdir()
    assert main(["report", "--state", str(tmp_path / "state"), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"cannot write to {out} ({figure}): Is a directory" in err
    assert not [p for p in (out / figures.FOLDER).iterdir() if p.name.startswith(".")]
