"""`alerting probes sync`: bring the `monitor` blocks in `probes/` up to date with the Glean
Dictionary, touching nothing else.

ruamel.yaml (round-trip mode) finds where each metric's `metadata.monitor` sits and renders the
new block; the edit is spliced into the original text, so every other byte of the file
(comments, anchors, merge keys, quoting, the licence header above `---`) stays as it was. Only
metrics already defined in `probes/` are touched; a block shared through a YAML anchor is
changed only when every metric sharing it wants the same value.
"""

from __future__ import annotations

import io
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.representer import RoundTripRepresenter

from alerting.errors import Problem, UserError

MAX_INDEX_BYTES = 200 * 1024 * 1024  # the desktop index is tens of MB; refuse anything absurd
USER_AGENT = "mozilla-telemetry-alerting/probes-sync"


@dataclass
class SyncResult:
    file: str
    text: str
    changed: list[tuple[int, str, str]] = field(default_factory=list)  # line, probe, what
    problems: list[Problem] = field(default_factory=list)


# -- the Glean Dictionary ------------------------------------------------------------------
def read_index(source: str, timeout: float = 60.0) -> object:
    """The parsed `index.json` from a local file or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        import requests

        try:
            with requests.get(
                source, timeout=timeout, stream=True, headers={"User-Agent": USER_AGENT}
            ) as response:
                response.raise_for_status()
                data = bytearray()
                for chunk in response.iter_content(1024 * 1024):
                    data += chunk
                    if len(data) > MAX_INDEX_BYTES:
                        raise UserError(f"{source}: larger than {MAX_INDEX_BYTES} bytes")
        except requests.RequestException as error:
            raise UserError(
                f"{source}: could not fetch the Glean Dictionary index: {error}"
            ) from None
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as error:
            raise UserError(f"{source}: {error.strerror or error}") from None
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise UserError(f"{source}: not valid JSON: {error}") from None


def monitors_from_index(index: object, source: str = "index.json") -> dict[str, object]:
    """Dotted metric name -> its upstream monitor value (`{}` when it has none).

    Metrics without a `monitor` field say nothing and are left out, so they are never touched.
    """
    metrics = index.get("metrics") if isinstance(index, dict) else None
    if not isinstance(metrics, list):
        raise UserError(f'{source}: expected {{"metrics": [...]}} (a Glean Dictionary index.json)')
    found: dict[str, object] = {}
    for entry in metrics:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str) and "monitor" in entry:
            monitor = entry["monitor"]
            if monitor is None or monitor is False:
                monitor = {}
            found[entry["name"]] = monitor
    return found


# -- editing one file ----------------------------------------------------------------------
class _GleanRepresenter(RoundTripRepresenter):
    """Booleans as Glean files write them (True/False), without touching ruamel's defaults."""


_GleanRepresenter.add_representer(
    bool, lambda rep, value: rep.represent_scalar("tag:yaml.org,2002:bool", str(value))
)


def _split_preamble(text: str) -> tuple[str, str]:
    """(licence comments and `---`, the document): ruamel drops comments above `---`."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped == "---":
            return "".join(lines[: i + 1]), "".join(lines[i + 1 :])
        if stripped and not stripped.startswith("#"):
            break
    return "", text


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.Representer = _GleanRepresenter
    return yaml


def plain(value: object) -> object:
    """ruamel's commented containers as plain dicts and lists, for comparison."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _block_end(lines: list[str], start: int, col: int) -> int:
    """One past the last line of the value of the key at (start, col)."""
    last = start
    for i in range(start + 1, len(lines)):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(lines[i]) - len(lines[i].lstrip(" "))
        if indent > col or (indent == col and stripped.startswith("- ")):
            last = i
            continue
        break
    return last + 1


def _render(key: str, value: object, col: int, flow: bool = False, nl: str = "\n") -> list[str]:
    """The lines of `key: value` at column `col`, each ended by the file's `nl`."""
    if isinstance(value, dict):
        value = CommentedMap(value)
    elif isinstance(value, list):
        value = CommentedSeq(value)
        if flow:
            value.fa.set_flow_style()
    buffer = io.StringIO()
    _yaml().dump(CommentedMap({key: value}), buffer)
    return [
        ((" " * col + line) if line.strip() else line).removesuffix("\n") + nl
        for line in buffer.getvalue().splitlines(True)
    ]


def _render_monitor(
    lines: list[str], old: object, new: object, col: int, start: int, nl: str
) -> list[str]:
    """The new `monitor:` block; keys whose value is unchanged keep their original lines."""
    if not isinstance(new, dict) or not isinstance(old, CommentedMap) or old.fa.flow_style():
        return _render("monitor", new, col, nl=nl)
    keys = list(old)
    spans = {}
    for i, key in enumerate(keys):
        line, key_col = old.lc.key(key)
        end = old.lc.key(keys[i + 1])[0] if i + 1 < len(keys) else _block_end(lines, line, key_col)
        spans[key] = (line, key_col, end)
    inner = _key_col(old)
    out = [lines[start]]
    for key in [k for k in keys if k in new] + [k for k in new if k not in old]:
        if key in old and plain(old[key]) == new[key]:
            line, _, end = spans[key]
            out += lines[line:end]
        else:
            flow = isinstance(old.get(key), CommentedSeq) and old[key].fa.flow_style()
            out += _render(key, new[key], inner, flow=flow, nl=nl)
    return out


def sync_text(text: str, file: str, upstream: dict[str, object]) -> SyncResult:
    """Apply `upstream` monitor values to one metrics.yaml text; pure (text in, text out)."""
    preamble, body = _split_preamble(text)
    offset = preamble.count("\n")
    result = SyncResult(file, text)
    try:
        document = _yaml().load(body)
    except Exception as error:  # ruamel raises many types; a broken file is reported, not fatal
        result.problems.append(Problem(file, 1, "", "", f"cannot parse for sync: {error}"))
        return result
    if not isinstance(document, dict):
        return result
    lines = body.splitlines(keepends=True)
    # New lines end as the file's do: a CRLF file stays CRLF.
    nl = "\r\n" if "\r\n" in text else "\n"

    # Where each metric's monitor lives (its metadata, or the metric when it has none), and
    # which metrics share that node through an anchor.
    metrics: list[tuple[str, CommentedMap]] = []
    for category, entries in document.items():
        if str(category).startswith("$") or not isinstance(entries, dict):
            continue
        for name, metric in entries.items():
            if isinstance(metric, CommentedMap):
                metrics.append((f"{category}.{name}", metric))
    holder = {probe: _holder(metric) for probe, metric in metrics}
    sharers: dict[int, list[str]] = defaultdict(list)
    for probe, node in holder.items():
        sharers[id(node)].append(probe)
    current = {probe: _current(metric) for probe, metric in metrics}
    wanted = {probe: plain(upstream[probe]) for probe, _ in metrics if probe in upstream}

    edits: dict[int, tuple[int, int, list[str], str]] = {}
    for probe, metric in metrics:
        if (
            probe not in wanted
            or plain(current[probe]) == wanted[probe]
            or (current[probe] is None and wanted[probe] == {})
        ):
            continue
        node = holder[probe]
        if id(node) in edits:
            continue
        others = sharers[id(node)]
        if any(wanted.get(o, plain(current[o])) != wanted[probe] for o in others):
            line = (node.lc.line if isinstance(node, CommentedMap) else metric.lc.line) + 1
            result.problems.append(
                Problem(
                    file,
                    line + offset,
                    probe,
                    "metadata.monitor",
                    f"shared through a YAML anchor with {', '.join(o for o in others if o != probe)}, "
                    "which the Glean Dictionary gives a different monitor; update it by hand",
                )
            )
            continue
        edit = _edit(lines, metric, node, wanted[probe], nl)
        if isinstance(edit, str):
            result.problems.append(
                Problem(file, metric.lc.line + 1 + offset, probe, "metadata.monitor", edit)
            )
            continue
        start, end, new_lines, what = edit
        edits[id(node)] = edit
        for other in others:
            result.changed.append((start + 1 + offset, other, what))

    if not edits:
        return result
    for start, end, new_lines, _ in sorted(edits.values(), key=lambda e: e[0], reverse=True):
        lines[start:end] = new_lines
    new_text = preamble + "".join(lines)
    # Every metric must end up as intended: the edited ones as upstream says, all others as
    # they were (an anchor's new metadata must not leak into metrics that merge it).
    expected = {probe: plain(value) for probe, value in current.items()}
    expected.update({probe: wanted[probe] for _, probe, _ in result.changed})
    check = sync_check(new_text, expected)
    if check:
        result.problems.append(
            Problem(
                file,
                1,
                "",
                "",
                f"sync produced an unexpected result ({check}); file left unchanged",
            )
        )
        result.changed = []
        return result
    result.text = new_text
    result.changed.sort()
    return result


def _holder(metric: CommentedMap) -> CommentedMap:
    metadata = metric.get("metadata")
    return metadata if isinstance(metadata, CommentedMap) else metric


def _current(metric: CommentedMap) -> object:
    metadata = metric.get("metadata")
    return metadata.get("monitor") if isinstance(metadata, dict) else None


def _edit(lines: list[str], metric: CommentedMap, node: CommentedMap, new: object, nl: str):
    """(start, end, replacement lines, description) or a reason the edit is not possible."""
    if node.fa.flow_style():
        return "metadata is written in flow style ({...}); update it by hand"
    if node is metric:  # no metadata yet: append one to the metric
        if new == {}:
            return "nothing to remove"
        col = _key_col(metric)
        last_key = list(metric.lc.data)[-1] if metric.lc.data else None
        if last_key is None:
            return "cannot find where the metric ends"
        line, key_col = metric.lc.key(last_key)
        end = _block_end(lines, line, key_col)
        block = [" " * col + "metadata:" + nl] + _render("monitor", new, col + 2, nl=nl)
        return end, end, _newline_before(lines, end, nl) + block, "monitor added"
    if "monitor" not in node.lc.data:
        if new == {}:
            return "nothing to remove"
        if not node.lc.data:
            return "metadata has no keys of its own; update it by hand"
        last = list(node.lc.data)[-1]
        line, key_col = node.lc.key(last)
        end = _block_end(lines, line, key_col)
        return (
            end,
            end,
            _newline_before(lines, end, nl) + _render("monitor", new, _key_col(node), nl=nl),
            "monitor added",
        )
    start, col = node.lc.key("monitor")
    if lines[start][:col].strip():
        return "the monitor key does not start its line; update it by hand"
    end = _block_end(lines, start, col)
    if new == {}:
        if list(node.lc.data) == ["monitor"] and "metadata" in metric.lc.data:
            meta_line, meta_col = metric.lc.key("metadata")
            return meta_line, _block_end(lines, meta_line, meta_col), [], "monitor removed"
        if len(node) == 1:
            return "metadata would be left empty; update it by hand"
        return start, end, [], "monitor removed"
    return (
        start,
        end,
        _render_monitor(lines, node["monitor"], new, col, start, nl),
        "monitor updated",
    )


def _key_col(node: CommentedMap) -> int:
    """The column of a block mapping's keys (its own `lc.col` may be that of an anchor)."""
    keys = list(node.lc.data)
    return node.lc.key(keys[0])[1] if keys else node.lc.col


def _newline_before(lines: list[str], index: int, nl: str) -> list[str]:
    """Appending after a last line without a newline needs one first."""
    if index > 0 and index == len(lines) and not lines[-1].endswith("\n"):
        return [nl]
    return []


def sync_check(text: str, expected: dict[str, object]) -> str:
    """'' when every metric has its expected monitor (re-parsed independently of ruamel)."""
    import yaml

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        return f"the edited file does not parse: {error}"
    for probe, monitor in expected.items():
        category, name = _split_probe(document, probe)
        metric = (document.get(category) or {}).get(name) or {}
        metadata = metric.get("metadata") or {}
        got = metadata.get("monitor") if isinstance(metadata, dict) else None
        if (got if got is not None else {}) != (monitor if monitor is not None else {}):
            return f"{probe}: expected monitor {monitor!r}, got {got!r}"
    return ""


def _split_probe(document: dict, probe: str) -> tuple[str, str]:
    """Category names contain dots (`fog.ipc`): the longest category that is a prefix."""
    for category in sorted((k for k in document if isinstance(k, str)), key=len, reverse=True):
        if probe.startswith(category + "."):
            return category, probe[len(category) + 1 :]
    return probe, ""


# -- the command ---------------------------------------------------------------------------
def sync_files(
    files: list[Path], upstream: dict[str, object], write: bool = True
) -> list[SyncResult]:
    """Sync each file; a file is written only when it changed."""
    results = []
    for path in files:
        refused = _refused(path)
        if refused:
            results.append(SyncResult(str(path), "", problems=refused))
            continue
        # newline="": the text as it is on disk, so CRLF line endings survive the rewrite.
        with open(path, encoding="utf-8", newline="") as handle:
            original = handle.read()
        result = sync_text(original, str(path), upstream)
        if write and result.text != original:
            with open(path, "w", encoding="utf-8", newline="") as handle:
                handle.write(result.text)
        results.append(result)
    return results


def _refused(path: Path) -> list[Problem]:
    """Why the file cannot be synced, at its lines: the safe loader's size and alias-bomb
    guards run before ruamel sees the file, and ruamel cannot read a value such as 2026-02-30
    at all."""
    from alerting.probes.yamlsafe import YamlFileError, bad_values, load_file

    try:
        document = load_file(path)
    except YamlFileError as error:
        return [Problem(str(path), error.line, "", "", error.message)]
    return [
        Problem(str(path), value.line, "", key, value.message)
        for key, value in bad_values(document)
    ]


def run_sync(args) -> int:
    """`alerting probes sync --from FILE_OR_URL [PATH...]`."""
    from alerting.probes.config import app_of, probe_files_with_roots
    from alerting.probes.silences import SILENCES_FILE

    upstream = monitors_from_index(read_index(args.source), args.source)
    found = probe_files_with_roots(args.paths or None)
    app = getattr(args, "app", None)
    files = [
        path
        for path, root in found
        if path.name != SILENCES_FILE and (not app or app_of(path, root) == app)
    ]
    results = sync_files(files, upstream, write=not args.dry_run)
    changed = [(r, c) for r in results for c in r.changed]
    for result in results:
        for line, probe, what in result.changed:
            print(f"{result.file}:{line}: {probe}: {what}")
        for problem in result.problems:
            print(f"alerting: warning: not synced: {problem}", file=sys.stderr)
    verb = "would change" if args.dry_run else "changed"
    edited = sum(1 for r in results if r.changed)
    print(f"{verb} {len(changed)} monitor block(s) in {edited} of {len(files)} file(s)")
    return 0
