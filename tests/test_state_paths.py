"""No name from a YAML file, a data row or a record reaches a file outside `state/`."""

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
