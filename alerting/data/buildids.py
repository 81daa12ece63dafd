"""Nightly build ids (YYYYMMDDHH or YYYYMMDDhhmmss) as days and times, checked in bulk."""

from __future__ import annotations

import datetime as dt

import numpy as np

from alerting.data.values import shown

# Build ids are accepted from this day to tomorrow (UTC): Glean nightlies exist since 2019,
# GLAM's legacy ones since the 2010s; a date outside is a broken or hostile row, and one such
# row must neither set the run's date nor stretch a series over centuries.
FIRST_BUILD_DAY = dt.date(2010, 1, 1)


def latest_build_day() -> dt.date:
    """Tomorrow (UTC): no nightly can be built later than that."""
    return dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)


def build_times(ids: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Calendar day (days since 1970) and build time (ns) of YYYYMMDDHH / YYYYMMDDhhmmss ids,
    and whether each is a real date and time; digit arithmetic on all ids at once, since
    date parsing per id costs more than the rest of a row."""
    n = len(ids)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool)
    text = np.array(ids, dtype="U14")
    digits = text.view(np.uint32).reshape(n, 14).astype(np.int64) - ord("0")
    long = np.char.str_len(text) == 14
    is_digit = (digits >= 0) & (digits <= 9)
    valid = is_digit[:, :10].all(axis=1) & (~long | is_digit[:, 10:].all(axis=1))
    digits = np.where(is_digit, digits, 0)

    def number(lo: int, hi: int) -> np.ndarray:
        return digits[:, lo:hi] @ (10 ** np.arange(hi - lo - 1, -1, -1))

    year, month, dom, hour = number(0, 4), number(4, 6), number(6, 8), number(8, 10)
    minute = np.where(long, number(10, 12), 0)
    second = np.where(long, number(12, 14), 0)
    # Seconds up to 61, as strptime allows (leap seconds).
    valid &= (month >= 1) & (month <= 12) & (hour < 24) & (minute < 60) & (second < 62)
    valid &= (year >= 1678) & (year <= 2261)  # nanosecond times, as numpy and pandas hold them
    months = (year - 1970) * 12 + np.clip(month, 1, 12) - 1
    first = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    after = (months + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    valid &= (dom >= 1) & (dom <= after - first)
    day = first + dom - 1
    stamp = (((day * 24 + hour) * 60 + minute) * 60 + second) * 1_000_000_000
    return day, stamp, valid


def build_id_problem(build_id: object) -> str:
    """Why a build id is unusable; "" for a whole number that is fine as its digits."""
    if build_id is None or build_id == "":
        return "missing build_id"
    if isinstance(build_id, int) and not isinstance(build_id, bool):
        text = str(build_id)
        if len(text) in (10, 14):
            return ""
    return f"build_id {shown(build_id)} is not YYYYMMDDHH or YYYYMMDDhhmmss digits"
