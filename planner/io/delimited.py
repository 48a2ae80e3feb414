"""CSV and other delimited text: encodings, delimiters, the header, ragged and cut-off rows.

pandas' C parser reads the records (fast); the csv module takes over for
ragged rows. Around it: the encoding is detected (UTF-8, UTF-16 with or
without a byte-order mark, Windows-1252, Latin-1), files that are not text
are refused, and cells past the limits, quotes never closed and a last row
cut off are reported with their rows.
"""

from __future__ import annotations

import csv
import io
import logging
import warnings
from collections.abc import Mapping, Sequence
from itertools import islice

import numpy as np
import pandas as pd

from planner import schema as s
from planner.errors import Problem
from planner.geo.columns import ALIASES, KINDS, Kind, normalise_name
from planner.io.limits import ReadLimits, describe_binary
from planner.io.table import (
    MAX_ROWS,
    InputFile,
    RawTable,
    Unreadable,
    cell_text,
    check_row_count,
    empty_file_problem,
    find_header,
    finish_rows,
    header_names,
    header_only_problem,
    unreadable_table,
)
from planner.io.text import guess_utf16, quote_swallowed_mask

__all__ = [
    "NUMERIC_ALIASES",
    "csv_table",
    "cut_off_last_row",
    "delimiter_of",
    "long_cell_problems",
    "long_cells",
    "read_delimited",
    "sample_records",
    "swallowed_problem",
]

logger = logging.getLogger(__name__)


def _decode(data: bytes, encoding: str | None) -> tuple[str, str, list[Problem]]:
    if encoding is not None:
        try:
            return data.decode(encoding), encoding, []
        except (UnicodeDecodeError, LookupError) as exc:
            raise Unreadable(
                Problem(
                    f"the file cannot be decoded as {encoding}: {exc}",
                    fix="pass the right encoding= or save the file as UTF-8",
                )
            ) from exc
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return _decode_utf16(data, "utf-16", [])
    utf16 = guess_utf16(data)
    if utf16 is not None:
        note = Problem(
            f"the file has no byte-order mark but its bytes are {utf16.upper()}; "
            "it was read as such",
            fix="check that the names look right; save the file as UTF-8 to be sure",
            severity="warning",
        )
        return _decode_utf16(data, utf16, [note])
    binary = describe_binary(data[:4096])
    if binary is not None:
        raise Unreadable(
            Problem(
                f"the file is {binary}, not a table of text",
                fix="choose the right file, or export the table as CSV or XLSX",
            )
        )
    try:
        return data.decode("utf-8-sig"), "utf-8", []
    except UnicodeDecodeError:
        pass
    for fallback, label in (("cp1252", "Windows-1252"), ("latin-1", "Latin-1")):
        try:
            text = data.decode(fallback)
        except UnicodeDecodeError:
            continue
        note = Problem(
            f"the file is not UTF-8; it was read as {label} ({fallback})",
            fix="check that accented names look right; save the file as UTF-8 to be sure",
            severity="warning",
        )
        return text, fallback, [note]
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _decode_utf16(
    data: bytes, encoding: str, notes: list[Problem]
) -> tuple[str, str, list[Problem]]:
    try:
        return data.decode(encoding), encoding, notes
    except UnicodeDecodeError as exc:
        raise Unreadable(
            Problem(
                f"the file looks like UTF-16 text but cannot be decoded ({exc.reason} "
                f"at byte {exc.start})",
                fix="save the file again as UTF-8 CSV",
            )
        ) from exc


def _sniff_delimiter(text: str, suffix: str) -> str:
    if suffix in {".tsv", ".tab"}:
        return "\t"
    lines = [ln for ln in islice(io.StringIO(text), 50) if ln.strip()]
    best, best_score = ",", 0.0
    for delim in (",", ";", "\t", "|"):
        try:
            counts = [len(r) for r in csv.reader(lines, delimiter=delim)]
        except csv.Error:  # a field past the csv module's limit: not this delimiter
            continue
        if not counts:
            continue
        score = float(np.median(counts))
        if score > best_score:
            best, best_score = delim, score
    return best


def read_delimited(
    inp: InputFile,
    *,
    kinds: tuple[Kind, ...],
    extra: tuple[str, ...],
    encoding: str | None,
    limits: ReadLimits,
) -> RawTable:
    data = inp.read_bytes()
    if not data.strip():
        return unreadable_table(inp, "csv", empty_file_problem())
    enc: str | None = None
    try:
        text, enc, problems = _decode(data, encoding)
        delimiter, skip = delimiter_of(text, inp.suffix)
        sample = sample_records(text, delimiter, skip, limits)
        h = find_header(sample, kinds, extra)
        if h is None:
            return unreadable_table(inp, "csv", empty_file_problem(), encoding=enc)
        header_row = skip + h + 1
        names = header_names(sample[h], header_row, limits, problems)
        frame, ragged = _parse_csv(text, delimiter, names, header_row, limits)
    except Unreadable as exc:
        return unreadable_table(inp, "csv", exc.problem, encoding=enc)
    problems.extend(ragged)
    frame = finish_rows(frame, header_row)
    problems.extend(_cell_problems(frame, text, delimiter, limits))
    return csv_table(inp, frame, enc, header_row, delimiter, problems)


def csv_table(
    inp: InputFile,
    frame: pd.DataFrame,
    encoding: str,
    header_row: int,
    delimiter: str,
    problems: list[Problem],
) -> RawTable:
    """The raw table of a parsed CSV file; one with a header only is not readable."""
    table = RawTable(
        inp.name,
        "csv",
        frame,
        encoding=encoding,
        header_row=header_row,
        decimal_comma=delimiter == ";",
        problems=problems,
    )
    if frame.empty:
        table.problems.append(header_only_problem(header_row))
        table.readable = False
    return table


def delimiter_of(text: str, suffix: str) -> tuple[str, int]:
    """Return the delimiter and how many lines to skip (1 after Excel's ``sep=`` hint)."""
    first = text[: text.find("\n")].strip() if "\n" in text[:200] else text[:200].strip()
    if first.lower().startswith("sep=") and len(first) == 5:  # Excel's delimiter hint
        return first[4], 1
    return _sniff_delimiter(text, suffix), 0


def _too_long_cell(line: int, limit: int) -> Unreadable:
    return Unreadable(
        Problem(
            f"a cell is longer than the csv reader's limit of {limit:,} characters "
            "(or a quote is never closed)",
            rows=(line,),
            fix='check the row for a stray quote ("), shorten the cell, or export the file again',
        )
    )


def sample_records(text: str, delimiter: str, skip: int, limits: ReadLimits) -> list[list[str]]:
    """Read the first records (for the header), refusing cells past the csv module's limit."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        return list(islice(reader, skip + 50))[skip:]
    except csv.Error as exc:
        raise _too_long_cell(max(reader.line_num, 1), csv.field_size_limit()) from exc


def _cell_problems(
    frame: pd.DataFrame, text: str, delimiter: str, limits: ReadLimits
) -> list[Problem]:
    """Report over-long cells, quotes never closed and a last row cut off."""
    problems = long_cell_problems(long_cells(frame, limits), limits)
    swallowed = quote_swallowed_mask(frame, delimiter) if '"' in text else None
    if swallowed is not None:
        quote = swallowed_problem(frame.index[swallowed.to_numpy(dtype=bool)])
        if quote is not None:
            problems.append(quote)
    cut = cut_off_last_row(frame, text, delimiter)
    if cut is not None:
        problems.append(cut)
    return problems


def long_cells(frame: pd.DataFrame, limits: ReadLimits) -> dict[str, list[int]]:
    """Return the rows (as numbered in ``frame.index``) of over-long cells, by column."""
    found: dict[str, list[int]] = {}
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        if pd.api.types.is_string_dtype(values) and not pd.api.types.is_object_dtype(values):
            lengths = values.str.len().fillna(0)
        else:
            lengths = values.map(lambda v: len(v) if isinstance(v, str) else 0)
        long = lengths > limits.max_cell_chars
        if long.any():
            found[str(col)] = [int(i) for i in frame.index[long.to_numpy(dtype=bool)]]
    return found


def long_cell_problems(found: Mapping[str, Sequence[int]], limits: ReadLimits) -> list[Problem]:
    """One problem per column with cells past ``limits.max_cell_chars``."""
    return [
        Problem(
            f"{len(rows)} cells are longer than {limits.max_cell_chars:,} characters",
            rows=tuple(rows[:MAX_ROWS]),
            column=col,
            fix="shorten these cells (a notes field?) or leave the column out; or raise "
            "ReadLimits(max_cell_chars=...)",
        )
        for col, rows in found.items()
    ]


def swallowed_problem(rows: Sequence[int] | pd.Index) -> Problem | None:
    """The problem of rows that swallowed the following lines after a quote never closed."""
    if len(rows) == 0:
        return None
    return Problem(
        'a quote (") is opened and never closed, so the following lines were read '
        "into one cell of this row",
        rows=tuple(int(i) for i in rows[:MAX_ROWS]),
        fix="remove the stray quote or close it, then save the file again",
    )


def cut_off_last_row(frame: pd.DataFrame, text: str, delimiter: str) -> Problem | None:
    """A file that ends without a line break may have lost the end of its last row.

    ``text`` is the file's text, or its end (enough to hold the last line).
    """
    if frame.empty or text.endswith(("\n", "\r")):
        return None
    last_line = text[text.rfind("\n") + 1 :]
    try:
        fields = next(csv.reader([last_line], delimiter=delimiter), [])
    except csv.Error:
        return None
    row = int(frame.index[-1])
    fix = (
        "export the file again (it looks cut off); if the row is complete, "
        "add a line break at the end of the file"
    )
    if 0 < len(fields) < len(frame.columns):
        return Problem(
            f"the file ends in the middle of its last row: it has {len(fields)} of "
            f"{len(frame.columns)} values",
            rows=(row,),
            column=str(frame.columns[len(fields) - 1]),
            fix=fix,
        )
    col = frame.columns[-1]
    cells = frame[col]
    if isinstance(cells.dtype, pd.CategoricalDtype):  # a chunked read's repeated text
        cells = cells.astype(object)
    lengths = cells.map(lambda v: len(str(v)) if cell_text(v) is not None else None)
    others = lengths.iloc[:-1].dropna()
    last = lengths.iloc[-1]
    if len(others) >= 5 and last is not None and last == last and last < others.min():
        return Problem(
            f"the file ends without a line break and its last value "
            f"'{cell_text(frame[col].iloc[-1])}' is shorter than every other value of the "
            "column: the row looks cut off",
            rows=(row,),
            column=str(col),
            fix=fix,
        )
    return None


NUMERIC_ALIASES = frozenset(
    alias
    for kind in KINDS
    for target, aliases in ALIASES[kind].items()
    if target
    in {
        s.LATITUDE,
        s.LONGITUDE,
        s.HOME_LATITUDE,
        s.HOME_LONGITUDE,
        s.ANNUAL_REVENUE,
        s.VISITS_PER_MONTH,
        s.VISIT_MINUTES,
        s.CAPACITY_H_PER_WEEK,
    }
    for alias in aliases
)


def _parse_csv(
    text: str, delimiter: str, names: list[str], header_row: int, limits: ReadLimits
) -> tuple[pd.DataFrame, list[Problem]]:
    """Parse the records below the header: pandas' fast parser, csv's on ragged rows."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            # Coordinate and amount columns are parsed by pandas (fast); every
            # other column stays text so ids and ZIP codes keep their zeros.
            numeric = [n for n in names if normalise_name(n) in NUMERIC_ALIASES]
            frame = pd.read_csv(
                io.StringIO(text),
                sep=delimiter,
                header=None,
                names=names,
                skiprows=header_row,
                dtype={n: str for n in names if n not in numeric},
                keep_default_na=False,
                na_values={n: [""] for n in numeric},
                skip_blank_lines=False,
                index_col=False,
                engine="c",
                nrows=limits.max_rows + 1,
            )
        check_row_count(len(frame), header_row, limits)
        return frame, []
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError):
        logger.info("falling back to the csv module for ragged rows")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        records = list(islice(reader, header_row + limits.max_rows + 1))[header_row:]
    except csv.Error as exc:
        raise _too_long_cell(max(reader.line_num, 1), csv.field_size_limit()) from exc
    check_row_count(len(records), header_row, limits)
    width = len(names)
    too_long = [
        header_row + 1 + i
        for i, r in enumerate(records)
        if len(r) > width and any(v.strip() for v in r[width:])
    ]
    rows = [(r + [""] * (width - len(r)))[:width] for r in records]
    frame = pd.DataFrame(rows, columns=names, dtype=object)
    problems = []
    if too_long:
        problems.append(
            Problem(
                f"{len(too_long)} rows have more values than the header has column names; "
                "the extra values were ignored",
                rows=tuple(too_long[:MAX_ROWS]),
                fix=f"quote values that contain '{delimiter}', or add a name for the extra column",
                severity="warning",
            )
        )
    return frame, problems
