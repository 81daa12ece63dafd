"""Detection techniques by name, each declaring the arguments it accepts.

The config layer validates `change_detection_technique` / `change_detection_args` against this
registry, and `alerting detect` runs what it finds here. A technique is a plain function
`detect(series, args) -> list[Detection]` plus a declaration of its arguments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from alerting.detect.technique import ArgSpec, Technique

__all__ = ["ArgSpec", "Technique", "get_technique", "parse_args", "register", "techniques"]

DEFAULT_TECHNIQUE = "cdf_squared"


_TECHNIQUES: dict[str, Technique] = {}
_ALIASES: dict[str, str] = {}


def register(technique: Technique) -> Technique:
    _TECHNIQUES[technique.name] = technique
    for alias in technique.aliases:
        _ALIASES[alias] = technique.name
    return technique


def _load_builtin() -> None:
    # The built-in techniques are registered on first use, so callers only need this module
    # and the technique modules need not know the registry.
    from alerting.detect.techniques import BUILTIN

    for technique in BUILTIN:
        if technique.name not in _TECHNIQUES:
            register(technique)


def techniques() -> dict[str, Technique]:
    _load_builtin()
    return dict(_TECHNIQUES)


def get_technique(name: str) -> Technique | None:
    """The technique called `name` or one of its aliases (`cdf-squared`), else None."""
    _load_builtin()
    return _TECHNIQUES.get(_ALIASES.get(name, name))


@dataclass
class ParsedArgs:
    values: dict = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (argument text, message)


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def convert(spec: ArgSpec, raw: object) -> object:
    """`raw` (a string from `key=value`, or a YAML scalar) as the spec's type; ValueError if not."""
    if spec.type is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"{spec.name} takes True or False, not {raw!r}")
    if spec.type in (int, float):
        if isinstance(raw, bool):
            raise ValueError(f"{spec.name} takes a number, not {raw!r}")
        try:
            value = spec.type(str(raw).strip()) if isinstance(raw, str) else spec.type(raw)
        except (TypeError, ValueError):
            kind = "a whole number" if spec.type is int else "a number"
            raise ValueError(f"{spec.name} takes {kind}, not {raw!r}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{spec.name} takes a finite number, not {raw!r}")
        if spec.minimum is not None and value < spec.minimum:
            raise ValueError(f"{spec.name} must be at least {spec.minimum}, not {value}")
        if spec.maximum is not None and value > spec.maximum:
            raise ValueError(f"{spec.name} must be at most {spec.maximum}, not {value}")
        return value
    return str(raw)


def parse_args(technique: Technique, items: Iterable[object]) -> ParsedArgs:
    """Parse `key=value` items against the technique's declared arguments.

    Every item is checked (one bad item does not hide the others); defaults fill the rest.
    """
    parsed = ParsedArgs(values=technique.defaults())
    known = ", ".join(a.name for a in technique.args) or "none"
    for item in items:
        text = str(item)
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not key:
            parsed.errors.append((text, f"expected key=value, e.g. {_example(technique)}"))
            continue
        spec = technique.arg(key)
        if spec is None:
            parsed.errors.append(
                (text, f"unknown argument {key!r} for {technique.name}; it accepts: {known}")
            )
            continue
        try:
            parsed.values[key] = convert(spec, raw.strip())
        except ValueError as error:
            parsed.errors.append((text, str(error)))
    return parsed


def _example(technique: Technique) -> str:
    if not technique.args:
        return "(this technique takes no arguments)"
    spec = technique.args[0]
    return f"{spec.name}={spec.default}"
