"""One bad row, line or series is reported where it is and skipped; nothing a data file holds
can exhaust memory, stretch a series over centuries or set the run's date."""

import datetime as dt
import gzip
import json

from alerting.data import merge, row_files
from alerting.data.buildids import latest_build_day as real_latest_build_day
from alerting.data.rows import read_series
from alerting.data.series import WHERE, series_from_rows
from tests.conftest import LATEST_BUILD_DAY

GOOD = {"1": 5, "2": 7}


def row(build_id, hist=GOOD, **extra):
    return {
        "metric": "m",
        "os": "Windows",
        "metric_key": "",
        "build_id": build_id,
        "metric_type": "timing_distribution",
        "non_norm_histogram": json.dumps(hist),
        **extra,
    }


def located(items):
    for i, item in enumerate(items, start=1):
        item[WHERE] = f"f.jsonl:{i}"
    return items


def test_a_series_column_that_is_not_text_is_a_bad_row():
    problems = []
    series = series_from_rows(
        located([row("2025010103"), row("2025010203", metric_key={})]), problems
    )
    assert problems == ["f.jsonl:2: metric_key is dict, expected text"]
    assert len(series) == 1


def test_a_metric_that_is_not_text_is_named_as_such():
    problems = []
    items = located([row("2025010103"), row("2025010203", metric=7), row("2025010303", metric="")])
    assert len(series_from_rows(items, problems)) == 1
    assert problems == ["f.jsonl:2: metric is int, expected text", "f.jsonl:3: missing metric"]


def test_build_ids_centuries_apart_are_refused_per_row():
    problems = []
    items = located([row("1801010103"), row("2025010103"), row("2261123123")])
    (series,) = series_from_rows(items, problems).values()
    assert series.n_days == 1 and series.start == dt.date(2025, 1, 1)
    assert problems[0] == (
        f"f.jsonl:1: build_id '1801010103' is not between 2010-01-01 and {LATEST_BUILD_DAY}"
    )
    assert problems[1].startswith("f.jsonl:3: build_id '2261123123' is not between")


def test_the_latest_build_day_is_tomorrow():
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    assert real_latest_build_day() == tomorrow


def test_a_far_future_row_does_not_set_the_last_day(tmp_path):
    path = tmp_path / "rows.jsonl"
    lines = [row("2025010103"), row("2025010203"), row("2261123123")]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    series, problems = read_series([path])
    assert max(s.end for s in series.values()) == dt.date(2025, 1, 2)
    assert problems == [
        f"{path}:3: build_id '2261123123' is not between 2010-01-01 and {LATEST_BUILD_DAY}"
    ]


def test_duplicate_build_rows_are_reported_and_counted_once():
    problems = []
    items = located([row("2025010103"), row("2025010103"), row("2025010115")])
    (series,) = series_from_rows(items, problems).values()
    assert problems == ["f.jsonl:2: same series and build 2025010103 as f.jsonl:1; counted once"]
    assert series.counts.tolist() == [[10.0, 14.0]]  # two builds of the day, not three


def test_a_bucket_key_written_twice_refuses_its_row_only(tmp_path):
    texts = ['{"1": 5, "1": 7, "2": 3}', '{"2": 1, "10": {"1": 1, "1": 2}, "2": 4}']
    lines = [row("2025010103")] + [
        row(f"20250102{h:02d}", non_norm_histogram=t) for h, t in enumerate(texts)
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    series, problems = read_series([path])
    assert list(series.values())[0].counts.tolist() == [
        [5.0, 7.0]
    ]  # neither the last nor the summed count
    assert problems == [
        f"{path}:{n}: bucket key {k!r} appears twice; give each bucket once, with the sum of "
        "its counts"
        for n, k in ((2, "1"), (3, "2"))
    ]


def test_counts_past_2_to_53_refuse_that_row_only(tmp_path):
    wrapped = {"1": 150_000, "2": 2**63 - 1, "3": 50_000}
    lines = [
        row("2025010103", total_sample=12),  # the counts sum to exactly the total
        row("2025010203", wrapped, total_sample=200_000),
        row("2025010303", non_norm_histogram='{"1": 1e308, "2": 1e308}'),
        row("2025010403", {"1": 2**52, "2": 2**52, "3": 2}),
        row(
            "2025010503", non_norm_histogram=None, histogram='{"1": 0.5, "2": 0.5}', total_sample=1
        ),  # shares, weighted by the total
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    series, problems = read_series([path])
    (s,) = series.values()
    assert s.present.tolist() == [True, False, False, False, True]
    assert problems == [
        f"{path}:2: count 9.223372036854776e+18 for bucket '2' takes the row's counts past "
        "2**53; fix the row's counts",
        f"{path}:3: count 1e+308 for bucket '1' takes the row's counts past 2**53; fix the "
        "row's counts",
        f"{path}:4: count 2.0 for bucket '3' takes the row's counts past 2**53; fix the row's "
        "counts",
    ]


def test_a_series_too_big_to_hold_is_dropped_with_a_problem(monkeypatch):
    monkeypatch.setattr(merge, "MAX_SERIES_CELLS", 50)
    wide = {str(i): 1 for i in range(1, 40)}
    problems = []
    items = located(
        [row("2025010103", wide), row("2025010203", wide), row("2025010103", os="Linux")]
    )
    series = series_from_rows(items, problems)
    assert [k.os for k in series] == ["Linux"]
    assert problems == [
        "series m/Windows: 2 days x 39 buckets is more than 50 cells; dropped "
        "(check the rows' build ids and bucket keys)"
    ]


def test_csv_cells_of_any_size_are_read(tmp_path):
    path = tmp_path / "rows.csv"
    big = "x" * (300 << 10)  # over csv's own 128 KiB cell limit
    header = "metric,os,metric_key,build_id,metric_type,non_norm_histogram,notes\n"
    hist = json.dumps(GOOD).replace('"', '""')
    path.write_text(
        header
        + f'm,Windows,,2025010103,timing_distribution,"{hist}",{big}\n'
        + f'm,Windows,,2025010203,timing_distribution,"{hist}",short\n'
    )
    series, problems = read_series([path])
    assert problems == [] and next(iter(series.values())).n_days == 2


def test_an_overlong_line_is_skipped_without_being_held(tmp_path, monkeypatch):
    monkeypatch.setattr(row_files, "MAX_LINE_BYTES", 1000)
    long_row = json.dumps(row("2025010203", {str(i): 1 for i in range(1, 400)}))
    lines = [json.dumps(row("2025010103")), long_row, json.dumps(row("2025010303"))]
    gz = tmp_path / "rows.jsonl.gz"
    gz.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    csv_path = tmp_path / "rows.csv"
    hist = json.dumps(GOOD).replace('"', '""')
    csv_path.write_text(
        "metric,os,metric_key,build_id,metric_type,non_norm_histogram\n"
        + "m,Windows,,"
        + "1" * 3000
        + "\n"
        + f'm,Windows,,2025010103,timing_distribution,"{hist}"\n'
    )
    series, problems = read_series([gz])
    assert problems == [f"{gz}:2: line over 1,000 bytes; skipped"]
    assert next(iter(series.values())).n_days == 3 and not next(iter(series.values())).present[1]
    csv_series, csv_problems = read_series([csv_path])
    assert csv_problems == [f"{csv_path}:2: line over 1,000 bytes; skipped"]
    assert len(csv_series) == 1


def test_values_nested_as_deep_as_the_json_parser_reads_are_problems_of_their_row(tmp_path):
    # orjson reads up to 1,024 levels; json (used to find a repeated bucket key) and repr
    # give up sooner. Each such row is a problem of its own; the good row is used.
    deep_text = '{"1":' * 1000 + "1" + "}" * 1000
    deep_list = "[" * 1000 + "]" * 1000
    good = row("2025010103")
    lines = [json.dumps(good)]
    lines.append(json.dumps(row("2025010203", hist={}) | {"non_norm_histogram": deep_text}))
    for column in ("build_id", "metric_type", "ping_type"):  # a value nested 1,000 deep
        rest = json.dumps({k: v for k, v in row("2025010303").items() if k != column})
        lines.append(f'{rest[:-1]}, "{column}": {deep_list}}}')
    plain = {k: v for k, v in row("2025010403").items() if k != "non_norm_histogram"}
    deep_count = '{"1":' + deep_list + "}"  # a histogram object whose count is nested deep
    lines.append(f'{json.dumps(plain)[:-1]}, "non_norm_histogram": {deep_count}}}')
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(lines) + "\n")
    series, problems = read_series([path])
    (found,) = series.values()
    assert found.present.sum() == 2  # the good row, and that of a metric_type nested deep
    assert found.metric_type == "timing_distribution"
    assert problems == [
        f"{path}:2: histogram nested too deep; expected one object of bucket counts",
        f"{path}:3: build_id [[[[...]]]] is not YYYYMMDDHH or YYYYMMDDhhmmss digits",
        f"{path}:6: count [[[[...]]]] for bucket '1' is not a number",
    ]


def test_at_most_a_hundred_problems_are_listed_per_file_and_the_rest_counted(tmp_path):
    good = [json.dumps(row(f"202501{d:02d}03")) for d in range(1, 11)]
    first = tmp_path / "first.jsonl.gz"
    with gzip.open(first, "wt") as out:
        out.write("\n".join([*good, *(["{}"] * 250), "{oops"]) + "\n")
    second = tmp_path / "second.jsonl"
    second.write_text("\n".join([json.dumps(row("2025011103")), *(["{}"] * 120)]) + "\n")
    series, problems = read_series([first, second])
    assert len(series) == 1
    assert problems[:100] == [f"{first}:{n}: missing build_id" for n in range(11, 111)]
    assert problems[100:200] == [f"{second}:{n}: missing build_id" for n in range(2, 102)]
    assert problems[200:] == [
        f"151 more problems in {first} not listed (only the first 100 of a file are); fix "
        "those and run again to see the rest",
        f"20 more problems in {second} not listed (only the first 100 of a file are); fix "
        "those and run again to see the rest",
    ]


def test_the_memory_of_bad_rows_does_not_grow_with_their_number(tmp_path):
    import tracemalloc

    path = tmp_path / "rows.jsonl.gz"
    with gzip.open(path, "wt") as out:
        out.write(json.dumps(row("2025010103")) + "\n" + "{}\n" * 200_000)
    tracemalloc.start()
    try:
        series, problems = read_series([path])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(series) == 1 and len(problems) == 101
    assert problems[-1].startswith(f"199,900 more problems in {path} not listed")
    # 200,000 problems held take over 50 MB (here: the rows of a batch, and the lines of a
    # block read, at most 1 MiB of them)
    assert peak < 32 << 20


def test_problems_past_the_limit_of_a_ping_type_left_out_are_not_counted_as_problems():
    from collections import Counter

    from alerting.data.row_batch import batches_of_rows
    from alerting.data.series import series_from_batches

    def bad(n, metric, ping_type):  # a negative count: a bad row of its series
        return row(f"2025{n // 28 + 1:02d}{n % 28 + 1:02d}03", {"1": -1}, metric=metric) | {
            "ping_type": ping_type
        }

    rows = [row("2025010103", metric="x") | {"ping_type": "*"}]
    rows += [bad(n, "x", "metrics") for n in range(150)]  # left out: x has '*' rows
    rows += [bad(n, "y", "*") for n in range(130)]
    problems, left_out = [], Counter()
    series = series_from_batches(batches_of_rows(rows, 64), problems, None, left_out)
    assert [key.metric for key in series] == ["x"]
    assert len(problems) == 101 and all(": count -1.0" in p for p in problems[:100])
    assert problems[100].startswith("30 more problems in the input not listed")
    assert left_out == Counter({("", "ping_type", "metrics"): 150})
