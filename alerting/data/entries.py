"""The bucket entries of many rows as flat arrays: a key code and a count per bucket.

Python objects for tens of millions of entries would need gigabytes; arrays need 12 bytes
each, so rows are turned into arrays every two million entries. The work per bucket is kept
in C: a row's keys are looked up as one tuple (rows of a series mostly repeat the same keys)
and its counts go straight into a float array; only rows with a count that is no plain number
are looked at count by count, to name the bad one.
"""

from __future__ import annotations

import math
from array import array
from collections import defaultdict

import numpy as np


class Entries:
    """Histograms added row by row; bucket keys become codes into `names`."""

    FLUSH = 1 << 21
    KEY_SETS = 1 << 12  # distinct key tuples remembered (sparse histograms vary a lot)

    def __init__(self) -> None:
        # Key -> code; a missing key gets the next code (the factory is the dict's length).
        self.names: defaultdict[object, int] = defaultdict()
        self.names.default_factory = self.names.__len__
        self.key_sets: dict[tuple, np.ndarray] = {}
        self.codes: list[np.ndarray] = []
        self.values = array("d")
        self.code_parts: list[np.ndarray] = []
        self.count_parts: list[np.ndarray] = []
        self.odd: dict[int, object] = {}  # entry index -> original value that is no number
        self.flushed = 0

    def add(self, hist: dict, plain: bool = False) -> None:
        """One row's histogram. `plain` promises no true, false or null among its counts
        (the JSON text held none), so any count that is not a number is a string."""
        keys = tuple(hist)
        codes = self.key_sets.get(keys)
        if codes is None:
            if len(self.key_sets) >= self.KEY_SETS:
                self.key_sets.clear()
            names = self.names
            codes = np.fromiter(map(names.__getitem__, keys), np.int32, len(keys))
            self.key_sets[keys] = codes
        self.codes.append(codes)
        size = len(self.values)
        if plain:
            try:
                self.values.extend(hist.values())
            except TypeError:  # a string among the counts
                del self.values[size:]
                plain = False
        if not plain:
            for value in hist.values():
                number = plain_number(value)
                if math.isnan(number):
                    self.odd[self.flushed + len(self.values)] = value
                self.values.append(number)
        if len(self.values) >= self.FLUSH:
            self.flush()

    def flush(self) -> None:
        if not self.values and not self.codes:
            return
        self.code_parts.append(np.concatenate(self.codes) if self.codes else np.zeros(0, np.int32))
        self.count_parts.append(np.array(self.values, dtype=np.float64))
        self.flushed += len(self.values)
        self.codes, self.values = [], array("d")

    def arrays(self):
        """(key codes, key names, counts, original value of entry i) over all entries."""
        self.flush()
        codes = np.concatenate(self.code_parts) if self.code_parts else np.zeros(0, np.int32)
        counts = np.concatenate(self.count_parts) if self.count_parts else np.zeros(0)
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
