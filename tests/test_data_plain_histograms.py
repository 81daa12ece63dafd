"""Plain histogram texts parsed in bulk give exactly what the row-by-row parse gives: the same
series, bit for bit, and the same problems; every other text is left to that parse."""

import datetime as dt
import json
import subprocess
import sys

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerting.data import flatten as flatten_module
from alerting.data.plain_histograms import PARSED, parse_plain, parsed_column
from alerting.data.row_batch import ROW_COLUMNS, batch_of_rows
from alerting.data.series import series_from_batches

DAY0 = dt.date(2025, 1, 1)
BIG = "9" * 18  # the longest number parsed in bulk
HUGE = "9" * 19  # beyond int64: left to the row-by-row parse

# Texts and whether they are plain (parsed in bulk).
TEXTS = [
    ('{"1":2,"3":4}', True),
    ("{}", True),
    ('{"0":0}', True),
    (' { "1" : 2 ,\n\t"3":4\r} ', True),  # JSON's whitespace
    ('{"007":5,"7":1}', False),  # leading zeros of a key: one value twice
    ('{"007":5,"8":1}', True),
    ('{"1":2,"1":3}', False),  # a repeated key: the last one counts
    ('{"3":1,"1":2,"2":5}', True),  # keys out of order
    ('{"3":1,"1":2,"3":5}', False),
    (f'{{"{BIG}":{BIG}}}', True),
    (f'{{"{HUGE}":1}}', False),
    (f'{{"1":{HUGE}}}', False),
    ('{"9007199254740993":1}', True),  # above 2**53: rounds as float() does
    ('{"1":07}', False),  # not JSON
    ('{"1":-3}', False),
    ('{"1":2.5}', False),
    ('{"1":1e3}', False),
    ('{"1":"2"}', False),
    ('{"x":2}', False),
    ('{"-1":2}', False),
    ('{"1.5":2}', False),
    ('{"1":null}', False),
    ('{"1":2,}', False),
    ('{"1":2}{"3":4}', False),
    ('{"1":2}\n{"3":4}', False),  # the grammar holds for the whole text, not a line
    ('{"1":2}\nx', False),
    ('x\n{"1":2}', False),
    ('{"1":2}x', False),
    ("\f{}", False),  # no JSON whitespace
    ('{"1":2', False),
    ("[1,2]", False),
    ("", False),
    ("é", False),
]


def row(day: int, hist, hour: int = 3, **extra) -> dict:
    build = (DAY0 + dt.timedelta(days=day)).strftime("%Y%m%d") + f"{hour:02d}"
    return {
        "app_id": "nightly",
        "channel": "nightly",
        "os": "Windows",
        "metric": "m",
        "metric_type": "timing_distribution",
        "metric_key": "",
        "build_id": build,
        "non_norm_histogram": hist,
        **extra,
    }


def both_ways(rows: list[dict], monkeypatch, form: str = "array") -> tuple:
    """(series, problems) with the bulk parse, then with the row-by-row parse only; the
    histogram texts come as a pyarrow array (as from Parquet) or as a list of Python values
    (as from JSON lines)."""

    def batch():
        made = batch_of_rows([dict(r) for r in rows])
        texts = made.columns["non_norm_histogram"]
        if form == "array":
            made.columns["non_norm_histogram"] = pa.array(texts, pa.string())
        return made

    results = []
    for bulk in (True, False):
        if not bulk:
            monkeypatch.setattr(flatten_module, "parsed_column", _row_by_row)
        problems: list[str] = []
        results.append((series_from_batches([batch()], problems), problems))
    return results


def _row_by_row(column, max_entries):
    return (column if isinstance(column, list) else column.to_pylist()), None


def assert_same(first, second) -> None:
    (series_a, problems_a), (series_b, problems_b) = first, second
    assert problems_a == problems_b
    assert list(series_a) == list(series_b)
    for key, a in series_a.items():
        b = series_b[key]
        assert (a.start, a.build_ids, a.metric_type) == (b.start, b.build_ids, b.metric_type)
        assert a.buckets.tobytes() == b.buckets.tobytes()
        assert a.counts.tobytes() == b.counts.tobytes()
        assert a.present.tobytes() == b.present.tobytes()


@pytest.mark.parametrize("text, plain", TEXTS)
def test_each_text_is_plain_or_left_to_the_row_parse(text, plain):
    parsed = parse_plain(pa.array([text]), max_entries=10)
    assert parsed.plain.tolist() == [plain]
    if plain:
        hist = orjson.loads(text)
        assert parsed.keys.tolist() == [int(k) for k in hist]
        assert parsed.counts.tolist() == list(hist.values())


@pytest.mark.parametrize("form", ["array", "list"])
def test_mixed_texts_give_the_series_and_problems_of_the_row_parse(monkeypatch, form):
    rows = [row(day, text) for day, (text, _) in enumerate(TEXTS)]
    rows += [row(day, '{"1":5,"2":1}', hour=9) for day in range(len(TEXTS))]  # 2nd build
    rows.append(row(3, None, histogram='{"1": 0.25}'))  # normalized, weighted
    rows.append(row(4, '{"1":1}', hour=9))  # the same build again
    rows.append({**row(5, '{"1":1}'), "build_id": "*"})
    rows.append({**row(6, '{"1":1}', hour=11), "os": ["x"]})  # a series column: no text
    rows.append({**row(7, '{"1":1}', hour=12), "build_id": "2025"})
    rows.append({**row(8, '{"1":1}', hour=13), "metric": None})
    if form == "list":  # texts as JSON lines give them, and other values
        rows = [r for r in rows if r["non_norm_histogram"] != "é"]
        rows.append(row(9, {"1": 2}, hour=14))
        rows.append(row(10, 5, hour=15))
    bulk, by_row = both_ways(rows, monkeypatch, form)
    assert_same(bulk, by_row)
    assert len(by_row[1]) > 10 and len(by_row[0]) == 1


def test_texts_in_an_array_or_a_list_are_parsed_in_bulk_other_values_kept():
    values, parsed = parsed_column(pa.array(['{"1":1}', None, '{"1":"x"}', '{"2":3}']), 10)
    assert values == [PARSED, None, '{"1":"x"}', PARSED]
    assert parsed.lengths.tolist() == [1, 0, 0, 1]
    values, parsed = parsed_column(['{"1":1}', {"1": 2}, 5, None, '{"2":3}'], 10)
    assert values == [PARSED, {"1": 2}, 5, None, PARSED]
    assert parsed.lengths.tolist() == [1, 0, 0, 0, 1]
    # A text that is not ASCII: its bytes are not where its characters are; none in bulk.
    values = ['{"1":1}', '{"é":1}', '{"2":3}']
    assert parsed_column(values, 10) == (values, None)
    values = ['{"1":1}', '{"\ud800":1}']  # a lone surrogate, as JSON may hold: no UTF-8
    assert parsed_column(values, 10) == (values, None)


def test_a_row_over_the_bucket_limit_is_named_as_before(monkeypatch):
    monkeypatch.setattr(flatten_module, "MAX_ROW_BUCKETS", 3)
    rows = [row(0, '{"1":1,"2":2,"3":3}'), row(1, '{"1":1,"2":2,"3":3,"4":4}')]
    bulk, by_row = both_ways(rows, monkeypatch)
    assert_same(bulk, by_row)
    assert by_row[1] == ["row 2: 4 buckets; at most 3 a row"]


def test_a_batch_without_a_plain_text_and_one_of_only_empty_ones(monkeypatch):
    assert_same(*both_ways([row(0, '{"1":1.5}')], monkeypatch))
    assert_same(*both_ways([row(0, "{}"), row(1, "{ }")], monkeypatch))


keys = st.one_of(
    st.integers(0, 2000).map(str),
    st.sampled_from(["007", "0", "00", BIG, HUGE, "x", "1.5", "-1", ""]),
)
counts = st.one_of(
    st.integers(0, 10**6).map(str),
    st.sampled_from(["07", "-1", "2.5", "1e3", '"3"', "null", "true", BIG, HUGE, "0"]),
)
spaces = st.sampled_from(["", "", "", " ", "\n", "\t ", "\f"])


@st.composite
def histogram_texts(draw) -> str:
    entries = draw(st.lists(st.tuples(keys, counts, spaces), max_size=6))
    inner = ",".join(f'{space}"{k}"{space}:{space}{c}{space}' for k, c, space in entries)
    text = "{" + inner + "}"
    if draw(st.integers(0, 9)) == 0:  # a cut or an extra character somewhere
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(["", "}", ",", '"', "a"])) + text[at + 1 :]
    return text


@given(st.lists(histogram_texts(), min_size=1, max_size=12))
@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_any_texts_give_what_the_row_parse_gives(monkeypatch, texts):
    rows = [row(i // 3, text, hour=i % 3) for i, text in enumerate(texts)]
    for form in ("array", "list"):
        with monkeypatch.context() as patch:
            assert_same(*both_ways(rows, patch, form))


def test_an_empty_batch_of_texts():
    assert parsed_column(pa.array([], pa.string()), 10) == ([], None)
    assert parsed_column([], 10) == ([], None)


def test_reading_does_not_import_pandas(tmp_path):
    """pandas costs a third of a second to import; `pyarrow.array` and `to_numpy` would."""
    rows = [row(0, '{"1":1}'), row(1, '{"1":"x"}'), row(2, None), row(3, '{"2":2}')]
    parquet, lines = tmp_path / "rows.parquet", tmp_path / "rows.jsonl"
    pa.parquet.write_table(pa.Table.from_pylist(rows), parquet)
    lines.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code = (
        "import sys; from alerting.data.rows import read_series; "
        f"read_series([{str(parquet)!r}, {str(lines)!r}]); print('pandas' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_a_plain_text_parses_as_json_does():
    texts = [json.dumps({str(k): k * 3 for k in range(n)}) for n in range(5)]
    parsed = parse_plain(pa.array(texts), max_entries=10)
    assert parsed.plain.all()
    assert parsed.lengths.tolist() == [0, 1, 2, 3, 4]
    assert parsed.keys.tolist() == [k for n in range(5) for k in range(n)]
    assert parsed.counts.tolist() == [3 * k for n in range(5) for k in range(n)]
    rows = np.array([1, 3])
    keys, counts = parsed.entries_of(rows)
    assert keys.tolist() == [0, 0, 1, 2] and counts.tolist() == [0, 0, 3, 6]
    assert set(ROW_COLUMNS) >= {"non_norm_histogram"}
