"""Figures are reused between reports: only what changed is drawn again."""

from __future__ import annotations

import json
from pathlib import Path

from alerting.report import figures
from alerting.report.site import build_site, page_name
from tests.report_fixtures import write_state


def _files(site: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of the site: its bytes and when it was last written."""
    return {
        str(p.relative_to(site)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(site.rglob("*"))
        if p.is_file()
    }


def _figure_sources(site: Path, alert_id: str) -> list[str]:
    page = (site / "alerts" / f"{page_name(alert_id)}.html").read_text()
    return [src.removeprefix("../") for src in _srcs(page)]


def _srcs(page: str) -> list[str]:
    return [part.split('"', 1)[0] for part in page.split('<img src="')[1:]]


def _edit_alert(state: Path, alert_id: str, change) -> None:
    path = state / "alerts" / f"{alert_id}.json"
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record, indent=2))


def test_a_second_report_on_unchanged_state_draws_nothing_and_writes_the_same_bytes(tmp_path):
    alerts = write_state(tmp_path / "state")
    first = build_site(tmp_path / "state", tmp_path / "site")
    assert first.drawn == 2 * len(alerts) and first.reused == 0
    before = _files(tmp_path / "site")
    again = build_site(tmp_path / "state", tmp_path / "site")
    assert again.drawn == 0 and again.reused == first.drawn
    after = _files(tmp_path / "site")
    assert {n: b for n, (b, _) in after.items()} == {n: b for n, (b, _) in before.items()}
    kept = [n for n in after if n.startswith("figures/")]
    assert len(kept) == first.drawn and all(after[n][1] == before[n][1] for n in kept)


def test_a_changed_alert_is_redrawn_and_its_old_figures_removed(tmp_path):
    alerts = write_state(tmp_path / "state")
    site = tmp_path / "site"
    build_site(tmp_path / "state", site)
    changed, other = alerts[0].id, alerts[1].id
    old, untouched = _figure_sources(site, changed), _figure_sources(site, other)
    stamps = {n: (site / n).stat().st_mtime_ns for n in untouched}

    def double_after_median(record):
        record["after"]["median"] *= 2

    _edit_alert(tmp_path / "state", changed, double_after_median)
    result = build_site(tmp_path / "state", site)
    assert result.drawn == 2
    new = _figure_sources(site, changed)
    assert len(new) == 2 and set(new).isdisjoint(old)
    assert all((site / n).is_file() for n in new) and not any((site / n).exists() for n in old)
    assert _figure_sources(site, other) == untouched
    assert all((site / n).stat().st_mtime_ns == stamps[n] for n in untouched)


def test_what_the_figures_do_not_show_never_redraws_them(tmp_path):
    alerts = write_state(tmp_path / "state")
    build_site(tmp_path / "state", tmp_path / "site")

    def remind(record):
        record["history"].append({"date": "2025-09-01", "detail": "owner asked", "event": "ping"})

    _edit_alert(tmp_path / "state", alerts[0].id, remind)
    result = build_site(tmp_path / "state", tmp_path / "site")
    assert result.drawn == 0
    page = (tmp_path / "site" / "alerts" / f"{page_name(alerts[0].id)}.html").read_text()
    assert "owner asked" in page


def test_new_drawing_code_redraws_every_figure(tmp_path, monkeypatch):
    alerts = write_state(tmp_path / "state")
    build_site(tmp_path / "state", tmp_path / "site")
    monkeypatch.setattr(figures, "code_version", lambda: "other drawing code")
    result = build_site(tmp_path / "state", tmp_path / "site")
    assert result.drawn == 2 * len(alerts) and result.reused == 0
    assert len(list((tmp_path / "site" / "figures").iterdir())) == result.drawn


def test_stray_and_half_written_figure_files_are_not_kept(tmp_path):
    write_state(tmp_path / "state")
    site = tmp_path / "site"
    first = build_site(tmp_path / "state", site)
    (site / "figures" / "0123456789abcdef01234567-series.svg").write_text("old")
    (site / "figures" / ".x-cdf.svg.tmp123").write_text("<svg")
    result = build_site(tmp_path / "state", site)
    assert result.drawn == 0
    assert len(list((site / "figures").iterdir())) == first.drawn
