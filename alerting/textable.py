"""Plain-text tables for the terminal views (`probes list`, `alerts list`, `detect`)."""

from __future__ import annotations

from collections.abc import Sequence

from alerting.terminal import printable


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns sized to their widest cell; `None` shows as `-`. A cell is one
    line: every control character in it, newlines and tabs included, is shown as an escape
    (`\\n`), so a label cannot break a row or forge one."""
    headers = [_cell(h) for h in headers]
    cells = [[("-" if v is None else _cell(v)) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines)


def _cell(value: object) -> str:
    return printable(str(value), keep="")
