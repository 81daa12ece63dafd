"""Markdown tables for job summaries; every cell escaped, since probe configs come from PRs."""

from __future__ import annotations

from collections.abc import Sequence

from alerting.alerts.markdown import escape_markdown


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured table; `None` shows as `-`."""
    lines = [
        "| " + " | ".join(escape_markdown(h) for h in headers) + " |",
        "|" + "---|" * len(headers),
    ]
    for row in rows:
        cells = ("-" if v is None else escape_markdown(v) for v in row)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
