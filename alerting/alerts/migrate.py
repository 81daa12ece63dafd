"""Older record versions, upgraded in memory when read; the next write stores the current one.

A record without a `schema` field is version 1 (what was written before records were
versioned). Each step takes a record of version N to N + 1 and may split part of it off into a
record of another type (alert version 2 keeps its plot in a file of its own).
"""

from __future__ import annotations

from collections.abc import Callable

from alerting.alerts.model import ALERT_SCHEMA, FIRST_SEEN_SCHEMA, PLOT_SCHEMA, SUMMARY_SCHEMA

# Record type -> its current version.
CURRENT = {
    "alert": ALERT_SCHEMA,
    "summary": SUMMARY_SCHEMA,
    "first_seen": FIRST_SEEN_SCHEMA,
    "plot": PLOT_SCHEMA,
}

Split = dict[str, dict]  # record type -> a record split off by a step
Step = Callable[[dict], tuple[dict, Split]]


class MigrationError(ValueError):
    """A record whose version cannot be upgraded (unknown, or newer than this program)."""


def _alert_1_to_2(record: dict) -> tuple[dict, Split]:
    """The plot arrays leave the alert record for `state/plots/<id>.json`."""
    record = dict(record)
    plot = record.pop("plot", None)
    if not isinstance(plot, dict):
        return record, {}
    return record, {"plot": {"schema": 1, "alert": record.get("id"), **plot}}


def _alert_2_to_3(record: dict) -> tuple[dict, Split]:
    """`reason`: why a silence or an expected change covered the alert (none before)."""
    return {**record, "reason": ""}, {}


# (record type, from version) -> the step to the next version.
STEPS: dict[tuple[str, int], Step] = {
    ("alert", 1): _alert_1_to_2,
    ("alert", 2): _alert_2_to_3,
}


def version_of(record: dict) -> object:
    return record.get("schema", 1)


def upgrade(kind: str, record: dict) -> tuple[dict, Split]:
    """`record` at the current version of `kind`, and the records split off on the way."""
    version, current = version_of(record), CURRENT[kind]
    if type(version) is not int or version < 1:
        raise MigrationError(f"schema version must be a whole number from 1, not {version!r}")
    if version > current:
        raise MigrationError(
            f"schema version {version} is newer than this alerting reads ({current}): "
            "upgrade alerting"
        )
    split: Split = {}
    while version < current:
        record, more = STEPS[(kind, version)](record)
        split.update(more)
        version += 1
    return {**record, "schema": current}, split
