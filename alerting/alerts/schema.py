"""Reading one state file as a record of a known type: parse, upgrade, validate.

Every problem is located (`FILE:LINE` for broken JSON, `FILE: /json/pointer` for a field), so
a person fixing a hand edit knows where to look. The JSON Schemas live beside this module in
`schemas/<type>.schema.json`.
"""

from __future__ import annotations

import json
import math
import re
import stat
import sys
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


MAX_DEPTH = 32  # records nest a few levels; anything deeper is no record of ours
_DIGITS_AS_0 = bytes.maketrans(b"123456789E", b"000000000e")
_STRING = r'"(?:[^"\\]|\\.)*"'  # a JSON string, matched to skip what it holds
_STRING_OR_BRACKET = re.compile(_STRING + r"|[\[\]{}]")


def parse(path: Path, file: str) -> tuple[object, list[Problem]]:
    """The JSON in `path`, or a problem at the line where it breaks.

    Python's parser accepts more than JSON, and a hand edit or a hostile pull request can
    hold any of it: `NaN` and `Infinity` (not JSON; no reader can use them), an integer too
    long to convert, nesting deep enough to exhaust the recursion limit. Each is a located
    problem of this file, never an error of the command reading it.
    """
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):  # reading a FIFO would never end
            what = "a folder, not a file" if stat.S_ISDIR(mode) else "not a regular file"
            return None, [Problem(file, f"is {what}")]
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return None, [Problem(file, f"not UTF-8 text ({error.reason} at byte {error.start})")]
    except OSError as error:
        return None, [Problem(file, f"cannot be read: {error.strerror or error}")]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return None, [Problem(file, f"broken JSON: {error.msg}", line=error.lineno)]
    except RecursionError:
        return None, [_too_deep(file, text)]
    except ValueError:  # an integer of more digits than Python converts
        message = f"an integer of more than {sys.get_int_max_str_digits()} digits"
        return None, [Problem(file, message, line=_line_of_long_number(text))]
    if text.count("[") + text.count("{") > MAX_DEPTH or _may_not_be_finite(text):
        problems = shape_problems(data, file, text)
        if problems:
            return None, problems
    return data, []


def _may_not_be_finite(text: str) -> bool:
    """Whether `text` may hold a number that is not finite: NaN, Infinity, or one too large
    for a float (an exponent of three digits, or 300 digits in a row). Only such a file is
    searched for them; with every digit made 0, plain substring searches find the candidates
    several times faster than a regular expression."""
    if "NaN" in text or "Infinity" in text:
        return True
    zeros = text.encode("utf-8", "surrogatepass").translate(_DIGITS_AS_0)
    return b"e000" in zeros or b"e+000" in zeros or b"0" * 300 in zeros


def _too_deep(file: str, text: str | None, at: tuple = ()) -> Problem:
    """At the line of `text` where the nesting goes too deep; without `text`, at `at`."""
    message = f"nested deeper than {MAX_DEPTH} levels"
    if text is None:
        return Problem(file, message, pointer=pointer(at))
    return Problem(file, message, line=_line_too_deep(text))


def _line_too_deep(text: str) -> int:
    """The line of the first bracket past `MAX_DEPTH` levels (1 when there is none)."""
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        found = match.group()
        if found in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return text.count("\n", 0, match.start()) + 1
        elif found in "]}":
            depth -= 1
    return 1


def _line_of_long_number(text: str) -> int:
    """The line of the first integer Python refuses to convert (1 when none is found)."""
    digits = max(sys.get_int_max_str_digits(), 1) + 1
    for match in re.finditer(_STRING + f"|[0-9]{{{digits},}}", text):
        if not match.group().startswith('"'):
            return text.count("\n", 0, match.start()) + 1
    return 1


def shape_problems(data: object, file: str, text: str | None = None) -> list[Problem]:
    """Nesting deeper than `MAX_DEPTH` and numbers that are not finite (NaN, Infinity, or an
    integer no float holds), each at its JSON pointer: what `parse` refuses of what Python's
    parser reads, and so what the writer (`alerting.alerts.store.dumps`) refuses to write.
    Nesting too deep is one problem, at the line of `text` where it starts (without `text`,
    at the pointer of the first container too deep)."""
    problems = []
    stack: list[tuple[object, tuple, int]] = [(data, (), 0)]
    while stack:
        value, at, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                return [_too_deep(file, text, at)]
            items = value.items() if isinstance(value, dict) else enumerate(value)
            stack += [(item, (*at, key), depth + 1) for key, item in items]
        elif not _finite(value):
            if isinstance(value, float):
                message = (
                    f"{json.dumps(value)} is not a finite number (JSON has no NaN or Infinity)"
                )
            else:
                message = f"an integer of {_digits(value)} digits is too large for any number"
            problems.append(Problem(file, message, pointer=pointer(at)))
    return sorted(problems, key=lambda p: p.pointer or "")


def _finite(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            float(value)
        except OverflowError:
            return False
    return True


def _digits(value: int) -> str:
    """How many digits `value` has, also past the length Python converts to text."""
    try:
        return str(len(str(value)))
    except ValueError:
        return f"more than {sys.get_int_max_str_digits()}"


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
