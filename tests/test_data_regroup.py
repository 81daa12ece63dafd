"""Regrouping a Parquet file whose metrics are spread over its row groups: each unit of
metrics gets exactly its rows, in file order, with their row numbers in the original file."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alerting.data.regroup import slices_per_unit, spread
from alerting.data.row_batch import ROW_NUMBER
from alerting.data.row_index import NO_METRIC, index_files, read_slices

METRICS = ["a", "b", None, "c", "", "a", "b", "c", "a"]  # rows 1-9, three row groups


def write(path, dictionary: bool = False) -> None:
    table = pa.table({"metric": METRICS, "build_id": [str(i) for i in range(1, 10)]})
    if dictionary:
        table = table.set_column(0, "metric", table.column("metric").dictionary_encode())
    pq.write_table(table, path, row_group_size=3)


@pytest.mark.parametrize("dictionary", [False, True])
@pytest.mark.parametrize("workers", [1, 2])
def test_each_unit_gets_its_rows_in_order_with_their_numbers(tmp_path, dictionary, workers):
    path = tmp_path / "rows.parquet"
    write(path, dictionary)
    [index] = index_files([path])
    units = [{"a"}, {"b"}, {"c", NO_METRIC}]
    assert spread(index, units)  # 3 + 2 + 3 row groups touched of 3
    slices = slices_per_unit([index], units, tmp_path / "regrouped", workers)
    rows = []
    for parts in slices:
        assert all(part.source == path for part in parts)
        table = pa.concat_tables(pq.read_table(part.path) for part in parts)
        metrics, numbers = table["metric"].to_pylist(), table[ROW_NUMBER].to_pylist()
        rows.append(list(zip(metrics, numbers, strict=True)))
    assert rows == [
        [("a", 1), ("a", 6), ("a", 9)],
        [("b", 2), ("b", 7)],
        [(None, 3), ("c", 4), ("", 5), ("c", 8)],
    ]


def test_rows_read_from_a_regrouped_file_are_named_by_the_original_file(tmp_path):
    path = tmp_path / "rows.parquet"
    write(path)
    [index] = index_files([path])
    slices = slices_per_unit([index], [{"a"}, {"b"}, {"c", NO_METRIC}], tmp_path / "r", 1)
    _, problems = read_slices(slices[2])
    assert [p.split(": ")[0] for p in problems] == [f"{path}:row {n}" for n in (3, 4, 5, 8)]


def test_a_file_grouped_by_metric_is_not_regrouped(tmp_path):
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"metric": list("aaabbbccc")}), path, row_group_size=3)
    [index] = index_files([path])
    assert not spread(index, [{"a"}, {"b"}, {"c"}])
