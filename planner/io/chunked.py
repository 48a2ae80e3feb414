"""Large CSV files read in chunks: bounded memory, the same checks and row numbers as a whole read.

A file past ``ReadLimits.stream_above_bytes`` is never held whole in memory
(neither its bytes nor its decoded text): its first megabyte gives the
encoding, the delimiter and the header; then pandas' C parser reads it from
the open file ``chunk_rows`` records at a time. Each chunk is numbered as the
user sees the rows, checked for the row limit, over-long cells and quotes
never closed, and kept with its repeated text as categories
(:mod:`planner.io.compact`); the chunks are joined one column at a time, so
the table is never held twice. The problems of all chunks are reported once,
as a whole read reports them. Files the chunked reader does not handle the same
way (UTF-16, not UTF-8 past the first megabyte, ragged rows, a number column
that holds text in some chunks only) are read whole by
:func:`planner.io.delimited.read_delimited`, within the same limits.
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import pandas as pd

from planner.errors import Problem
from planner.geo.columns import Kind, normalise_name
from planner.io.compact import ColumnPieces
from planner.io.delimited import (
    NUMERIC_ALIASES,
    csv_table,
    cut_off_last_row,
    delimiter_of,
    long_cell_problems,
    long_cells,
    read_delimited,
    sample_records,
    swallowed_problem,
)
from planner.io.limits import ReadLimits, describe_binary
from planner.io.table import (
    InputFile,
    RawTable,
    Unreadable,
    check_row_count,
    empty_file_problem,
    find_header,
    finish_rows,
    header_names,
    unreadable_table,
)
from planner.io.text import guess_utf16, quote_swallowed_mask

__all__ = ["input_size", "read_delimited_chunked"]

logger = logging.getLogger(__name__)

_HEAD = 1 << 20  # bytes read to find the encoding, delimiter and header
_TAIL = 1 << 16  # bytes read from the end to see whether the last row is cut off


class _ReadWhole(Exception):
    """The chunked reader hands the file to the whole-file reader."""


def input_size(inp: InputFile) -> int:
    """Return the size of the file in bytes (on disk or in memory)."""
    if inp.data is not None:
        return len(inp.data)
    assert inp.path is not None
    return os.path.getsize(inp.path)


def read_delimited_chunked(
    inp: InputFile,
    *,
    kinds: tuple[Kind, ...],
    extra: tuple[str, ...],
    encoding: str | None,
    limits: ReadLimits,
) -> RawTable:
    """Read a delimited text file in chunks of ``limits.chunk_rows`` records.

    Gives the same :class:`RawTable` (rows, row numbers, problems) as
    :func:`~planner.io.delimited.read_delimited`, holding at most the table
    being built and one chunk, never the file's bytes or text.
    """
    try:
        return _read(inp, kinds=kinds, extra=extra, encoding=encoding, limits=limits)
    except _ReadWhole as why:
        logger.info("%s: read whole (%s)", inp.name, why)
        return read_delimited(inp, kinds=kinds, extra=extra, encoding=encoding, limits=limits)


def _read(
    inp: InputFile,
    *,
    kinds: tuple[Kind, ...],
    extra: tuple[str, ...],
    encoding: str | None,
    limits: ReadLimits,
) -> RawTable:
    enc: str | None = None
    try:
        with _opened(inp) as raw:
            head = raw.read(_HEAD)
            if not head.strip():
                return unreadable_table(inp, "csv", empty_file_problem())
            enc = _encoding(head, encoding)
            head_text = head.decode(enc, errors="replace")
            if len(head) == _HEAD:  # the file goes on: keep whole lines only
                head_text = _whole_lines(head_text)
            delimiter, skip = delimiter_of(head_text, inp.suffix)
            sample = sample_records(head_text, delimiter, skip, limits)
            h = find_header(sample, kinds, extra)
            if h is None:
                return unreadable_table(inp, "csv", empty_file_problem(), encoding=enc)
            header_row = skip + h + 1
            problems: list[Problem] = []
            names = header_names(sample[h], header_row, limits, problems)
            raw.seek(0)
            text = io.TextIOWrapper(raw, encoding=enc, newline="")
            frame, found = _parse_chunks(text, delimiter, names, header_row, limits)
            text.detach()
    except Unreadable as exc:
        return unreadable_table(inp, "csv", exc.problem, encoding=enc)
    frame = finish_rows(frame, header_row)
    problems.extend(found)
    cut = cut_off_last_row(frame, _tail(inp, enc), delimiter)
    if cut is not None:
        problems.append(cut)
    return csv_table(inp, frame, enc, header_row, delimiter, problems)


@contextmanager
def _opened(inp: InputFile) -> Iterator[BinaryIO]:
    if inp.data is not None:
        yield io.BytesIO(inp.data)
        return
    assert inp.path is not None
    with inp.path.open("rb") as fh:
        yield fh


def _encoding(head: bytes, given: str | None) -> str:
    """UTF-8 (with or without a mark) or the encoding given; anything else is read whole."""
    if given is not None:
        return given
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or guess_utf16(head) is not None:
        raise _ReadWhole("UTF-16 text")
    if describe_binary(head[:4096]) is not None:
        raise _ReadWhole("not text")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut at the end of the head
            raise _ReadWhole("not UTF-8") from exc
    return "utf-8-sig"


def _whole_lines(text: str) -> str:
    end = text.rfind("\n")
    return text if end < 0 else text[: end + 1]


def _parse_chunks(
    text: io.TextIOWrapper, delimiter: str, names: list[str], header_row: int, limits: ReadLimits
) -> tuple[pd.DataFrame, list[Problem]]:
    """Read every record below the header, chunk by chunk, checking and compacting each chunk."""
    numeric = [n for n in names if normalise_name(n) in NUMERIC_ALIASES]
    pieces = ColumnPieces(names)
    long: dict[str, list[int]] = {}
    swallowed: list[int] = []
    n = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            for chunk in pd.read_csv(
                text,
                sep=delimiter,
                header=None,
                names=names,
                skiprows=header_row,
                dtype={c: str for c in names if c not in numeric},
                keep_default_na=False,
                na_values={c: [""] for c in numeric},
                skip_blank_lines=False,
                index_col=False,
                engine="c",
                nrows=limits.max_rows + 1,
                chunksize=limits.chunk_rows,
            ):
                chunk.index = pd.RangeIndex(header_row + 1 + n, header_row + 1 + n + len(chunk))
                n += len(chunk)
                check_row_count(n, header_row, limits)
                for col, rows in long_cells(chunk, limits).items():
                    long.setdefault(col, []).extend(rows)
                hit = quote_swallowed_mask(chunk, delimiter)
                swallowed.extend(int(i) for i in chunk.index[hit.to_numpy(dtype=bool)])
                pieces.add(chunk)
                del chunk
    except UnicodeDecodeError as exc:  # a ValueError too: caught first
        raise _ReadWhole("not UTF-8 past the first megabyte") from exc
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError) as exc:
        raise _ReadWhole(f"ragged rows ({exc})") from exc
    _same_kinds(pieces, numeric)
    frame = pieces.join()
    found = long_cell_problems(long, limits)
    quote = swallowed_problem(swallowed)
    return frame, found if quote is None else [*found, quote]


def _same_kinds(pieces: ColumnPieces, numeric: list[str]) -> None:
    """Hand over to a whole read when a number column is numbers in some chunks, text in others.

    A whole read keeps such a column as text, values as written; joining
    chunks would mix parsed numbers (``inf`` for ``1e999``) with text.
    """
    for col in numeric:
        if len(pieces.kinds(col)) > 1:
            raise _ReadWhole(f"column {col!r} holds numbers in some chunks and text in others")


def _tail(inp: InputFile, encoding: str | None) -> str:
    """The end of the file as text (enough to hold its last line)."""
    if inp.data is not None:
        data = inp.data[-_TAIL:]
    else:
        assert inp.path is not None
        with inp.path.open("rb") as fh:
            fh.seek(max(0, os.path.getsize(inp.path) - _TAIL))
            data = fh.read()
    return data.decode(encoding or "utf-8", errors="replace")
