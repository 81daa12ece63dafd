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
    data = [value.encode() for value in values]
    lengths = np.fromiter(map(len, data), dtype=np.int64, count=len(data))
    return arrow_strings_joined(b"".join(data), lengths)


def arrow_strings_joined(data: bytes, lengths: np.ndarray):
    """A pyarrow string array of the texts whose UTF-8 bytes, one after the other, are
    `data` (under 2 GiB), `lengths` bytes each."""
    import pyarrow as pa

    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.string(), len(lengths), buffers)
