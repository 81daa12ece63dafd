"""Settings every test shares."""

import datetime as dt

import pytest

from alerting.data import buildids

# Test data may lie after the day the suite runs; builds are accepted up to this day, so no
# test depends on the calendar.
LATEST_BUILD_DAY = dt.date(2030, 12, 31)


@pytest.fixture(autouse=True)
def fixed_latest_build_day(monkeypatch):
    monkeypatch.setattr(buildids, "latest_build_day", lambda: LATEST_BUILD_DAY)
