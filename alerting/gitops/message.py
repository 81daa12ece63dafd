"""The commit message for a change of `state/`: what happened to alerts, in words a reviewer of
the history can scan (`alerts: 3 new, 2 bugs filed, 1 resolved (FIXED)`).

Pure: it sees only the old and new bytes of each changed file, so it is tested without git.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from alerting.alerts.model import (
    COMMENTED,
    QUIET_STATUSES,
    SENT,
    STATUS_EXPECTED,
    STATUS_RESOLVED,
    STATUS_SILENCED,
)
from alerting.alerts.quarantine import NOTE, original_name


@dataclass(frozen=True)
class StateChange:
    """One changed file; `path` is relative to the state directory, None means absent."""

    path: str
    old: bytes | None
    new: bytes | None


@dataclass
class ChangeCounts:
    new: list[str] = field(default_factory=list)
    silenced: list[str] = field(default_factory=list)  # new alerts a silence covered
    expected: list[str] = field(default_factory=list)  # new alerts of an expected change
    bugs_filed: list[str] = field(default_factory=list)
    comments_posted: list[str] = field(default_factory=list)  # on expected changes' bugs
    resolved: Counter[str] = field(default_factory=Counter)  # resolution -> count
    resolved_ids: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    emails_sent: set[str] = field(default_factory=set)  # recipients newly sent a digest
    bug_drafts: list[str] = field(default_factory=list)
    comment_drafts: list[str] = field(default_factory=list)
    email_drafts: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)  # files newly set aside for a person
    updated: list[str] = field(default_factory=list)  # alert files changed in other ways
    other_files: int = 0  # summaries, probe first-seen records, ...


def count_changes(changes: list[StateChange]) -> ChangeCounts:
    counts = ChangeCounts()
    for change in sorted(changes, key=lambda c: c.path):
        parts = change.path.split("/")
        if parts[0] == "alerts" and change.path.endswith(".json"):
            _count_alert(counts, change)
        elif parts[:2] == ["outbox", "bugs"] and change.old is None and change.new is not None:
            counts.bug_drafts.append(parts[-1].removesuffix(".json"))
        elif parts[:2] == ["outbox", "comments"] and change.old is None and change.new is not None:
            counts.comment_drafts.append(parts[-1].removesuffix(".json"))
        elif parts[:2] == ["outbox", "emails"] and change.old is None and change.new is not None:
            counts.email_drafts.append("/".join(parts[2:]))
        elif parts[0] == "quarantine" and change.old is None and not change.path.endswith(NOTE):
            counts.quarantined.append("/".join(parts[1:]))
        else:
            counts.other_files += 1
    set_aside = {original_name(q) for q in counts.quarantined}
    counts.removed = [a for a in counts.removed if f"alerts/{a}.json" not in set_aside]
    return counts


def _count_alert(counts: ChangeCounts, change: StateChange) -> None:
    alert_id = change.path.split("/")[-1].removesuffix(".json")
    if change.new is None:
        counts.removed.append(alert_id)
        return
    old = _load(change.old) if change.old is not None else {}
    new = _load(change.new)
    if old is None or new is None:  # unreadable JSON: still committed, described generically
        counts.updated.append(alert_id)
        return
    described = False
    if change.old is None:
        counts.new.append(alert_id)
        quiet = {STATUS_SILENCED: counts.silenced, STATUS_EXPECTED: counts.expected}
        quiet.get(new.get("status"), []).append(alert_id)
        described = True
    filed = new.get("status") not in QUIET_STATUSES  # their bug is someone else's
    if filed and old.get("bug") is None and isinstance(new.get("bug"), int):
        counts.bugs_filed.append(alert_id)
        described = True
    if new.get("delivery_state") == COMMENTED != old.get("delivery_state"):
        counts.comments_posted.append(alert_id)
        described = True
    was_resolved = old.get("status") == STATUS_RESOLVED
    is_resolved = new.get("status") == STATUS_RESOLVED
    if is_resolved and not was_resolved:
        counts.resolved[str(new.get("resolution") or "")] += 1
        counts.resolved_ids.append(alert_id)
        described = True
    elif was_resolved and not is_resolved:
        counts.reopened.append(alert_id)
        described = True
    if new.get("delivery_state") == SENT:
        newly = set(new.get("notified") or []) - set(old.get("notified") or [])
        if newly:
            counts.emails_sent |= newly
            described = True
    if not described:
        counts.updated.append(alert_id)


def _load(data: bytes) -> dict | None:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _n(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


def subject(counts: ChangeCounts) -> str:
    """One line: `alerts: 3 new, 2 bugs filed, 1 resolved (FIXED)`."""
    parts = []
    if counts.new:
        parts.append(f"{len(counts.new)} new")
    if counts.silenced:
        parts.append(f"{len(counts.silenced)} silenced")
    if counts.expected:
        parts.append(f"{len(counts.expected)} expected")
    if counts.bugs_filed:
        parts.append(_n(len(counts.bugs_filed), "bug") + " filed")
    if counts.comments_posted:
        parts.append(_n(len(counts.comments_posted), "comment") + " posted")
    if counts.resolved:
        total = sum(counts.resolved.values())
        named = {r: n for r, n in sorted(counts.resolved.items()) if r}
        if len(named) == 1 and sum(named.values()) == total:
            parts.append(f"{total} resolved ({next(iter(named))})")
        elif named:
            parts.append(
                f"{total} resolved (" + ", ".join(f"{n} {r}" for r, n in named.items()) + ")"
            )
        else:
            parts.append(f"{total} resolved")
    if counts.reopened:
        parts.append(f"{len(counts.reopened)} reopened")
    if counts.emails_sent:
        parts.append(_n(len(counts.emails_sent), "email") + " sent")
    if counts.bug_drafts:
        parts.append(_n(len(counts.bug_drafts), "bug draft"))
    if counts.comment_drafts:
        parts.append(_n(len(counts.comment_drafts), "comment draft"))
    if counts.email_drafts:
        parts.append(_n(len(counts.email_drafts), "email draft"))
    if counts.quarantined:
        parts.append(_n(len(counts.quarantined), "record") + " quarantined")
    if counts.removed:
        parts.append(f"{len(counts.removed)} removed")
    if counts.updated:
        parts.append(f"{len(counts.updated)} updated")
    if parts:
        return "alerts: " + ", ".join(parts)
    return f"state: {_n(counts.other_files, 'file')} updated"


def body(counts: ChangeCounts) -> str:
    """Which alerts each count refers to, so `git log` answers "which ones?"."""
    sections = [
        ("new", counts.new),
        ("silenced", counts.silenced),
        ("expected", counts.expected),
        ("bugs filed", counts.bugs_filed),
        ("comments posted", counts.comments_posted),
        ("resolved", counts.resolved_ids),
        ("reopened", counts.reopened),
        ("emails sent to", sorted(counts.emails_sent)),
        ("bug drafts", counts.bug_drafts),
        ("comment drafts", counts.comment_drafts),
        ("email drafts", counts.email_drafts),
        ("quarantined", counts.quarantined),
        ("removed", counts.removed),
        ("updated", counts.updated),
    ]
    return "\n".join(f"{title}: {', '.join(items)}" for title, items in sections if items)


def commit_message(changes: list[StateChange], run_summary: str = "") -> str:
    """Subject, a blank line, the alert ids, and the run's own summary when there is one."""
    counts = count_changes(changes)
    paragraphs = [subject(counts), body(counts), run_summary.strip()]
    return "\n\n".join(p for p in paragraphs if p) + "\n"


def run_summary_text(raw: str) -> str:
    """The body text for a run's result file: `alerting run`'s JSON (ALERTING_RUN_RESULT)
    condensed to one line per step, or any other text as it is."""
    try:
        result = json.loads(raw)
    except ValueError:
        return raw.strip()
    if not isinstance(result, dict) or not isinstance(result.get("steps"), list):
        return raw.strip()
    mode = result.get("mode", "?") + (", dry run" if result.get("dry_run") else "")
    lines = [f"run {result.get('date', '?')} ({mode})"]
    for step in result["steps"]:
        if not isinstance(step, dict):
            continue
        counts = step.get("counts") or {}
        text = ", ".join(f"{n} {k}" for k, n in counts.items()) or "nothing to do"
        errors = step.get("errors") or []
        if errors:
            text += f"; {len(errors)} error{'s' if len(errors) != 1 else ''}"
        lines.append(f"- {step.get('name', '?')}: {text}")
    config_errors = result.get("config_errors") or []
    if config_errors:
        lines.append(f"- config errors: {len(config_errors)}")
    quarantined = result.get("quarantined") or []
    if quarantined:
        lines.append(f"- records awaiting a person in quarantine/: {len(quarantined)}")
    return "\n".join(lines)
