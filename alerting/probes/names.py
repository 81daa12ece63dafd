"""Glean's own naming rules for categories, metric names and labels.

The same rules `glean_parser` enforces (metrics schema 2-0-0), so a name this accepts is a name
Glean accepts. They also keep names safe where the pipeline uses them: in file names under
`state/`, in URLs and in Markdown, a name is lower snake case ASCII of bounded length.
"""

from __future__ import annotations

import re

from alerting.probes.yamlsafe import BadValue

# glean_parser's `dotted_snake_case` (categories) and `short_id` (metric names).
CATEGORY = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*")
CATEGORY_MAX = 40
RESERVED_CATEGORIES = frozenset({"pings", "tags"})
NAME = re.compile(r"[a-z_][a-z0-9_]*")
NAME_MAX = 70
# `labeled_metric_id`: printable ASCII.
LABEL = re.compile(r"[ -~]+")
LABEL_MAX = 111
# Owners' email addresses, as the digests are sent to them: deliberately narrower than RFC
# 5322 (what owners' addresses look like, and nothing that could end a header, start another
# address or escape a directory), so an address validation accepts is one delivery takes.
EMAIL_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
EMAIL_MAX = 254
LABELS_MAX = 4096


def category_problem(category: object) -> str | None:
    """Why `category` is not a Glean category name, or None when it is one."""
    if not isinstance(category, str):
        return f"category {category!r} must be a name, not a {_kind(category)}"
    if category in RESERVED_CATEGORIES:
        return f"category {category!r} is reserved by Glean; choose another name"
    return _shape(
        category,
        CATEGORY,
        CATEGORY_MAX,
        "category",
        "lower snake case, dots between parts (e.g. network.http)",
    )


def name_problem(name: object) -> str | None:
    """Why `name` is not a Glean metric name, or None when it is one."""
    if not isinstance(name, str):
        return f"metric name {name!r} must be a name, not a {_kind(name)}"
    return _shape(name, NAME, NAME_MAX, "metric name", "lower snake case (e.g. page_load_time)")


def _kind(value: object) -> str:
    """What a key that is not text was read as: a type name, or what a value YAML could not
    build looked like (a date)."""
    return value.kind if isinstance(value, BadValue) else type(value).__name__


def labels_problems(labels: object) -> list[tuple[int | None, str]]:
    """(index of the label or None for the whole list, why) for each static label Glean would
    refuse; empty when all are fine."""
    if labels is None:
        return []
    if not isinstance(labels, list):
        return [(None, "labels must be a list of label names")]
    problems: list[tuple[int | None, str]] = []
    if len(labels) > LABELS_MAX:
        problems.append((None, f"{len(labels)} labels; Glean allows at most {LABELS_MAX}"))
    for index, label in enumerate(labels):
        if not isinstance(label, str):
            problems.append((index, f"label {label!r} must be text"))
            continue
        problem = _shape(label, LABEL, LABEL_MAX, "label", "printable ASCII")
        if problem:
            problems.append((index, problem))
    return problems


def _shape(text: str, pattern: re.Pattern, limit: int, what: str, rule: str) -> str | None:
    if len(text) > limit:
        return f"{what} {_shown(text)} is {len(text)} characters; Glean allows at most {limit}"
    if not pattern.fullmatch(text):
        return f"{what} {_shown(text)} is not a Glean {what}: use {rule}"
    return None


def _shown(text: str, limit: int = 60) -> str:
    """The name as `repr` shows it (control characters and lone surrogates escaped), cut short."""
    shown = ascii(text)
    return shown if len(shown) <= limit else shown[: limit - 4] + "...'"
