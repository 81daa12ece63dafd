"""Safe loading of untrusted metrics.yaml: real files unchanged, lines kept, bombs refused."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest
import yaml

from alerting.probes import yamlsafe
from alerting.probes.yamlsafe import (
    BadValue,
    LineDict,
    LineList,
    YamlFileError,
    bad_values,
    line_of,
    load_file,
    loads,
)

FIXTURES = Path(__file__).parent / "fixtures" / "probes"
REAL_METRICS = sorted((FIXTURES / "real_metrics").glob("*.yaml"))
GLEAN_PARSER_TESTS = sorted((FIXTURES / "glean_parser_tests").glob("*.yaml*"))
SHARED_REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real"


def test_fixtures_are_present():
    assert len(REAL_METRICS) == 15
    assert len(GLEAN_PARSER_TESTS) == 64


@pytest.mark.skipif(not SHARED_REAL.is_dir(), reason="../shared is not beside the clone")
def test_fixture_copies_match_shared():
    for folder, pattern in (("metrics", "*.yaml"), ("glean_parser_tests", "*.yaml*")):
        originals = sorted((SHARED_REAL / folder).glob(pattern))
        assert originals
        copies = FIXTURES / ("real_metrics" if folder == "metrics" else folder)
        for original in originals:
            assert filecmp.cmp(original, copies / original.name, shallow=False), original.name


@pytest.mark.parametrize("path", REAL_METRICS, ids=lambda p: p.name)
def test_real_files_load_exactly_like_plain_pyyaml(path):
    with open(path, encoding="utf-8") as handle:
        expected = yaml.safe_load(handle)
    assert load_file(path) == expected


def test_lines_of_keys_and_items_in_the_real_netwerk_file():
    document = load_file(FIXTURES / "real_metrics" / "netwerk__metrics.yaml")
    networking = document["networking"]
    assert isinstance(networking, LineDict)
    assert networking.line_of("http_channel_page_open_to_first_sent") == 1867
    metric = networking["http_channel_page_open_to_first_sent"]
    assert metric.line_of("metadata") == 1883
    assert metric["metadata"].line_of("monitor") == 1885
    monitor = metric["metadata"]["monitor"]
    assert monitor.line_of("alert") == 1886
    emails = monitor["bugzilla_notification_emails"]
    assert isinstance(emails, LineList)
    assert emails.line_of(0) == 1888
    assert line_of(document, "$tags") == 10


def test_whole_metric_alias_is_the_anchored_metric():
    document = load_file(
        FIXTURES / "real_metrics" / "toolkit__components__processtools__metrics.yaml"
    )
    threads = document["power.wakeups_per_thread"]
    assert threads["parent_inactive"] is threads["parent_active"]
    assert threads["parent_inactive"]["type"] == "labeled_counter"
    assert threads.line_of("parent_inactive") == 318


def test_merge_keys_inherit_and_explicit_keys_win():
    text = (
        "base: &base\n"  # 1
        "  type: timing_distribution\n"  # 2
        "  expires: never\n"  # 3
        "child:\n"  # 4
        "  <<: *base\n"  # 5
        "  expires: 2030-01-01\n"  # 6
    )
    document = loads(text)
    child = document["child"]
    assert child["type"] == "timing_distribution"
    assert str(child["expires"]) == "2030-01-01"
    assert child.line_of("expires") == 6
    assert child.line_of("type") == 2  # where the inherited value is written
    assert child.duplicates == []  # a merged key overridden is not a repeat


def test_repeated_keys_are_recorded_with_both_lines():
    document = loads("a: 1\nb: 2\na: 3\n")
    assert document == {"a": 3, "b": 2}
    assert document.duplicates == [("a", 3, 1)]


def billion_laughs(levels: int = 9) -> str:
    lines = ['lol0: &lol0 "lol"']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*lol{level - 1}"] * 10)
        lines.append(f"lol{level}: &lol{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_while_composing():
    text = billion_laughs()
    with pytest.raises(YamlFileError) as info:
        loads(text, "bomb.yaml")
    message = str(info.value)
    assert message.startswith("bomb.yaml:7: refused: aliases expand to more than 1,000,000 nodes")
    assert "alias-expansion bomb" in message
    # Refused at level 6 of 9: nothing after line 7 was even composed, let alone expanded.
    assert info.value.line == 7


def test_merge_key_bomb_is_refused():
    lines = ["m0: &m0 {a: 1, b: 2, c: 3}"]
    for level in range(1, 12):
        refs = ", ".join([f"*m{level - 1}"] * 10)
        lines.append(f"m{level}: &m{level} {{<<: [{refs}]}}")
    with pytest.raises(YamlFileError, match="refused: aliases expand"):
        loads("\n".join(lines), "merge-bomb.yaml")


def test_the_expansion_limit_is_what_stops_the_bomb(monkeypatch):
    monkeypatch.setattr(yamlsafe, "MAX_EXPANDED_NODES", 50)
    with pytest.raises(YamlFileError, match="more than 50 nodes"):
        loads(billion_laughs(2))
    monkeypatch.setattr(yamlsafe, "MAX_EXPANDED_NODES", 200)
    assert len(loads(billion_laughs(2))["lol2"]) == 10


def test_recursive_alias_is_refused():
    with pytest.raises(YamlFileError, match="recursive structure"):
        loads("a: &a\n  b: *a\n", "r.yaml")


def test_deep_nesting_is_refused():
    with pytest.raises(YamlFileError, match="refused: nesting deeper than 100 levels"):
        loads("[" * 5000 + "]" * 5000, "deep.yaml")


def test_nesting_through_aliases_is_refused():
    # Each anchor nests 90 levels around the one before: 3 KB that unfolds 1,350 levels deep.
    chain = "".join(
        f"  - &d{i} " + "[" * 90 + (f"*d{i - 1}" if i else "1") + "]" * 90 + "\n" for i in range(15)
    )
    with pytest.raises(YamlFileError, match="nesting deeper than 100 levels") as info:
        loads("defs:\n" + chain + "use: *d14\n", "aliases.yaml")
    assert info.value.line == 3  # the first alias that goes too deep


def test_shallow_aliases_still_load():
    assert loads("a: &a [[1]]\nb: [*a, *a]\n") == {"a": [[1]], "b": [[[1]], [[1]]]}


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("2026-02-30", "'2026-02-30' is not a valid date (day is out of range for month)"),
        ("1" * 5000, "is not a valid whole number;"),
        ("!!int abc", "'abc' is not a valid whole number;"),
        ("!!bool maybe", "'maybe' is not a valid boolean"),
    ],
)
def test_values_yaml_cannot_build_stay_in_place_with_their_line(value, says):
    document = loads(f"a: 1\nexpires: {value}\nb: [x, {value}]\n", "v.yaml")
    assert document["a"] == 1 and document["b"][0] == "x"
    bad = document["expires"]
    assert isinstance(bad, BadValue) and bad.line == 2
    assert says in bad.message and "quote it" in bad.message
    assert "sys." not in bad.message
    assert [(key, value.line) for key, value in bad_values(document)] == [("expires", 2), ("b", 3)]


def test_a_bad_value_under_an_anchor_is_one_value_wherever_it_is_used():
    document = loads("a: &d 2026-02-30\nb: [*d, *d]\nc: {*d : 1}\n")
    assert document["b"] == [document["a"], document["a"]]
    assert [(key, value.line) for key, value in bad_values(document)] == [
        ("a", 1),
        ("b", 1),
        ("c", 1),
    ]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("!!map abc", "expected a mapping here, but found a scalar"),
        ("!!seq abc", "expected a sequence here, but found a scalar"),
    ],
)
def test_values_of_the_wrong_kind_are_errors_at_their_line(value, says):
    with pytest.raises(YamlFileError) as info:
        loads(f"a: 1\nexpires: {value}\n", "v.yaml")
    assert info.value.line == 2
    assert says in info.value.message


def test_lines_are_counted_as_editors_show_them():
    # U+2028 is a line break to YAML but shows inside a line in an editor.
    document = loads("a: 'x\u2028y'\nb: 2\nc:\n  - 3\n")
    assert document.line_of("b") == 2
    assert document["c"].line_of(0) == 4
    with pytest.raises(YamlFileError) as info:
        loads("a: 'x\u2028y'\nb: [\n")
    assert info.value.line == 3


def test_size_limit(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 100 + "\n")
    assert load_file(path, max_bytes=104) == {"a": "x" * 100}  # exactly at the limit
    with pytest.raises(YamlFileError) as info:
        load_file(path, max_bytes=103)
    assert str(info.value) == (
        f"{path}:1: file is larger than the 103-byte limit for probe files; "
        "split it into several metrics.yaml files"
    )


def test_default_size_limit_is_one_mebibyte(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("# padding\n" * (yamlsafe.MAX_FILE_BYTES // 10 + 1))
    assert yamlsafe.MAX_FILE_BYTES == 1024 * 1024
    with pytest.raises(YamlFileError, match="larger than the 1,048,576-byte limit"):
        load_file(path)


def test_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(YamlFileError) as info:
        load_file(path)
    assert info.value.line == 2
    assert "not UTF-8" in info.value.message


def test_syntax_error_names_file_and_line():
    with pytest.raises(YamlFileError) as info:
        loads("a: 1\nb:\n  - x\n  y: 2\n", "bad.yaml")
    assert info.value.file == "bad.yaml"
    assert info.value.line == 4
    assert str(info.value).startswith("bad.yaml:4: invalid YAML:")


def test_python_tags_are_not_constructed():
    with pytest.raises(YamlFileError, match="could not determine a constructor"):
        loads("a: !!python/object/apply:os.system ['true']\n")


def test_unreadable_path(tmp_path):
    with pytest.raises(YamlFileError, match="cannot read"):
        load_file(tmp_path / "missing.yaml")


def test_a_symbolic_link_is_refused_unread(tmp_path):
    secret = tmp_path / "outside.yaml"
    secret.write_text("token: do-not-show\n")
    link = tmp_path / "probes.yaml"
    link.symlink_to(secret)
    with pytest.raises(YamlFileError, match="a symbolic link") as info:
        load_file(link)
    assert "do-not-show" not in str(info.value)
