"""Histogram texts of many rows -> their bucket entries as arrays, without parsing row by row.

Nearly every GLAM histogram is a plain JSON object of digit keys and integer counts. Such
texts are recognised all at once by a strict grammar (pyarrow's RE2 kernel), their bytes are
rewritten with one `bytes.translate` into one number a line (each text starting with an empty
line), and pyarrow's CSV reader turns those into one integer array: keys at even, counts at
odd places, texts apart where the empty lines were. No Python object is made per bucket.
Every other text (a bad count, a float, a negative or huge number, a repeated key, no JSON
at all, ...) is left to the row-by-row parse, which names what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alerting.data.arrow_arrays import (
    arrow_bools,
    arrow_numbers,
    arrow_strings_joined,
    numpy_bools,
    numpy_numbers,
)

# At most 18 digits: the number fits 64 bits (and converts to float as Python's would); a
# longer one is left to the row-by-row parse. Counts without leading zeros, as JSON wants.
_SPACE = "[ \t\n\r]*"  # JSON's whitespace
_KEY = '"[0-9]{1,18}"'
_COUNT = "(?:0|[1-9][0-9]{0,17})"
_ENTRY = f"{_SPACE}{_KEY}{_SPACE}:{_SPACE}{_COUNT}{_SPACE}"
PLAIN_GRAMMAR = f"^{_SPACE}\\{{(?:{_ENTRY}(?:,{_ENTRY})*|{_SPACE})\\}}{_SPACE}$"
# Braces, colons and commas end a line; quotes and whitespace go (before that translation).
_TO_LINES = bytes.maketrans(b"{}:,", b"\n\n\n\n")
_DROPPED = b'" \t\r\n'


@dataclass
class PlainHistograms:
    """The entries of the texts that are plain histograms, texts in order."""

    plain: np.ndarray  # bool per text: its entries are here
    starts: np.ndarray  # int64 per text: index of its first entry (plain texts)
    lengths: np.ndarray  # int64 per text: its entries (0 for the others)
    keys: np.ndarray  # uint64 per entry
    counts: np.ndarray  # uint64 per entry

    def entries_of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(keys, counts) of the entries of plain texts `rows` (ascending), in order."""
        lengths = self.lengths[rows]
        total = int(lengths.sum())
        if total == len(self.keys):  # every entry (rows without entries change nothing)
            return self.keys, self.counts
        ends = np.cumsum(lengths)
        index = np.repeat(self.starts[rows] - (ends - lengths), lengths)
        index += np.arange(total)
        return self.keys[index], self.counts[index]


def parse_plain(texts, max_entries: int) -> PlainHistograms | None:
    """The plain histograms among `texts` (a pyarrow string array; nulls are not plain), at
    most `max_entries` entries each and no key twice; None when `texts` holds no text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        return None
    matched = pc.match_substring_regex(texts, PLAIN_GRAMMAR)
    if matched.null_count:  # null texts: not plain
        matched = pc.and_kleene(matched, pc.is_valid(texts))
    plain = numpy_bools(matched)
    lengths = np.zeros(len(texts), dtype=np.int64)
    keys = counts = np.zeros(0, dtype=np.uint64)
    if plain.any():
        chosen = texts if plain.all() else texts.filter(arrow_bools(plain))
        found = _entries(_lines(chosen), len(chosen))
        if found is None:  # not expected: the grammar promises numbers
            plain[:] = False
        else:
            lengths[plain], values = found
            keys, counts = values[0::2], values[1::2]
    starts = np.cumsum(lengths) - lengths
    odd = plain & ((lengths > max_entries) | _repeated_key(keys, starts, lengths))
    if odd.any():
        plain &= ~odd
        lengths[odd] = 0
        kept = np.flatnonzero(plain)
        keys, counts = PlainHistograms(plain, starts, lengths, keys, counts).entries_of(kept)
        starts = np.cumsum(lengths) - lengths
    return PlainHistograms(plain, starts, lengths, keys, counts)


def _lines(texts) -> bytes:
    """The texts' bytes with one number a line. Each text starts with an empty line (its
    opening brace), an empty histogram has a second one (its closing brace)."""
    import pyarrow as pa

    wide = pa.types.is_large_string(texts.type)
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int64 if wide else np.int32)
    start, end = int(offsets[texts.offset]), int(offsets[texts.offset + len(texts)])
    data = texts.buffers()[2].slice(start, end - start).to_pybytes()
    return data.translate(_TO_LINES, _DROPPED)


def _entries(lines: bytes, texts: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(entries per text, the numbers: key, count, key, ...) of `texts` texts turned into
    `lines`, by pyarrow's CSV reader: one uint64 column, empty lines read as nulls."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    read = pcsv.ReadOptions(column_names=["n"], use_threads=False, block_size=1 << 24)
    parse = pcsv.ParseOptions(quote_char=False, escape_char=False, ignore_empty_lines=False)
    convert = pcsv.ConvertOptions(column_types={"n": pa.uint64()}, null_values=[""])
    try:
        column = pcsv.read_csv(
            pa.py_buffer(lines), read_options=read, parse_options=parse, convert_options=convert
        ).column("n")
    except pa.ArrowInvalid:
        return None
    empty = np.flatnonzero(np.concatenate([~numpy_bools(pc.is_valid(c)) for c in column.chunks]))
    numbers = np.concatenate([numpy_numbers(pc.drop_null(c), np.uint64) for c in column.chunks])
    # Numbers after each empty line: 2n for a text of n entries, 0 twice for an empty text
    # (so a run of zeros has an even length: its first, third, ... zero is a text).
    after = np.diff(empty, append=len(column)) - 1
    zero = after == 0
    per_text = after[~zero | (np.cumsum(zero) % 2 == 1)] // 2
    if len(per_text) != texts or 2 * per_text.sum() != len(numbers):
        return None
    return per_text, numbers


def _repeated_key(keys: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per text: whether a key value is there twice (`"1"` twice, or `"1"` and `"01"`). Keys
    in ascending order need no more than one comparison each; other texts are sorted."""
    repeated = np.zeros(len(lengths), dtype=bool)
    if len(keys) < 2:
        return repeated
    rising = keys[1:] > keys[:-1]
    rising[(starts[lengths > 0] - 1)[1:]] = True  # across the border of two texts
    if rising.all():
        return repeated
    entry_text = np.repeat(np.arange(len(lengths)), lengths)
    unsorted = np.zeros(len(lengths), dtype=bool)
    unsorted[entry_text[1:][~rising]] = True
    entries = unsorted[entry_text]
    text, key = entry_text[entries], keys[entries]
    order = np.lexsort((key, text))
    text, key = text[order], key[order]
    same = (text[1:] == text[:-1]) & (key[1:] == key[:-1])
    repeated[text[1:][same]] = True
    return repeated


class _Parsed:
    def __repr__(self) -> str:
        return "PARSED"


# In a batch's list of histogram texts: a plain histogram, whose entries were parsed in bulk.
PARSED = _Parsed()


def parsed_column(column, max_entries: int) -> tuple[list, PlainHistograms | None]:
    """A batch's histogram texts (a list of values, or a pyarrow string array) as a list in
    which each plain histogram is PARSED, and the entries of those (None: nothing parsed)."""
    if isinstance(column, list):
        return _parsed_list(column, max_entries)
    parsed = parse_plain(column, max_entries)
    if parsed is None or not parsed.plain.any():
        return column.to_pylist(), None
    values = [PARSED] * len(column)
    others = np.flatnonzero(~parsed.plain)
    if len(others):
        texts = column.take(arrow_numbers(others)).to_pylist()
        for i, text in zip(others.tolist(), texts, strict=True):
            values[i] = text
    return values, parsed


def _parsed_list(column: list, max_entries: int) -> tuple[list, PlainHistograms | None]:
    """`parsed_column` of texts that are Python values already (from JSON lines): joined
    into one array through its buffers (texts that are not text join as empty ones, which
    are not plain), unless a text is not ASCII (its bytes would not be where its characters
    are: then none is parsed in bulk)."""
    texts = [value if type(value) is str else "" for value in column]
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    try:
        data = "".join(texts).encode()
    except UnicodeEncodeError:  # a lone surrogate (JSON allows "\ud800"): not plain anyway
        return column, None
    if len(data) != int(lengths.sum()) or len(data) >= 2**31:
        return column, None
    parsed = parse_plain(arrow_strings_joined(data, lengths), max_entries)
    if parsed is None or not parsed.plain.any():
        return column, None
    plain = parsed.plain.tolist()
    return [PARSED if p else value for p, value in zip(plain, column, strict=True)], parsed


def distinct(values: np.ndarray) -> tuple[list[int], np.ndarray]:
    """The distinct values of an integer array (as Python ints), and for each value the
    index of its own among them: by hashing, much faster than sorting (`numpy.unique`)."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(arrow_numbers(values))
    return encoded.dictionary.to_pylist(), numpy_numbers(encoded.indices, np.int32)


# Arrays go between numpy and pyarrow through their buffers: `pyarrow.array` and `to_numpy`
# would import pandas (a third of a second) on their first call.
