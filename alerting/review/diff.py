"""`alerting probes diff`: which probes start, stop or change monitoring, field by field.

Pure over two lists of `MonitorConfig`; the command supplies the base commit's and the working
tree's configs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from alerting.errors import Problem
from alerting.probes.model import MonitorConfig
from alerting.review.mdtable import markdown_table

# Where a probe is defined and how it is described do not change what is monitored.
_NOT_MONITORING = frozenset({"probe", "file", "line", "description"})
COMPARED_FIELDS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(MonitorConfig) if f.name not in _NOT_MONITORING
)


@dataclass
class FieldChange:
    field: str
    before: object
    after: object


@dataclass
class ConfigDiff:
    started: list[MonitorConfig] = field(default_factory=list)
    stopped: list[tuple[MonitorConfig, str]] = field(default_factory=list)  # config, why
    changed: list[tuple[MonitorConfig, list[FieldChange]]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.started or self.stopped or self.changed)

    @property
    def changed_probes(self) -> list[str]:
        """Every probe whose monitoring differs: the ones worth a backtest."""
        names = [c.probe for c in self.started] + [c.probe for c, _ in self.stopped]
        return sorted(names + [c.probe for c, _ in self.changed])


def diff_configs(
    old: list[MonitorConfig], new: list[MonitorConfig], new_problems: list[Problem] = ()
) -> ConfigDiff:
    """Compare by probe name; `new_problems` explains probes whose config broke, or whose
    whole file no longer loads (a problem of the file, naming no probe)."""
    before = {c.probe: c for c in old}
    after = {c.probe: c for c in new}
    broken = {p.probe: p for p in new_problems if p.probe}
    broken_files: dict[str, Problem] = {}
    for p in new_problems:
        if not p.probe:
            broken_files.setdefault(p.file, p)
    result = ConfigDiff()
    for probe in sorted(after.keys() - before.keys()):
        result.started.append(after[probe])
    for probe in sorted(before.keys() - after.keys()):
        problem, file_problem = broken.get(probe), broken_files.get(before[probe].file)
        if problem:
            why = f"config now invalid ({problem.field or 'monitor'}: {problem.message})"
        elif file_problem:
            why = f"its file is now invalid (line {file_problem.line}: {file_problem.message})"
        else:
            why = "monitor block or probe removed"
        result.stopped.append((before[probe], why))
    for probe in sorted(before.keys() & after.keys()):
        changes = [
            FieldChange(name, getattr(before[probe], name), getattr(after[probe], name))
            for name in COMPARED_FIELDS
            if getattr(before[probe], name) != getattr(after[probe], name)
        ]
        if changes:
            result.changed.append((after[probe], changes))
    return result


def show_value(value: object) -> str:
    """Config values the way an owner writes them in `metrics.yaml`."""
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, dict):
        return ", ".join(f"{k}={show_value(v)}" for k, v in value.items()) or "(none)"
    if isinstance(value, list | tuple):
        return ", ".join(show_value(v) for v in value) or "(none)"
    return str(value)


def _on_change(config: MonitorConfig) -> str:
    if config.alert:
        return f"bug in {config.bugzilla_product} :: {config.bugzilla_component}"
    return "email"


def diff_markdown(diff: ConfigDiff, base: str) -> str:
    """The job-summary section for a pull request."""
    lines = [f"### Monitoring changes against {base}", ""]
    if diff.empty:
        lines.append("No probe starts, stops or changes monitoring.")
        return "\n".join(lines) + "\n"
    counts = [
        f"{len(diff.started)} start{'s' if len(diff.started) == 1 else ''}",
        f"{len(diff.stopped)} stop{'s' if len(diff.stopped) == 1 else ''}",
        f"{len(diff.changed)} change{'s' if len(diff.changed) == 1 else ''}",
    ]
    lines += [f"Probes: {', '.join(counts)} monitoring.", ""]
    if diff.started:
        rows = [
            (
                c.probe,
                _on_change(c),
                show_value(c.platforms),
                show_value(c.lower_is_better),
                c.technique,
                show_value(c.args),
                f"{c.file}:{c.line}",
            )
            for c in diff.started
        ]
        headers = ("probe", "on change", "platforms", "lower is better", "technique", "args")
        lines += [
            "#### Start monitoring",
            "",
            markdown_table((*headers, "defined at"), rows),
            "",
        ]
    if diff.stopped:
        rows = [(c.probe, _on_change(c), why) for c, why in diff.stopped]
        lines += [
            "#### Stop monitoring",
            "",
            markdown_table(("probe", "was", "why"), rows),
            "",
        ]
    if diff.changed:
        rows = [
            (c.probe, ch.field, show_value(ch.before), show_value(ch.after))
            for c, changes in diff.changed
            for ch in changes
        ]
        lines += [
            "#### Change monitoring",
            "",
            markdown_table(("probe", "field", "before", "after"), rows),
            "",
        ]
    return "\n".join(lines)
