"""GLAM rows a chunk at a time, column by column: what series are built from.

A reader that holds columns already (Parquet) hands them over as they are, without a dict
per row; rows that come one at a time (JSON lines, CSV, API responses, query results) are
gathered into the same shape. Building series then walks plain lists, whatever the source.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# Rows may carry their origin under this key ("FILE:LINE"); readers set it so problems can
# name the line. Rows without it are named by their position. A reader that found a line
# that is no row at all passes {WHERE, PROBLEM} on, so problems stay in input order.
WHERE = "_where"
PROBLEM = "_problem"

# The column of histogram texts: a reader may hand it over as a pyarrow string array.
HISTOGRAM_TEXTS = "non_norm_histogram"
# The columns of a GLAM row that series are made of, or that tell which rows are (readers may
# skip the others).
ROW_COLUMNS = frozenset(
    ("app_id", "channel", "metric", "metric_type", "os", "metric_key", "build_id")
    + (HISTOGRAM_TEXTS, "histogram", "total_sample", "total_users")
    + ("ping_type", "client_agg_type")
)
# A row's number in the file it was copied from, in a Parquet file regrouped by metric (not a
# GLAM column, so no clash).
ROW_NUMBER = "_alerting_row_number"


@dataclass
class RowBatch:
    """Consecutive rows of the input; row i of the batch is row `first + i` of the input."""

    # Each of ROW_COLUMNS -> a value per row (None: absent); a list, or for HISTOGRAM_TEXTS
    # also a pyarrow array (whose plain histograms are parsed in bulk, without a text each).
    columns: Mapping[str, Any]
    where: list[str]  # per row: "FILE:LINE", "FILE:row N" or "row N"
    problems: dict[int, str]  # rows that are no rows at all -> why
    first: int = 1
    source: str = ""  # the file the rows are from ("" when not from a file)

    def __len__(self) -> int:
        return len(self.where)


def batches_of_rows(rows: Iterable[Mapping], size: int, source: str = "") -> Iterator[RowBatch]:
    """Rows (dicts, or {WHERE, PROBLEM} markers) of the file `source` as batches of `size`;
    at least one."""
    rows = iter(rows)
    first = 1
    while True:
        chunk = list(itertools.islice(rows, size))
        batch = batch_of_rows(chunk, first)
        batch.source = source
        yield batch
        first += len(chunk)
        if len(chunk) < size:
            return


def batch_of_rows(rows: list, first: int = 1) -> RowBatch:
    """A batch of rows given one by one; `rows` may be changed."""
    where: list[str] = []
    problems: dict[int, str] = {}
    for i, row in enumerate(rows):
        if type(row) is not dict and not isinstance(row, Mapping):
            problems[i] = "row is not an object"
            where.append(f"row {first + i}")
            rows[i] = {}
            continue
        where.append(row.get(WHERE) or f"row {first + i}")
        if PROBLEM in row:
            problems[i] = f"{row[PROBLEM]}"
    columns = {name: [row.get(name) for row in rows] for name in ROW_COLUMNS}
    return RowBatch(columns, where, problems, first)
