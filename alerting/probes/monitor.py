"""The rules that turn one metric's `metadata.monitor` block into a `MonitorConfig`.

Every rule reports a `Problem` naming the line and field and saying how to fix it, and all rules
run (one mistake never hides the next), so an owner fixes a pull request in one round.
Techniques and their arguments are whatever `alerting.detect.registry` declares.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from alerting.data.units import MEMORY_UNITS, TIME_UNITS
from alerting.detect import registry
from alerting.errors import Problem
from alerting.probes.model import (
    ALL_PLATFORMS,
    DESKTOP_PLATFORMS,
    MOBILE_APP,
    MOBILE_PLATFORMS,
    MONITORABLE_TYPES,
    MonitorConfig,
)
from alerting.probes.names import EMAIL_ADDRESS, EMAIL_MAX
from alerting.probes.yamlsafe import LineDict, bad_values, line_of, written_twice

MONITOR_KEYS: tuple[str, ...] = (
    "alert",
    "platforms",
    "bugzilla_notification_emails",
    "lower_is_better",
    "change_detection_technique",
    "change_detection_args",
)

# Glean's defaults when a metric leaves its unit out.
DEFAULT_TIME_UNIT = {
    "timing_distribution": "nanosecond",
    "labeled_timing_distribution": "nanosecond",
    "timespan": "millisecond",
}
DEFAULT_MEMORY_UNIT = {"memory_distribution": "byte", "labeled_memory_distribution": "byte"}

# Names people write for a platform that difflib would not connect to GLAM's spelling.
_PLATFORM_HINTS = {
    "mac": "Darwin",
    "macos": "Darwin",
    "osx": "Darwin",
    "win": "Windows",
    "win32": "Windows",
    "win64": "Windows",
    "*": ALL_PLATFORMS,
    "fenix": "Android",
}

# `monitor:` with nothing after it or under it: YAML reads no value, not an empty block.
EMPTY_MONITOR = (
    "is empty (nothing after `monitor:` or indented under it), which says neither whether nor "
    "how to monitor this probe; write `monitor: True` to be emailed about its changes with "
    f"every default, or indent settings under it ({', '.join(MONITOR_KEYS)}), e.g. "
    "`alert: True` with `bugzilla_notification_emails: [you@mozilla.com]` for bugs; "
    "`monitor: False` turns monitoring off"
)

# How close a metadata key must be to `monitor` to be taken for a misspelling of it:
# `monitoring` and `montior` are, a key of another tool such as `monitoring_notes` is not.
_MONITOR_CUTOFF = 0.75
_TAG = re.compile(r"^\s*(?P<product>[^:]+?)\s*::\s*(?P<component>.+?)\s*$")
# What Bugzilla product and component names are made of (every one of the 280 in
# mozilla-central's Glean tags.yaml: "Core :: Networking: HTTP", "Firefox :: New Tab Page",
# "DevTools :: about:debugging", "mozilla.org :: Licensing"); Bugzilla allows 64 characters.
# Anything else (markup, Markdown, control characters) is no component Bugzilla has, so a
# bug filed there would be refused on every run.
BUGZILLA_NAME_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,:/&()'+-"
)
BUGZILLA_NAME_MAX = 64
TAG_EXAMPLE = "'Core :: Networking: HTTP'"


@dataclass(frozen=True)
class FileContext:
    """What a metric inherits from its file and from the command line."""

    file: str
    app: str  # DESKTOP_APP or MOBILE_APP
    tags: tuple[str, ...]  # the file's `$tags`
    default_product: str
    default_component: str
    tag_lines: tuple[int, ...] = ()  # the line of each of `tags`


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """' did you mean X?' for the closest choice (ignoring case), or ''."""
    text = str(word)
    by_lower = {choice.lower(): choice for choice in choices}
    hint = _PLATFORM_HINTS.get(text.lower()) if text.lower() not in by_lower else None
    if hint in by_lower.values():
        return f" did you mean {hint}?"
    match = difflib.get_close_matches(text.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" did you mean {by_lower[match[0]]}?" if match else ""


def resolve_metric(
    ctx: FileContext, probe: str, metric: LineDict
) -> tuple[MonitorConfig | None, list[Problem]]:
    """The config of a monitored metric, None when it is not monitored or has a problem, and
    its problems (warnings among them: `Problem.warning`, which leave the config as it is).

    A value YAML could not build (an impossible date, monitored or not) is a problem of this
    metric only: the loader's words on it replace any rule's on the same field and line.
    """
    config, problems = _check_metric(ctx, probe, metric)
    bad = [
        Problem(ctx.file, value.line, probe, key, value.message)
        for key, value in bad_values(metric)
    ]
    if not bad:
        return config, problems
    told = {(problem.line, problem.field) for problem in bad}
    return None, bad + [p for p in problems if (p.line, p.field) not in told]


def _check_metric(
    ctx: FileContext, probe: str, metric: LineDict
) -> tuple[MonitorConfig | None, list[Problem]]:
    """`resolve_metric`'s rules, every one run."""
    problems: list[Problem] = []

    def report(line: int, field: str, message: str) -> None:
        problems.append(Problem(ctx.file, line, probe, field, message))

    def warn(line: int, field: str, message: str) -> None:
        problems.append(Problem(ctx.file, line, probe, field, message, warning=True))

    # Checked on every metric: a second `metadata:` may be what hides the monitor block.
    metadata = metric.get("metadata")
    _duplicates(metric, report)
    _duplicates(metadata, report)
    _misplaced(metric, report)
    if not isinstance(metadata, dict) or "monitor" not in metadata:
        return None, problems
    monitor = metadata["monitor"]
    monitor_line = line_of(metadata, "monitor")

    if monitor is False:
        return None, problems
    if monitor is True:
        block: dict = {}
    elif isinstance(monitor, dict):
        block = monitor
    elif monitor is None:
        report(monitor_line, "monitor", EMPTY_MONITOR)
        return None, problems
    else:
        report(
            monitor_line,
            "monitor",
            f"must be True, False or a mapping of settings ({', '.join(MONITOR_KEYS)}), "
            f"not {monitor!r}" + _unquote_hint(monitor),
        )
        return None, problems

    mtype = metric.get("type")
    if not isinstance(mtype, str) or not mtype:
        report(line_of(metric, "type"), "type", "missing or not a metric type name")
        return None, problems
    if mtype not in MONITORABLE_TYPES:
        report(
            monitor_line,
            "monitor",
            f"{mtype} metrics cannot be monitored: GLAM aggregates only timing, memory and "
            "custom distributions (and their labeled forms), counter, labeled_counter, quantity "
            "and timespan; remove the monitor block",
        )
        return None, problems

    _duplicates(block, report)
    for key in block:
        if key not in MONITOR_KEYS:
            report(
                line_of(block, key),
                str(key),
                f"unknown monitor key {str(key)!r};{did_you_mean(key, MONITOR_KEYS)} "
                f"known keys: {', '.join(MONITOR_KEYS)}",
            )

    def at(key: str) -> int:
        return line_of(block, key, monitor_line) if key in block else monitor_line

    alert = _boolean(block, "alert", False, at, report)
    lower_is_better = _boolean(block, "lower_is_better", None, at, report)
    bz_emails = _emails(block, "bugzilla_notification_emails", at, report)
    owner_emails = _emails(metric, "notification_emails", lambda k: line_of(metric, k), report)
    reported = {problem.field for problem in problems}
    if alert is True and not bz_emails and "bugzilla_notification_emails" not in reported:
        report(
            at(
                "bugzilla_notification_emails"
                if "bugzilla_notification_emails" in block
                else "alert"
            ),
            "bugzilla_notification_emails",
            "alert: True files bugs and needs at least one address here (the first is "
            "needinfo'd, the rest CC'd); add e.g. bugzilla_notification_emails: "
            "[you@mozilla.com], or set alert: False to be emailed instead",
        )
    if alert is False and not owner_emails and "notification_emails" not in reported:
        report(
            line_of(metric, "notification_emails", monitor_line),
            "notification_emails",
            "a monitor-only probe emails its notification_emails, but there are none; add an "
            "address, or set alert: True with bugzilla_notification_emails",
        )
    platforms = _platforms(ctx, block, at, report)
    technique, args = _technique(block, at, report)
    time_unit = _unit(metric, "time_unit", TIME_UNITS, DEFAULT_TIME_UNIT.get(mtype), report)
    memory_unit = _unit(metric, "memory_unit", MEMORY_UNITS, DEFAULT_MEMORY_UNIT.get(mtype), report)
    product, component = _product_component(ctx, metadata, report, warn, files_bugs=alert is True)

    if any(not problem.warning for problem in problems):
        return None, problems
    return (
        MonitorConfig(
            probe=probe,
            metric=probe.replace(".", "_"),
            type=mtype,
            file=ctx.file,
            line=monitor_line,
            alert=bool(alert),
            platforms=platforms,
            bugzilla_notification_emails=bz_emails,
            notification_emails=owner_emails,
            lower_is_better=lower_is_better,
            technique=technique,
            args=args,
            bugzilla_product=product,
            bugzilla_component=component,
            description=" ".join(str(metric.get("description") or "").split()),
            time_unit=time_unit,
            memory_unit=memory_unit,
            unit=_text(metric.get("unit")),
            labels=_labels(mtype, metric.get("labels")),
            app=ctx.app,
            expires=_expires(metric.get("expires")),
        ),
        problems,  # warnings only
    )


def _misplaced(metric: dict, report) -> None:
    """Report a monitor block the run would never read: written on the metric itself, or
    under a misspelled key in `metadata` (`monitoring`, `montior`)."""
    if "monitor" in metric:
        report(
            line_of(metric, "monitor"),
            "monitor",
            "ignored here: a monitor block is read only under the metric's metadata:; move it "
            "under metadata:",
        )
    metadata = metric.get("metadata")
    if not isinstance(metadata, dict):
        return
    for key in metadata:
        if key == "monitor" or not isinstance(key, str):
            continue
        if difflib.get_close_matches(key.lower(), ["monitor"], n=1, cutoff=_MONITOR_CUTOFF):
            report(
                line_of(metadata, key),
                key,
                f"unknown metadata key {key!r}; did you mean monitor? the monitor block is "
                "read only as metadata.monitor",
            )


def _duplicates(container: object, report) -> None:
    """Report each key a loaded mapping has twice, at the repeat's line."""
    for key, line, message in written_twice(container):
        report(line, key, message)


def _unquote_hint(value: object) -> str:
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "yes", "no"}:
        word = "True" if value.strip().lower() in {"true", "yes"} else "False"
        return f"; write {word} without quotes"
    return ""


def _not(value: object) -> str:
    """'not <value>' for what was written; an empty value is not shown as Python's None."""
    return "but it is empty" if value is None else f"not {value!r}"


def _boolean(block: dict, key: str, default, at, report):
    if key not in block or (default is None and block[key] is None):
        return default
    value = block[key]
    if isinstance(value, bool):
        return value
    allowed = "True or False" if default is not None else "True, False, or left out"
    report(at(key), key, f"must be {allowed}, {_not(value)}{_unquote_hint(value)}")
    return default


def _is_email(text: str) -> bool:
    """An address the digests can be sent to (delivery checks the same)."""
    return len(text) <= EMAIL_MAX and EMAIL_ADDRESS.fullmatch(text) is not None


def _emails(container: dict, key: str, at, report) -> list[str]:
    if key not in container or container[key] is None:
        return []
    value = container[key]
    if not isinstance(value, list):
        example = value if isinstance(value, str) and _is_email(value) else "you@mozilla.com"
        report(at(key), key, f"must be a list of email addresses, e.g. [{example}]")
        return []
    emails: list[str] = []
    for index, item in enumerate(value):
        if isinstance(item, str) and _is_email(item.strip()):
            emails.append(item.strip())
        else:
            report(
                line_of(value, index, at(key)),
                key,
                f"{item!r} is not an email address; write one address per item, e.g. "
                "- you@mozilla.com",
            )
    return emails


def _platforms(ctx: FileContext, block: dict, at, report) -> list[str]:
    mobile = ctx.app == MOBILE_APP
    defaults = list(MOBILE_PLATFORMS if mobile else DESKTOP_PLATFORMS)
    allowed = (*(MOBILE_PLATFORMS if mobile else DESKTOP_PLATFORMS), ALL_PLATFORMS)
    if "platforms" not in block:
        return defaults
    value = block["platforms"]
    if not isinstance(value, list):
        example = value if isinstance(value, str) else ", ".join(defaults)
        report(at("platforms"), "platforms", f"must be a list, e.g. platforms: [{example}]")
        return defaults
    if not value:
        report(
            at("platforms"),
            "platforms",
            f"is empty; list some of {', '.join(allowed)}, or leave it out for the default "
            f"({', '.join(defaults)})",
        )
        return defaults
    chosen: list[str] = []
    for index, item in enumerate(value):
        line = line_of(value, index, at("platforms"))
        if item in allowed:
            if item not in chosen:
                chosen.append(item)
            continue
        if not mobile and item in MOBILE_PLATFORMS:
            message = (
                f"{item} applies only to mobile (Fenix) probes, and this file is desktop "
                "(mobile files have fenix, android or mobile in their path); "
                f"choose from {', '.join(allowed)}"
            )
        elif mobile and item in DESKTOP_PLATFORMS:
            message = (
                f"{item} is a desktop platform, and this file holds mobile (Fenix) probes "
                f"(its path names fenix, android or mobile); choose from {', '.join(allowed)}"
            )
        else:
            message = (
                f"unknown platform {item!r};{did_you_mean(item, allowed)} "
                f"choose from {', '.join(allowed)}"
            )
        report(line, "platforms", message)
    return chosen or defaults


def _technique(block: dict, at, report) -> tuple[str, dict]:
    name = block.get("change_detection_technique", registry.DEFAULT_TECHNIQUE)
    if not isinstance(name, str):
        report(
            at("change_detection_technique"),
            "change_detection_technique",
            f"must be a technique name, e.g. {registry.DEFAULT_TECHNIQUE}, {_not(name)}",
        )
        return registry.DEFAULT_TECHNIQUE, {}
    technique = registry.get_technique(name.strip())
    if technique is None:
        known = registry.techniques()
        spellings = [*known, *(alias for t in known.values() for alias in t.aliases)]
        report(
            at("change_detection_technique"),
            "change_detection_technique",
            f"unknown technique {name!r};{did_you_mean(name, spellings)} "
            f"available: {', '.join(sorted(known))}",
        )
        return name, {}
    return technique.name, _technique_args(technique, block, at, report)


def _technique_args(technique: registry.Technique, block: dict, at, report) -> dict:
    key = "change_detection_args"
    raw = block.get(key)
    if raw is None:
        return technique.defaults()
    if isinstance(raw, dict):
        # A mapping (`{threshold: 0.9}`) means the same as the documented `[threshold=0.9]`.
        items = [f"{name}={value}" for name, value in raw.items()]
        lines = [line_of(raw, name, at(key)) for name in raw]
        for name, line, message in written_twice(raw):
            report(line, key, f"{name}: {message}")
    elif isinstance(raw, list):
        items, lines = [], []
        first_line: dict[str, int] = {}
        for index, item in enumerate(raw):
            line = line_of(raw, index, at(key))
            if isinstance(item, dict | list):
                hint = (
                    f"; write it as {next(iter(item))}={next(iter(item.values()))}"
                    if isinstance(item, dict) and len(item) == 1
                    else ""
                )
                report(line, key, f"each argument is a key=value string, not {item!r}{hint}")
                continue
            name, sep, _ = str(item).partition("=")
            if sep and name.strip() in first_line:
                report(
                    line,
                    key,
                    f"{name.strip()} is set twice (first on line {first_line[name.strip()]}); "
                    "only the last would count: keep one",
                )
            first_line.setdefault(name.strip(), line)
            items.append(item)
            lines.append(line)
    else:
        report(
            at(key),
            key,
            f"must be a list of key=value strings, e.g. [{_example(technique)}], not {raw!r}",
        )
        return technique.defaults()
    parsed = registry.parse_args(technique, items)
    line_for = {str(item): line for item, line in reversed(list(zip(items, lines, strict=True)))}
    for text, message in parsed.errors:
        name, sep, _ = str(text).partition("=")
        if sep and technique.arg(name.strip()) is None:
            message += ";" + (
                did_you_mean(name.strip(), [a.name for a in technique.args]) or " check it"
            )
        report(line_for.get(str(text), at(key)), key, f"{text!r}: {message}")
    return parsed.values


def _example(technique: registry.Technique) -> str:
    return f"{technique.args[0].name}={technique.args[0].default}" if technique.args else ""


def _product_component(
    ctx: FileContext, metadata: dict, report, warn, files_bugs: bool
) -> tuple[str, str]:
    """The Bugzilla product and component of the first tag written `Product :: Component`
    (the metric's tags, then the file's `$tags`), else the defaults.

    Other tags are Glean's free-form tags (`Sync`, `Privacy&Security`) and are passed over,
    but for a probe that files bugs (`files_bugs`: `alert: True`) one with a colon looks like
    a component missing its ` :: ` and is warned about, and the tag used must name a product
    and a component Bugzilla can have: an error otherwise. An email-only probe files no bug,
    so its tags are neither checked nor warned about (a file's `$tags` must not refuse it).
    """
    tags = metadata.get("tags")
    candidates: list[tuple[str, str, int]] = []  # (tag, field, line)
    if isinstance(tags, list):
        at = line_of(metadata, "tags")
        candidates += [
            (tag, "tags", line_of(tags, index, at))
            for index, tag in enumerate(tags)
            if isinstance(tag, str)
        ]
    elif tags is not None:
        report(
            line_of(metadata, "tags"),
            "tags",
            "metadata.tags must be a list of tag names, e.g. ['Core :: Networking']",
        )
    candidates += [
        (tag, "$tags", ctx.tag_lines[index] if index < len(ctx.tag_lines) else 1)
        for index, tag in enumerate(ctx.tags)
    ]
    chosen = (ctx.default_product, ctx.default_component)
    lookalikes: list[tuple[str, str, int]] = []
    for tag, field, line in candidates:
        match = _TAG.match(tag)
        if match is None:
            if ":" in tag:
                lookalikes.append((tag, field, line))
            continue
        chosen = (match["product"], match["component"])
        for part, name in zip(("product", "component"), chosen, strict=True):
            why = bugzilla_name_problem(name)
            if why and files_bugs:
                report(
                    line,
                    field,
                    f"{_shown_tag(tag)} cannot be a Bugzilla product and component: the {part} "
                    f"{why}; a name is at most {BUGZILLA_NAME_MAX} characters: letters, digits, "
                    "spaces and - . , : / & ( ) ' +. Write the product and component as "
                    f"Bugzilla spells them, e.g. {TAG_EXAMPLE}",
                )
        break
    for tag, field, line in lookalikes if files_bugs else ():
        warn(
            line,
            field,
            f"{_shown_tag(tag)} is not read as a Bugzilla product and component, so this "
            f"probe's bugs go to {chosen[0]} :: {chosen[1]}; {_tag_fix(tag)}",
        )
    return chosen


def bugzilla_name_problem(name: str) -> str:
    """What makes `name` no Bugzilla product or component name, or ''."""
    if len(name) > BUGZILLA_NAME_MAX:
        return f"is {len(name)} characters long"
    bad = sorted({char for char in name if char not in BUGZILLA_NAME_CHARACTERS})
    if bad:
        shown = " ".join(repr(char) for char in bad[:8]) + (" ..." if len(bad) > 8 else "")
        return f"has characters no Bugzilla name has ({shown})"
    if not name[:1].isalnum():
        return "does not start with a letter or digit"
    if "::" in name:
        return "has a second ' :: ' (a tag names one product and one component)"
    return ""


def _shown_tag(tag: str, limit: int = 80) -> str:
    return repr(tag if len(tag) <= limit else tag[: limit - 1] + "…")


def _tag_fix(tag: str) -> str:
    """How to write the tag: as the two names its colons split it into, when they are."""
    parts = [part.strip() for part in re.split(r"\s*:+\s*", tag.strip())]
    if len(parts) == 2 and all(parts) and not any(bugzilla_name_problem(p) for p in parts):
        return f"write it {parts[0] + ' :: ' + parts[1]!r} (' :: ' between the two)"
    return f"write it 'Product :: Component' (' :: ' between the two), e.g. {TAG_EXAMPLE}"


def _unit(
    metric: dict, key: str, known: dict[str, tuple[float, str]], default: str | None, report
) -> str | None:
    """The metric's `time_unit`/`memory_unit`, checked now: the run shows values in it and
    cannot create the alerts of a probe whose unit it does not know."""
    value = metric.get(key)
    if value is None:
        return default
    text = value.strip() if isinstance(value, str) else None
    if text in known:
        return text
    # The short labels people write (ms, KiB) name a unit difflib would not connect.
    short = {label.lower(): name for name, (_, label) in known.items()}
    hint = short.get(str(value).strip().lower())
    suggestion = f" did you mean {hint}?" if hint else did_you_mean(str(value).strip(), known)
    report(
        line_of(metric, key),
        key,
        f"unknown unit {value!r};{suggestion} use one of {', '.join(known)}",
    )
    return default


def _text(value: object) -> str | None:
    return str(value).strip() if value is not None and str(value).strip() else None


def _labels(mtype: str, labels: object) -> list[str] | None:
    if not mtype.startswith("labeled_") or not isinstance(labels, list):
        return None
    return [str(label) for label in labels]


def _expires(value: object) -> str | None:
    if isinstance(value, dt.date):
        return value.isoformat()
    return _text(value)
