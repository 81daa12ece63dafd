"""Series built in a reading process, handed to the process that reads the rest.

Returned through the process pool, every count would be pickled into a pipe, read out of it
and unpickled while the calling process waits: half a second for a thousand series-years of
100 buckets (about 150 MB of counts from each reading process). The counts go into one
temporary file instead, which the caller maps into memory (private: writing to an array
never changes the file) and removes at once; only the rest of each series is pickled.
"""

from __future__ import annotations

import contextlib
import dataclasses
import mmap
import os
import tempfile
from dataclasses import dataclass

import numpy as np

from alerting.data.merge import Key
from alerting.data.model import DailySeries, SeriesKey

# What a sent series carries instead of its counts (whose shape its days and buckets give).
_NO_COUNTS = np.zeros((0, 0))


@dataclass(frozen=True)
class SentSeries:
    """Series whose counts wait in the file `path`: each series without its counts, and
    the byte offset of its counts there; `keys`, what each was looked up by."""

    path: str
    series: list[tuple[DailySeries, int]]
    keys: tuple = ()


def send(series: dict[Key, DailySeries]) -> SentSeries | dict[Key, DailySeries]:
    """The series, their counts written to a temporary file (the series as they are when no
    file can be written: the pool then pickles them whole)."""
    try:
        handle, path = tempfile.mkstemp(prefix="alerting-series-", suffix=".bin")
    except OSError:
        return series
    sent = []
    offset = 0
    try:
        with os.fdopen(handle, "wb") as out:
            for one in series.values():
                counts = np.ascontiguousarray(one.counts, dtype=np.float64)
                out.write(counts.data)
                sent.append((dataclasses.replace(one, counts=_NO_COUNTS), offset))
                offset += counts.nbytes
    except OSError:  # a full disk: the pipe it is
        discard(SentSeries(path, []))
        return series
    return SentSeries(path, sent, tuple(series))


def receive(sent: SentSeries | dict[Key, DailySeries]) -> dict[Key, DailySeries]:
    """The series `send` gave, their counts mapped from its file (which is removed)."""
    if not isinstance(sent, SentSeries):
        return sent
    try:
        with open(sent.path, "rb") as handle:
            memory = _mapped(handle)
    finally:
        discard(sent)
    received = {}
    for key, (one, offset) in zip(sent.keys, sent.series, strict=True):
        shape = (len(one.present), len(one.buckets))
        counts = np.frombuffer(memory, np.float64, shape[0] * shape[1], offset).reshape(shape)
        received[key] = dataclasses.replace(one, counts=counts)
    return received


def _mapped(handle) -> mmap.mmap | bytearray:
    """The file's bytes, mapped (private: its arrays may be changed), or read into memory
    where the file system cannot map files."""
    if not os.fstat(handle.fileno()).st_size:
        return bytearray()
    try:
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY)
    except (OSError, ValueError):
        return bytearray(handle.read())


def discard(sent: SentSeries | dict[SeriesKey, DailySeries]) -> None:
    """Remove the file of series that will not be received (or were: then it is gone). A
    file that cannot be removed (a system that keeps mapped files) is left to the temporary
    folder's cleaning rather than failing a read that succeeded."""
    if isinstance(sent, SentSeries):
        with contextlib.suppress(OSError):
            os.unlink(sent.path)
