"""`alerting probes ...`: check and show the monitor configs in `metrics.yaml` files."""

from __future__ import annotations

import argparse
import json
import sys

from alerting.cliargs import add_command, add_date, add_group

# Problems printed per file: a generated or hostile file can hold tens of thousands.
MAX_SHOWN_PER_FILE = 100


def register(subparsers) -> None:
    """The `probes` group; each subcommand adds itself to `group` below."""
    from alerting.review.commands import add_diff

    group = add_group(subparsers, "probes", "check and show the monitored probes' configs")
    _add_validate(group)
    _add_list(group)
    add_diff(group)
    _add_sync(group)


def _add_sync(group) -> None:
    parser = add_command(
        group,
        "sync",
        "update the monitor blocks of metrics already in probes/ from a Glean Dictionary "
        "index.json, keeping every other byte of the files",
        _sync,
    )
    parser.add_argument(
        "--from", dest="source", required=True, metavar="FILE_OR_URL", help="index.json"
    )
    parser.add_argument("--dry-run", action="store_true", help="report, do not write")
    parser.add_argument(
        "--app",
        choices=("fog", "fenix"),
        help="only files of this app (desktop fog or mobile fenix, by the path rule); "
        "each app has its own Dictionary index",
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="files or folders (default: probes/)"
    )


def _sync(args: argparse.Namespace) -> int:
    from alerting.probes.sync import run_sync  # ruamel.yaml only when used

    return run_sync(args)


def _add_paths(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="metrics.yaml files or folders searched for *.yaml (default: probes/)",
    )
    parser.add_argument(
        "--default-product",
        metavar="PRODUCT",
        help="Bugzilla product when neither metadata.tags nor $tags name one "
        "(default: [bugzilla] default_product in alerting.toml, else Toolkit)",
    )
    parser.add_argument(
        "--default-component",
        metavar="COMPONENT",
        help="Bugzilla component used with the default product "
        "(default: [bugzilla] default_component, else Telemetry)",
    )


def _add_validate(group) -> None:
    parser = add_command(
        group,
        "validate",
        "check every monitor block; print each problem as FILE:LINE: PROBE: FIELD: message "
        f"(the first {MAX_SHOWN_PER_FILE} of a file; exit 1 when there is any)",
        _validate,
    )
    _add_paths(parser)
    parser.add_argument(
        "--format",
        choices=("text", "github"),
        default="text",
        help="github: problems as workflow annotations on the pull request (default: text)",
    )
    add_date(
        parser,
        "the day silences are checked against: `until` at most 90 days after it, and "
        "before it a warning (default: today)",
    )


def _add_list(group) -> None:
    parser = add_command(
        group, "list", "list the monitored probes with their effective config", _list
    )
    _add_paths(parser)
    parser.add_argument("--json", action="store_true", help="a JSON array, one object per probe")


def _collect(args: argparse.Namespace):
    import dataclasses

    from alerting.probes.config import collect_for, probe_files
    from alerting.settings import load_settings

    settings = load_settings()
    bugzilla = dataclasses.replace(
        settings.bugzilla,
        default_product=args.default_product or settings.bugzilla.default_product,
        default_component=args.default_component or settings.bugzilla.default_component,
    )
    files = probe_files(args.paths or None)
    if not files:
        from alerting.errors import UserError

        where = ", ".join(map(str, args.paths)) if args.paths else "probes/"
        raise UserError(f"no metrics.yaml files in {where}: no probe to check or list")
    # The paths as given, not the files: collect reads each folder as a probes root.
    warnings: list = []
    configs, problems = collect_for(
        dataclasses.replace(settings, bugzilla=bugzilla), args.paths or None, warnings
    )
    return files, configs, problems, warnings


def _validate(args: argparse.Namespace) -> int:
    import datetime as dt

    from alerting.gitops.annotations import error_annotation
    from alerting.probes.config import silences_files
    from alerting.probes.silences_file import read_silences

    files, configs, problems, warnings = _collect(args)
    known = [c.probe for c in configs]
    for path in silences_files(args.paths or None):
        check = read_silences(path, known, args.date or dt.date.today())
        problems += check.problems
        warnings += check.warnings
        files.append(path)
    shown: dict[str, int] = {}
    for problem in problems:
        shown[problem.file] = shown.get(problem.file, 0) + 1
        if shown[problem.file] <= MAX_SHOWN_PER_FILE:
            print(error_annotation(problem) if args.format == "github" else problem)
    for file, count in shown.items():
        if count > MAX_SHOWN_PER_FILE:
            print(f"{file}: {count - MAX_SHOWN_PER_FILE} more problems not shown; fix these first")
    for warning in warnings:
        print(
            error_annotation(warning, "warning")
            if args.format == "github"
            else f"{warning} (warning)"
        )
    if not args.quiet:
        noun = "file" if len(files) == 1 else "files"
        if problems:
            print(
                f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in "
                f"{len({p.file for p in problems})} of {len(files)} {noun}; "
                f"{len(configs)} monitored probe{'s' if len(configs) != 1 else ''} valid"
            )
        else:
            print(f"ok: {len(configs)} monitored probe(s) in {len(files)} {noun}, no problems")
    return 1 if problems else 0


def _list(args: argparse.Namespace) -> int:
    from alerting.textable import format_table

    files, configs, problems, warnings = _collect(args)
    for problem in problems:
        print(problem, file=sys.stderr)
    for warning in warnings:
        print(f"{warning} (warning)", file=sys.stderr)
    if args.json:
        print(json.dumps([config.to_json() for config in configs], indent=2))
    elif not configs:
        why = " usable (see the problems above)" if problems else ""
        print(f"no monitored probe{why} in {len(files)} file(s)")
    else:
        rows = [
            (
                c.probe,
                c.type,
                "bug" if c.alert else "email",
                ",".join(c.platforms),
                {True: "lower", False: "higher", None: None}[c.lower_is_better],
                c.technique,
                f"{c.bugzilla_product} :: {c.bugzilla_component}",
                f"{c.file}:{c.line}",
            )
            for c in configs
        ]
        headers = ("probe", "type", "on change", "platforms", "better", "technique")
        print(format_table((*headers, "bugzilla", "defined at"), rows))
    return 1 if problems else 0
