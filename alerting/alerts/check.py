"""`alerting state check`: every file under `state/` against its JSON Schema, and the references
between records, so a hand edit in a pull request is checked before it merges.

References checked: a summary's alerts exist and name it back; an alert has its plot file and a
plot its alert; a bug draft belongs to a bug alert and a drafted bug alert has its draft; every
draft an alert's history names exists. Files in `state/quarantine/` await a person and are
listed, not checked.

What the readers refuse is reported too, so a pull request cannot bring it in unnoticed: a
symbolic link (to a file or a folder), a folder where a record belongs or a file where a folder
of records belongs, and JSON that Python reads but no record holds (`NaN`, `Infinity`, numbers
too large for a float, nesting past `schema.MAX_DEPTH`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from alerting.alerts import quarantine, schema
from alerting.alerts.schema import LAYOUT, Problem
from alerting.alerts.store import StatePathError, state_path

EMAIL_DRAFTS = "outbox/emails/*/*.eml"  # digest drafts: mail text, no record inside
# Folders records live in (a file by one of these names is in their way).
FOLDERS = {
    *(str(PurePosixPath(p).parent) for p in LAYOUT.values()),
    "outbox",
    "outbox/emails",
    quarantine.FOLDER,
}
DOCUMENTATION = {"README.md"}


@dataclass
class Records:
    """The usable records of each type by file stem, each with the file it came from."""

    files: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> stem -> file
    data: dict[str, dict[str, dict]] = field(default_factory=dict)  # kind -> stem -> record
    # Files there but unusable (already reported), or set aside in quarantine: references to
    # them are not reported again.
    elsewhere: dict[str, set[str]] = field(default_factory=dict)  # kind -> stems

    def add(self, kind: str, stem: str, file: str, data: dict) -> None:
        self.files.setdefault(kind, {})[stem] = file
        self.data.setdefault(kind, {})[stem] = data

    def of(self, kind: str) -> dict[str, dict]:
        return self.data.get(kind, {})

    def file(self, kind: str, stem: str) -> str:
        return self.files[kind][stem]

    def exists(self, kind: str, stem: str) -> bool:
        return stem in self.of(kind) or stem in self.elsewhere.get(kind, set())


@dataclass
class CheckResult:
    checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    quarantined: list[quarantine.Quarantined] = field(default_factory=list)


def kind_of(relative: str) -> str | None:
    """The record type a path under state/ holds, by the layout; None when it is not one."""
    path = PurePosixPath(relative)
    for kind, pattern in LAYOUT.items():
        if len(path.parts) == len(PurePosixPath(pattern).parts) and path.match(pattern):
            return kind
    return None


def _is_email_draft(relative: str) -> bool:
    path = PurePosixPath(relative)
    return len(path.parts) == 4 and path.match(EMAIL_DRAFTS)


def check_state(root: Path) -> CheckResult:
    """Problems of every file under `root` (a state directory), in file order."""
    result = CheckResult(quarantined=quarantine.listing(root))
    records = Records()
    for path in sorted(root.rglob("*")):  # never descends into a symbolic link
        relative = path.relative_to(root).as_posix()
        problem = _not_plain(root, path, relative)
        if problem is not None:
            result.checked += 1
            result.problems.append(problem)
            continue
        if path.is_dir() or _skipped(relative) or _is_email_draft(relative):
            continue
        result.checked += 1
        kind, file = kind_of(relative), str(path)
        try:
            state_path(root, relative)
        except StatePathError as error:  # a name no writer would use
            result.problems.append(Problem(file, str(error)))
            continue
        if kind is None:
            expected = ", ".join(sorted(LAYOUT.values()))
            result.problems.append(Problem(file, f"not a state file (expected {expected})"))
            continue
        loaded = schema.load(kind, path, file)
        result.problems += loaded.problems
        stem = path.name.removesuffix(".json")
        if loaded.data is None:
            records.elsewhere.setdefault(kind, set()).add(stem)
            continue
        records.add(kind, stem, file, loaded.data)
        if "plot" in loaded.split:  # an older alert that still holds its plot
            records.add("plot", stem, file, loaded.split["plot"])
    for item in result.quarantined:
        if kind_of(item.original):
            stem = PurePosixPath(item.original).name.removesuffix(".json")
            records.elsewhere.setdefault(kind_of(item.original), set()).add(stem)
    result.problems += cross_references(root, records)
    result.problems.sort(key=lambda p: (p.file, p.line or 0, p.pointer or ""))
    return result


def _not_plain(root: Path, path: Path, relative: str) -> Problem | None:
    """What the readers refuse, or cannot keep, at `path`: a symbolic link (to a file or a
    folder: the readers never follow one), a folder where a record belongs, a file where a
    folder of records belongs, or something that is neither file nor folder."""
    file, parts = str(path), PurePosixPath(relative).parts
    in_quarantine = parts[0] == quarantine.FOLDER
    if path.is_symlink():
        # a record set aside in quarantine/ may be a link (moved, never followed)
        if in_quarantine and kind_of(relative.partition("/")[2]):
            return None
        if _skipped(relative) and not in_quarantine:
            return None
        if path.is_dir():
            return Problem(
                file,
                "a symbolic link to a folder; state/ holds plain files and folders only, and "
                "the daily run reads and writes nothing through a link",
            )
        return Problem(
            file,
            f"refused state file {relative!r}: {path} is a symbolic link; "
            "state/ holds plain files and folders only",
        )
    if _skipped(relative) and not in_quarantine:
        return None
    if path.is_dir():
        if not in_quarantine and (kind_of(relative) or _is_email_draft(relative)):
            return Problem(file, "a folder where a record file belongs: move or delete it")
        return None
    if not path.is_file():
        return Problem(file, "neither a file nor a folder: move or delete it")
    if relative in FOLDERS:
        return Problem(file, f"a file where the folder {relative}/ of records belongs")
    return None


def _skipped(relative: str) -> bool:
    parts = PurePosixPath(relative).parts
    hidden = any(part.startswith(".") for part in parts)  # locks, interrupted writes
    return hidden or relative in DOCUMENTATION or parts[0] == quarantine.FOLDER


def cross_references(root: Path, records: Records) -> list[Problem]:
    alerts, summaries = records.of("alert"), records.of("summary")
    problems = []
    for sid, summary in summaries.items():
        file = records.file("summary", sid)
        for i, alert_id in enumerate(summary["alerts"]):
            if not records.exists("alert", alert_id):
                problems.append(Problem(file, f"no alert {alert_id}", pointer=f"/alerts/{i}"))
            elif alert_id in alerts and alerts[alert_id]["summary"] != sid:
                owner = alerts[alert_id]["summary"]
                message = f"alert {alert_id} belongs to summary {owner!r}, not this one"
                problems.append(Problem(file, message, pointer=f"/alerts/{i}"))
    for aid, alert in alerts.items():
        problems += _alert_references(root, records, aid, alert)
    for aid in records.of("plot"):
        if not records.exists("alert", aid):
            problems.append(Problem(records.file("plot", aid), f"plot of no alert {aid}"))
    for aid, draft in records.of("bug_draft").items():
        file = records.file("bug_draft", aid)
        if aid not in alerts:
            if not records.exists("alert", aid):
                problems.append(Problem(file, f"draft of no alert {aid}"))
        elif alerts[aid]["delivery"] != "bug":
            problems.append(Problem(file, f"draft of no bug alert {aid}"))
        if f"[telemetry-alert:{aid}]" not in draft["whiteboard"]:
            problems.append(Problem(file, f"does not name alert {aid}", pointer="/whiteboard"))
    for aid, draft in records.of("comment_draft").items():
        file = records.file("comment_draft", aid)
        if aid not in alerts:
            if not records.exists("alert", aid):
                problems.append(Problem(file, f"draft of no alert {aid}"))
        elif alerts[aid]["delivery"] != "comment" or alerts[aid]["bug"] != draft["bug"]:
            message = f"not the comment of alert {aid} on its bug"
            problems.append(Problem(file, message, pointer="/bug"))
        if f"[telemetry-alert:{aid}]" not in draft["comment"]:
            problems.append(Problem(file, f"does not name alert {aid}", pointer="/comment"))
    return problems


def _alert_references(root: Path, records: Records, aid: str, alert: dict) -> list[Problem]:
    file, problems = records.file("alert", aid), []
    summary = records.of("summary").get(alert["summary"])
    if summary is None and not records.exists("summary", alert["summary"]):
        problems.append(Problem(file, f"no summary {alert['summary']}", pointer="/summary"))
    elif summary is not None and aid not in summary["alerts"]:
        message = f"summary {alert['summary']} does not list this alert"
        problems.append(Problem(file, message, pointer="/summary"))
    if not records.exists("plot", aid):
        problems.append(Problem(file, f"no plot file plots/{aid}.json"))
    drafts = {"bug": ("bug_draft", "bugs"), "comment": ("comment_draft", "comments")}
    kind, folder = drafts.get(alert["delivery"], ("", ""))
    if kind and alert["delivery_state"] == "drafted" and not records.exists(kind, aid):
        message = f"drafted, but there is no outbox/{folder}/{aid}.json"
        problems.append(Problem(file, message, pointer="/delivery_state"))
    for i, event in enumerate(alert["history"]):
        detail = event["detail"]
        draft = root / detail.removeprefix("state/")
        if (
            event["event"] == "drafted"
            and detail.startswith("state/outbox/")
            and not draft.is_file()
        ):
            message = f"names a draft that does not exist: {detail}"
            problems.append(Problem(file, message, pointer=f"/history/{i}/detail"))
    return problems
