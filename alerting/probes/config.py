"""Collect the monitored probes from `metrics.yaml` files: configs plus every problem found.

A broken file or probe is reported and skipped; the rest still load, so `validate` shows every
mistake at once and the daily run monitors every probe that is configured correctly.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from alerting.errors import Problem, UserError
from alerting.probes.model import DESKTOP_APP, MOBILE_APP, MonitorConfig
from alerting.probes.monitor import FileContext, resolve_metric
from alerting.probes.names import category_problem, labels_problems, name_problem
from alerting.probes.silences import SILENCES_FILE
from alerting.probes.yamlsafe import LineDict, YamlFileError, line_of, load_file
from alerting.settings import Settings

__all__ = [
    "DEFAULT_PROBES_DIR",
    "MonitorConfig",
    "app_of",
    "collect",
    "collect_for",
    "probe_files",
    "probe_files_with_roots",
    "silences_files",
]

DEFAULT_PROBES_DIR = Path("probes")
DEFAULT_PRODUCT = "Toolkit"
DEFAULT_COMPONENT = "Telemetry"

GLEAN_SCHEMA_PREFIX = "moz://mozilla.org/schemas/glean/"
METRICS_SCHEMA_PREFIX = GLEAN_SCHEMA_PREFIX + "metrics/"
METRICS_SCHEMA = METRICS_SCHEMA_PREFIX + "2-0-0"
# Other Glean files that may sit among metrics files: nothing to monitor in them. Only these
# exact schemas are skipped, so a misspelled metrics schema cannot hide a file's monitor blocks.
SKIPPED_SCHEMAS: tuple[str, ...] = (
    GLEAN_SCHEMA_PREFIX + "tags/1-0-0",
    GLEAN_SCHEMA_PREFIX + "pings/2-0-0",
)
# A file is mobile (Fenix, GLAM's Android data) when its path names one of these.
MOBILE_PATH_MARKERS: tuple[str, ...] = ("fenix", "android", "mobile")


def collect(
    paths: Iterable[Path | str] | None = None,
    default_product: str = DEFAULT_PRODUCT,
    default_component: str = DEFAULT_COMPONENT,
    warnings: list[Problem] | None = None,
) -> tuple[list[MonitorConfig], list[Problem]]:
    """Every valid monitored probe under `paths` (default `probes/`) and every problem.

    A probe defined in two places is a problem at the second place and none of its
    definitions is in the configs; raises `UserError` only when a path does not exist.
    Warnings (found, but refusing nothing) are added to `warnings` when it is given.
    """
    configs: list[MonitorConfig] = []
    problems: list[Problem] = []
    defined: dict[str, tuple[str, int]] = {}
    twice: set[str] = set()
    for path, root in probe_files_with_roots(paths):
        file_configs, file_problems, definitions = _collect_file(
            path, app_of(path, root), default_product, default_component
        )
        problems += file_problems
        for probe, line in definitions:
            if probe in defined:
                first_file, first_line = defined[probe]
                where = (
                    f"line {first_line}"
                    if first_file == str(path)
                    else f"{first_file}:{first_line}"
                )
                problems.append(
                    Problem(
                        str(path),
                        line,
                        probe,
                        "",
                        f"defined twice (first at {where}); keep one definition",
                    )
                )
                twice.add(probe)
            else:
                defined[probe] = (str(path), line)
        configs += file_configs
    if warnings is not None:
        warnings += sorted(p for p in problems if p.warning)
    # Which definition the owner meant is unknown, so neither is monitored until one is removed.
    return [c for c in configs if c.probe not in twice], sorted(
        p for p in problems if not p.warning
    )


def collect_for(
    settings: Settings,
    paths: Iterable[Path | str] | None = None,
    warnings: list[Problem] | None = None,
) -> tuple[list[MonitorConfig], list[Problem]]:
    """`collect` with the deployment's Bugzilla product and component for untagged probes,
    so the run, the listings and the reviews all agree on where a probe's bugs go."""
    bugzilla = settings.bugzilla
    return collect(paths, bugzilla.default_product, bugzilla.default_component, warnings)


def probe_files(paths: Iterable[Path | str] | None = None) -> list[Path]:
    """`*.yaml` files under each directory (sorted) and each file as given, each once.

    The silences file directly in a folder, or given itself, is not a metrics file (see
    `silences_files`); one deeper is never read as silences, so it is listed for `collect`
    to report rather than ignored.
    """
    return [path for path, _ in probe_files_with_roots(paths)]


def probe_files_with_roots(paths: Iterable[Path | str] | None = None) -> list[tuple[Path, Path]]:
    """Each file of `probe_files` with the probes root it is read from, which `app_of` needs:
    the folder given, or `probes/` for a file given by itself."""
    files: list[tuple[Path, Path]] = []
    seen: set[Path] = set()
    for given in [Path(p) for p in paths] if paths else [DEFAULT_PROBES_DIR]:
        if given.is_dir():
            found = sorted(p for p in given.rglob("*.yaml") if p.is_file())
            found = [p for p in found if p != given / SILENCES_FILE]
            root = given
        elif given.is_file():
            found = [] if given.name == SILENCES_FILE else [given]
            root = DEFAULT_PROBES_DIR
        else:
            raise UserError(f"{given}: no such file or directory")
        for path in found:
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                files.append((path, root))
    return files


def silences_files(paths: Iterable[Path | str] | None = None) -> list[Path]:
    """The silences files among `paths` (default `probes/`): a file so named, or the one
    directly inside a folder."""
    found = []
    for given in [Path(p) for p in paths] if paths else [DEFAULT_PROBES_DIR]:
        candidate = given / SILENCES_FILE if given.is_dir() else given
        if candidate.name == SILENCES_FILE and candidate.is_file():
            found.append(candidate)
    return found


def app_of(path: Path | str, root: Path | str = DEFAULT_PROBES_DIR) -> str:
    """`fenix` when the path from the probes folder down names fenix/android/mobile in a folder
    or file name.

    That part is the path below `root` (the probes folder being read) plus what `_root_parts`
    keeps of `root` itself, never the working directory, so a checkout under e.g.
    `/home/android-ci/` does not turn every probe into a mobile one. A file given by itself
    outside `root` counts from its last folder named `probes`, or whole when it has none.
    """
    path, root = Path(path), Path(root)
    try:
        parts = (*_root_parts(root), *path.resolve().relative_to(root.resolve()).parts)
    except ValueError:
        below = _below_probes(path)
        parts = path.parts if below is None else below
    mobile = any(marker in part.lower() for part in parts for marker in MOBILE_PATH_MARKERS)
    return MOBILE_APP if mobile else DESKTOP_APP


def _root_parts(root: Path) -> tuple[str, ...]:
    """What of the probes folder's own path may say mobile: all of a plain relative path such
    as `probes/fenix`, else only what lies below its last folder named `probes`."""
    if not root.is_absolute() and ".." not in root.parts:
        return root.parts
    return _below_probes(root) or ()


def _below_probes(path: Path) -> tuple[str, ...] | None:
    """The parts of `path` below its last folder named `probes`, None when there is none."""
    names = [part.lower() for part in path.parts]
    if DEFAULT_PROBES_DIR.name not in names:
        return None
    last = len(names) - 1 - names[::-1].index(DEFAULT_PROBES_DIR.name)
    return path.parts[last + 1 :]


def _collect_file(
    path: Path, app: str, default_product: str, default_component: str
) -> tuple[list[MonitorConfig], list[Problem], list[tuple[str, int]]]:
    """Configs, problems and (probe, line) of every metric defined in one file."""
    file = str(path)
    if path.name == SILENCES_FILE:
        why = (
            "never read: the silences file must sit directly in probes/; move its entries to "
            f"probes/{SILENCES_FILE}"
        )
        return [], [Problem(file, 1, "", "", why)], []
    try:
        document = load_file(path)
    except YamlFileError as error:
        return [], [Problem(file, error.line, "", "", error.message)], []
    if document is None:
        return (
            [],
            [
                Problem(
                    file,
                    1,
                    "",
                    "",
                    f"empty file; a metrics file starts with $schema: {METRICS_SCHEMA}",
                )
            ],
            [],
        )
    if not isinstance(document, dict):
        return (
            [],
            [
                Problem(
                    file,
                    line_of(document, 0),
                    "",
                    "",
                    "expected a mapping of categories to metrics at the top level",
                )
            ],
            [],
        )

    schema = document.get("$schema")
    if schema in SKIPPED_SCHEMAS:
        return [], [], []  # a tags.yaml or pings.yaml: nothing to monitor in it
    if not (isinstance(schema, str) and schema.startswith(METRICS_SCHEMA_PREFIX)):
        others = (
            f" (tags and pings files use {' or '.join(SKIPPED_SCHEMAS)})"
            if isinstance(schema, str) and schema.startswith(GLEAN_SCHEMA_PREFIX)
            else ""
        )
        problem = Problem(
            file,
            line_of(document, "$schema"),
            "",
            "$schema",
            f"not a Glean metrics file ($schema is {schema!r}); start it with "
            f"$schema: {METRICS_SCHEMA}{others}",
        )
        return [], [problem], []

    problems: list[Problem] = []
    tags = document.get("$tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        problems.append(
            Problem(
                file,
                line_of(document, "$tags"),
                "",
                "$tags",
                "must be a list of tag names, e.g. ['Core :: Networking']",
            )
        )
        tags = []
    tag_lines = tuple(
        line_of(document.get("$tags"), index, line_of(document, "$tags"))
        for index in range(len(tags))
    )
    ctx = FileContext(file, app, tuple(tags), default_product, default_component, tag_lines)

    configs: list[MonitorConfig] = []
    definitions: list[tuple[str, int]] = []
    if isinstance(document, LineDict):
        for key, line, first in document.duplicates:
            problems.append(
                Problem(
                    file,
                    line,
                    str(key),
                    "",
                    f"category defined twice (first at line "
                    f"{first}); YAML keeps only the last, so merge the two",
                )
            )
    for category, metrics in document.items():
        if str(category).startswith("$") or category == "no_lint":
            continue
        if not isinstance(metrics, dict):
            problems.append(
                Problem(
                    file,
                    line_of(document, category),
                    str(category),
                    "",
                    "a category must be a mapping of metric names to definitions",
                )
            )
            continue
        bad_category = category_problem(category)
        if bad_category:
            problems.append(Problem(file, line_of(document, category), "", "", bad_category))
            continue
        if isinstance(metrics, LineDict):
            for name, line, first in metrics.duplicates:
                problems.append(
                    Problem(
                        file,
                        line,
                        f"{category}.{name}",
                        "",
                        f"defined twice (first at "
                        f"line {first}); YAML keeps only the last, so keep one",
                    )
                )
        for name, metric in metrics.items():
            probe = f"{category}.{name}"
            line = line_of(metrics, name)
            bad_name = name_problem(name)
            if bad_name:
                problems.append(Problem(file, line, category, "", bad_name))
                continue
            if not isinstance(metric, dict):
                problems.append(
                    Problem(
                        file,
                        line,
                        probe,
                        "",
                        "a metric must be a mapping of its fields (type, description, ...)",
                    )
                )
                continue
            definitions.append((probe, line))
            config, metric_problems = resolve_metric(ctx, probe, metric)
            problems += metric_problems
            if config is None:
                continue
            label_problems = labels_problems(metric.get("labels")) if config.labeled else []
            labels = metric.get("labels")
            problems += [
                Problem(
                    file, line_of(labels, index, line_of(metric, "labels")), probe, "labels", why
                )
                for index, why in label_problems
            ]
            if not label_problems:
                configs.append(config)
    return configs, problems, definitions
