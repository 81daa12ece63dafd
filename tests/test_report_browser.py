"""The built site in a real browser: Debian's headless Chromium over loopback HTTP.

Checks what a person relies on: every alert is listed, filters hide what they should, alert
pages show both plots, hostile names stay text. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from alerting.report.site import build_site, page_name
from tests.report_fixtures import (
    EXPECTED_BUG,
    EXPECTED_REASON,
    HOSTILE_LABEL,
    HOSTILE_PROBE,
    SILENCE_REASON,
    write_state,
)

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# The network is closed: keep Chromium from calling Google at start-up.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary (apt install chromium)"
)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - keep test output clean
        pass


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    alerts = write_state(root / "state")
    build_site(root / "state", root / "site")
    return root / "site", alerts


@pytest.fixture(scope="module")
def site(built):
    directory, alerts = built
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", alerts
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1400, "height": 1000},
        )
        yield context
        context.close()


@pytest.fixture
def page(browser):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    yield page
    page.close()
    assert errors == [], "script errors or injected dialogs on the page"


def _screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _visible_ids(page) -> list[str]:
    return page.eval_on_selector_all(
        "#alerts tbody tr:not([hidden]) td:first-child a",
        "links => links.map(a => decodeURIComponent(a.getAttribute('href')))",
    )


def test_index_lists_every_alert(site, page):
    url, alerts = site
    page.goto(url + "index.html")
    assert page.locator("#alerts tbody tr").count() == len(alerts)
    hrefs = _visible_ids(page)
    assert sorted(hrefs) == sorted(f"alerts/{page_name(a.id)}.html" for a in alerts)
    dates = page.eval_on_selector_all(
        "#alerts tbody tr td:first-child", "c => c.map(x => x.textContent)"
    )
    assert dates == sorted(dates, reverse=True)  # newest first
    # Hostile names are shown as text, not interpreted.
    assert page.get_by_text(HOSTILE_PROBE, exact=True).count() >= 1
    assert page.locator("img[src=x]").count() == 0
    assert page.locator("#filters").is_visible()
    _screenshot(page, "index")


def test_filters_hide_what_they_should(site, page):
    url, alerts = site
    page.goto(url + "index.html")
    page.select_option("select[name=status]", "resolved")
    resolved = {f"alerts/{page_name(a.id)}.html" for a in alerts if a.status == "resolved"}
    assert set(_visible_ids(page)) == resolved
    assert page.locator("#shown").inner_text() == str(len(resolved))

    page.select_option("select[name=platform]", "Linux")
    both = {
        f"alerts/{page_name(a.id)}.html"
        for a in alerts
        if a.status == "resolved" and a.platform == "Linux"
    }
    assert set(_visible_ids(page)) == both and 0 < len(both) < len(resolved)
    _screenshot(page, "index-filtered")

    page.click("button[type=reset]")
    expect(page.locator("#shown")).to_have_text(str(len(alerts)))
    page.select_option("select[name=classification]", "regression")
    page.fill("input[name=probe]", "networking")
    expected = {
        f"alerts/{page_name(a.id)}.html"
        for a in alerts
        if a.classification == "regression" and "networking" in a.probe
    }
    assert set(_visible_ids(page)) == expected and len(expected) < len(alerts)

    # The filter is kept in the URL fragment, so a filtered view can be shared.
    shared = page.url
    page.goto("about:blank")
    page.goto(shared)
    assert set(_visible_ids(page)) == expected


def _href(alert) -> str:
    return f"alerts/{page_name(alert.id)}.html"


def test_silenced_and_expected_alerts_are_greyed_with_reason_and_filterable(site, page):
    url, alerts = site
    page.goto(url + "index.html")
    quiet = {_href(a) for a in alerts if a.status in ("silenced", "expected")}
    loud = {_href(a) for a in alerts} - quiet
    assert len(quiet) == 2 and loud
    rows = page.locator("#alerts tbody tr.quiet")
    assert rows.count() == 2
    color = "row => getComputedStyle(row.querySelector('td')).color"
    normal = page.locator("#alerts tbody tr:not(.quiet)").first.evaluate(color)
    assert {rows.nth(i).evaluate(color) for i in range(2)} == {"rgb(95, 107, 118)"} != {normal}

    silenced = page.locator("#alerts tbody tr[data-status=silenced]")
    expect(silenced.locator(".reason")).to_have_text(SILENCE_REASON)
    expected = page.locator("#alerts tbody tr[data-status=expected]")
    expect(expected.locator(".reason")).to_have_text(EXPECTED_REASON)  # text, not markup
    bug_link = expected.locator(f"a:has-text('bug {EXPECTED_BUG}')")
    assert bug_link.get_attribute("href") == (
        f"https://bugzilla.mozilla.org/show_bug.cgi?id={EXPECTED_BUG}"
    )
    _screenshot(page, "index-quiet")

    page.select_option("select[name=status]", "silenced")
    assert set(_visible_ids(page)) == {_href(a) for a in alerts if a.status == "silenced"}
    page.select_option("select[name=status]", "expected")
    assert set(_visible_ids(page)) == {_href(a) for a in alerts if a.status == "expected"}

    page.click("button[type=reset]")
    expect(page.locator("#shown")).to_have_text(str(len(alerts)))
    page.check("input[name=hide_quiet]")
    assert set(_visible_ids(page)) == loud
    assert page.locator("#shown").inner_text() == str(len(loud))
    shared = page.url
    assert "hide_quiet=1" in shared
    page.goto("about:blank")
    page.goto(shared)
    assert page.locator("input[name=hide_quiet]").is_checked()
    assert set(_visible_ids(page)) == loud

    page.goto(url + _href(next(a for a in alerts if a.status == "expected")))
    expect(page.locator(".quiet-note")).to_contain_text(EXPECTED_REASON)


def test_alert_page_shows_both_plots(site, page):
    url, alerts = site
    for alert in alerts:
        page.goto(f"{url}alerts/{page_name(alert.id)}.html")
        images = page.locator(".plots img")
        assert images.count() == 2
        for i in range(2):
            image = images.nth(i)
            image.scroll_into_view_if_needed()
            natural = image.evaluate("img => [img.complete, img.naturalWidth, img.naturalHeight]")
            assert natural[0] and natural[1] > 0 and natural[2] > 0, (alert.id, natural)
            box = image.bounding_box()
            assert box and box["width"] > 300 and box["height"] > 150
        assert page.locator("table.values tbody tr").count() == 4
        _screenshot(page, f"alert-{page_name(alert.id)}")


def test_hostile_alert_page_keeps_text_as_text(site, page):
    url, alerts = site
    hostile = next(a for a in alerts if a.probe == HOSTILE_PROBE)
    page.goto(f"{url}alerts/{page_name(hostile.id)}.html")
    assert page.locator("h1").inner_text() == f"{HOSTILE_PROBE} [{HOSTILE_LABEL}]"
    assert page.locator("main script, main img[src=x]").count() == 0
    hrefs = page.eval_on_selector_all("a", "links => links.map(a => a.href)")
    assert all(h.startswith(("http://", "https://")) for h in hrefs), hrefs


def test_summary_and_probe_pages_link_their_alerts(site, page):
    url, alerts = site
    page.goto(url + "index.html")
    page.click("text=2025-08-15-a1b2c3d4e5f6")
    members = [a for a in alerts if a.summary == "2025-08-15-a1b2c3d4e5f6"]
    assert page.locator("table tbody tr").count() == len(members)
    _screenshot(page, "summary")
    page.locator("td.probe a").first.click()
    assert page.locator("h1").inner_text() == members[0].probe
    probe_alerts = [a for a in alerts if a.probe == members[0].probe]
    assert page.locator("table tbody tr").count() == len(probe_alerts)


def test_filters_and_plots_work_from_a_local_file_without_a_server(built, page):
    directory, alerts = built
    page.goto((directory / "index.html").as_uri())
    page.select_option("select[name=platform]", "Windows")
    windows = {f"alerts/{page_name(a.id)}.html" for a in alerts if a.platform == "Windows"}
    assert set(_visible_ids(page)) == windows and len(windows) < len(alerts)
    page.locator("#alerts tbody tr:not([hidden]) td.date a").first.click()
    sizes = page.eval_on_selector_all(".plots img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(sizes) == 2 and all(size > 0 for size in sizes)


# Anything wider than the viewport, outside the boxes that scroll on purpose.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('.scroll')) continue;
    const box = el.getBoundingClientRect();
    if (box.width > 0 && (box.right > width + 1 || box.left < -1)) {
      wide.push(el.tagName + '.' + el.className + ' ' + Math.round(box.left) + '..' + Math.round(box.right));
    }
  }
  for (const box of document.querySelectorAll('.scroll')) {
    if (box.getBoundingClientRect().right > width + 1) wide.push('scroll box ' + box.getBoundingClientRect().right);
  }
  return [document.documentElement.scrollWidth, width, wide.slice(0, 5)];
}"""


@pytest.mark.parametrize("width", [400, 1400])
def test_nothing_overflows_from_phone_to_desktop(site, browser, width):
    """Was: at 400 px the index was 1,190 px wide and an alert page 514 px, plots and the Change
    column cut off. Tables now scroll inside their box and plots scale."""
    url, alerts = site
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    try:
        summaries = sorted({a.summary for a in alerts if a.summary})
        pages = ["index.html", *(f"alerts/{page_name(a.id)}.html" for a in alerts[:3])]
        pages += [f"summaries/{page_name(s)}.html" for s in summaries[:2]]
        for path in pages:
            page.goto(url + path)
            page.wait_for_load_state("load")
            scroll_width, client_width, wide = page.evaluate(OVERFLOWING)
            assert scroll_width <= client_width and not wide, (path, width, wide)
            for image in page.locator(".plots img").all():
                box = image.bounding_box()
                assert box and box["width"] <= client_width and box["height"] > 100
        _screenshot(page, f"alert-at-{width}px")
    finally:
        page.close()
