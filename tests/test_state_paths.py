"""No name from a YAML file, a data row or a record reaches a file outside `state/`."""

import json
import os

import pytest

from alerting.alerts.model import FirstSeen
from alerting.alerts.store import StatePathError, StateStore, state_path


@pytest.mark.parametrize(
    "relative",
    [
        "probes/../x.json",
        "probes/../../outside.json",
        "/etc/passwd",
        "probes//x.json",
        "probes/a\\..\\b.json",
        "probes/a\x00b.json",
        "probes/a\nb.json",
        "probes/" + "a" * 300 + ".json",
        "probes/\udcff.json",
    ],
)
def test_hostile_or_broken_names_are_refused(tmp_path, relative):
    with pytest.raises(StatePathError):
        state_path(tmp_path, relative)


def test_plain_names_stay_inside(tmp_path):
    assert (
        state_path(tmp_path, "probes/net.work.time.json") == tmp_path / "probes/net.work.time.json"
    )


def test_a_hostile_probe_name_overwrites_no_alert(tmp_path):
    store = StateStore(tmp_path / "state")
    (tmp_path / "state/alerts").mkdir(parents=True)
    victim = tmp_path / "state/alerts/abc.json"
    victim.write_text("{}\n")
    with pytest.raises(StatePathError):
        store.save_first_seen(FirstSeen(probe="../x./../alerts/abc", series={}))
    assert victim.read_text() == "{}\n"
    assert sorted(os.listdir(tmp_path)) == ["state"]


def test_a_lone_surrogate_in_a_value_is_stored_as_its_json_escape(tmp_path):
    store = StateStore(tmp_path)
    label = "cache\ud800"  # what a "\ud800" escape in a GLAM row's label reads as
    assert store.write_json("probes/a.b.json", {"series": {label: "2026-01-01"}})
    written = (tmp_path / "probes" / "a.b.json").read_bytes()
    assert b"cache\\ud800" in written
    assert json.loads(written) == {"series": {label: "2026-01-01"}}
    assert not store.write_json("probes/a.b.json", {"series": {label: "2026-01-01"}})


def test_a_file_that_is_not_utf8_is_replaced_not_a_crash(tmp_path):
    store = StateStore(tmp_path)
    (tmp_path / "outbox").mkdir()
    (tmp_path / "outbox" / "a.json").write_bytes(b'{"title": "Ch\xe4nge"}\n')
    assert store.write_json("outbox/a.json", {"title": "Change"})
    assert json.loads((tmp_path / "outbox" / "a.json").read_text()) == {"title": "Change"}


def test_a_symbolic_link_inside_state_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    state = tmp_path / "state"
    (state / "outbox").mkdir(parents=True)
    (state / "outbox" / "bugs").symlink_to(outside, target_is_directory=True)
    (state / "alerts").mkdir()
    (state / "alerts" / "a.json").symlink_to("/etc/hostname")
    for relative in ("outbox/bugs/a.json", "alerts/a.json"):
        with pytest.raises(StatePathError, match="symbolic link"):
            state_path(state, relative)
    with pytest.raises(StatePathError):
        StateStore(state).write_json("outbox/bugs/a.json", {"a": 1})
    assert list(outside.iterdir()) == []
