"""Open an input file (path, bytes or upload) and read its raw table, numbered as the user sees it.

This is the file layer under :mod:`planner.geo.io`: it knows formats (CSV and
other delimited text, XLSX, GeoJSON, GeoPackage, zipped Shapefiles, Parquet),
encodings, header rows and coordinate reference systems, and nothing about
what the columns mean beyond finding the header. Problems are collected in
the returned :class:`RawTable`; nothing here raises for a bad file.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import tempfile
import warnings
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

import geopandas as gpd
import numpy as np
import pandas as pd

from planner import schema as s
from planner.errors import InputError, Problem
from planner.geo.columns import ALIASES, KINDS, Kind, header_score, normalise_name
from planner.io.geometry import looks_projected
from planner.io.limits import (
    DEFAULT_LIMITS,
    ReadLimits,
    check_file_size,
    describe_binary,
    gunzip,
    read_zip_member,
)
from planner.io.text import guess_utf16, quote_swallowed_mask

__all__ = [
    "MAX_ROWS",
    "ColumnMap",
    "InputFile",
    "RawTable",
    "Source",
    "Unreadable",
    "cell_text",
    "column_text",
    "name_of",
    "open_input",
    "read_table",
]

logger = logging.getLogger(__name__)

#: What the readers accept: a path, raw bytes, or a binary file object
#: (such as an uploaded file). Bytes and nameless file objects need
#: ``filename=`` so the format is known.
Source = str | os.PathLike[str] | bytes | bytearray | BinaryIO

ColumnMap = Mapping[str, str | None]

#: Row numbers kept per problem; the problem's message gives the full count.
MAX_ROWS = 1000
_HEADER_SCAN = 20  # rows searched for the header
_TABULAR = {".csv", ".txt", ".tsv", ".tab"}
_EXCEL = {".xlsx", ".xlsm"}
_PARQUET = {".parquet", ".geoparquet", ".pq"}
_VECTOR = {".geojson", ".json", ".gpkg", ".shp", ".fgb", ".gml", ".kml"}
_READABLE = _TABULAR | _EXCEL | _PARQUET | _VECTOR | {".zip", ".gz"}


class Unreadable(Exception):
    """The input cannot be read at all; carries the problem to report."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass(frozen=True)
class InputFile:
    """An input file, on disk or in memory.

    Parameters
    ----------
    name
        The name shown in messages (the path, or the upload's file name).
    suffix
        Lower-case extension that decides the format, e.g. ``".csv"``.
    path
        Where the file is, for files on disk.
    data
        The file's bytes, for in-memory input.
    """

    name: str
    suffix: str
    path: Path | None = None
    data: bytes | None = None

    def read_bytes(self) -> bytes:
        """Return the file's content."""
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()

    @contextmanager
    def local_path(self) -> Iterator[Path]:
        """Yield a path to the file, writing in-memory data to a temporary file."""
        if self.path is not None:
            yield self.path
            return
        with tempfile.TemporaryDirectory(prefix="planner-io-") as tmp:
            path = Path(tmp) / f"input{self.suffix}"
            path.write_bytes(self.read_bytes())
            yield path


def name_of(source: object) -> str:
    """Return a display name for a source: its path, its ``name`` or ``"<upload>"``."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    name = getattr(source, "name", None)
    return str(name) if isinstance(name, str) else "<upload>"


def open_input(
    source: Source, filename: str | None, *, limits: ReadLimits = DEFAULT_LIMITS
) -> InputFile:
    """Wrap a path, bytes or a binary file object as an :class:`InputFile`.

    Parameters
    ----------
    source
        What to read.
    filename
        The file name to use for the format and in messages; required for bytes
        and for file objects without a ``name``.
    limits
        ``max_file_bytes`` is checked here, before anything is read.

    Raises
    ------
    Unreadable
        If the path does not exist, is a folder, is too large, or in-memory
        input has no name.
    """
    try:
        return _open_input(source, filename, limits)
    except InputError as exc:
        raise Unreadable(exc.problems[0]) from exc


def _open_input(source: Source, filename: str | None, limits: ReadLimits) -> InputFile:
    if isinstance(source, (str, os.PathLike)):
        path = Path(os.fspath(source))
        name = filename or str(path)
        if not path.exists():
            raise Unreadable(
                Problem(
                    f"there is no file '{path}'",
                    fix="check the path and the file name",
                )
            )
        if path.is_dir():
            raise Unreadable(
                Problem(f"'{path}' is a folder, not a file", fix="give the path of a file")
            )
        check_file_size(path.stat().st_size, limits, name=name)
        return InputFile(name=name, suffix=_suffix(filename or path.name), path=path)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)
        raw = source.read(limits.max_file_bytes + 1)
        data = raw.encode() if isinstance(raw, str) else bytes(raw)
    else:
        raise Unreadable(
            Problem(
                f"cannot read input of type {type(source).__name__}",
                fix="pass a path, bytes or a binary file object",
            )
        )
    name = filename or name_of(source)
    check_file_size(len(data), limits, name=name)
    if name == "<upload>":
        raise Unreadable(
            Problem(
                "in-memory input has no file name, so its format is unknown",
                fix="pass filename='accounts.csv' (or .xlsx, .geojson, .gpkg, .zip, .parquet)",
            )
        )
    return InputFile(name=Path(name).name, suffix=_suffix(name), data=data)


def _suffix(name: str) -> str:
    return Path(name).suffix.lower()


# --------------------------------------------------------------------------- tables


@dataclass
class RawTable:
    """A file's content before checking: raw cells indexed by the user's row numbers.

    Parameters
    ----------
    name
        The file's display name.
    file_format
        ``csv``, ``xlsx``, ``geojson``, ``gpkg``, ``shapefile``, ``parquet``...
    frame
        The attribute cells, as read (text for CSV, typed values otherwise),
        indexed by row number; blank rows are dropped.
    geometry
        The shapes in EPSG:4326, aligned with ``frame``; ``None`` when the file
        has none.
    geometry_unusable
        The file has shapes that cannot be placed (no CRS and not lon/lat).
    encoding
        The text encoding used, for text files.
    header_row
        The row holding the column names, for CSV and XLSX files.
    decimal_comma
        Whether numbers may use a decimal comma (a ``;``-delimited file).
    problems
        What went wrong or was guessed while reading.
    readable
        ``False`` when there are no rows to check (empty, damaged, unsupported).
    """

    name: str
    file_format: str
    frame: pd.DataFrame
    geometry: gpd.GeoSeries | None = None  # in EPSG:4326, aligned with frame
    geometry_unusable: bool = False  # geometry exists but could not be placed (no CRS)
    encoding: str | None = None
    header_row: int | None = None
    decimal_comma: bool = False
    problems: list[Problem] = field(default_factory=list)
    readable: bool = True

    def geometry_kind(self) -> str | None:
        """Return ``"Point"``, ``"Polygon"`` (the most common type) or ``None``."""
        if self.geometry is None:
            return None
        types = self.geometry.dropna().geom_type
        if types.empty:
            return None
        top = str(types.mode().iloc[0])
        return "Polygon" if "Polygon" in top else "Point" if "Point" in top else top


def _unreadable_table(inp: InputFile, fmt: str, problem: Problem, **kw: Any) -> RawTable:
    return RawTable(
        inp.name,
        fmt,
        pd.DataFrame(),
        problems=[*kw.pop("problems", []), problem],
        readable=False,
        **kw,
    )


def read_table(
    inp: InputFile,
    *,
    kinds: tuple[Kind, ...],
    columns: ColumnMap | None,
    sheet: str | int | None,
    layer: str | None,
    encoding: str | None,
    crs: Any,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> RawTable:
    """Read a file's raw table, whatever its format; problems are collected, not raised.

    Parameters
    ----------
    inp
        The file.
    kinds
        The table kinds whose column names help find the header row.
    columns
        The caller's column mapping; its source names also mark the header.
    sheet, layer, encoding, crs, limits
        See :func:`planner.geo.io.validate_file`.
    """
    suffix = inp.suffix
    extra = tuple(columns or ())
    options: dict[str, Any] = {
        "columns": columns,
        "sheet": sheet,
        "layer": layer,
        "encoding": encoding,
    }
    if suffix == ".gz":
        return _read_gzip(inp, kinds=kinds, crs=crs, limits=limits, **options)
    if suffix in _TABULAR:
        return _read_delimited(inp, kinds=kinds, extra=extra, encoding=encoding, limits=limits)
    if suffix in _EXCEL:
        return _read_excel(inp, kinds=kinds, extra=extra, sheet=sheet, limits=limits)
    if suffix == ".xls":
        return _unreadable_table(
            inp,
            "xls",
            Problem(
                "old Excel 97-2003 (.xls) workbooks are not supported",
                fix="open it in Excel or LibreOffice and save it as .xlsx or CSV",
            ),
        )
    if suffix in _PARQUET:
        return _read_parquet(inp, crs=crs)
    if suffix == ".zip":
        return _read_zip(inp, kinds=kinds, crs=crs, limits=limits, **options)
    if suffix in _VECTOR:
        with inp.local_path() as path:
            return _read_vector(path, inp.name, kinds=kinds, layer=layer, crs=crs)
    return _unreadable_table(
        inp,
        suffix.lstrip("."),
        Problem(
            f"files of type '{suffix or '(none)'}' cannot be read",
            fix="use CSV, XLSX, GeoJSON, GeoPackage (.gpkg), Parquet or a zipped Shapefile",
        ),
    )


def _read_gzip(
    inp: InputFile, *, kinds: tuple[Kind, ...], crs: Any, limits: ReadLimits, **options: Any
) -> RawTable:
    """Read a gzip-compressed file (``accounts.csv.gz``) as the file inside it."""
    inner = _suffix(Path(inp.name).stem)
    try:
        data = gunzip(inp.read_bytes(), limits, name=inp.name)
    except InputError as exc:
        return _unreadable_table(inp, "gzip", exc.problems[0])
    if inner in {".gz", ".zip"}:
        return _unreadable_table(
            inp,
            "gzip",
            Problem(
                f"the gzip file holds another compressed file ({inner})",
                fix="unpack the file and give the table inside it",
            ),
        )
    nested = InputFile(name=inp.name, suffix=inner or ".csv", data=data)
    return read_table(nested, kinds=kinds, crs=crs, limits=limits, **options)


def _empty_file_problem() -> Problem:
    return Problem(
        "the file is empty",
        fix="export the file again, with a header row and at least one data row",
    )


def _header_only_problem(header_row: int) -> Problem:
    return Problem(
        "the file has column names but no data rows below them",
        rows=(header_row,),
        fix="add at least one data row below the header, or choose the right file or sheet",
    )


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


def _find_header(
    rows: Sequence[Sequence[object]], kinds: tuple[Kind, ...], extra: tuple[str, ...]
) -> int | None:
    """Return the position of the header among the first rows (None if all are empty).

    The header is the first row with at least half as many known column names
    as the best row: titles above a table score low, and data values that
    happen to look like column names (``x``, ``zip``) do not beat the header.
    """
    extra_norm = {normalise_name(e) for e in extra}
    scores: list[tuple[int, int]] = []
    for i, row in enumerate(rows[:_HEADER_SCAN]):
        if not any(cell_text(v) for v in row):
            continue
        score = header_score(row, kinds) + sum(
            1 for v in row if isinstance(v, str) and normalise_name(v) in extra_norm
        )
        scores.append((i, score))
    if not scores:
        return None
    best = max(score for _, score in scores)
    if best == 0:
        return scores[0][0]
    return next(i for i, score in scores if 2 * score >= best)


def _unique_names(header: Sequence[object]) -> list[str]:
    names: list[str] = []
    seen: dict[str, int] = {}
    for j, v in enumerate(header):
        name = cell_text(v) or f"column_{j + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        seen.setdefault(name, 1)
        names.append(name)
    return names


def _finish_rows(frame: pd.DataFrame, header_row: int) -> pd.DataFrame:
    """Number rows as the user sees them and drop blank rows and blank unnamed columns."""
    frame.index = pd.RangeIndex(header_row + 1, header_row + 1 + len(frame))
    if frame.empty:
        return frame
    blank = pd.DataFrame({c: _blank(frame[c]) for c in frame.columns}, index=frame.index)
    frame = frame.loc[~blank.all(axis=1)]
    unnamed = [
        c
        for c in frame.columns
        if re.fullmatch(r"column_\d+", str(c)) and blank[c].loc[frame.index].all()
    ]
    return frame.drop(columns=unnamed)


def _read_delimited(
    inp: InputFile,
    *,
    kinds: tuple[Kind, ...],
    extra: tuple[str, ...],
    encoding: str | None,
    limits: ReadLimits,
) -> RawTable:
    data = inp.read_bytes()
    if not data.strip():
        return _unreadable_table(inp, "csv", _empty_file_problem())
    enc: str | None = None
    try:
        text, enc, problems = _decode(data, encoding)
        delimiter, skip = _delimiter(text, inp.suffix)
        sample = _sample_records(text, delimiter, skip, limits)
        h = _find_header(sample, kinds, extra)
        if h is None:
            return _unreadable_table(inp, "csv", _empty_file_problem(), encoding=enc)
        header_row = skip + h + 1
        names = _header_names(sample[h], header_row, limits, problems)
        frame, ragged = _parse_csv(text, delimiter, names, header_row, limits)
    except Unreadable as exc:
        return _unreadable_table(inp, "csv", exc.problem, encoding=enc)
    problems.extend(ragged)
    frame = _finish_rows(frame, header_row)
    problems.extend(_cell_problems(frame, text, delimiter, limits))
    table = RawTable(
        inp.name,
        "csv",
        frame,
        encoding=enc,
        header_row=header_row,
        decimal_comma=delimiter == ";",
        problems=problems,
    )
    if frame.empty:
        table.problems.append(_header_only_problem(header_row))
        table.readable = False
    return table


def _delimiter(text: str, suffix: str) -> tuple[str, int]:
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


def _sample_records(text: str, delimiter: str, skip: int, limits: ReadLimits) -> list[list[str]]:
    """Read the first records (for the header), refusing cells past the csv module's limit."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        return list(islice(reader, skip + 50))[skip:]
    except csv.Error as exc:
        raise _too_long_cell(max(reader.line_num, 1), csv.field_size_limit()) from exc


def _header_names(
    header: Sequence[object], header_row: int, limits: ReadLimits, problems: list[Problem]
) -> list[str]:
    """Return unique column names; refuse too many columns, warn about repeated names."""
    if len(header) > limits.max_columns:
        raise Unreadable(
            Problem(
                f"the header has {len(header):,} columns, above the limit of "
                f"{limits.max_columns:,}",
                rows=(header_row,),
                fix="keep only the columns the planner needs (ids, names, coordinates, "
                "amounts), or raise ReadLimits(max_columns=...)",
            )
        )
    names = _unique_names(header)
    problems.extend(_repeated_names(header, names, header_row))
    return names


def _repeated_names(header: Sequence[object], names: list[str], header_row: int) -> list[Problem]:
    renamed = [
        (str(cell_text(v)), n) for v, n in zip(header, names, strict=True) if cell_text(v) != n
    ]
    renamed = [(old, new) for old, new in renamed if old != "None"]
    if not renamed:
        return []
    listed = ", ".join(f"'{old}' (the second is now '{new}')" for old, new in renamed[:5])
    return [
        Problem(
            f"the header repeats column names: {listed}; only the first of each is used",
            rows=(header_row,),
            column=renamed[0][0],
            fix="give each column its own name, or delete the repeated column",
            severity="warning",
        )
    ]


def _cell_problems(
    frame: pd.DataFrame, text: str, delimiter: str, limits: ReadLimits
) -> list[Problem]:
    """Report over-long cells, quotes never closed and a last row cut off."""
    problems: list[Problem] = []
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
            problems.append(
                Problem(
                    f"{int(long.sum())} cells are longer than {limits.max_cell_chars:,} characters",
                    rows=tuple(int(i) for i in frame.index[long.to_numpy(dtype=bool)][:MAX_ROWS]),
                    column=str(col),
                    fix="shorten these cells (a notes field?) or leave the column out; or raise "
                    "ReadLimits(max_cell_chars=...)",
                )
            )
    swallowed = quote_swallowed_mask(frame, delimiter) if '"' in text else None
    if swallowed is not None and swallowed.any():
        problems.append(
            Problem(
                'a quote (") is opened and never closed, so the following lines were read '
                "into one cell of this row",
                rows=tuple(int(i) for i in frame.index[swallowed.to_numpy(dtype=bool)][:MAX_ROWS]),
                fix="remove the stray quote or close it, then save the file again",
            )
        )
    cut = _cut_off_last_row(frame, text, delimiter)
    if cut is not None:
        problems.append(cut)
    return problems


def _cut_off_last_row(frame: pd.DataFrame, text: str, delimiter: str) -> Problem | None:
    """A file that ends without a line break may have lost the end of its last row."""
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
    lengths = frame[col].map(lambda v: len(str(v)) if cell_text(v) is not None else None)
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


_NUMERIC_ALIASES = frozenset(
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
            numeric = [n for n in names if normalise_name(n) in _NUMERIC_ALIASES]
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
        _check_row_count(len(frame), header_row, limits)
        return frame, []
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError):
        logger.info("falling back to the csv module for ragged rows")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        records = list(islice(reader, header_row + limits.max_rows + 1))[header_row:]
    except csv.Error as exc:
        raise _too_long_cell(max(reader.line_num, 1), csv.field_size_limit()) from exc
    _check_row_count(len(records), header_row, limits)
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


def _check_row_count(n: int, header_row: int, limits: ReadLimits) -> None:
    if n > limits.max_rows:
        raise Unreadable(
            Problem(
                f"the file has more than {limits.max_rows:,} data rows",
                rows=(header_row + limits.max_rows + 1,),
                fix="split the file, or raise the limit (ReadLimits(max_rows=...))",
            )
        )


def _read_excel(
    inp: InputFile,
    *,
    kinds: tuple[Kind, ...],
    extra: tuple[str, ...],
    sheet: str | int | None,
    limits: ReadLimits,
) -> RawTable:
    data = inp.read_bytes()
    if not data:
        return _unreadable_table(inp, "xlsx", _empty_file_problem())
    try:
        has_formulas = _xlsx_preflight(data, limits, inp.name)
        rows, ws_name = _excel_rows(data, sheet, kinds, data_only=True)
    except Unreadable as exc:
        return _unreadable_table(inp, "xlsx", exc.problem)
    h = _find_header(rows, kinds, extra)
    if h is None:
        return _unreadable_table(
            inp,
            "xlsx",
            Problem(
                f"the sheet '{ws_name}' is empty",
                fix="choose the sheet holding the table (sheet=), or add a header and rows",
            ),
        )
    header_row = h + 1
    problems: list[Problem] = []
    try:
        names_ = _header_names(rows[h], header_row, limits, problems)
        if len(rows) - h - 1 > limits.max_rows:
            _check_row_count(len(rows) - h - 1, header_row, limits)
    except Unreadable as exc:
        return _unreadable_table(inp, "xlsx", exc.problem)
    if has_formulas:
        formulas, _ = _excel_rows(data, ws_name, kinds, data_only=False)
        problems.extend(_formula_problems(rows, formulas, names_, h))
    width = len(names_)
    body = [(list(r) + [None] * (width - len(r)))[:width] for r in rows[h + 1 :]]
    frame = pd.DataFrame(body, columns=names_, dtype=object)
    frame = _finish_rows(frame, header_row)
    table = RawTable(inp.name, "xlsx", frame, header_row=header_row, problems=problems)
    if h > 0:
        logger.info("%s: header found on row %d of sheet %s", inp.name, header_row, ws_name)
    if frame.empty:
        table.problems.append(_header_only_problem(header_row))
        table.readable = False
    return table


def _xlsx_preflight(data: bytes, limits: ReadLimits, name: str) -> bool:
    """Refuse a workbook that expands past the limit; return whether it holds formulas."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            unpacked = sum(i.file_size for i in infos)
            if unpacked > limits.max_unpacked_bytes:
                raise Unreadable(
                    Problem(
                        f"the workbook expands to {unpacked / 2**20:,.0f} MB, above the limit of "
                        f"{limits.max_unpacked_bytes / 2**20:,.0f} MB",
                        fix="save the table as CSV, split it, or raise "
                        "ReadLimits(max_unpacked_bytes=...)",
                    )
                )
            sheets = [i for i in infos if i.filename.startswith("xl/worksheets/")]
            return any(
                re.search(rb"<(?:\w+:)?f[ >/]", read_zip_member(archive, i, limits, name=name))
                for i in sheets
            )
    except InputError as exc:
        raise Unreadable(exc.problems[0]) from exc
    except Unreadable:
        raise
    except Exception as exc:  # not a zip: openpyxl would fail the same way
        raise _not_a_workbook(exc) from exc


def _not_a_workbook(exc: Exception) -> Unreadable:
    return Unreadable(
        Problem(
            f"the file cannot be opened as an Excel workbook ({type(exc).__name__})",
            fix="open it in Excel or LibreOffice and save it again as .xlsx, or export CSV",
        )
    )


def _excel_rows(
    data: bytes, sheet: str | int | None, kinds: tuple[Kind, ...], *, data_only: bool
) -> tuple[list[tuple[Any, ...]], str]:
    """Return a sheet's rows (saved values, or formulas when ``data_only`` is off) and its name."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise _not_a_workbook(exc) from exc
    try:
        names = wb.sheetnames
        ws_name: str | None
        if isinstance(sheet, int):
            ws_name = names[sheet] if -len(names) <= sheet < len(names) else None
        elif isinstance(sheet, str):
            ws_name = next((n for n in names if n.casefold() == sheet.casefold()), None)
        else:
            ws_name = next((n for n in names if normalise_name(n) in kinds), names[0])
        if ws_name is None:
            raise Unreadable(
                Problem(
                    f"the workbook has no sheet {sheet!r}; its sheets are {', '.join(names)}",
                    fix="pass one of these sheet names",
                )
            )
        try:
            rows = [tuple(r) for r in wb[ws_name].iter_rows(min_row=1, values_only=True)]
        except Exception as exc:  # a damaged sheet inside a readable workbook
            raise _not_a_workbook(exc) from exc
    finally:
        wb.close()
    return rows, ws_name


def _formula_problems(
    values: list[tuple[Any, ...]], formulas: list[tuple[Any, ...]], names: list[str], h: int
) -> list[Problem]:
    """Formula cells without a saved result read as empty: report them by column."""
    lost: dict[str, list[int]] = {}
    for i in range(h + 1, min(len(values), len(formulas))):
        for j, (v, f) in enumerate(zip(values[i], formulas[i], strict=False)):
            if v is None and isinstance(f, str) and f.startswith("=") and j < len(names):
                lost.setdefault(names[j], []).append(i + 1)
    return [
        Problem(
            f"{len(rows)} cells hold a formula with no saved result, so they read as empty",
            rows=tuple(rows[:MAX_ROWS]),
            column=col,
            fix="open the workbook in Excel or LibreOffice and save it (to store the results), "
            "or copy the column and paste it as values",
        )
        for col, rows in lost.items()
    ]


def _read_parquet(inp: InputFile, *, crs: Any) -> RawTable:
    import pyarrow.parquet as pq

    data = inp.read_bytes()
    if not data:
        return _unreadable_table(inp, "parquet", _empty_file_problem())
    try:
        meta = pq.read_schema(io.BytesIO(data)).metadata or {}
        if b"geo" in meta:
            gdf = gpd.read_parquet(io.BytesIO(data))
            return _vector_table(gdf, inp.name, "parquet", crs=crs, prj_hint=False)
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several types for damaged files
        return _unreadable_table(
            inp,
            "parquet",
            Problem(
                f"the file cannot be read as Parquet ({exc})",
                fix="export the file again as Parquet, or as CSV",
            ),
        )
    frame = frame.reset_index(drop=True)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    table = RawTable(inp.name, "parquet", frame)
    if frame.empty:
        table.problems.append(
            Problem("the file has no rows", fix="export the file again with its rows")
        )
        table.readable = False
    return table


def _read_vector(
    path: Path, name: str, *, kinds: tuple[Kind, ...], layer: str | None, crs: Any
) -> RawTable:
    import pyogrio

    fmt = {".gpkg": "gpkg", ".shp": "shapefile", ".json": "geojson"}.get(
        path.suffix.lower(), path.suffix.lower().lstrip(".")
    )
    placeholder = InputFile(name, path.suffix.lower(), path=path)
    if path.stat().st_size == 0:
        return _unreadable_table(placeholder, fmt, _empty_file_problem())
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio.errors.DataSourceError and friends
        return _unreadable_table(
            placeholder,
            fmt,
            Problem(
                f"the file cannot be read as {fmt} ({exc})",
                fix="check that the file is complete; export it again from the GIS",
            ),
        )
    chosen = layer
    if chosen is None and len(layers) > 1:
        chosen = next((n for n in layers if normalise_name(n) in kinds), None)
        if chosen is None:
            return _unreadable_table(
                placeholder,
                fmt,
                Problem(
                    f"the file has {len(layers)} layers ({', '.join(layers)})",
                    fix="choose one with layer=",
                ),
            )
    if chosen is not None and chosen not in layers:
        return _unreadable_table(
            placeholder,
            fmt,
            Problem(
                f"the file has no layer '{chosen}'; its layers are {', '.join(layers)}",
                fix="pass one of these layer names",
            ),
        )
    try:
        gdf = gpd.read_file(path, layer=chosen, engine="pyogrio")
    except Exception as exc:
        return _unreadable_table(
            placeholder,
            fmt,
            Problem(
                f"the file cannot be read as {fmt} ({exc})",
                fix="check that the file is complete; export it again from the GIS",
            ),
        )
    return _vector_table(gdf, name, fmt, crs=crs, prj_hint=fmt == "shapefile")


def _vector_table(gdf: pd.DataFrame, name: str, fmt: str, *, crs: Any, prj_hint: bool) -> RawTable:
    gdf = gdf.reset_index(drop=True)
    gdf.index = pd.RangeIndex(1, len(gdf) + 1)
    problems: list[Problem] = []
    geometry: gpd.GeoSeries | None = None
    unusable = False
    if isinstance(gdf, gpd.GeoDataFrame) and gdf.geometry.name in gdf.columns:
        geom = gdf.geometry
        frame = pd.DataFrame(gdf.drop(columns=[geom.name]))
        if crs is not None:
            geom = geom.set_crs(crs, allow_override=True)
        elif geom.crs is not None and geom.crs.is_geographic and looks_projected(geom):
            problems.append(_projected_as_degrees(fmt))
            unusable = True
        if geom.crs is None and not unusable:
            bounds = geom.dropna().total_bounds if geom.notna().any() else np.zeros(4)
            lonlat = bool(
                np.all(np.isfinite(bounds))
                and -180 <= bounds[0] <= bounds[2] <= 180
                and -90 <= bounds[1] <= bounds[3] <= 90
            )
            missing = "the file has no coordinate reference system" + (
                " (no .prj file)" if prj_hint else ""
            )
            if lonlat:
                problems.append(
                    Problem(
                        f"{missing}; its coordinates look like longitude/latitude, "
                        "so EPSG:4326 was assumed",
                        fix="pass crs= (e.g. crs='EPSG:26916') if that is wrong",
                        severity="warning",
                    )
                )
                geom = geom.set_crs(s.STORAGE_CRS)
            else:
                problems.append(
                    Problem(
                        f"{missing} and its coordinates are not longitude/latitude, "
                        "so the shapes cannot be placed on the map",
                        fix="add the .prj file to the zip, or pass crs= with the file's "
                        "coordinate system (e.g. crs='EPSG:26916')",
                    )
                )
                unusable = True
        if not unusable:
            geometry = geom.to_crs(s.STORAGE_CRS)
        else:
            geometry = gpd.GeoSeries([None] * len(geom), index=geom.index, crs=s.STORAGE_CRS)
    else:
        frame = pd.DataFrame(gdf)
    table = RawTable(
        name, fmt, frame, geometry=geometry, geometry_unusable=unusable, problems=problems
    )
    if frame.empty:
        table.problems.append(
            Problem("the file has no features", fix="export the layer again with its features")
        )
        table.readable = False
    return table


def _projected_as_degrees(fmt: str) -> Problem:
    note = " (GeoJSON is longitude/latitude by definition)" if fmt == "geojson" else ""
    return Problem(
        "the file says its coordinates are longitude/latitude" + note + ", but most of them "
        "are far outside -180..180 and -90..90: they look like metres or feet of a projected "
        "coordinate system",
        fix="export the file again in WGS 84 (EPSG:4326), or pass crs= with the system the "
        "coordinates are really in (e.g. crs='EPSG:26916')",
    )


def _read_zip(
    inp: InputFile,
    *,
    kinds: tuple[Kind, ...],
    columns: ColumnMap | None,
    sheet: str | int | None,
    layer: str | None,
    encoding: str | None,
    crs: Any,
    limits: ReadLimits,
) -> RawTable:
    data = inp.read_bytes()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return _unreadable_table(
            inp,
            "zip",
            Problem("the file is not a valid zip archive", fix="zip the files again"),
        )
    except Exception as exc:  # zipfile raises several types for damaged directories
        return _unreadable_table(
            inp,
            "zip",
            Problem(
                f"the zip archive's directory is damaged ({type(exc).__name__})",
                fix="zip the files again",
            ),
        )
    with archive:
        members = [
            m
            for m in archive.infolist()
            if not m.is_dir()
            and "__MACOSX" not in m.filename
            and not Path(m.filename).name.startswith(".")
        ]
        shps = [m for m in members if m.filename.lower().endswith(".shp")]
        if shps:
            try:
                return _read_zipped_shapefile(
                    inp, archive, members, shps, kinds=kinds, layer=layer, crs=crs, limits=limits
                )
            except InputError as exc:
                return _unreadable_table(inp, "shapefile", exc.problems[0])
        inner = [m for m in members if _suffix(m.filename) in _READABLE - {".zip"}]
        if len(inner) != 1:
            found = ", ".join(m.filename for m in members) or "nothing"
            return _unreadable_table(
                inp,
                "zip",
                Problem(
                    f"the zip holds no Shapefile and not exactly one readable file ({found})",
                    fix="zip one Shapefile (.shp, .shx, .dbf, .prj) or one CSV/GeoJSON/GPKG file",
                ),
            )
        member = inner[0]
        try:
            data = read_zip_member(archive, member, limits, name=inp.name)
        except InputError as exc:
            return _unreadable_table(inp, "zip", exc.problems[0])
        nested = InputFile(
            name=f"{inp.name}!{member.filename}", suffix=_suffix(member.filename), data=data
        )
    if nested.suffix in {".zip", ".gz"}:
        return _unreadable_table(
            inp,
            "zip",
            Problem(
                f"the zip holds another compressed file ({member.filename})",
                fix="unpack the inner archive and give the table inside it",
            ),
        )
    return read_table(
        nested,
        kinds=kinds,
        columns=columns,
        sheet=sheet,
        layer=layer,
        encoding=encoding,
        crs=crs,
        limits=limits,
    )


def _read_zipped_shapefile(
    inp: InputFile,
    archive: zipfile.ZipFile,
    members: list[zipfile.ZipInfo],
    shps: list[zipfile.ZipInfo],
    *,
    kinds: tuple[Kind, ...],
    layer: str | None,
    crs: Any,
    limits: ReadLimits,
) -> RawTable:
    stems = [m.filename[:-4] for m in shps]
    if layer is not None:
        picked = [st for st in stems if Path(st).name.casefold() == layer.casefold()]
    elif len(stems) == 1:
        picked = stems
    else:
        picked = [st for st in stems if normalise_name(Path(st).name) in kinds]
    if len(picked) != 1:
        layers = ", ".join(Path(st).name for st in stems)
        return _unreadable_table(
            inp,
            "shapefile",
            Problem(
                f"the zip holds {len(stems)} Shapefiles ({layers})"
                if layer is None
                else f"the zip has no Shapefile named '{layer}' (it has {layers})",
                fix="choose one with layer=",
            ),
        )
    stem = picked[0]
    parts = {
        m.filename[len(stem) :].lower(): m
        for m in members
        if m.filename.lower().startswith(stem.lower() + ".")
    }
    missing = [ext for ext in (".shx", ".dbf") if ext not in parts]
    if missing:
        base = Path(stem).name
        return _unreadable_table(
            inp,
            "shapefile",
            Problem(
                f"the zip has {base}.shp but not {', '.join(base + e for e in missing)}",
                fix="zip the .shp, .shx, .dbf and .prj files of the Shapefile together",
            ),
        )
    budget = limits.max_unpacked_bytes
    with tempfile.TemporaryDirectory(prefix="planner-shp-") as tmp:
        for ext, member in parts.items():
            # Only the parts' bytes are written, under a fixed safe name.
            data = read_zip_member(archive, member, limits, name=inp.name, budget=budget)
            budget -= len(data)
            (Path(tmp) / f"layer{ext}").write_bytes(data)
        table = _read_vector(Path(tmp) / "layer.shp", inp.name, kinds=kinds, layer=None, crs=crs)
    table.file_format = "shapefile"
    return table


# --------------------------------------------------------------------------- cells


def cell_text(v: object) -> str | None:
    """Return a cell as trimmed text, or None when it is blank."""
    if v is None:
        return None
    if isinstance(v, str):
        v = v.strip()
        return v or None
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if not np.isfinite(f):
            return None
        if f.is_integer() and abs(f) < 1e15:
            return str(int(f))
        return repr(f)
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    try:
        if pd.isna(v):  # type: ignore[call-overload]
            return None
    except (TypeError, ValueError):
        pass
    return str(v).strip() or None


def _blank(col: pd.Series) -> pd.Series:
    """Return which cells of a column are blank."""
    if isinstance(col.dtype, pd.StringDtype):
        return (col.isna() | (col.str.strip() == "")).astype(bool)
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        return col.isna().astype(bool)
    return col.map(lambda v: cell_text(v) is None).astype(bool)


def column_text(col: pd.Series) -> pd.Series:
    """Return a column as trimmed strings, blanks missing."""
    if isinstance(col.dtype, pd.StringDtype):
        out = col.str.strip()
        return out.mask(out == "")
    return pd.Series([cell_text(v) for v in col], index=col.index, dtype="str")
