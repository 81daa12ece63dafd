"""Settings and fixtures every test shares."""

import datetime as dt

import pytest

from alerting.alerts.store import StateStore
from alerting.data import buildids
from tests.doubles.bugzilla import BugzillaDouble

# Test data may lie after the day the suite runs; builds are accepted up to this day, so no
# test depends on the calendar.
LATEST_BUILD_DAY = dt.date(2030, 12, 31)


@pytest.fixture(autouse=True)
def fixed_latest_build_day(monkeypatch):
    monkeypatch.setattr(buildids, "latest_build_day", lambda: LATEST_BUILD_DAY)


@pytest.fixture
def bugzilla():
    """A Bugzilla server on loopback (see `tests/doubles/bugzilla.py`)."""
    with BugzillaDouble() as double:
        yield double


@pytest.fixture
def store(tmp_path):
    """An empty state store in the test's own folder."""
    return StateStore(tmp_path / "state")
