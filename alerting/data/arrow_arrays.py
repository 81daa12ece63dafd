"""numpy and pyarrow arrays turned into one another through their buffers.

`pyarrow.array` of a numpy array and `Array.to_numpy` import pandas, about a third of a
second in every process that reads rows; handing the buffers over costs nothing.
"""

from __future__ import annotations

import numpy as np


def numpy_numbers(array, dtype) -> np.ndarray:
    """A pyarrow array of numbers as a numpy view (what it holds at null places is not
    specified: nulls are for the caller to mask)."""
    data = array.buffers()[1] if len(array) else None
    if data is None:
        return np.zeros(len(array), dtype=dtype)
    values = np.frombuffer(data, dtype=dtype)
    return values[array.offset : array.offset + len(array)]


def numpy_bools(array) -> np.ndarray:
    """A pyarrow array of booleans without nulls as numpy booleans."""
    if not len(array):
        return np.zeros(0, dtype=bool)
    bits = np.frombuffer(array.buffers()[1], dtype=np.uint8)
    count = array.offset + len(array)
    return np.unpackbits(bits, count=count, bitorder="little")[array.offset :].view(bool)


def arrow_numbers(values: np.ndarray):
    import pyarrow as pa

    values = np.ascontiguousarray(values)
    kind = pa.from_numpy_dtype(values.dtype)
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])


def arrow_bools(values: np.ndarray):
    import pyarrow as pa

    bits = np.packbits(values, bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])


def arrow_strings(values: list[str]):
    """A pyarrow string array of `values` (no nulls)."""
    import pyarrow as pa

    data = [value.encode() for value in values]
    offsets = np.zeros(len(data) + 1, dtype=np.int32)
    np.cumsum([len(item) for item in data], out=offsets[1:])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))]
    return pa.Array.from_buffers(pa.string(), len(data), buffers)
