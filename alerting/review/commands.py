"""Pull-request review commands: `alerting probes diff` (added to the probes group) and
`alerting backtest`; both print Markdown for the job summary."""

from __future__ import annotations

import argparse

from alerting.cliargs import add_command, add_date, at_least


def register(subparsers) -> None:
    parser = add_command(
        subparsers,
        "backtest",
        "the alerts the changed probes' new configs would have raised over recent days, "
        "compared with their configs at --base (Markdown)",
        run_backtest,
    )
    _add_base_and_paths(parser)
    parser.add_argument(
        "--days", type=at_least(1), default=90, help="how many days back to test (default 90)"
    )
    add_date(parser, "last day tested (default: the data's last day)", "--end")


def add_diff(probes_group) -> None:
    """`alerting probes diff`, registered by the probes group."""
    parser = add_command(
        probes_group,
        "diff",
        "which probes start, stop or change monitoring compared with --base, and how (Markdown)",
        run_diff,
    )
    _add_base_and_paths(parser)
    parser.add_argument(
        "--days",
        type=at_least(1),
        default=90,
        help="days of detections checked against added silences and expected changes "
        "(default 90, as the backtest)",
    )


def _add_base_and_paths(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", required=True, metavar="REF", help="git commit to compare with")
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="metrics.yaml files or folders (default: probes/)",
    )


def run_diff(args: argparse.Namespace) -> int:
    from alerting.review.baseline import base_and_current
    from alerting.review.diff import diff_configs, diff_markdown
    from alerting.settings import load_settings

    settings = load_settings()
    old, new, problems = base_and_current(args.base, args.paths or None, settings)
    print(diff_markdown(diff_configs(old, new, problems), args.base), end="")
    section = _silences_section(args, settings, old, new)
    if section:
        print("\n" + section, end="")
    return 0


def _silences_section(args: argparse.Namespace, settings, old: list, new: list) -> str:
    """The silences part of `probes diff`; empty when the pull request adds and removes no
    entry."""
    import datetime as dt
    import fnmatch
    from pathlib import Path

    from alerting.alerts.store import StateStore
    from alerting.data.source import load_series
    from alerting.probes.config import DEFAULT_PROBES_DIR, silences_files
    from alerting.probes.silences import SILENCES_FILE
    from alerting.probes.silences_file import check_document, read_silences
    from alerting.probes.yamlsafe import YamlFileError, loads
    from alerting.review.backtest import config_hits, data_settings
    from alerting.review.baseline import text_at
    from alerting.review.silences_diff import diff_silences, silences_markdown

    today = dt.date.today()
    given = [Path(p) for p in args.paths or [DEFAULT_PROBES_DIR]]
    path = next(iter(silences_files(given)), None)
    if path is None:
        folder = next((g for g in given if g.is_dir()), DEFAULT_PROBES_DIR)
        path = folder / SILENCES_FILE
    text = text_at(args.base, path)
    if text is None and not path.is_file():
        return ""
    # Both sides read with every probe either side monitors, so the diff shows what the
    # entries say, not that a probe stopped (or started) being monitored.
    known = sorted({c.probe for c in old} | {c.probe for c in new})
    current = read_silences(path, known, today).silences
    try:
        document = loads(text, str(path)) if text is not None else None
    except YamlFileError:
        document = None  # a broken base file silenced nothing
    before = check_document(document, str(path), known, today).silences
    diff = diff_silences(before, current)
    if diff.empty:
        return ""
    alerts = list(StateStore(Path(settings.state_dir), dry_run=True).alerts().values())
    named = [
        c
        for c in new
        if any(fnmatch.fnmatchcase(c.probe, rule.scope.probes) for rule in diff.added)
    ]
    hits, window, note = [], "no probe to test", ""
    if named:
        data, note = data_settings(settings)
        series = load_series(data, named)
        end = max((s.end for s in series.values() if s.n_days), default=today)
        start = end - dt.timedelta(days=args.days - 1)
        notes: list[str] = []
        for config in named:
            hits += config_hits(config, series, data, start, end, notes)
        window = f"{start} to {end}"
    return silences_markdown(diff, args.base, alerts, hits, window, note)


def run_backtest(args: argparse.Namespace) -> int:
    from alerting.review.backtest import backtest_command

    return backtest_command(args)
