"""Safe loading of untrusted `metrics.yaml` that remembers where everything came from.

Probe configs arrive in pull requests, so the loader is PyYAML's safe loader with three
additions: a per-file size limit, a guard that counts alias-expanded nodes while composing (a
"billion laughs" file fails after a few thousand events instead of exhausting memory later),
and line numbers on every mapping key and sequence item so each config error can name its line.
A plain value YAML cannot build (2026-02-30) stays in place as a `BadValue`, so the metric or
entry holding it is refused at its line while the rest of the file still counts.
Anchors, aliases of whole metrics and `<<:` merge keys behave exactly as in plain PyYAML.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

from alerting.errors import UserError

MAX_FILE_BYTES = 1024 * 1024
# Upper bound on nodes after expanding every alias. A 1 MiB file holds at most ~500k nodes of
# its own, so this never trips on honest input yet stops exponential alias nesting early.
MAX_EXPANDED_NODES = 1_000_000
MAX_DEPTH = 100
_YAML_ONLY_BREAKS = "\x85\u2028\u2029"
_SHOWN_BREAKS = re.compile(r"\r\n|\r|\n")


class LineDict(dict):
    """A mapping that remembers its own line, each key's line, and keys written twice."""

    line: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.key_lines: dict[object, int] = {}
        # (key, line of the repeat, line of the first occurrence): YAML keeps only the last.
        self.duplicates: list[tuple[object, int, int]] = []

    def line_of(self, key: object) -> int:
        return self.key_lines.get(key, self.line)


def written_twice(data: object) -> list[tuple[str, int, str]]:
    """(key, line of the repeat, what to say) for each key a loaded mapping has twice: YAML
    keeps the last value and drops the first without a word, so which one the owner meant
    is unknown."""
    if not isinstance(data, LineDict):
        return []
    return [
        (
            str(key),
            line,
            f"written twice (first on line {first}); YAML keeps only the last: keep one",
        )
        for key, line, first in data.duplicates
    ]


class LineList(list):
    """A sequence that remembers its own line and each item's line."""

    line: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.item_lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


@dataclass(frozen=True, repr=False)
class BadValue:
    """A plain value that looks like a type but is not one (2026-02-30, `!!int abc`), kept in
    its place so that whatever holds it reports it at its line and the rest of the file
    still counts."""

    text: str  # as written (at most 60 characters)
    kind: str  # what it looked like: date, whole number, ...
    why: str  # the builder's own complaint when it reads well, else ""
    line: int

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return repr(self.text)

    @property
    def reason(self) -> str:
        """'{text} is not a valid {kind} (why)': what is wrong, without the fix."""
        why = f" ({self.why})" if self.why else ""
        return f"{self.text!r} is not a valid {self.kind}{why}"

    @property
    def message(self) -> str:
        return f"{self.reason}; correct it, or quote it to keep it as text"


def bad_values(data: object, key: str = "") -> list[tuple[str, BadValue]]:
    """(the key it is under, the value) for each `BadValue` in a loaded structure, keys
    included, each once per key; a list item counts as under its list's key."""
    found: dict[tuple[str, BadValue], None] = {}
    seen: set[int] = set()

    def walk(value: object, under: str) -> None:
        if isinstance(value, BadValue):
            found[under, value] = None
        elif isinstance(value, dict | list) and id(value) not in seen:
            seen.add(id(value))  # an alias is the same object: walked once
            if isinstance(value, list):
                for item in value:
                    walk(item, under)
                return
            for name, item in value.items():
                walk(name, under)
                walk(item, str(name))

    walk(data, key)
    return list(found)


def line_of(container: object, key: object, default: int = 1) -> int:
    """The line of `key` inside a loaded mapping or sequence (its own line as a fallback)."""
    if isinstance(container, LineDict):
        return container.line_of(key)
    if isinstance(container, LineList) and isinstance(key, int):
        return container.line_of(key)
    return getattr(container, "line", default) or default


class YamlFileError(UserError):
    """A file that cannot be loaded at all; carries the line so callers can report it."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.file = file
        self.line = line
        self.message = message


class _LimitError(ComposerError):
    """Input refused by a safety limit rather than by YAML syntax."""


class _Loader(yaml.SafeLoader):
    """SafeLoader that counts expanded nodes and nesting while composing and records lines."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        # YAML also breaks lines at U+0085, U+2028 and U+2029, which editors and code review
        # show inside a line: where the text holds one, lines are counted as they show.
        self._breaks = (
            [m.start() for m in _SHOWN_BREAKS.finditer(stream)]
            if any(c in stream for c in _YAML_ONLY_BREAKS)
            else None
        )
        self._expanded = 0
        self._depth = 0
        self._deepest = 0  # deepest level reached so far, aliases expanded
        # Per anchored node: (nodes it expands to, levels it is deep), so an alias counts as
        # the structure it stands for.
        self._anchored: dict[int, tuple[int, int]] = {}

    def line_at(self, mark) -> int:
        """The 1-based line of `mark` as an editor shows it."""
        if self._breaks is None:
            return mark.line + 1
        return bisect.bisect_left(self._breaks, mark.index) + 1

    def _count(self, nodes: int, mark) -> None:
        self._expanded += nodes
        if self._expanded > MAX_EXPANDED_NODES:
            raise _LimitError(
                None,
                None,
                f"refused: aliases expand to more than {MAX_EXPANDED_NODES:,} nodes (an alias-expansion "
                "bomb?); a metrics file needs far fewer: write the repeated parts out or "
                "alias them less deeply",
                mark,
            )

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = self.anchors.get(event.anchor)
            if node is not None:
                anchored = self._anchored.get(id(node))
                if anchored is None:
                    raise ComposerError(
                        None,
                        None,
                        f"alias *{event.anchor} is used inside its own anchor (a recursive "
                        "structure); metrics files cannot be recursive",
                        event.start_mark,
                    )
                size, levels = anchored
                self._count(size, event.start_mark)
                self._reach(self._depth + levels, event.start_mark)
            return super().compose_node(parent, index)
        event = self.peek_event()
        self._depth += 1
        self._reach(self._depth, event.start_mark)
        start, deepest_before = self._expanded, self._deepest
        self._deepest = self._depth
        self._count(1, event.start_mark)
        node = super().compose_node(parent, index)
        if event.anchor is not None:
            self._anchored[id(node)] = (self._expanded - start, self._deepest - self._depth + 1)
        self._deepest = max(self._deepest, deepest_before)
        self._depth -= 1
        return node

    def _reach(self, depth: int, mark) -> None:
        """Note that the document reaches `depth` levels (aliases expanded); refuse beyond
        MAX_DEPTH, since whatever reads the data later walks it recursively."""
        self._deepest = max(self._deepest, depth)
        if depth > MAX_DEPTH:
            raise _LimitError(
                None,
                None,
                f"refused: nesting deeper than {MAX_DEPTH} levels (aliases expanded); metrics "
                "files are a few levels deep",
                mark,
            )

    def construct_object(self, node, deep=False):
        """PyYAML's builders of plain values raise plain Python errors on values that look
        like a type but are not one (2026-02-30, an integer of 5,000 digits, `!!int abc`):
        such a value becomes a `BadValue` in its place, so only the entry or metric holding
        it is refused, not the whole file."""
        deep_before = self.deep_construct
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError) as e:
            if not isinstance(node, yaml.ScalarNode):
                kind = node.tag.rsplit(":", 1)[-1]
                raise ConstructorError(
                    None,
                    None,
                    f"this value is not a valid {_KINDS.get(kind, kind)}",
                    node.start_mark,
                ) from None
            # PyYAML leaves a failed node marked as being built: an alias of it would then
            # read as a recursive structure.
            self.recursive_objects.pop(node, None)
            self.deep_construct = deep_before
            bad = self._bad_value(node, e)
            self.constructed_objects[node] = bad
            return bad

    def _bad_value(self, node: yaml.ScalarNode, error: Exception) -> BadValue:
        kind = node.tag.rsplit(":", 1)[-1]
        # A date's own complaint reads well ("day is out of range for month"); the others
        # come from Python's internals.
        why = str(error) if kind == "timestamp" and isinstance(error, ValueError) else ""
        return BadValue(node.value[:60], _KINDS.get(kind, kind), why, self.line_at(node.start_mark))

    def construct_line_map(self, node: yaml.MappingNode):
        _expect(node, yaml.MappingNode, "mapping")
        data = LineDict()
        data.line = self.line_at(node.start_mark)
        yield data
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self._hashable_key(node, key_node)
            line = self.line_at(key_node.start_mark)
            if key in seen:
                data.duplicates.append((key, line, seen[key]))
            else:
                seen[key] = line
        # Merged keys come first in the flattened list, explicit keys after and win.
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self._hashable_key(node, key_node)
            data[key] = self.construct_object(value_node, deep=False)
            data.key_lines[key] = self.line_at(key_node.start_mark)

    def _hashable_key(self, node, key_node):
        key = self.construct_object(key_node, deep=False)
        if not isinstance(key, Hashable):
            raise ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                "found a key that is not a plain value",
                key_node.start_mark,
            )
        return key

    def construct_line_seq(self, node: yaml.SequenceNode):
        _expect(node, yaml.SequenceNode, "sequence")
        data = LineList()
        data.line = self.line_at(node.start_mark)
        yield data
        data.extend(self.construct_object(child, deep=False) for child in node.value)
        data.item_lines.extend(self.line_at(child.start_mark) for child in node.value)


_KINDS = {
    "timestamp": "date",
    "int": "whole number",
    "float": "number",
    "bool": "boolean (true or false)",
}


def _expect(node: yaml.Node, kind: type, name: str) -> None:
    """Refuse a node of the wrong kind (`!!map abc`) before building from it."""
    if not isinstance(node, kind):
        raise ConstructorError(
            None, None, f"expected a {name} here, but found a {node.id}", node.start_mark
        )


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_line_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_line_seq)


def loads(text: str, name: str = "<string>") -> object:
    """Parse one YAML document from `text`; every failure is a `YamlFileError` with a line."""
    try:
        # The reader checks every character up front, so even construction can refuse a file.
        loader = _Loader(text)
    except yaml.reader.ReaderError as error:
        line = text[: error.position].count("\n") + 1
        raise YamlFileError(
            name,
            line,
            f"character U+{error.character:04X} is not allowed in YAML (a control character?); "
            "remove it",
        ) from None
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = loader.line_at(mark) if mark is not None else 1
        detail = " ".join(
            part for part in (error.context, error.problem) if part and part.strip()
        ).strip()
        prefix = "" if isinstance(error, _LimitError) else "invalid YAML: "
        raise YamlFileError(name, line, prefix + detail) from None
    except yaml.YAMLError as error:
        raise YamlFileError(name, 1, f"invalid YAML: {error}") from None
    except RecursionError:
        raise YamlFileError(name, 1, "invalid YAML: nested too deeply") from None
    finally:
        loader.dispose()


def load_file(path: Path | str, max_bytes: int = MAX_FILE_BYTES) -> object:
    """Load one file, refusing oversized or non-UTF-8 input before parsing anything, and
    symbolic links: one in a pull request could read (and `probes sync` write) a file outside
    the repository."""
    name = str(path)
    if Path(path).is_symlink():
        raise YamlFileError(
            name,
            1,
            "a symbolic link; probe files must be plain files in the repository: replace the "
            "link with the file itself",
        )
    try:
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as error:
        raise YamlFileError(name, 1, f"cannot read: {error.strerror or error}") from None
    if len(raw) > max_bytes:
        raise YamlFileError(
            name,
            1,
            f"file is larger than the {max_bytes:,}-byte limit for probe files; "
            "split it into several metrics.yaml files",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise YamlFileError(name, line, "not UTF-8 text; save the file as UTF-8") from None
    return loads(text, name)
