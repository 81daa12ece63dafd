"""GitHub Actions workflow commands (`::error file=...,line=...::message`), so a problem shows
on the pull request's changed line instead of only in the log."""

from __future__ import annotations

from alerting.errors import Problem


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(file: str, line: int, title: str, message: str, level: str = "error") -> str:
    """One `::error` (or `::warning`) line; untrusted text is escaped so it cannot inject
    another command."""
    properties = [f"file={_escape_property(file)}", f"line={int(line)}"]
    if title:
        properties.append(f"title={_escape_property(title)}")
    return f"::{level} {','.join(properties)}::{_escape_data(message)}"


def error_annotation(problem: Problem, level: str = "error") -> str:
    title = ": ".join(part for part in (problem.probe, problem.field) if part)
    return annotation(problem.file, problem.line, title, problem.message, level)
