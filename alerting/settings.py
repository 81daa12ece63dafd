"""Run configuration: `alerting.toml` at the repository root, overridden by environment
variables `ALERTING_<SECTION>_<KEY>`; secrets come only from the environment.

With no file and no variables the settings are the embedded default: generated sample data for
the probes in `probes/`, delivery to the outbox under `state/outbox/`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from alerting.data.model import CHANNELS
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
    cache_dir: str = ""  # source = files: findings (run), series (backtest, probes diff)


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


REDACTED_ANYWHERE = 4  # a shorter secret (a user name like "ci") is part of ordinary words
_ALNUM = r"[^\W_]"  # a letter or a digit


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every given secret replaced by `[redacted]`, for server replies shown to
    people: a server may quote what it was sent. Longest first, so no secret is left half
    shown where it contains another. A secret shorter than `REDACTED_ANYWHERE` is replaced
    only as a whole token (not inside a longer run of letters and digits), so a short user
    name does not mangle the words it occurs in."""
    for value in sorted({s for s in secrets if s}, key=len, reverse=True):
        if len(value) >= REDACTED_ANYWHERE:
            text = text.replace(value, "[redacted]")
        else:
            text = re.sub(_whole_token(value), "[redacted]", text)
    return text


def _whole_token(value: str) -> str:
    """`value` as a pattern that does not match inside a longer run of letters and digits."""
    before = f"(?<!{_ALNUM})" if re.match(_ALNUM, value[0]) else ""
    after = f"(?!{_ALNUM})" if re.match(_ALNUM, value[-1]) else ""
    return before + re.escape(value) + after


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
        except ValueError:  # Python refuses to read an integer of thousands of digits
            raise UserError(
                f"{path}: not valid TOML: a number has thousands of digits; correct it"
            ) from None
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
    # Data files are named relative to the repository root, wherever the command runs from.
    settings.data.paths = [str(Path(root) / p) for p in settings.data.paths]
    if settings.data.cache_dir:
        settings.data.cache_dir = str(Path(root) / Path(settings.data.cache_dir).expanduser())
    return settings


def _sections() -> str:
    return ", ".join(f.name for f in dataclasses.fields(Settings) if f.name.isalpha())


def _assign(target, section: str, key: str, value, where: str, text: bool = False) -> None:
    """Set one setting, refusing a value of the wrong type or outside what it allows, so a
    mistake stops the command before anything runs, naming the file or variable and key."""
    known = {f.name: f for f in dataclasses.fields(target)}
    if key not in known:
        names = ", ".join(sorted(known))
        raise UserError(f"{where}: unknown setting; known in this section: {names}")
    current = getattr(target, key)
    if dataclasses.is_dataclass(current):
        raise UserError(
            f"{where}: [{key}] is a section, not a setting: write [{key}] on a line of its own "
            f"and its settings below it, one `name = value` per line"
        )
    coerced = _coerce(current, value, where, text)
    why = _RULES[section, key](coerced) if (section, key) in _RULES else None
    if why:
        raise UserError(f"{where}: {why}")
    setattr(target, key, coerced)


_KINDS = {bool: "boolean (true or false)", int: "whole number", list: "list of texts", str: "text"}


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
    kind = _KINDS.get(type(current), type(current).__name__)
    if isinstance(current, str) and isinstance(value, dt.date | dt.time):
        shown = value.isoformat()  # TOML reads an unquoted date or time as one, not as text
        raise UserError(f'{where}: expected a {kind}; write it in quotes: "{shown}"')
    if isinstance(current, list) and isinstance(value, str):
        raise UserError(f"{where}: expected a {kind}; write it as a list: [{json.dumps(value)}]")
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:59] + "…"
    raise UserError(f"{where}: expected a {kind}, got {shown}")


# Why a value is refused (None when it is fine), for the settings that allow less than their
# type does.
Check = Callable[[object], str | None]


def _between(low: int, high: int, unit: str = "") -> Check:
    def check(value) -> str | None:
        if low <= value <= high:
            return None
        of = f" of {unit}" if unit else ""
        return f"{value} is out of range; use a whole number{of} from {low:,} to {high:,}"

    return check


def _one_of(*allowed: str) -> Check:
    def check(value) -> str | None:
        return (
            None if value in allowed else f"{value!r} is unknown; use one of {', '.join(allowed)}"
        )

    return check


def _channels(value) -> str | None:
    unknown = [channel for channel in value if channel not in CHANNELS]
    if value and not unknown:
        return None
    named = f"{', '.join(map(repr, unknown))} is not a channel" if unknown else "no channel"
    return f'{named}; list some of {", ".join(CHANNELS)}, e.g. ["nightly"]'


def _day_or_empty(value) -> str | None:
    if value == "" or (re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) and _is_day(value)):
        return None
    return f'{value!r} is not a day; write it YYYY-MM-DD (e.g. "2026-11-01"), or "" for the default'


def _is_day(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


INT64_MAX = (1 << 63) - 1
_RULES: dict[tuple[str, str], Check] = {
    ("data", "source"): _one_of("sample", "files", "bigquery"),
    ("data", "channels"): _channels,
    ("data", "history_days"): _between(1, 3650, "days"),
    ("data", "sample_seed"): _between(0, INT64_MAX),
    ("data", "sample_end"): _day_or_empty,
    ("data", "maximum_bytes_billed"): _between(1, INT64_MAX, "bytes"),
    ("detect", "lookback_days"): _between(1, 3650, "days"),
    ("delivery", "mode"): _one_of("outbox", "live"),
    ("bugzilla", "reminder_days"): _between(1, 365, "days"),
    ("bugzilla", "batch_size"): _between(1, 10_000, "bug ids per request"),
    ("email", "backend"): _one_of("outbox", "smtp", "taskcluster"),
    ("email", "cap"): _between(1, 10_000, "digests per run"),
    ("smtp", "port"): _between(1, 65535),
    ("hg", "source"): _one_of("auto", "hg", "sample"),
}
