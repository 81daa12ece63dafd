"""`alerting detect FILE...`: run a detection technique on every series in GLAM-row files."""

from __future__ import annotations

import argparse
import json
import sys

from alerting.cliargs import add_command, add_date
from alerting.detect.registry import DEFAULT_TECHNIQUE


def register(subparsers) -> None:
    parser = add_command(
        subparsers,
        "detect",
        "find changes in the distribution of every series in GLAM-row files",
        run,
    )
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="GLAM rows (JSON lines, CSV, Parquet)"
    )
    parser.add_argument(
        "--technique",
        default=DEFAULT_TECHNIQUE,
        metavar="NAME",
        help=f"detection technique (default {DEFAULT_TECHNIQUE})",
    )
    parser.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="technique argument, repeatable (e.g. threshold=0.9)",
    )
    add_date(parser, "use only data up to this day, as the daily run on that day would", "--as-of")
    parser.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="a table to read (default), or JSON with every detection's details",
    )


def run(args: argparse.Namespace) -> int:
    from alerting.data.rows import read_series
    from alerting.detect.fleet import check_date, detect_all
    from alerting.detect.registry import get_technique, parse_args, techniques

    technique = get_technique(args.technique)
    if technique is None:
        known = ", ".join(sorted(techniques()))
        print(
            f"alerting detect: error: unknown technique {args.technique!r}; known: {known}",
            file=sys.stderr,
        )
        return 2
    parsed = parse_args(technique, args.arg)
    given: dict[str, str] = {}
    for text in args.arg:  # a repeated name would silently count only its last value
        name, sep, _ = text.partition("=")
        name = name.strip()
        if sep and name in given:
            parsed.errors.append(
                (text, f"{name} is given twice (also --arg {given[name]}); keep one")
            )
        given.setdefault(name, text)
    if parsed.errors:
        for text, message in parsed.errors:
            print(f"alerting detect: error: --arg {text}: {message}", file=sys.stderr)
        return 2

    series, problems = read_series(args.files)
    for problem in problems:
        print(f"alerting detect: {problem}", file=sys.stderr)
    if not series:  # an empty file, or an API response with no rows: say so, not just nothing
        print("alerting detect: the input holds no GLAM rows; nothing to detect", file=sys.stderr)
    held = [s for s in series.values() if s.n_days]
    if args.date is not None and held:  # as the daily run: a day outside the data is a mistake
        check_date(args.date, min(s.start for s in held), max(s.end for s in held))
    found = detect_all(series, technique, parsed.values, as_of=args.date)

    if args.format == "json":
        json.dump([f.to_json() for f in found], sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        print(_table(found))
    return 1 if problems else 0


def _table(found) -> str:
    from alerting.numbers import format_change
    from alerting.textable import format_table

    # Which app a series is from, when the rows say (FOG build ids have 10 digits, others 14:
    # without it a table mixing apps looks inconsistent).
    apps = any(f.key.app_id for f in found)
    rows = [
        (
            *((f.key.app_id or "-",) if apps else ()),
            f.key.metric,
            f.key.os,
            f.key.metric_key,
            f.detection.date.isoformat(),
            f.detection.build_id,
            f.detection.direction,
            f.detection.technique,
            f"{f.detection.score:.1f}",
            format_change(f.detection.before.median, f.detection.after.median),
            format_change(f.detection.before.p95, f.detection.after.p95),
        )
        for f in found
    ]
    # `dir` is the shift of the whole distribution: the median may move the other way when
    # the tail moved most, which the p95 column shows.
    headers = ("metric", "os", "key", "date", "build", "dir", "technique", "score", "median", "p95")
    return format_table(("app", *headers) if apps else headers, rows)
