"""Outbox mode: a bug draft written before its push range was known is drafted again, once,
when a later run finds the range, so the draft never keeps saying the range is unknown."""

from __future__ import annotations

import datetime as dt
import json

from alerting.alerts.model import DRAFTED, PushRange
from alerting.alerts.store import StateStore
from alerting.pipeline import deliver
from alerting.pipeline.context import Context
from alerting.settings import Settings
from alerting.steplog import StepLog
from tests.delivery_helpers import make_alert


def file_in_outbox(store: StateStore, day: str) -> StepLog:
    ctx = Context(
        settings=Settings(),  # outbox mode by default
        store=store,
        configs=[],
        outcomes=iter(()),
        as_of=dt.date.fromisoformat(day),
        alerts=store.alerts(),
        summaries=store.summaries(),
        sample_builds=False,
    )
    step = StepLog("file bugs")
    deliver.file_bugs(ctx, step)
    return step


def test_a_draft_is_redrafted_once_when_its_push_range_is_found(tmp_path):
    store = StateStore(tmp_path / "state")
    alert = make_alert("r0")
    known_range, known_links = alert.push_range, dict(alert.links)
    alert.push_range, alert.links = PushRange(build=alert.build_id), {"glam": alert.links["glam"]}
    store.save_alert(alert)
    draft = tmp_path / "state" / "outbox" / "bugs" / "r0.json"

    assert file_in_outbox(store, "2025-01-10").counts == {"bugs drafted": 1}
    assert "Push range: not known yet" in json.loads(draft.read_text())["description"]

    alert = store.alerts()["r0"]
    alert.push_range = known_range
    alert.links.update(known_links)
    alert.record("2025-01-11", "push range", "aaaaaaaaaaaa..bbbbbbbbbbbb")
    store.save_alert(alert)
    assert file_in_outbox(store, "2025-01-11").counts == {"bugs drafted": 1}
    description = json.loads(draft.read_text())["description"]
    assert "not known yet" not in description and known_links["pushlog"] in description
    assert store.alerts()["r0"].delivery_state == DRAFTED

    before = draft.read_bytes()
    assert file_in_outbox(store, "2025-01-12").counts == {}
    assert draft.read_bytes() == before
