"""Run configuration: `alerting.toml` at the repository root, overridden by environment
variables `ALERTING_<SECTION>_<KEY>`; secrets come only from the environment.

With no file and no variables the settings are the embedded default: generated sample data for
the probes in `probes/`, delivery to the outbox under `state/outbox/`.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from alerting.errors import UserError

CONFIG_FILE = "alerting.toml"

# Bytes one BigQuery query may bill unless `[data] maximum_bytes_billed` says otherwise: 1 TiB,
# a few dollars at on-demand prices. A guard against a query that scans far more than expected,
# not a budget: `alerting run --estimate` tells what a run scans.
MAXIMUM_BYTES_BILLED = 1 << 40


@dataclass
class DataSettings:
    source: str = "sample"  # sample | files | bigquery
    paths: list[str] = field(default_factory=list)  # GLAM row files for source = files
    channels: list[str] = field(default_factory=lambda: ["nightly"])
    history_days: int = 365  # days of history read (and generated, for the sample source)
    sample_seed: int = 11  # the embedded default's seed: a demo with bugs, digests, every class
    sample_end: str = ""  # last day of the embedded sample data (ISO); "" = a fixed default
    bigquery_project: str = ""
    maximum_bytes_billed: int = MAXIMUM_BYTES_BILLED  # per query (one per app and channel)
    cache_dir: str = ""  # source = files: keep findings (run) and series (backtest) here


@dataclass
class DetectSettings:
    lookback_days: int = 30  # a first-monitored series alerts only on changes this recent


@dataclass
class DeliverySettings:
    mode: str = "outbox"  # outbox | live


@dataclass
class BugzillaSettings:
    url: str = "https://bugzilla.mozilla.org"
    default_product: str = "Toolkit"
    default_component: str = "Telemetry"
    reminder_days: int = 7  # nudge an open alert bug after this many days without activity
    batch_size: int = 200  # ids per status request (keeps request targets small)


@dataclass
class EmailSettings:
    backend: str = "outbox"  # outbox | smtp | taskcluster
    cap: int = 50  # digests per run; the rest carry over to the next run
    sender: str = "telemetry-alerts@mozilla.com"


@dataclass
class SmtpSettings:
    host: str = "localhost"
    port: int = 587
    starttls: bool = True


@dataclass
class TaskclusterSettings:
    root_url: str = "https://firefox-ci-tc.services.mozilla.com"


@dataclass
class HgSettings:
    url: str = "https://hg.mozilla.org/mozilla-central"
    source: str = "auto"  # auto (sample builds with sample data) | hg | sample


@dataclass
class ReportSettings:
    # Where the dashboard (`alerting report`, published by pages.yml) is read; bugs and digests
    # link to its pages. Set it to the deployment's GitHub Pages address.
    url: str = "https://mozilla.github.io/telemetry-alerting/"


@dataclass
class HelpSettings:
    """What bugs and digests tell owners about handling an alert and whom to ask."""

    docs: str = "https://firefox-source-docs.mozilla.org/testing/perfdocs/telemetry-alerting.html"
    contact: str = (
        "Questions: #perftest on Matrix (chat.mozilla.org), or a bug in Testing :: Performance."
    )


@dataclass
class Settings:
    data: DataSettings = field(default_factory=DataSettings)
    detect: DetectSettings = field(default_factory=DetectSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    bugzilla: BugzillaSettings = field(default_factory=BugzillaSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    taskcluster: TaskclusterSettings = field(default_factory=TaskclusterSettings)
    hg: HgSettings = field(default_factory=HgSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    help: HelpSettings = field(default_factory=HelpSettings)
    probes_dir: str = "probes"
    state_dir: str = "state"


# Environment variables holding secrets; never read from alerting.toml, never logged or stored.
SECRET_NAMES = (
    "BUGZILLA_API_KEY",
    "ALERTING_SMTP_USER",
    "ALERTING_SMTP_PASSWORD",
    "TASKCLUSTER_CLIENT_ID",
    "TASKCLUSTER_ACCESS_TOKEN",
    "GOOGLE_APPLICATION_CREDENTIALS",
)

# Settings whose environment variable name is not derived from section and key.
_ENV_ALIASES = {("email", "sender"): "ALERTING_EMAIL_FROM"}


def secret(name: str, environ: dict[str, str] | None = None) -> str:
    """A secret from the environment ("" when unset)."""
    if name not in SECRET_NAMES:
        raise KeyError(name)
    return (os.environ if environ is None else environ).get(name, "")


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every given secret replaced by `[redacted]`, for server replies shown to
    people: a server may quote what it was sent. Longest first, so no secret is left half
    shown where it contains another."""
    for value in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(value, "[redacted]")
    return text


def load_settings(root: Path | str = ".", environ: dict[str, str] | None = None) -> Settings:
    """Settings from `root/alerting.toml` (optional) and the environment, checked for types."""
    environ = dict(os.environ if environ is None else environ)
    path = Path(root) / CONFIG_FILE
    settings = Settings()
    raw: dict = {}
    if path.is_file():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise UserError(f"{path}: not valid TOML: {error}") from None
    for key, value in raw.items():
        if isinstance(value, dict):
            section = getattr(settings, key, None)
            if not dataclasses.is_dataclass(section):
                raise UserError(f"{path}: [{key}]: unknown section; known: {_sections()}")
            for sub_key, sub_value in value.items():
                _assign(section, key, sub_key, sub_value, f"{path}: [{key}] {sub_key}")
        else:
            _assign(settings, "", key, value, f"{path}: {key}")
    for section_field in dataclasses.fields(settings):
        section = getattr(settings, section_field.name)
        if dataclasses.is_dataclass(section):
            for f in dataclasses.fields(section):
                name = _ENV_ALIASES.get((section_field.name, f.name))
                name = name or f"ALERTING_{section_field.name}_{f.name}".upper()
                if name in environ:
                    _assign(section, section_field.name, f.name, environ[name], name, text=True)
        else:
            name = f"ALERTING_{section_field.name}".upper()
            if name in environ:
                _assign(settings, "", section_field.name, environ[name], name, text=True)
    _check_choices(settings)
    # Data files are named relative to the repository root, wherever the command runs from.
    settings.data.paths = [str(Path(root) / p) for p in settings.data.paths]
    if settings.data.cache_dir:
        settings.data.cache_dir = str(Path(root) / Path(settings.data.cache_dir).expanduser())
    return settings


def _sections() -> str:
    return ", ".join(f.name for f in dataclasses.fields(Settings) if f.name.isalpha())


def _assign(target, section: str, key: str, value, where: str, text: bool = False) -> None:
    known = {f.name: f for f in dataclasses.fields(target)}
    if key not in known:
        names = ", ".join(sorted(known))
        raise UserError(f"{where}: unknown setting; known in this section: {names}")
    current = getattr(target, key)
    setattr(target, key, _coerce(current, value, where, text))


def _coerce(current, value, where: str, text: bool):
    """Values keep the type of their default; environment strings are parsed into it."""
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
        if text and str(value).strip().lower() in {"1", "true", "yes", "on"}:
            return True
        if text and str(value).strip().lower() in {"0", "false", "no", "off", ""}:
            return False
    elif isinstance(current, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if text:
            try:
                return int(value)
            except ValueError:
                pass
    elif isinstance(current, list):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        if text:
            return [v.strip() for v in str(value).split(",") if v.strip()]
    elif isinstance(value, str):
        return value
    kind = type(current).__name__
    raise UserError(f"{where}: expected a {kind}, got {value!r}")


_CHOICES = {
    ("data", "source"): ("sample", "files", "bigquery"),
    ("delivery", "mode"): ("outbox", "live"),
    ("email", "backend"): ("outbox", "smtp", "taskcluster"),
    ("hg", "source"): ("auto", "hg", "sample"),
}


def _check_choices(settings: Settings) -> None:
    for (section, key), allowed in _CHOICES.items():
        value = getattr(getattr(settings, section), key)
        if value not in allowed:
            env = f"ALERTING_{section}_{key}".upper()
            raise UserError(
                f"setting [{section}] {key} (or {env}) is {value!r}; use one of {', '.join(allowed)}"
            )
