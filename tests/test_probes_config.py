"""Resolving monitor blocks into `MonitorConfig`s: every documented rule and every error."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import pytest
import yaml

from alerting.cli import main
from alerting.detect import registry
from alerting.errors import Problem, UserError
from alerting.probes.config import app_of, collect, probe_files
from alerting.probes.model import JSON_KEYS, MONITORABLE_TYPES

METRICS_SCHEMA = "moz://mozilla.org/schemas/glean/metrics/2-0-0"
CDF_DEFAULTS = registry.get_technique("cdf_squared").defaults()
HEADER = (
    "$schema: moz://mozilla.org/schemas/glean/metrics/2-0-0\n$tags:\n  - 'Core :: Networking'\n\n"
)


def metric_yaml(
    monitor: str | None = "monitor: True",
    *,
    name: str = "page_load",
    mtype: str = "timing_distribution",
    extra: str = "",
    emails: str = "[necko@mozilla.com, owner@mozilla.com]",
    anchor: str = "",
) -> str:
    """One metric under category `networking`; `monitor` is the text under `metadata:`."""
    text = (
        f"  {name}:{' &' + anchor if anchor else ''}\n"
        f"    type: {mtype}\n"
        "    description: >\n"
        "      Time to   load\n"
        "      a page.\n"
        f"    notification_emails: {emails}\n"
        "    expires: never\n"
    )
    if extra:
        text += textwrap.indent(textwrap.dedent(extra), "    ")
    if monitor is not None:
        text += "    metadata:\n" + textwrap.indent(textwrap.dedent(monitor), "      ")
    return text if text.endswith("\n") else text + "\n"


def write(tmp_path: Path, body: str, rel: str = "metrics.yaml", header: str = HEADER) -> Path:
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "networking:\n" + body)
    return path


def line_no(path: Path, needle: str, after: int = 0) -> int:
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if number > after and needle in text:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def one(tmp_path: Path, monitor: str, rel: str = "metrics.yaml", **kwargs):
    path = write(tmp_path, metric_yaml(monitor, **kwargs), rel)
    configs, problems = collect([path])
    return path, configs, problems


def only_problem(tmp_path: Path, monitor: str, **kwargs) -> tuple[Path, Problem]:
    path, configs, problems = one(tmp_path, monitor, **kwargs)
    assert configs == []
    assert len(problems) == 1, problems
    return path, problems[0]


# --- the effective config ----------------------------------------------------------------


def test_monitor_true_is_email_only_with_every_default(tmp_path):
    path, configs, problems = one(tmp_path, "monitor: True")
    assert problems == []
    (config,) = configs
    assert config.probe == "networking.page_load"
    assert config.metric == "networking_page_load"
    assert config.type == "timing_distribution"
    assert config.file == str(path)
    assert config.line == line_no(path, "monitor:")
    assert config.alert is False
    assert config.platforms == ["Windows", "Linux", "Darwin"]
    assert config.notification_emails == ["necko@mozilla.com", "owner@mozilla.com"]
    assert config.bugzilla_notification_emails == []
    assert config.lower_is_better is None
    assert config.technique == "cdf_squared"
    assert config.args == CDF_DEFAULTS and CDF_DEFAULTS["threshold"] == 0.97
    assert (config.bugzilla_product, config.bugzilla_component) == ("Core", "Networking")
    assert config.description == "Time to load a page."
    assert config.time_unit == "nanosecond"  # Glean's default for timing distributions
    assert config.memory_unit is None and config.unit is None and config.labels is None
    assert config.app == "fog"
    assert config.expires == "never"


def test_to_json_has_exactly_the_list_keys(tmp_path):
    _, (config,), _ = one(tmp_path, "monitor: True")
    data = config.to_json()
    assert tuple(data) == JSON_KEYS
    assert data["args"] is not config.args  # a copy: callers cannot change the config


def test_monitor_false_is_not_monitored(tmp_path):
    assert one(tmp_path, "monitor: False")[1:] == ([], [])


def test_metric_without_monitor_is_not_monitored(tmp_path):
    assert one(tmp_path, None)[1:] == ([], [])
    assert one(tmp_path, "tags: ['Core :: DOM']\n")[1:] == ([], [])


def test_mapping_without_alert_is_email_only(tmp_path):
    _, (config,), _ = one(tmp_path, "monitor:\n  lower_is_better: True\n")
    assert config.alert is False
    assert config.lower_is_better is True


def test_alert_true_files_bugs_with_needinfo_first(tmp_path):
    monitor = """\
        monitor:
          alert: True
          bugzilla_notification_emails:
            - first@mozilla.com
            - second@mozilla.com
        """
    _, (config,), problems = one(tmp_path, monitor)
    assert problems == []
    assert config.alert is True
    assert config.bugzilla_notification_emails == ["first@mozilla.com", "second@mozilla.com"]


@pytest.mark.parametrize("value", ["True", "False"])
def test_lower_is_better_both_ways(tmp_path, value):
    _, (config,), _ = one(tmp_path, f"monitor:\n  lower_is_better: {value}\n")
    assert config.lower_is_better is (value == "True")


def test_lower_is_better_null_is_unset(tmp_path):
    _, (config,), _ = one(tmp_path, "monitor:\n  lower_is_better: null\n")
    assert config.lower_is_better is None


def test_all_only_when_listed(tmp_path):
    _, (config,), _ = one(tmp_path, "monitor:\n  platforms: [Windows, All, Windows]\n")
    assert config.platforms == ["Windows", "All"]


def test_mobile_file_defaults_to_android(tmp_path):
    path, (config,), problems = one(tmp_path, "monitor: True", rel="fenix/app/metrics.yaml")
    assert problems == []
    assert config.app == "fenix"
    assert config.platforms == ["Android"]
    assert app_of(path) == "fenix"


def test_mobile_file_accepts_all(tmp_path):
    _, (config,), _ = one(
        tmp_path, "monitor:\n  platforms: [Android, All]\n", rel="mobile/metrics.yaml"
    )
    assert config.platforms == ["Android", "All"]


@pytest.mark.parametrize(
    ("path", "app"),
    [
        ("probes/fenix/metrics.yaml", "fenix"),
        ("probes/android-components/lib/metrics.yaml", "fenix"),
        ("mobile/android/fenix/app/metrics.yaml", "fenix"),
        ("android-components__components__lib__crash__metrics.yaml", "fenix"),
        ("probes/netwerk/metrics.yaml", "fog"),
        ("toolkit/components/glean/metrics.yaml", "fog"),
    ],
)
def test_app_from_path(path, app):
    assert app_of(path) == app


def test_app_comes_from_below_the_probes_folder_wherever_the_command_runs(tmp_path, monkeypatch):
    """A checkout under a folder named android-ci keeps its desktop probes desktop."""
    repo = tmp_path / "android-ci" / "repo"
    write(repo, metric_yaml(), rel="probes/netwerk/metrics.yaml")
    write(repo, metric_yaml(name="crash"), rel="probes/fenix/metrics.yaml")
    probes = repo / "probes"
    apps = {"networking.page_load": "fog", "networking.crash": "fenix"}
    for cwd, given in [
        (tmp_path, [probes]),  # absolute, outside the working directory
        (repo, [Path("probes")]),
        (repo, [probes]),
        (repo / "probes" / "netwerk", [probes]),
    ]:
        monkeypatch.chdir(cwd)
        configs, problems = collect(given)
        assert problems == []
        assert {c.probe: c.app for c in configs} == apps, (cwd, given)
    monkeypatch.chdir(tmp_path)
    assert app_of(probes / "netwerk" / "metrics.yaml", probes) == "fog"
    assert app_of(probes / "fenix" / "metrics.yaml", probes / "fenix") == "fenix"
    # a file given by itself counts from its probes folder
    assert app_of(probes / "netwerk" / "metrics.yaml") == "fog"
    [config] = collect([probes / "netwerk" / "metrics.yaml"])[0]
    assert config.app == "fog"


@pytest.mark.parametrize(
    ("spelling", "canonical"), [("cdf_squared", "cdf_squared"), ("cdf-squared", "cdf_squared")]
)
def test_technique_spellings(tmp_path, spelling, canonical):
    _, (config,), _ = one(tmp_path, f"monitor:\n  change_detection_technique: {spelling}\n")
    assert config.technique == canonical


def test_documented_args_are_typed_and_defaults_filled(tmp_path):
    monitor = "monitor:\n  change_detection_args: [threshold=0.95]\n"
    _, (config,), _ = one(tmp_path, monitor)
    assert config.args == CDF_DEFAULTS | {"threshold": 0.95}
    monitor = "monitor:\n  change_detection_args:\n    - short_term_spikes_ignored=False\n"
    _, (config,), _ = one(tmp_path, monitor)
    assert config.args["short_term_spikes_ignored"] is False


def test_args_as_a_mapping(tmp_path):
    monitor = "monitor:\n  change_detection_args: {threshold: 0.5, short_term_spikes_ignored: no}\n"
    _, (config,), problems = one(tmp_path, monitor)
    assert problems == []
    assert config.args == CDF_DEFAULTS | {"threshold": 0.5, "short_term_spikes_ignored": False}


def test_techniques_come_from_the_registry(tmp_path, monkeypatch):
    """A technique registered later is accepted with its own arguments, nothing hard-coded."""
    technique = registry.Technique(
        name="median_shift",
        summary="test technique",
        detect=lambda series, args: [],
        args=(registry.ArgSpec("window", int, 7, "days", 1, 60),),
        aliases=("median-shift",),
    )
    monkeypatch.setitem(registry._TECHNIQUES, technique.name, technique)
    monkeypatch.setitem(registry._ALIASES, "median-shift", technique.name)
    monitor = "monitor:\n  change_detection_technique: median-shift\n  change_detection_args: [window=14]\n"
    _, (config,), problems = one(tmp_path, monitor)
    assert problems == []
    assert (config.technique, config.args) == ("median_shift", {"window": 14})
    monitor = "monitor:\n  change_detection_technique: median_shift\n  change_detection_args: [threshold=0.9]\n"
    _, problem = only_problem(tmp_path, monitor)
    assert "unknown argument 'threshold' for median_shift; it accepts: window" in problem.message


def test_product_component_from_metric_tags_first(tmp_path):
    monitor = "tags:\n  - Sync\n  - 'Core :: DOM: Content Processes'\nmonitor: True\n"
    _, (config,), _ = one(tmp_path, monitor)
    assert (config.bugzilla_product, config.bugzilla_component) == (
        "Core",
        "DOM: Content Processes",
    )


def test_product_component_default_when_no_tag_names_one(tmp_path):
    path = write(tmp_path, metric_yaml(), header=HEADER.replace("Core :: Networking", "Sync"))
    (config,), _ = collect([path])
    assert (config.bugzilla_product, config.bugzilla_component) == ("Toolkit", "Telemetry")
    (config,), _ = collect([path], default_product="Firefox", default_component="General")
    assert (config.bugzilla_product, config.bugzilla_component) == ("Firefox", "General")


REAL = Path(__file__).parent / "fixtures" / "probes" / "real_metrics"


def real_tags() -> list[str]:
    """Every tag of mozilla-central's Glean tags.yaml (280 'Product :: Component') and of
    Fenix's (free-form names such as Privacy&Security)."""
    tags: list[str] = []
    for name in ("toolkit__components__glean__tags.yaml", "fenix__app__tags.yaml"):
        document = yaml.safe_load((REAL / name).read_text())
        tags += [str(tag) for tag in document if not str(tag).startswith("$")]
    return tags


FILES_BUGS = "monitor:\n  alert: True\n  bugzilla_notification_emails: [necko@mozilla.com]\n"


def tagged(tmp_path: Path, tags: list[str], header: str = HEADER, monitor: str = FILES_BUGS):
    """One monitored metric per tag, each tag as the metric's only metadata tag; by default
    each files bugs (`alert: True`), the probes whose tags say where."""
    body = "".join(
        metric_yaml(f"tags: [{json.dumps(tag)}]\n{monitor}", name=f"m{index}")
        for index, tag in enumerate(tags)
    )
    path = write(tmp_path, body, header=header)
    warnings: list[Problem] = []
    configs, problems = collect([path], warnings=warnings)
    return path, configs, problems, warnings


def test_every_real_tag_is_read_without_a_problem_or_warning(tmp_path):
    tags = real_tags()
    assert len(tags) > 300 and "Core :: Networking: HTTP" in tags and "Privacy&Security" in tags
    _, configs, problems, warnings = tagged(tmp_path, tags)
    assert problems == [] and warnings == []
    for config, tag in zip(configs, tags, strict=True):
        product, _, component = tag.partition(" :: ")
        expected = (product, component) if component else ("Core", "Networking")  # $tags
        assert (config.bugzilla_product, config.bugzilla_component) == expected


@pytest.mark.parametrize(
    ("tag", "fix"),
    [
        ("Core:Networking", "write it 'Core :: Networking'"),
        ("Core : Networking: HTTP", "e.g. 'Core :: Networking: HTTP'"),  # which colon is meant?
        ("Core ::", "write it 'Product :: Component'"),
    ],
)
def test_a_tag_like_a_component_without_its_double_colon_is_a_warning(tmp_path, tag, fix):
    header = HEADER.replace("Core :: Networking", "Sync")
    path, (config,), problems, [warning] = tagged(tmp_path, [tag], header)
    assert problems == []  # still monitored, its bugs in the default component
    assert (config.bugzilla_product, config.bugzilla_component) == ("Toolkit", "Telemetry")
    assert (warning.line, warning.probe, warning.field) == (
        line_no(path, "      tags:"),
        "networking.m0",
        "tags",
    )
    assert warning.message.startswith(
        f"{tag!r} is not read as a Bugzilla product and component, so this probe's bugs go "
        "to Toolkit :: Telemetry; "
    )
    assert fix in warning.message


def test_a_file_tag_like_a_component_is_warned_at_its_line(tmp_path):
    header = HEADER.replace("'Core :: Networking'", "Sync\n  - 'Core: DOM'")
    path, (config,), problems, [warning] = tagged(tmp_path, ["Perf"], header)
    assert problems == [] and config.bugzilla_component == "Telemetry"
    assert (warning.line, warning.field) == (line_no(path, "Core: DOM"), "$tags")
    assert "write it 'Core :: DOM'" in warning.message


def test_a_plain_tag_or_a_lookalike_after_the_component_used_is_not_warned(tmp_path):
    _, (first, second), problems, warnings = tagged(tmp_path, ["Sync", "Core :: DOM"])
    assert problems == [] and warnings == []
    path = write(tmp_path, metric_yaml(f"tags: ['Core :: DOM', 'Core:Networking']\n{FILES_BUGS}"))
    found: list[Problem] = []
    (config,), problems = collect([path], warnings=found)
    assert config.bugzilla_component == "DOM" and problems == [] and found == []


@pytest.mark.parametrize(
    ("tag", "why"),
    [
        (
            "Core :: <script>alert(1)</script> **bold** [x](https://evil.example)",
            "the component has characters no Bugzilla name has ('*' '<' '>' '[' ']')",
        ),
        ("Core :: a\x07b", "the component has characters no Bugzilla name has ('\\x07')"),
        ("Co`re` :: DOM", "the product has characters no Bugzilla name has ('`')"),
        ("Core :: " + "x" * 65, "the component is 65 characters long"),
        ("Core ::: DOM", "the component does not start with a letter or digit"),
        ("Core :: DOM :: Events", "the component has a second ' :: '"),
    ],
)
def test_a_tag_naming_a_component_bugzilla_cannot_have_is_an_error(tmp_path, tag, why):
    path, configs, [problem], warnings = tagged(tmp_path, [tag])
    assert configs == [] and warnings == []  # never filed where Bugzilla refuses every bug
    assert (problem.line, problem.field) == (line_no(path, "      tags:"), "tags")
    assert why in problem.message
    assert problem.message.endswith("as Bugzilla spells them, e.g. 'Core :: Networking: HTTP'")


def test_a_file_tag_naming_an_impossible_component_is_an_error_of_its_probes(tmp_path):
    header = HEADER.replace("'Core :: Networking'", "'Core :: **Networking**'")
    path, configs, problems, _ = tagged(tmp_path, ["Sync", "Perf"], header)
    assert configs == []
    assert [(p.probe, p.line, p.field) for p in problems] == [
        ("networking.m0", 3, "$tags"),
        ("networking.m1", 3, "$tags"),
    ]


def test_an_email_only_probe_files_no_bug_so_its_tags_are_neither_refused_nor_warned(tmp_path):
    # A file's `$tags` no Bugzilla component can be, and a lookalike: the probes that only
    # email are still monitored, and are not told where bugs they never file would go.
    header = HEADER.replace("'Core :: Networking'", "'Core :: Networking_HTTP'")
    path, configs, problems, warnings = tagged(
        tmp_path, ["Core: Networking", "Sync"], header, monitor="monitor: True\n"
    )
    assert [c.probe for c in configs] == ["networking.m0", "networking.m1"]
    assert problems == [] and warnings == []
    # The same file with probes that file bugs: refused, and the lookalike warned about.
    path, configs, problems, warnings = tagged(tmp_path, ["Core: Networking", "Sync"], header)
    assert configs == [] and [p.field for p in problems] == ["$tags", "$tags"]
    assert [w.field for w in warnings] == ["tags"]


def test_validate_prints_a_tag_warning_and_exits_0(tmp_path, capsys):
    path = write(tmp_path, metric_yaml(f"tags: ['Core:Networking']\n{FILES_BUGS}"))
    assert main(["probes", "validate", str(path)]) == 0
    out = capsys.readouterr().out
    line = line_no(path, "      tags:")
    assert (
        f"{path}:{line}: networking.page_load: tags: 'Core:Networking' is not read as a "
        "Bugzilla product and component, so this probe's bugs go to Core :: Networking; write "
        "it 'Core :: Networking' (' :: ' between the two) (warning)"
    ) in out
    assert "ok: 1 monitored probe(s) in 1 file, no problems" in out


def test_units_labels_and_expiry(tmp_path):
    body = (
        metric_yaml(name="sizes", mtype="labeled_memory_distribution", extra="labels: [a, b]\n")
        + metric_yaml(name="dynamic", mtype="labeled_counter")
        + metric_yaml(name="uptime", mtype="timespan", extra="expires: 2030-06-01\n")
        + metric_yaml(name="queue", mtype="custom_distribution", extra="unit: tabs\n")
        + metric_yaml(name="paint", mtype="timing_distribution", extra="time_unit: millisecond\n")
        + metric_yaml(name="memory", mtype="memory_distribution", extra="memory_unit: kilobyte\n")
    )
    configs, problems = collect(
        [write(tmp_path, body.replace("    expires: never\n    expires", "    expires"))]
    )
    assert problems == []
    by_name = {c.probe.split(".")[1]: c for c in configs}
    assert by_name["sizes"].labels == ["a", "b"] and by_name["sizes"].labeled
    assert by_name["sizes"].memory_unit == "byte"
    assert by_name["dynamic"].labels is None and by_name["dynamic"].labeled
    assert by_name["uptime"].time_unit == "millisecond"
    assert by_name["uptime"].expires == dt.date(2030, 6, 1).isoformat()
    assert by_name["queue"].unit == "tabs" and not by_name["queue"].labeled
    assert by_name["paint"].time_unit == "millisecond"
    assert by_name["memory"].memory_unit == "kilobyte"


@pytest.mark.parametrize("mtype", sorted(MONITORABLE_TYPES))
def test_every_monitorable_type(tmp_path, mtype):
    _, configs, problems = one(tmp_path, "monitor: True", mtype=mtype)
    assert problems == [] and configs[0].type == mtype


def test_whole_metric_alias_and_merge_key_carry_the_monitor_block(tmp_path):
    body = (
        metric_yaml(name="first", anchor="first")
        + "  second: *first\n"
        + "  third:\n    <<: *first\n    description: Another one.\n"
    )
    path = write(tmp_path, body)
    configs, problems = collect([path])
    assert problems == []
    assert [c.probe for c in configs] == [
        "networking.first",
        "networking.second",
        "networking.third",
    ]
    assert {c.line for c in configs} == {line_no(path, "monitor:")}


# --- errors ---------------------------------------------------------------------------------


def test_problem_format(tmp_path):
    path, problem = only_problem(tmp_path, "monitor:\n  alert: True\n")
    assert str(problem) == (
        f"{path}:{line_no(path, 'alert:')}: networking.page_load: bugzilla_notification_emails: "
        "alert: True files bugs and needs at least one address here (the first is needinfo'd, "
        "the rest CC'd); add e.g. bugzilla_notification_emails: [you@mozilla.com], or set "
        "alert: False to be emailed instead"
    )


def test_alert_true_with_empty_email_list(tmp_path):
    path, problem = only_problem(
        tmp_path, "monitor:\n  alert: True\n  bugzilla_notification_emails: []\n"
    )
    assert problem.field == "bugzilla_notification_emails"
    assert problem.line == line_no(path, "bugzilla_notification_emails: []")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"yes"', "alert: must be True or False, not 'yes'; write True without quotes"),
        ("1", "alert: must be True or False, not 1"),
    ],
)
def test_alert_must_be_a_boolean(tmp_path, value, expected):
    path, problem = only_problem(tmp_path, f"monitor:\n  alert: {value}\n")
    assert f"{problem.field}: {problem.message}" == expected
    assert problem.line == line_no(path, "alert:")


def test_lower_is_better_must_be_a_boolean(tmp_path):
    _, problem = only_problem(tmp_path, 'monitor:\n  lower_is_better: "true"\n')
    assert problem.field == "lower_is_better"
    assert problem.message == (
        "must be True, False, or left out, not 'true'; write True without quotes"
    )


@pytest.mark.parametrize(
    ("platforms", "message"),
    [
        (
            "[windows]",
            "unknown platform 'windows'; did you mean Windows? choose from Windows, Linux, Darwin, All",
        ),
        ("[Windws]", "unknown platform 'Windws'; did you mean Windows?"),
        ("[Mac]", "unknown platform 'Mac'; did you mean Darwin?"),
        ("[Solaris]", "unknown platform 'Solaris'; choose from"),
        ("[Android]", "Android applies only to mobile (Fenix) probes, and this file is desktop"),
        ("Windows", "must be a list, e.g. platforms: [Windows]"),
        ("[]", "is empty; list some of Windows, Linux, Darwin, All, or leave it out"),
    ],
)
def test_platform_errors(tmp_path_factory, platforms, message):
    # A neutral folder name: the test id contains "Android", which would make the file mobile.
    tmp_path = tmp_path_factory.mktemp("desktop")
    path, problem = only_problem(tmp_path, f"monitor:\n  platforms: {platforms}\n")
    assert problem.field == "platforms"
    assert problem.message.startswith(message)
    assert problem.line == line_no(path, "platforms:")


def test_each_bad_platform_item_is_reported_on_its_line(tmp_path):
    path, configs, problems = one(
        tmp_path, "monitor:\n  platforms:\n    - Linux\n    - Linuks\n    - Windoze\n"
    )
    assert configs == []
    assert [p.line for p in problems] == [line_no(path, "Linuks"), line_no(path, "Windoze")]
    assert "did you mean Linux?" in problems[0].message
    assert "did you mean Windows?" in problems[1].message


def test_desktop_platform_on_a_mobile_probe(tmp_path):
    _, configs, problems = one(
        tmp_path, "monitor:\n  platforms: [Windows]\n", rel="fenix/metrics.yaml"
    )
    assert configs == []
    assert problems[0].message.startswith(
        "Windows is a desktop platform, and this file holds mobile (Fenix) probes"
    )


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("plaforms", "unknown monitor key 'plaforms'; did you mean platforms? known keys: alert"),
        ("change_detection_arg", "did you mean change_detection_args?"),
        ("owner", "unknown monitor key 'owner'; known keys: alert, platforms"),
    ],
)
def test_unknown_monitor_key(tmp_path, key, message):
    path, problem = only_problem(tmp_path, f"monitor:\n  {key}: [Windows]\n")
    assert problem.field == key
    assert message in problem.message
    assert problem.line == line_no(path, f"{key}:")


def twice(first: int) -> str:
    return f"written twice (first on line {first}); YAML keeps only the last: keep one"


def test_monitor_key_set_twice(tmp_path):
    path, problem = only_problem(tmp_path, "monitor:\n  alert: False\n  alert: False\n")
    first = line_no(path, "alert:")
    assert problem.line == line_no(path, "alert:", after=first)
    assert problem.message == twice(first)


def test_monitor_block_written_twice(tmp_path):
    path, configs, problems = one(tmp_path, "monitor: True\nmonitor:\n  alert: False\n")
    first = line_no(path, "monitor:")
    assert [(p.line, p.field, p.message) for p in problems] == [
        (line_no(path, "monitor:", after=first), "monitor", twice(first))
    ]


def test_a_monitor_block_replaced_by_monitor_false_is_reported(tmp_path):
    path, configs, problems = one(tmp_path, "monitor: True\nmonitor: False\n")
    first = line_no(path, "monitor:")
    assert configs == []
    assert [(p.line, p.field, p.message) for p in problems] == [
        (line_no(path, "monitor:", after=first), "monitor", twice(first))
    ]


@pytest.mark.parametrize(
    "extra",
    [
        "metadata:\n  tags: ['Core :: DOM']\n",  # a second metadata drops the monitor block
        "type: counter\n",
        "notification_emails: [other@mozilla.com]\n",
        "bugs: [https://bugzilla.mozilla.org/1]\nbugs: [https://bugzilla.mozilla.org/2]\n",
        "labels: [a]\nlabels: [b]\n",
    ],
)
def test_a_metric_field_written_twice_is_reported_at_the_repeat(tmp_path, extra):
    """YAML keeps the last value and drops the first without a word."""
    text = metric_yaml() + textwrap.indent(extra, "    ")
    path = write(tmp_path, text)
    configs, problems = collect([path])
    field = extra.split(":")[0]
    first = line_no(path, f"    {field}:")
    assert configs == []
    assert [(p.line, p.probe, p.field, p.message) for p in problems] == [
        (line_no(path, f"    {field}:", after=first), "networking.page_load", field, twice(first))
    ]


def test_a_metadata_field_written_twice_is_reported(tmp_path):
    path, problem = only_problem(tmp_path, "tags: [a]\nmonitor: True\ntags: ['Core :: DOM']\n")
    first = line_no(path, "  tags:")
    assert (problem.line, problem.field) == (line_no(path, "  tags:", after=first), "tags")
    assert problem.message == twice(first)


def test_an_argument_written_twice_is_reported(tmp_path):
    monitor = "monitor:\n  change_detection_args: {threshold: 0.9,\n    threshold: 0.5}\n"
    path, problem = only_problem(tmp_path, monitor)
    assert problem.line == line_no(path, "    threshold: 0.5")
    assert problem.message == f"threshold: {twice(line_no(path, 'threshold: 0.9'))}"
    monitor = "monitor:\n  change_detection_args:\n    - threshold=0.9\n    - threshold=0.5\n"
    path, problem = only_problem(tmp_path, monitor)
    assert (problem.line, problem.field) == (
        line_no(path, "threshold=0.5"),
        "change_detection_args",
    )
    assert problem.message == (
        f"threshold is set twice (first on line {line_no(path, 'threshold=0.9')}); only the "
        "last would count: keep one"
    )


def test_a_monitor_block_on_the_metric_itself_is_reported(tmp_path):
    path = write(tmp_path, metric_yaml(None, extra="monitor:\n  alert: False\n"))
    configs, problems = collect([path])
    assert configs == []
    assert [(p.line, p.field) for p in problems] == [(line_no(path, "monitor:"), "monitor")]
    assert problems[0].message.endswith("move it under metadata:")
    # also when metadata has one: the misplaced block is still ignored
    path = write(tmp_path, metric_yaml(extra="monitor: True\n"))
    [problem] = collect([path])[1]
    assert (problem.line, problem.field) == (line_no(path, "monitor:"), "monitor")


def test_a_misspelled_monitor_key_in_metadata_is_reported(tmp_path):
    for key in ("monitoring", "montior", "Monitor"):
        path, problem = only_problem(tmp_path, f"{key}:\n  alert: False\n")
        assert (problem.line, problem.field) == (line_no(path, f"{key}:"), key)
        assert f"unknown metadata key {key!r}; did you mean monitor?" in problem.message
    # other tools' keys in metadata are left alone
    assert one(tmp_path, "monitoring_notes: x\nmonitor: True\n")[2] == []


def test_unknown_technique(tmp_path):
    path, problem = only_problem(tmp_path, "monitor:\n  change_detection_technique: cdf_sqared\n")
    assert problem.field == "change_detection_technique"
    assert problem.message == (
        "unknown technique 'cdf_sqared'; did you mean cdf_squared? available: "
        + ", ".join(sorted(registry.techniques()))
    )
    assert problem.line == line_no(path, "change_detection_technique")


def test_technique_must_be_a_name(tmp_path):
    _, problem = only_problem(tmp_path, "monitor:\n  change_detection_technique: [cdf_squared]\n")
    assert problem.message.startswith("must be a technique name, e.g. cdf_squared")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            "[treshold=0.9]",
            "'treshold=0.9': unknown argument 'treshold' for cdf_squared; it accepts: "
            + ", ".join(CDF_DEFAULTS)
            + "; did you mean threshold?",
        ),
        ("[threshold]", "'threshold': expected key=value, e.g. threshold=0.97"),
        ("[threshold=high]", "'threshold=high': threshold takes a number, not 'high'"),
        ("[threshold=2]", "'threshold=2': threshold must be at most 1.0, not 2.0"),
        (
            "[short_term_spikes_ignored=maybe]",
            "short_term_spikes_ignored takes True or False, not 'maybe'",
        ),
        ("['threshold: 0.9']", "expected key=value"),
        (
            "[{threshold: 0.9}]",
            "each argument is a key=value string, not {'threshold': 0.9}; write it as threshold=0.9",
        ),
        (
            "threshold=0.9",
            "must be a list of key=value strings, e.g. [threshold=0.97], not 'threshold=0.9'",
        ),
        ("{treshold: 0.9}", "unknown argument 'treshold'"),
    ],
)
def test_argument_errors(tmp_path, args, message):
    path, problem = only_problem(tmp_path, f"monitor:\n  change_detection_args: {args}\n")
    assert problem.field == "change_detection_args"
    assert message in problem.message
    assert problem.line == line_no(path, "change_detection_args")


def test_every_bad_argument_is_reported_on_its_own_line(tmp_path):
    monitor = (
        "monitor:\n  change_detection_args:\n    - threshold=9\n    - short_term_spikes_ignored=True\n"
        "    - nope=1\n"
    )
    path, configs, problems = one(tmp_path, monitor)
    assert configs == []
    assert [p.line for p in problems] == [line_no(path, "threshold=9"), line_no(path, "nope=1")]


@pytest.mark.parametrize(
    ("emails", "message"),
    [
        ("owner@mozilla.com", "must be a list of email addresses, e.g. [owner@mozilla.com]"),
        ("[owner]", "'owner' is not an email address; write one address per item"),
        ("[[a@b.com]]", "['a@b.com'] is not an email address"),
        ('["a@b.com\\nBcc: x@y.com"]', "is not an email address"),
        # Addresses the digests could never be sent to: refused here, not retried forever.
        ("[jan.müller@mozilla.de]", "'jan.müller@mozilla.de' is not an email address"),
        ("[a/b@mozilla.com]", "'a/b@mozilla.com' is not an email address"),
        ("[owner@mozilla.c]", "'owner@mozilla.c' is not an email address"),
    ],
)
def test_bugzilla_emails_must_be_a_list_of_addresses(tmp_path, emails, message):
    monitor = f"monitor:\n  alert: True\n  bugzilla_notification_emails: {emails}\n"
    _, problem = only_problem(tmp_path, monitor)
    assert problem.field == "bugzilla_notification_emails"
    assert message in problem.message


def test_email_only_needs_notification_emails(tmp_path):
    path, problem = only_problem(tmp_path, "monitor: True", emails="[]")
    assert problem.field == "notification_emails"
    assert problem.line == line_no(path, "notification_emails")
    assert problem.message.startswith("a monitor-only probe emails its notification_emails")


def test_notification_emails_checked(tmp_path):
    _, problem = only_problem(tmp_path, "monitor: True", emails="[not-an-address]")
    assert problem.field == "notification_emails"
    assert problem.message.startswith("'not-an-address' is not an email address")


@pytest.mark.parametrize("value", ['"yes"', "1", "[alert]"])
def test_monitor_value_must_be_bool_or_mapping(tmp_path, value):
    path, problem = only_problem(tmp_path, f"monitor: {value}\n")
    assert problem.field == "monitor"
    assert problem.message.startswith("must be True, False or a mapping of settings (alert, ")
    assert problem.line == line_no(path, "monitor:")


@pytest.mark.parametrize("value", ["", "null", "~"])
def test_an_empty_monitor_block_says_what_it_means_and_how_to_write_one(tmp_path, value):
    path, problem = only_problem(tmp_path, f"monitor: {value}\n")
    assert (problem.line, problem.field) == (line_no(path, "monitor:"), "monitor")
    assert "None" not in problem.message
    assert problem.message.startswith(
        "is empty (nothing after `monitor:` or indented under it), which says neither whether "
        "nor how to monitor this probe; write `monitor: True` to be emailed about its changes"
    )
    assert "indent settings under it (alert, platforms, " in problem.message
    assert "`alert: True` with `bugzilla_notification_emails: [you@mozilla.com]`" in (
        problem.message
    )
    # What the message offers is accepted.
    assert one(tmp_path, "monitor: True\n")[2] == []
    assert (
        one(
            tmp_path, "monitor:\n  alert: True\n  bugzilla_notification_emails: [you@mozilla.com]\n"
        )[2]
        == []
    )


@pytest.mark.parametrize(
    ("monitor", "message"),
    [
        ("monitor:\n  alert:\n", "alert: must be True or False, but it is empty"),
        (
            "monitor:\n  change_detection_technique:\n",
            "change_detection_technique: must be a technique name, e.g. cdf_squared, but it is "
            "empty",
        ),
    ],
)
def test_an_empty_setting_is_called_empty_not_none(tmp_path, monitor, message):
    _, problem = only_problem(tmp_path, monitor)
    assert f"{problem.field}: {problem.message}" == message


@pytest.mark.parametrize(
    "mtype", ["event", "string", "boolean", "labeled_boolean", "datetime", "uuid", "rate", "object"]
)
def test_types_that_cannot_be_monitored(tmp_path, mtype):
    path, problem = only_problem(tmp_path, "monitor: True", mtype=mtype)
    assert problem.field == "monitor"
    assert problem.message.startswith(f"{mtype} metrics cannot be monitored: GLAM aggregates only")
    assert problem.message.endswith("remove the monitor block")
    assert problem.line == line_no(path, "monitor:")


def test_missing_type(tmp_path):
    path = write(tmp_path, "  page_load:\n    description: x\n    metadata:\n      monitor: True\n")
    configs, problems = collect([path])
    assert configs == []
    assert [(p.field, p.message) for p in problems] == [
        ("type", "missing or not a metric type name")
    ]


def test_all_problems_of_a_probe_are_reported_together(tmp_path):
    monitor = 'monitor:\n  alert: "yes"\n  platforms: [Linus]\n  colour: red\n  change_detection_technique: magic\n'
    _, configs, problems = one(tmp_path, monitor)
    assert configs == []
    assert sorted(p.field for p in problems) == [
        "alert",
        "change_detection_technique",
        "colour",
        "platforms",
    ]


def test_metric_tags_must_be_a_list(tmp_path):
    _, problem = only_problem(tmp_path, "tags: 'Core :: DOM'\nmonitor: True\n")
    assert problem.field == "tags"


# --- files ----------------------------------------------------------------------------------


def test_probe_defined_twice_in_one_file(tmp_path):
    path = write(tmp_path, metric_yaml() + metric_yaml(monitor=None))
    configs, problems = collect([path])
    first = line_no(path, "page_load:")
    second = line_no(path, "page_load:", after=first)
    assert [(p.line, p.probe, p.message) for p in problems] == [
        (
            second,
            "networking.page_load",
            f"defined twice (first at line {first}); YAML keeps only the last, so keep one",
        )
    ]


def test_probe_defined_twice_across_files(tmp_path):
    first = write(tmp_path, metric_yaml(), rel="a/metrics.yaml")
    second = write(tmp_path, metric_yaml(), rel="b/metrics.yaml")
    configs, problems = collect([tmp_path])
    assert configs == []  # each definition is valid alone, but which one counts is ambiguous
    assert len(problems) == 1
    assert problems[0].file == str(second)
    assert (
        problems[0].message
        == f"defined twice (first at {first}:{line_no(first, 'page_load:')}); keep one definition"
    )


def test_same_file_given_twice_is_loaded_once(tmp_path):
    path = write(tmp_path, metric_yaml())
    configs, problems = collect([path, tmp_path, str(path)])
    assert problems == [] and len(configs) == 1


def test_category_defined_twice(tmp_path):
    path = write(tmp_path, metric_yaml() + "networking:\n" + metric_yaml(name="other"))
    _, problems = collect([path])
    assert [p.message for p in problems] == [
        f"category defined twice (first at line {line_no(path, 'networking:')}); YAML keeps only the last, so merge the two"
    ]


def test_one_broken_file_never_hides_the_others(tmp_path):
    write(tmp_path, metric_yaml(), rel="a_good/metrics.yaml")
    broken = tmp_path / "b_broken" / "metrics.yaml"
    broken.parent.mkdir()
    broken.write_text(HEADER + "networking:\n  page: [unclosed\n")
    write(
        tmp_path,
        metric_yaml(name="other", monitor="monitor:\n  alert: True\n"),
        rel="c_bad/metrics.yaml",
    )
    write(tmp_path, metric_yaml(name="third"), rel="d_good/metrics.yaml")
    configs, problems = collect([tmp_path])
    assert [c.probe for c in configs] == ["networking.page_load", "networking.third"]
    assert [(Path(p.file).parent.name, p.field) for p in problems] == [
        ("b_broken", ""),
        ("c_bad", "bugzilla_notification_emails"),
    ]
    assert problems[0].message.startswith("invalid YAML:")
    assert problems[0].line == 7  # where the parser found the flow sequence still open


def test_only_yaml_files_in_folders(tmp_path):
    write(tmp_path, metric_yaml(), rel="metrics.yaml")
    (tmp_path / "notes.txt").write_text("monitor: True")
    (tmp_path / "old.yamlx").write_text("not: [valid")
    assert probe_files([tmp_path]) == [tmp_path / "metrics.yaml"]


@pytest.mark.parametrize(
    "schema",
    ["moz://mozilla.org/schemas/glean/tags/1-0-0", "moz://mozilla.org/schemas/glean/pings/2-0-0"],
)
def test_tags_and_pings_files_are_skipped(tmp_path, schema):
    path = tmp_path / "tags.yaml"
    path.write_text(f"$schema: {schema}\n'Core :: Networking':\n  description: x\n")
    assert collect([path]) == ([], [])


@pytest.mark.parametrize(
    "schema",
    [
        "moz://mozilla.org/schemas/glean/metric/2-0-0",
        "moz://mozilla.org/schemas/glean/Metrics/2-0-0",
        "moz://mozilla.org/schemas/glean/tags/2-0-0",
    ],
)
def test_a_misspelled_glean_schema_hides_nothing(tmp_path, schema):
    path = write(tmp_path, metric_yaml(), header=HEADER.replace(METRICS_SCHEMA, schema))
    configs, problems = collect([path])
    assert configs == []
    assert [(p.line, p.field) for p in problems] == [(1, "$schema")]
    assert f"start it with $schema: {METRICS_SCHEMA} (tags and pings files use" in (
        problems[0].message
    )


def test_a_silences_file_below_the_probes_folder_is_reported(tmp_path):
    write(tmp_path, metric_yaml(), rel="netwerk/metrics.yaml")
    (tmp_path / "silences.yaml").write_text("silences: []\n")
    nested = tmp_path / "netwerk" / "silences.yaml"
    nested.write_text("silences: []\n")
    configs, problems = collect([tmp_path])
    assert len(configs) == 1
    assert [(p.file, p.line) for p in problems] == [(str(nested), 1)]
    assert "the silences file must sit directly in probes/" in problems[0].message


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "",
            1,
            "empty file; a metrics file starts with $schema: moz://mozilla.org/schemas/glean/metrics/2-0-0",
        ),
        (
            "networking: {}\n",
            1,
            "$schema: not a Glean metrics file ($schema is None); start it with $schema: moz://mozilla.org/schemas/glean/metrics/2-0-0",
        ),
        ("$schema: http://example.com/x\n", 1, "$schema: not a Glean metrics file"),
        ("- a\n- b\n", 1, "expected a mapping of categories to metrics at the top level"),
        (
            HEADER + "networking: [a]\n",
            5,
            "networking: a category must be a mapping of metric names to definitions",
        ),
        (
            HEADER + "networking:\n  page: 1\n",
            6,
            "networking.page: a metric must be a mapping of its fields",
        ),
        (
            "$schema: moz://mozilla.org/schemas/glean/metrics/2-0-0\n$tags: Core\n",
            2,
            "$tags: must be a list of tag names",
        ),
    ],
)
def test_file_level_problems(tmp_path, text, line, message):
    path = tmp_path / "metrics.yaml"
    path.write_text(text)
    configs, problems = collect([path])
    assert configs == []
    assert len(problems) == 1
    assert problems[0].line == line
    assert str(problems[0]).startswith(f"{path}:{line}: {message}")


def test_a_value_yaml_cannot_build_costs_only_its_metric(tmp_path):
    body = (
        metric_yaml(name="kept")
        + metric_yaml(None, name="unmonitored", extra="expires: 2026-02-30\n")
        + metric_yaml("monitor:\n  alert: !!bool maybe\n", name="broken")
    )
    path = write(tmp_path, body.replace("    expires: never\n    expires", "    expires"))
    configs, problems = collect([path])
    assert [c.probe for c in configs] == ["networking.kept"]
    assert [str(p) for p in problems] == [
        f"{path}:{line_no(path, '2026-02-30')}: networking.unmonitored: expires: '2026-02-30' "
        "is not a valid date (day is out of range for month); correct it, or quote it to keep "
        "it as text",
        f"{path}:{line_no(path, 'maybe')}: networking.broken: alert: 'maybe' is not a valid "
        "boolean (true or false); correct it, or quote it to keep it as text",
    ]


def test_a_category_or_metric_named_by_a_bad_date_is_a_name_problem(tmp_path):
    path = tmp_path / "metrics.yaml"
    path.write_text(HEADER + "2026-02-30:\n  a: {type: counter}\nnet:\n  2026-13-01: {}\n")
    _, problems = collect([path])
    assert [(p.line, p.message) for p in problems] == [
        (5, "category '2026-02-30' must be a name, not a date"),
        (8, "metric name '2026-13-01' must be a name, not a date"),
    ]


def test_missing_path_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no such file or directory"):
        collect([tmp_path / "nope"])


def test_problems_are_sorted_by_file_and_line(tmp_path):
    write(
        tmp_path,
        metric_yaml(name="zz", monitor="monitor:\n  alert: 2\n")
        + metric_yaml(name="aa", monitor="monitor:\n  alert: 3\n"),
        rel="b.yaml",
    )
    write(tmp_path, metric_yaml(monitor="monitor:\n  alert: 1\n"), rel="a.yaml")
    _, problems = collect([tmp_path])
    assert [(Path(p.file).name, p.probe) for p in problems] == [
        ("a.yaml", "networking.page_load"),
        ("b.yaml", "networking.zz"),
        ("b.yaml", "networking.aa"),
    ]


@pytest.mark.parametrize(
    ("mtype", "field", "value", "message"),
    [
        (
            "timing_distribution",
            "time_unit",
            "fortnight",
            "unknown unit 'fortnight'; use one of nanosecond, microsecond, millisecond, second, "
            "minute, hour, day",
        ),
        ("timing_distribution", "time_unit", "milisecond", "did you mean millisecond?"),
        ("timespan", "time_unit", "ms", "did you mean millisecond?"),
        ("memory_distribution", "memory_unit", "KiB", "did you mean kilobyte?"),
        ("labeled_memory_distribution", "memory_unit", "7", "use one of byte, kilobyte"),
    ],
)
def test_unknown_unit_is_reported_at_its_line(tmp_path, mtype, field, value, message):
    """The run cannot show or alert on values in a unit it does not know."""
    path, problem = only_problem(
        tmp_path, "monitor: True", mtype=mtype, extra=f"{field}: {value}\n"
    )
    assert (problem.line, problem.field) == (line_no(path, f"{field}:"), field)
    assert message in problem.message
