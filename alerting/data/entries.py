"""The bucket entries of many rows as flat arrays: a key code and a count per bucket.

Python objects for tens of millions of entries would need gigabytes; arrays need 12 bytes
each, so rows are turned into arrays a chunk at a time. The work per bucket is kept in C: a
row's keys are looked up as one tuple (rows of a series mostly repeat the same keys), and the
counts of a run of rows whose text held only numbers go into one float array with a single
`numpy.fromiter` call; only the other rows are looked at count by count, to name a bad one.
Rows whose text was parsed in bulk (`plain_histograms`) come as arrays already: a run of
them is added with a few array operations.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict

import numpy as np

from alerting.data.plain_histograms import PlainHistograms, distinct


class Entries:
    """Histograms added row by row; bucket keys become codes into `names`."""

    KEY_SETS = 1 << 12  # distinct key tuples remembered (sparse histograms vary a lot)
    # Counts held back as Python objects before one conversion: enough to make the call's
    # own cost vanish, few enough to keep the rows' dicts small in memory.
    RUN = 1 << 16

    def __init__(self, parsed: PlainHistograms | None = None) -> None:
        # Key -> code; a missing key gets the next code (the factory is the dict's length).
        self.names: defaultdict[object, int] = defaultdict()
        self.names.default_factory = self.names.__len__
        self.key_sets: dict[tuple, np.ndarray] = {}
        self.codes: list[np.ndarray] = []
        self.count_parts: list[np.ndarray] = []
        self.plain_run: list[dict] = []  # rows whose counts are converted together
        self.plain_size = 0
        self.odd: dict[int, object] = {}  # entry index -> original value that is no number
        self.size = 0  # entries added so far
        self.parsed = parsed
        self.parsed_rows: list[int] = []  # rows of `parsed` added since the last other row

    def add(self, hist: dict, plain: bool = False) -> None:
        """One row's histogram. `plain` promises that its counts are JSON numbers (the text
        held no letter of true, false or null, and no quotes but those of its keys)."""
        if self.parsed_rows:
            self._end_parsed_run()
        keys = tuple(hist)
        codes = self.key_sets.get(keys)
        if codes is None:
            if len(self.key_sets) >= self.KEY_SETS:
                self.key_sets.clear()
            names = self.names
            codes = np.fromiter(map(names.__getitem__, keys), np.int32, len(keys))
            self.key_sets[keys] = codes
        self.codes.append(codes)
        if not plain:
            self._end_plain_run()
            self._add_counts(hist.values(), self.size)
        self.size += len(hist)
        if plain:
            self.plain_run.append(hist)
            self.plain_size += len(hist)
            if self.plain_size >= self.RUN:
                self._end_plain_run()

    def _end_plain_run(self) -> None:
        """Convert the counts of the rows held back, all in one call."""
        run, size = self.plain_run, self.plain_size
        if not run:
            return
        self.plain_run, self.plain_size = [], 0
        values = itertools.chain.from_iterable(map(dict.values, run))
        try:
            self.count_parts.append(np.fromiter(values, np.float64, size))
        except (TypeError, ValueError):  # a nested value: look at each count
            start = self.size - size
            self._add_counts(itertools.chain.from_iterable(map(dict.values, run)), start)

    def _end_parsed_run(self) -> None:
        """Add the entries of the parsed rows named in `parsed_rows`, all at once."""
        self._end_plain_run()
        keys, counts = self.parsed.entries_of(np.asarray(self.parsed_rows))  # type: ignore[union-attr]
        self.parsed_rows.clear()
        self.codes.append(self._codes_of(keys))
        self.count_parts.append(counts.astype(np.float64))
        self.size += len(keys)

    def _codes_of(self, keys: np.ndarray) -> np.ndarray:
        """Codes of integer keys: each distinct one is looked up once (as a Python int, a
        name of its own next to the texts of the other rows' keys: equal values become one
        bucket anyway)."""
        values, index = distinct(keys)
        names = self.names
        lookup = np.fromiter(map(names.__getitem__, values), np.int32, len(values))
        return lookup[index]

    def _add_counts(self, values, start: int) -> None:
        """Counts one by one; those that are no number become NaN and are remembered."""
        counts = []
        for index, value in enumerate(values, start=start):
            number = plain_number(value)
            if math.isnan(number):
                self.odd[index] = value
            counts.append(number)
        self.count_parts.append(np.array(counts, dtype=np.float64))

    def arrays(self):
        """(key codes, key names, counts, original value of entry i) over all entries."""
        if self.parsed_rows:
            self._end_parsed_run()
        self._end_plain_run()
        codes = np.concatenate(self.codes) if self.codes else np.zeros(0, np.int32)
        parts = self.count_parts
        counts = np.concatenate(parts) if len(parts) > 1 else parts[0] if parts else np.zeros(0)
        names = list(self.names)
        odd = self.odd

        def raw(i: int) -> object:
            return odd.get(int(i), counts[i].item())

        return codes, names, counts, raw


def plain_number(value: object) -> float:
    """A JSON number as a float; NaN for anything else (strings, booleans, null)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)
