"""Fuzz targets (Hypothesis) for the parsers of untrusted input: probe YAML and its monitor
blocks, GLAM rows, and Bugzilla answers. Each property feeds arbitrary text or structures in
and accepts a result or a located, user-facing error; any other exception is a crash.

`tests/test_fuzz.py` runs each with a small derandomized budget; `benchmarks/fuzz.py` runs
them with a large one and counts the examples tried (`TRIED`).
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections import Counter
from pathlib import Path

import requests
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from alerting.data.rows import iter_rows
from alerting.data.series import series_from_rows
from alerting.delivery.bugzilla import BugzillaClient, BugzillaError
from alerting.errors import UserError
from alerting.probes.config import collect
from alerting.probes.monitor import MONITOR_KEYS, FileContext, resolve_metric
from alerting.probes.yamlsafe import YamlFileError, loads

TRIED: Counter[str] = Counter()  # examples run per target
WORK = Path(tempfile.mkdtemp(prefix="alerting-fuzz-"))

# -- building blocks ---------------------------------------------------------------------------
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["True", "no", "cdf_squared", "threshold=0.9", "a@b.co", "Windows", "*"]),
)
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**64),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)
yaml_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=12), st.sampled_from(MONITOR_KEYS)), children, max_size=5
        ),
    ),
    max_leaves=20,
)
YAML_SNIPPETS = [
    "$schema: moz://mozilla.org/schemas/glean/metrics/2-0-0\n",
    "cat:\n  name:\n    type: timing_distribution\n",
    "    metadata:\n      monitor:\n        alert: True\n",
    "        bugzilla_notification_emails: [a@b.co]\n",
    "        change_detection_args: [threshold=0.9]\n",
    "    notification_emails:\n      - x@y.org\n",
    "&a [*a, *a]\n",
    "<<: *a\n",
    "? [a]\n: b\n",
    "!!python/object:os.system\n",
    "\x00",
    "\x1b[31m",
    "\ud800",
    "\t- \n",
    '"\\ud800": 1\n',
    "'",
    "{",
]
yaml_texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(YAML_SNIPPETS), max_size=12).map("".join),
    st.lists(st.one_of(st.sampled_from(YAML_SNIPPETS), st.text(max_size=15)), max_size=10).map(
        "".join
    ),
)


def _file(name: str, data: bytes) -> Path:
    path = WORK / name
    path.write_bytes(data)
    return path


# -- probe YAML ---------------------------------------------------------------------------------
def yaml_text_target(text: str) -> None:
    """Any text as a metrics.yaml: configs and FILE:LINE problems, nothing else."""
    TRIED["probe YAML text"] += 1
    try:
        loads(text, "fuzz.yaml")
    except YamlFileError as error:
        assert error.line >= 1 and str(error).startswith("fuzz.yaml:")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass")
    path = _file("metrics.yaml", data)
    configs, problems = collect([path])
    for problem in problems:
        assert problem.file == str(path) and problem.line >= 1
        str(problem)
    for config in configs:
        config.to_json()


def monitor_block_target(block: object, metric_type: str, labels: object) -> None:
    """Any monitor block (and labels) under a metric: a config or located problems."""
    TRIED["monitor block"] += 1
    metric = {
        "type": metric_type,
        "description": "d",
        "notification_emails": ["owner@example.org"],
        "labels": labels,
        "metadata": {"monitor": block},
    }
    try:
        text = yaml.safe_dump(
            {"$schema": "moz://mozilla.org/schemas/glean/metrics/2-0-0", "cat": {"name": metric}},
            allow_unicode=True,
        )
    except yaml.YAMLError:
        assume(False)
    document = loads(text, "fuzz.yaml")
    ctx = FileContext("fuzz.yaml", "fog", (), "Toolkit", "Telemetry")
    config, problems = resolve_metric(ctx, "cat.name", document["cat"]["name"])
    assert config is None or all(problem.warning for problem in problems)
    for problem in problems:
        assert problem.line >= 1 and problem.file == "fuzz.yaml"


# -- GLAM rows ----------------------------------------------------------------------------------
ROW_KEYS = [
    "build_id",
    "metric",
    "os",
    "metric_key",
    "app_id",
    "channel",
    "metric_type",
    "histogram",
    "non_norm_histogram",
    "total_users",
    "client_agg_type",
    "version",
]
build_ids = st.one_of(
    st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 31)).map(
        lambda d: d.strftime("%Y%m%d") + "0930"
    ),
    st.sampled_from(["*", "", "2020", "20200101", "abcdefghij", "２０２００１０１０９"]),
    st.integers(min_value=2019010100, max_value=2021123123).map(str),
    st.none(),
    st.integers(),
)
histograms = st.one_of(
    st.dictionaries(
        st.one_of(st.integers(-5, 10**6).map(str), st.text(max_size=5)),
        st.one_of(st.floats(), st.integers(-(2**64), 2**64), st.text(max_size=5), st.none()),
        max_size=8,
    ),
    json_values,
    st.text(max_size=40),
    st.dictionaries(st.integers(0, 100).map(str), st.integers(0, 1000), max_size=6).map(json.dumps),
)
glam_rows = st.fixed_dictionaries(
    {
        "build_id": build_ids,
        "metric": st.one_of(st.sampled_from(["m", "n"]), st.text(max_size=5), json_values),
        "os": st.one_of(st.sampled_from(["Windows", "Linux", "*", ""]), json_values),
        "metric_key": st.one_of(st.sampled_from(["", "a"]), json_values),
        "histogram": histograms,
    },
    optional={
        "non_norm_histogram": histograms,
        "total_users": json_values,
        "app_id": json_values,
        "channel": st.one_of(st.sampled_from(["nightly", ""]), json_values),
        "metric_type": json_values,
    },
)


def series_target(rows: list) -> None:
    """Any list of GLAM-shaped rows: series and "WHERE: reason" problems, nothing else."""
    TRIED["GLAM rows -> series"] += 1
    problems: list[str] = []
    series = series_from_rows(rows, problems)
    assert all(isinstance(p, str) and ": " in p for p in problems)
    for value in series.values():
        value.n_days  # noqa: B018 - reading the series must work too


def row_file_target(name: str, data: bytes) -> None:
    """Any bytes as a GLAM row file: rows, problem rows, or one UserError naming the file."""
    TRIED["GLAM row file"] += 1
    path = _file(name, data)
    try:
        rows = list(iter_rows(path))
    except UserError as error:
        assert str(path) in str(error)
        return
    for row in rows:
        assert isinstance(row, dict) and str(row.get("_where", "")).startswith(str(path))


row_file_names = st.sampled_from(["rows.jsonl", "rows.json", "rows.csv", "rows", "rows.ndjson"])
row_file_bytes = st.one_of(
    st.binary(max_size=300),
    st.lists(json_values.map(lambda v: json.dumps(v)), max_size=6).map(
        lambda lines: "\n".join(lines).encode()
    ),
    st.lists(glam_rows.map(lambda r: json.dumps(r, default=str)), max_size=5).map(
        lambda lines: "\n".join(lines).encode()
    ),
    st.text(max_size=200).map(
        lambda t: ("build_id,metric,histogram\n" + t).encode("utf-8", "surrogatepass")
    ),
)


# -- Bugzilla answers -----------------------------------------------------------------------------
class _Answers(BugzillaClient):
    """The real client with `_request` answering from a queue of decoded answers."""

    def __init__(self, answers: list) -> None:
        super().__init__("http://127.0.0.1:9", "key-123")
        self.answers = list(answers)

    def _request(self, method, path, *, params=None, body=None) -> dict:
        if not self.answers:
            raise BugzillaError("no answer", None)
        answer = self.answers.pop(0)
        if not isinstance(answer, dict):
            raise BugzillaError("not an object", 200)
        return answer


_CLIENT = _Answers([])

bugzilla_answers = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {
            "bugs": st.one_of(
                json_values,
                st.lists(
                    st.dictionaries(
                        st.sampled_from(["id", "whiteboard", "product", "component", "status"]),
                        json_values,
                        max_size=5,
                    ),
                    max_size=3,
                ),
            )
        },
        optional={"id": json_values, "ids": json_values, "faults": json_values},
    ),
)


def bugzilla_body_target(status: int, body: bytes) -> None:
    """Any HTTP status and body: a JSON object or a BugzillaError."""
    TRIED["Bugzilla answer (HTTP)"] += 1
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.encoding = "utf-8"
    client = _CLIENT
    try:
        assert isinstance(client._decode("Bugzilla GET /rest/bug", response), dict)
    except BugzillaError as error:
        assert "key-123" not in str(error)


def bugzilla_answer_target(answers: list) -> None:
    """Any decoded answers to each client call: its result or a BugzillaError."""
    TRIED["Bugzilla answer (fields)"] += 1
    calls = [
        lambda c: c.get_bugs([1, 2]),
        lambda c: c.search_whiteboard("[telemetry-alert:x]", ("product",)),
        lambda c: c.create_bug({}),
        lambda c: c.update_bug(1, {}),
        lambda c: c.add_comment(1, "x"),
        lambda c: c.add_attachment(1, b"png", "a.png", "s"),
        lambda c: c.attachments(1),
    ]
    client = _CLIENT
    for call in calls:
        client.answers = list(answers)
        try:
            result = call(client)
        except BugzillaError:
            continue
        if isinstance(result, list):
            assert all(isinstance(item, dict) for item in result)


# -- the targets, for the test and the benchmark -------------------------------------------------
TARGETS = {
    "probe YAML text": (yaml_text_target, (yaml_texts,)),
    "monitor block": (
        monitor_block_target,
        (
            yaml_values,
            st.sampled_from(["timing_distribution", "labeled_counter", "event", "counter", ""]),
            st.one_of(st.none(), yaml_values),
        ),
    ),
    "GLAM rows -> series": (
        series_target,
        (st.lists(st.one_of(glam_rows, json_values), max_size=8),),
    ),
    "GLAM row file": (row_file_target, (row_file_names, row_file_bytes)),
    "Bugzilla answer (HTTP)": (
        bugzilla_body_target,
        (
            st.integers(100, 599),
            st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())),
        ),
    ),
    "Bugzilla answer (fields)": (bugzilla_answer_target, (st.lists(bugzilla_answers, max_size=3),)),
}


def run(name: str, budget: settings) -> None:
    """Run target `name` under `budget` (a Hypothesis `settings`); raises on a crash."""
    function, strategies = TARGETS[name]
    budget(given(*strategies)(function))()
