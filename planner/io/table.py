"""The raw table of an input file, numbered as the user sees it, and helpers every format shares.

:class:`InputFile` is a file on disk or in memory; :class:`RawTable` its cells
before any checking, indexed by the row numbers the user sees; the rest finds
the header row, names columns uniquely, drops blank rows and turns cells into
trimmed text. Problems are collected, never raised (:class:`Unreadable` only
carries one between the readers).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.errors import Problem, Unreadable
from planner.geo.columns import Kind, header_score, normalise_name
from planner.io.limits import ReadLimits

__all__ = [
    "MAX_ROWS",
    "ColumnMap",
    "InputFile",
    "RawTable",
    "Source",
    "Unreadable",
    "blank_cells",
    "cell_text",
    "check_row_count",
    "column_text",
    "empty_file_problem",
    "find_header",
    "finish_rows",
    "header_names",
    "header_only_problem",
    "name_of",
    "suffix_of",
    "unique_names",
    "unreadable_table",
]

#: Row numbers kept per problem; the problem's message gives the full count.
MAX_ROWS = 1000


_HEADER_SCAN = 20  # rows searched for the header


#: What the readers accept: a path, raw bytes, or a binary file object
#: (such as an uploaded file). Bytes and nameless file objects need
#: ``filename=`` so the format is known.
Source = str | os.PathLike[str] | bytes | bytearray | BinaryIO


ColumnMap = Mapping[str, str | None]


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


def suffix_of(name: str) -> str:
    return Path(name).suffix.lower()


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


def unreadable_table(inp: InputFile, fmt: str, problem: Problem, **kw: Any) -> RawTable:
    return RawTable(
        inp.name,
        fmt,
        pd.DataFrame(),
        problems=[*kw.pop("problems", []), problem],
        readable=False,
        **kw,
    )


def empty_file_problem() -> Problem:
    return Problem(
        "the file is empty",
        fix="export the file again, with a header row and at least one data row",
    )


def header_only_problem(header_row: int) -> Problem:
    return Problem(
        "the file has column names but no data rows below them",
        rows=(header_row,),
        fix="add at least one data row below the header, or choose the right file or sheet",
    )


def find_header(
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


def unique_names(header: Sequence[object]) -> list[str]:
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


def header_names(
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
    names = unique_names(header)
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


def finish_rows(frame: pd.DataFrame, header_row: int) -> pd.DataFrame:
    """Number rows as the user sees them and drop blank rows and blank unnamed columns.

    The frame is copied only when there is something to drop.
    """
    frame.index = pd.RangeIndex(header_row + 1, header_row + 1 + len(frame))
    if frame.empty:
        return frame
    blank = pd.DataFrame({c: blank_cells(frame[c]) for c in frame.columns}, index=frame.index)
    blank_row = blank.all(axis=1)
    if blank_row.any():
        frame = frame.loc[~blank_row]
    unnamed = [
        c
        for c in frame.columns
        if re.fullmatch(r"column_\d+", str(c)) and blank[c].loc[frame.index].all()
    ]
    return frame.drop(columns=unnamed) if unnamed else frame


def check_row_count(n: int, header_row: int, limits: ReadLimits) -> None:
    if n > limits.max_rows:
        raise Unreadable(
            Problem(
                f"the file has more than {limits.max_rows:,} data rows",
                rows=(header_row + limits.max_rows + 1,),
                fix="split the file, or raise the limit (ReadLimits(max_rows=...))",
            )
        )


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


def blank_cells(col: pd.Series) -> pd.Series:
    """Return which cells of a column are blank."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return _by_category(col, blank_cells(pd.Series(col.cat.categories)), fill=True)
    if isinstance(col.dtype, pd.StringDtype):
        return (col.isna() | (col.str.strip() == "")).astype(bool)
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        return col.isna().astype(bool)
    return col.map(lambda v: cell_text(v) is None).astype(bool)


def column_text(col: pd.Series) -> pd.Series:
    """Return a column as trimmed strings, blanks missing.

    A column already trimmed comes back as it is (no copy); a categorical
    column is trimmed once per category, not once per row.
    """
    if isinstance(col.dtype, pd.CategoricalDtype):
        return _by_category(col, column_text(pd.Series(col.cat.categories)), fill=None)
    if isinstance(col.dtype, pd.StringDtype):
        out = col.str.strip()
        blank = out == ""
        if not blank.any() and bool((out.str.len() == col.str.len()).all()):
            return col
        return out.mask(blank)
    return pd.Series([cell_text(v) for v in col], index=col.index, dtype="str")


def _by_category(col: pd.Series, per_category: pd.Series, *, fill: object) -> pd.Series:
    """Spread a value computed per category over the rows (``fill`` for missing cells)."""
    codes = col.cat.codes.to_numpy()
    values = per_category.array.take(codes, allow_fill=True, fill_value=fill)
    return pd.Series(values, index=col.index, name=col.name, copy=False)
