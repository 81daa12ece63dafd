"""`MonitorConfig`: the effective monitoring config of one probe, as every later step sees it.

Defaults are already applied (platforms, technique, its arguments, Bugzilla product and
component, Glean's default units), so nothing downstream re-reads `metrics.yaml` or guesses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DESKTOP_PLATFORMS: tuple[str, ...] = ("Windows", "Linux", "Darwin")
MOBILE_PLATFORMS: tuple[str, ...] = ("Android",)
ALL_PLATFORMS = "All"  # GLAM's all-OS aggregate (`os = '*'`); only when listed explicitly

DESKTOP_APP = "fog"
MOBILE_APP = "fenix"

# Types GLAM aggregates into something a distribution change can be measured on.
MONITORABLE_TYPES: frozenset[str] = frozenset(
    {
        "timing_distribution",
        "memory_distribution",
        "custom_distribution",
        "labeled_timing_distribution",
        "labeled_memory_distribution",
        "labeled_custom_distribution",
        "counter",
        "labeled_counter",
        "quantity",
        "timespan",
    }
)

# `probes list --json` prints exactly these keys, in this order.
JSON_KEYS: tuple[str, ...] = (
    "probe",
    "metric",
    "type",
    "file",
    "line",
    "alert",
    "platforms",
    "bugzilla_notification_emails",
    "notification_emails",
    "lower_is_better",
    "technique",
    "args",
    "bugzilla_product",
    "bugzilla_component",
)


@dataclass
class MonitorConfig:
    """One monitored probe. `alert` True files bugs; False emails `notification_emails`."""

    probe: str  # dotted Glean name, `networking.http_channel_page_open_to_first_sent`
    metric: str  # GLAM's name for it: dots -> underscores
    type: str
    file: str
    line: int  # line of the `monitor` key, where an owner would go to change it
    alert: bool
    platforms: list[str]
    bugzilla_notification_emails: list[str]  # first is needinfo'd, the rest CC'd
    notification_emails: list[str]
    lower_is_better: bool | None  # None: changes are neither regressions nor improvements
    technique: str  # canonical registry name (`cdf-squared` is stored as `cdf_squared`)
    args: dict = field(default_factory=dict)  # typed values, technique defaults filled in
    bugzilla_product: str = ""
    bugzilla_component: str = ""
    description: str = ""
    time_unit: str | None = None  # timing/timespan only; Glean's default filled in
    memory_unit: str | None = None  # memory distributions only; Glean's default filled in
    unit: str | None = None  # free-form unit of custom distributions and quantities
    labels: list[str] | None = None  # static labels of labeled_* types; None when dynamic
    app: str = DESKTOP_APP  # `fog` (desktop) or `fenix` (mobile): which GLAM tables to read
    expires: str | None = None

    @property
    def labeled(self) -> bool:
        """Labeled probes are one series per label."""
        return self.type.startswith("labeled_")

    def to_json(self) -> dict:
        """The `probes list --json` object: exactly `JSON_KEYS`."""
        values = {key: getattr(self, key) for key in JSON_KEYS}
        for key in ("platforms", "bugzilla_notification_emails", "notification_emails"):
            values[key] = list(values[key])
        values["args"] = dict(values["args"])
        return values
