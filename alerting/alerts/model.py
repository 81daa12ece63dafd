"""The records kept under `state/`; their JSON is the contract between the pipeline, delivery,
the report and `alerting alerts`.

Each record type carries a `schema` version (the JSON Schemas are in `alerting/alerts/schemas/`;
older versions are upgraded by `alerting.alerts.migrate` when read). Bump a version, add a JSON
Schema change and a migration step whenever a record's shape changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields

# Current `schema` version of each record type.
ALERT_SCHEMA = 3  # 2: the plot moved to its own file; 3: `reason` (silences.yaml)
SUMMARY_SCHEMA = 1
FIRST_SEEN_SCHEMA = 1
PLOT_SCHEMA = 1

# Lifecycle: `new` until Bugzilla says otherwise; `resolved` carries the resolution.
STATUS_NEW = "new"
STATUS_RESOLVED = "resolved"
# Covered by an entry of `probes/silences.yaml` when created (`reason` says why); never
# followed in Bugzilla, since no bug of ours exists for them.
STATUS_SILENCED = "silenced"
STATUS_EXPECTED = "expected"  # reported as a comment on the landing's bug (`bug`)
QUIET_STATUSES = (STATUS_SILENCED, STATUS_EXPECTED)

# How an alert reaches its owners, and how far that has got.
DELIVERY_BUG = "bug"
DELIVERY_EMAIL = "email"
DELIVERY_COMMENT = "comment"  # an expected change: one comment on the landing's bug
PENDING = "pending"  # not yet delivered (retried on every run)
DRAFTED = "drafted"  # rendered to state/outbox/ (outbox mode)
FILED = "filed"  # bug created (or adopted) in Bugzilla
SENT = "sent"  # digest email sent
SILENCED = "silenced"  # never delivered: a silence covered it
COMMENTED = "commented"  # comment posted (or found) on the expected change's bug

# History event of an alert created without a push range; its detail says why (the bug
# quotes it). A later run that finds the range records `push range`.
PUSH_RANGE_UNKNOWN = "push range unknown"


@dataclass
class Values:
    """Before/after summary in the probe's own unit."""

    median: float
    p05: float
    p95: float
    samples: float


@dataclass
class PushRange:
    """The mozilla-central nightlies around the change and the pushes between them."""

    previous_build: str = ""
    build: str = ""
    next_build: str = ""
    from_rev: str = ""
    to_rev: str = ""
    sample: bool = False  # True when built from the embedded sample builds, not hg


@dataclass
class Plot:
    """What the report and the bug attachment draw, kept so they need nothing but `state/`.

    Stored apart from the alert (`state/plots/<alert id>.json`), written once: reviewers read
    the alert record, and its arrays would bury every change to it."""

    days: list[str] = field(default_factory=list)  # ISO dates around the change
    median: list[float | None] = field(default_factory=list)  # daily, probe unit, None on gaps
    p05: list[float | None] = field(default_factory=list)
    p95: list[float | None] = field(default_factory=list)
    buckets: list[float] = field(default_factory=list)  # bucket lower bounds, probe unit
    cdf_before: list[float] = field(default_factory=list)
    cdf_after: list[float] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.days or self.buckets)

    def to_json(self, alert_id: str) -> dict:
        return {"schema": PLOT_SCHEMA, "alert": alert_id, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict) -> Plot:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Event:
    """One line of an alert's history (dates are run dates, never wall-clock times)."""

    date: str
    event: str
    detail: str = ""


@dataclass
class Alert:
    id: str
    probe: str  # dotted Glean name
    metric: str  # GLAM name (dots -> underscores)
    metric_type: str
    platform: str  # Windows, Darwin, Linux, Android, All
    label: str  # metric_key, "" when unlabeled
    channel: str  # nightly, beta, release
    app: str  # GLAM product: fog or fenix
    date: str  # first day of the new behaviour (ISO)
    build_id: str  # first build after the change
    direction: str  # up | down
    classification: str  # regression | improvement | change
    technique: str
    score: float
    score_meaning: str
    unit: str  # the unit of before/after/plot values
    before: Values
    after: Values
    summary: str  # summary id
    delivery: str  # DELIVERY_BUG | DELIVERY_EMAIL | DELIVERY_COMMENT
    delivery_state: str = PENDING
    status: str = STATUS_NEW
    resolution: str = ""
    duplicate_of: int | None = None
    bug: int | None = None
    recipients: list[str] = field(default_factory=list)  # needinfo first, then CC / email to
    notified: list[str] = field(default_factory=list)  # recipients whose digest carried it
    bugzilla_product: str = ""
    bugzilla_component: str = ""
    push_range: PushRange = field(default_factory=PushRange)
    links: dict[str, str] = field(default_factory=dict)  # treeherder, pushlog, glam, bug
    plot: Plot = field(default_factory=Plot)  # kept in its own file, see `Plot`
    last_reminder: str = ""  # run date of the last inactivity reminder
    reason: str = ""  # the silence's or expected change's reason, when one covered it
    lower_is_better: bool | None = None  # the probe's goal when the alert was made
    history: list[Event] = field(default_factory=list)

    def to_json(self) -> dict:
        """The alert record, without its plot (stored apart, see `Plot`)."""
        data = asdict(self)
        del data["plot"]
        return {"schema": ALERT_SCHEMA, **data}

    @classmethod
    def from_json(cls, data: dict, plot: Plot | None = None) -> Alert:
        """An alert from a current-version record (see `alerting.alerts.migrate`)."""
        known = {f.name for f in fields(cls)} - {"plot"}
        values = {k: v for k, v in data.items() if k in known}
        values["before"] = Values(**data["before"])
        values["after"] = Values(**data["after"])
        values["push_range"] = PushRange(**data.get("push_range", {}))
        values["history"] = [Event(**e) for e in data.get("history", [])]
        return cls(**values, plot=plot if plot is not None else Plot())

    def record(self, date: str, event: str, detail: str = "") -> None:
        self.history.append(Event(date, event, detail))

    @property
    def own_bug(self) -> int | None:
        """The bug filed for this alert, to follow and link; a silenced or expected alert's
        bug belongs to the work that explains it and is left alone."""
        return None if self.status in QUIET_STATUSES else self.bug


def newest_first(alerts: Iterable[Alert]) -> list[Alert]:
    """The order every listing of alerts uses: latest change first."""
    return sorted(alerts, key=lambda a: (a.date, a.id), reverse=True)


@dataclass
class Summary:
    """Alerts whose detection pushes lie within a day of each other (one culprit search)."""

    id: str
    date: str
    alerts: list[str] = field(default_factory=list)
    push_range: PushRange = field(default_factory=PushRange)

    def to_json(self) -> dict:
        return {"schema": SUMMARY_SCHEMA, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict) -> Summary:
        values = {k: v for k, v in data.items() if k != "schema"}
        values["push_range"] = PushRange(**data.get("push_range", {}))
        return cls(**values)


@dataclass
class FirstSeen:
    """When each series of one probe was first monitored (`state/probes/<probe>.json`): a newly
    monitored series is only alerted on for changes within the lookback before that day."""

    probe: str
    series: dict[str, str] = field(default_factory=dict)  # series id -> ISO date

    def to_json(self) -> dict:
        return {"schema": FIRST_SEEN_SCHEMA, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict) -> FirstSeen:
        return cls(probe=data["probe"], series=dict(data.get("series", {})))
