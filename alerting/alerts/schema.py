"""Reading one state file as a record of a known type: parse, upgrade, validate.

Every problem is located (`FILE:LINE` for broken JSON, `FILE: /json/pointer` for a field), so
a person fixing a hand edit knows where to look. The JSON Schemas live beside this module in
`schemas/<type>.schema.json`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from alerting.alerts.grouping import build_time
from alerting.alerts.migrate import MigrationError, upgrade

# Record type -> where its files live under state/ ("*" is the file name's stem).
LAYOUT = {
    "alert": "alerts/*.json",
    "summary": "summaries/*.json",
    "first_seen": "probes/*.json",
    "plot": "plots/*.json",
    "bug_draft": "outbox/bugs/*.json",
    "comment_draft": "outbox/comments/*.json",
}
UNVERSIONED = {"bug_draft", "comment_draft"}  # Bugzilla's own request bodies, stored as sent
# Record type -> the field that names its file (`alerts/<id>.json`).
NAMED_BY = {"alert": "id", "summary": "id", "first_seen": "probe", "plot": "alert"}


@dataclass(frozen=True)
class Problem:
    """What is wrong with one file, and where: a line, a JSON pointer, or the whole file."""

    file: str
    message: str
    line: int | None = None
    pointer: str | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.file}:{self.line}: {self.message}"
        if self.pointer is not None:
            return f"{self.file}: {self.pointer or '/'}: {self.message}"
        return f"{self.file}: {self.message}"


@dataclass
class Loaded:
    """A record read from one file: `data` at the current version (None when unusable)."""

    data: dict | None = None
    split: dict[str, dict] = field(default_factory=dict)  # records a migration split off
    problems: list[Problem] = field(default_factory=list)
    raw: object = None  # the parsed JSON as found, when it parsed


def _schema(name: str) -> dict:
    text = resources.files("alerting.alerts").joinpath(f"schemas/{name}.schema.json").read_text()
    return json.loads(text)


@cache
def validator(kind: str) -> Draft202012Validator:
    common = Resource.from_contents(_schema("common"))
    registry = Registry().with_resource(common.id(), common)
    return Draft202012Validator(
        _schema(kind), registry=registry, format_checker=FormatChecker(["date"])
    )


# JSON Schema types a whole array's items can be checked for by their Python types alone.
PYTHON_TYPES = {"number": {int, float}, "null": {type(None)}, "string": {str}}
ARRAY_KEYWORDS = {"type", "items"}  # an array schema with nothing else: its items say it all
ITEM_KEYWORDS = {"type", "pattern", "format", "description"}  # description: no check
COMMON_DEFS = "urn:alerting:state:common#/$defs/"


def _items_check(kind: str, array: dict) -> Callable[[list], bool] | None:
    """A check of all items of an array at once that passes only items the schema accepts
    (None when the items schema says more than types, patterns and formats). The plot arrays
    hold thousands of numbers and dates: item by item, the JSON Schema pass over them is
    most of the cost of reading `state/`."""
    items = array.get("items")
    if set(array) != ARRAY_KEYWORDS or not isinstance(items, dict):
        return None
    if set(items) == {"$ref"} and items["$ref"].startswith(COMMON_DEFS):
        items = _schema("common")["$defs"][items["$ref"].removeprefix(COMMON_DEFS)]
    names = items.get("type")
    names = [names] if isinstance(names, str) else names
    if set(items) - ITEM_KEYWORDS or not names or any(n not in PYTHON_TYPES for n in names):
        return None
    allowed = set().union(*(PYTHON_TYPES[n] for n in names))
    pattern = re.compile(items["pattern"]) if "pattern" in items else None
    fmt, formats = items.get("format"), validator(kind).format_checker

    def check(values: list) -> bool:
        if not {type(v) for v in values} <= allowed:
            return False
        texts = [v for v in values if isinstance(v, str)]
        return (pattern is None or all(pattern.search(t) for t in texts)) and (
            fmt is None or all(formats.conforms(t, fmt) for t in texts)
        )

    return check


@cache
def _array_checks(kind: str) -> dict[str, Callable[[list], bool]]:
    """Quick checks of the record's top-level arrays, by field name."""
    properties = _schema(kind).get("properties", {})
    checks = {name: _items_check(kind, sub) for name, sub in properties.items()}
    return {name: check for name, check in checks.items() if check is not None}


def _without_checked_arrays(kind: str, data: object) -> object:
    """`data` with each array that passed its quick check emptied, for the JSON Schema pass
    (which still checks it is an array); an array that fails is left for that pass to locate
    the bad item."""
    if not isinstance(data, dict):
        return data
    checks = _array_checks(kind)
    passed = {
        name
        for name, check in checks.items()
        if isinstance(data.get(name), list) and check(data[name])
    }
    return {k: [] if k in passed else v for k, v in data.items()} if passed else data


def pointer(path) -> str:
    """RFC 6901 pointer of a jsonschema error path."""
    parts = (str(p).replace("~", "~0").replace("/", "~1") for p in path)
    return "".join(f"/{p}" for p in parts)


def validate(kind: str, data: object, file: str, at: str = "") -> list[Problem]:
    """Schema problems of `data`, one per place; `at` is the pointer of `data` in the file."""
    checked = _without_checked_arrays(kind, data)
    errors = sorted(validator(kind).iter_errors(checked), key=lambda e: list(map(str, e.path)))
    missing: dict[str, list[str]] = {}  # pointer -> required fields absent there
    problems = []
    for error in errors:
        where = at + pointer(error.path)
        if error.validator == "required":
            missing.setdefault(where, []).append(repr(error.message.split("'")[1]))
        elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = error.schema.get("properties", {})
            problems += [
                Problem(file, "unknown field (misspelt?)", pointer=f"{where}{pointer([name])}")
                for name in sorted(set(error.instance) - set(known))
            ]
        else:
            problems.append(Problem(file, _message(error), pointer=where))
    for where, names in missing.items():
        problems.append(
            Problem(file, f"missing required field(s): {', '.join(names)}", pointer=where)
        )
    return sorted(problems, key=lambda p: p.pointer or "")


def consistency(kind: str, data: dict, file: str, at: str = "") -> list[Problem]:
    """What a JSON Schema cannot say: an alert's build id is a real time (grouping reads it),
    a plot's arrays line up with its days and buckets."""
    if kind == "alert":
        return _build_id_problems(data.get("build_id"), file, at)
    if kind != "plot":
        return []
    lengths = {"median": "days", "p05": "days", "p95": "days"}
    lengths |= {"cdf_before": "buckets", "cdf_after": "buckets"}
    return [
        Problem(file, f"{len(data[k])} values for {len(data[axis])} {axis}", pointer=f"{at}/{k}")
        for k, axis in lengths.items()
        if len(data[k]) != len(data[axis])
    ]


def _build_id_problems(build_id: object, file: str, at: str) -> list[Problem]:
    if isinstance(build_id, str) and re.fullmatch(r"[0-9]{10,14}", build_id):
        try:
            build_time(build_id)
            return []
        except ValueError:
            pass
    return [
        Problem(
            file,
            f"{build_id!r} is not a build time (YYYYMMDDHH or YYYYMMDDhhmmss)",
            pointer=f"{at}/build_id",
        )
    ]


def _message(error) -> str:
    if error.validator == "anyOf" and error.context:
        return min(error.context, key=lambda e: len(e.message)).message
    return error.message


def parse(path: Path, file: str) -> tuple[object, list[Problem]]:
    """The JSON in `path`, or a problem at the line where it breaks."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return None, [Problem(file, f"not UTF-8 text ({error.reason} at byte {error.start})")]
    except OSError as error:
        return None, [Problem(file, f"cannot be read: {error.strerror or error}")]
    try:
        return json.loads(text), []
    except json.JSONDecodeError as error:
        return None, [Problem(file, f"broken JSON: {error.msg}", line=error.lineno)]


def load(kind: str, path: Path, file: str | None = None) -> Loaded:
    """Parse `path`, upgrade it to the current version of `kind` and validate it."""
    file = file or str(path)
    raw, problems = parse(path, file)
    loaded = Loaded(raw=raw, problems=problems)
    if problems:
        return loaded
    if not isinstance(raw, dict):
        found = type(raw).__name__ if raw is not None else "null"
        loaded.problems.append(Problem(file, f"expected a JSON object, found {found}", line=1))
        return loaded
    data, split = raw, {}
    if kind not in UNVERSIONED:
        try:
            data, split = upgrade(kind, raw)
        except MigrationError as error:
            loaded.problems.append(Problem(file, str(error), pointer="/schema"))
            return loaded
    loaded.problems += validate(kind, data, file) or consistency(kind, data, file)
    name = NAMED_BY.get(kind)
    if not loaded.problems and name and data[name] != path.name.removesuffix(".json"):
        loaded.problems.append(
            Problem(file, f"{data[name]!r} does not match the file name", pointer=f"/{name}")
        )
    for other, record in split.items():
        at = f"/{other}"
        loaded.problems += validate(other, record, file, at) or consistency(other, record, file, at)
    if not loaded.problems:
        loaded.data, loaded.split = data, split
    return loaded
