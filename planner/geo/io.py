"""Read and validate input files: accounts, reps, units and territories.

Every reader follows one recipe: open the input (a path, or bytes/a file
object with a file name) and read its raw table (CSV, XLSX, GeoJSON,
GeoPackage, Parquet or a zipped Shapefile; :mod:`planner.geo.sources`),
recognise its columns (:mod:`planner.geo.columns`), check every row, and
assemble a frame in the shape of :data:`planner.schema.TABLES`.

:func:`validate_file` returns every problem in a :class:`ValidationReport`
and never raises for bad data; the ``read_*`` functions raise one
:class:`~planner.errors.InputError` listing every error, and turn warnings
into :class:`~planner.errors.InputWarning`.

Row numbers in problems are those the user sees: in a CSV or a sheet the
header is row 1 (or wherever it really is) and the first record below it is
the next row; in a GIS file the n-th feature is row n.

Swapped coordinates: when the latitude and longitude columns as a whole look
swapped (most latitudes outside -90..90, or every latitude in Antarctica, or
the swapped points land on their US ZIP codes), the columns are swapped back
with a warning, because the evidence is about the whole file and the fix is
unambiguous. Pass ``fix_swapped=False`` to make it an error instead. Single
rows are never swapped silently: they are range errors.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner import schema as s
from planner.errors import (
    GeometryRepairWarning,
    InputError,
    InputWarning,
    PlannerWarning,
    Problem,
    format_ids,
)
from planner.geo.columns import (
    CITY,
    FIRST_NAME,
    KINDS,
    LAST_NAME,
    STATE,
    ColumnMatch,
    Kind,
    guess_kind,
    match_columns,
    normalise_name,
)
from planner.geo.rules import RuleError, parse_rule
from planner.geo.sources import (
    MAX_ROWS,
    ColumnMap,
    RawTable,
    Source,
    Unreadable,
    column_text,
    name_of,
    open_input,
    read_table,
)
from planner.io.geometry import coordinate_trouble
from planner.io.limits import DEFAULT_LIMITS, ReadLimits
from planner.io.text import INVISIBLE, describe_invisible, invisible_mask, strip_invisible
from planner.models import DEFAULT_TYPE

__all__ = [
    "Source",
    "ValidationReport",
    "locate_postal_codes",
    "read_accounts",
    "read_reps",
    "read_territories",
    "read_units",
    "validate_file",
]

logger = logging.getLogger(__name__)


_US = frozenset({"us", "usa", "unitedstates", "unitedstatesofamerica", "america", "840"})
_ROLE_SYNONYMS = {
    "rep": "rep",
    "salesrep": "rep",
    "representative": "rep",
    "salesrepresentative": "rep",
    "accountexecutive": "rep",
    "ae": "rep",
    "fieldrep": "rep",
    "user": "rep",
    "manager": "manager",
    "salesmanager": "manager",
    "mgr": "manager",
    "planner": "planner",
    "salesops": "planner",
    "salesoperations": "planner",
    "admin": "admin",
    "administrator": "admin",
    "systemadministrator": "admin",
}


# --------------------------------------------------------------------------- report


@dataclass(frozen=True, eq=False)
class ValidationReport:
    """What :func:`validate_file` found in one input file.

    Parameters
    ----------
    path
        The file's name as given (a path, or the upload's file name).
    kind
        What the file holds: ``accounts``, ``reps``, ``units`` or
        ``territories`` (guessed from its columns and geometry when not given).
    rows_read
        Data rows found (blank rows are not counted).
    rows_valid
        Rows without an error; these are in ``frame``.
    columns_recognised
        File column name to schema column name, for every recognised column.
    problems
        Errors and warnings, in the order they were found.
    frame
        The readable rows, in the shape of ``planner.schema.TABLES[kind]``.
    file_format
        ``csv``, ``xlsx``, ``geojson``, ``gpkg``, ``shapefile``, ``parquet``...
    encoding
        The text encoding used, for text files.
    header_row
        The row holding the column names, for CSV and XLSX files.
    """

    path: str
    kind: Kind
    rows_read: int
    rows_valid: int
    columns_recognised: dict[str, str]
    problems: tuple[Problem, ...]
    frame: pd.DataFrame = field(repr=False)
    file_format: str = ""
    encoding: str | None = None
    header_row: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(
                f"unknown kind '{self.kind}'",
                [Problem(f"unknown kind '{self.kind}'", fix=f"use one of {', '.join(KINDS)}")],
            )
        if not 0 <= self.rows_valid <= self.rows_read:
            raise InputError(
                "rows_valid must be between 0 and rows_read",
                [Problem("inconsistent row counts", fix="report this as a bug")],
            )
        object.__setattr__(self, "problems", tuple(self.problems))

    @property
    def errors(self) -> list[Problem]:
        """The problems that stop rows (or the file) from being used."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """The problems that were worked around."""
        return [p for p in self.problems if p.severity != "error"]

    @property
    def ok(self) -> bool:
        """Whether the file has no errors (warnings are allowed)."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """Return the report without the frame, as a JSON-friendly dictionary."""
        return {
            "path": self.path,
            "kind": self.kind,
            "ok": self.ok,
            "file_format": self.file_format,
            "encoding": self.encoding,
            "header_row": self.header_row,
            "rows_read": self.rows_read,
            "rows_valid": self.rows_valid,
            "columns_recognised": dict(self.columns_recognised),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "problems": [p.to_dict() for p in self.problems],
        }


# --------------------------------------------------------------------------- public API


def validate_file(
    source: Source,
    *,
    kind: Kind | None = None,
    columns: ColumnMap | None = None,
    filename: str | None = None,
    sheet: str | int | None = None,
    layer: str | None = None,
    encoding: str | None = None,
    crs: Any = None,
    unit_type: str = "custom",
    scenario_id: str | None = None,
    fix_swapped: bool = True,
    limits: ReadLimits | None = None,
) -> ValidationReport:
    """Read and check an input file, returning every problem instead of raising.

    Parameters
    ----------
    source
        A path, bytes, or a binary file object (e.g. an upload).
    kind
        ``accounts``, ``reps``, ``units`` or ``territories``; guessed from the
        columns and the geometry when ``None``.
    columns
        Explicit mapping from file columns to schema columns, e.g.
        ``{"Breite": "latitude"}``; a value of ``None`` ignores the column. It
        wins over the automatic recognition.
    filename
        The file name, needed for bytes and for file objects without a
        ``name``; its extension decides the format.
    sheet
        Sheet name or 0-based index in an XLSX workbook; by default the sheet
        named like ``kind``, else the first.
    layer
        Layer of a GeoPackage (or Shapefile inside a zip) holding several.
    encoding
        Text encoding of a CSV; detected when ``None`` (UTF-8, then
        Windows-1252, then Latin-1).
    crs
        CRS of the coordinates in a GIS file; overrides the file's own and is
        required for a Shapefile without ``.prj`` whose coordinates are not
        longitude/latitude.
    unit_type
        Type given to units (``"county"``, ``"zip"``...).
    scenario_id
        Scenario the territories belong to; the column is left out when ``None``.
    fix_swapped
        Swap latitude and longitude back (with a warning) when the columns as a
        whole look swapped; an error when ``False``.
    limits
        Largest file, unpacked size, rows, columns and cell accepted
        (:data:`planner.io.DEFAULT_LIMITS` when ``None``).

    Returns
    -------
    ValidationReport
        The readable rows and every problem.

    Raises
    ------
    InputError
        Only for invalid arguments (an unknown ``kind``), never for the file.
    """
    if kind is not None and kind not in KINDS:
        raise InputError(
            f"unknown kind '{kind}'",
            [Problem(f"unknown kind '{kind}'", fix=f"use one of {', '.join(KINDS)}")],
        )
    options = _Options(fix_swapped=fix_swapped, unit_type=unit_type, scenario_id=scenario_id)
    limits = limits or DEFAULT_LIMITS
    try:
        inp = open_input(source, filename, limits=limits)
    except Unreadable as exc:
        name = filename or name_of(source)
        return _empty_report(name, kind or "accounts", [exc.problem], file_format="")
    kinds: tuple[Kind, ...] = (kind,) if kind else KINDS
    table = read_table(
        inp,
        kinds=kinds,
        columns=columns,
        sheet=sheet,
        layer=layer,
        encoding=encoding,
        crs=crs,
        limits=limits,
    )
    if kind is None:
        kind = guess_kind([str(c) for c in table.frame.columns], geometry=table.geometry_kind())
        logger.info("%s: guessed that the file holds %s", inp.name, kind)
    if not table.readable:
        return _empty_report(
            inp.name,
            kind,
            table.problems,
            file_format=table.file_format,
            encoding=table.encoding,
            header_row=table.header_row,
        )
    match = match_columns([str(c) for c in table.frame.columns], kind, columns=columns)
    checked = _CHECKS[kind](table, match, options)
    problems = [*table.problems, *match.problems, *checked.problems]
    frame = checked.frame
    try:
        s.validate_frame(_with_scenario(frame.loc[~checked.bad], kind), kind)
    except InputError as exc:  # a bug in the checks above; still report, never raise
        problems.extend(exc.problems)
    valid = frame.loc[~checked.bad].reset_index(drop=True)
    return ValidationReport(
        path=inp.name,
        kind=kind,
        rows_read=len(frame),
        rows_valid=len(valid),
        columns_recognised=dict(match.mapping),
        problems=tuple(problems),
        frame=valid,
        file_format=table.file_format,
        encoding=table.encoding,
        header_row=table.header_row,
    )


def read_accounts(
    source: Source,
    *,
    columns: ColumnMap | None = None,
    filename: str | None = None,
    sheet: str | int | None = None,
    layer: str | None = None,
    encoding: str | None = None,
    crs: Any = None,
    fix_swapped: bool = True,
    limits: ReadLimits | None = None,
) -> gpd.GeoDataFrame:
    """Read accounts from CSV, XLSX, GeoJSON, GeoPackage, Parquet or a zipped Shapefile.

    Accounts without coordinates but with a US ZIP code are placed at that
    ZIP code (``geocode_precision`` ``"postal_code"``, offline); accounts with
    coordinates get ``"exact"``.

    Parameters
    ----------
    source, columns, filename, sheet, layer, encoding, crs, fix_swapped, limits
        See :func:`validate_file`.

    Returns
    -------
    geopandas.GeoDataFrame
        In the shape of ``TABLES["accounts"]``: string ids, points in
        EPSG:4326, numeric columns as floats, unrecognised columns kept.

    Raises
    ------
    InputError
        Listing every error, with the rows, the column and the fix.
    """
    report = validate_file(
        source,
        kind="accounts",
        columns=columns,
        filename=filename,
        sheet=sheet,
        layer=layer,
        encoding=encoding,
        crs=crs,
        fix_swapped=fix_swapped,
        limits=limits,
    )
    return _strict(report)


def read_reps(
    source: Source,
    *,
    columns: ColumnMap | None = None,
    filename: str | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    fix_swapped: bool = True,
    limits: ReadLimits | None = None,
) -> gpd.GeoDataFrame:
    """Read reps (users) from CSV or XLSX.

    The home location comes from latitude/longitude columns or a US ZIP code
    and may be missing; ``role`` defaults to ``"rep"``.

    Parameters
    ----------
    source, columns, filename, sheet, encoding, fix_swapped, limits
        See :func:`validate_file`.

    Returns
    -------
    geopandas.GeoDataFrame
        In the shape of ``TABLES["reps"]``, the home as point geometry.

    Raises
    ------
    InputError
        Listing every error.
    """
    report = validate_file(
        source,
        kind="reps",
        columns=columns,
        filename=filename,
        sheet=sheet,
        encoding=encoding,
        fix_swapped=fix_swapped,
        limits=limits,
    )
    return _strict(report)


def read_units(
    source: Source,
    *,
    id_column: str | None = None,
    name_column: str | None = None,
    unit_type: str = "custom",
    crs: Any = None,
    filename: str | None = None,
    layer: str | None = None,
    columns: ColumnMap | None = None,
    limits: ReadLimits | None = None,
) -> gpd.GeoDataFrame:
    """Read building-block units (ZIP areas, counties...) from a polygon file.

    Parameters
    ----------
    source, crs, filename, layer, columns, limits
        See :func:`validate_file`.
    id_column
        The column holding the unit ids; guessed (``unit_id``, ``id``,
        ``GEOID``, ``FIPS``, ``ZCTA5CE20``...) when ``None``.
    name_column
        The column holding display names; guessed when ``None``.
    unit_type
        Type of every unit, e.g. ``"county"``.

    Returns
    -------
    geopandas.GeoDataFrame
        In the shape of ``TABLES["units"]``, polygons in EPSG:4326.

    Raises
    ------
    InputError
        Listing every error.
    """
    mapping = dict(columns or {})
    if id_column is not None:
        mapping[id_column] = s.UNIT_ID
    if name_column is not None:
        mapping[name_column] = s.NAME
    report = validate_file(
        source,
        kind="units",
        columns=mapping,
        filename=filename,
        layer=layer,
        crs=crs,
        unit_type=unit_type,
        limits=limits,
    )
    return _strict(report)


def read_territories(
    source: Source,
    *,
    columns: ColumnMap | None = None,
    scenario_id: str | None = None,
    crs: Any = None,
    filename: str | None = None,
    layer: str | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    limits: ReadLimits | None = None,
) -> gpd.GeoDataFrame:
    """Read a territory hierarchy, with or without shapes.

    Recognises id, name, parent, level, level name and type columns. A
    missing level is the depth below the roots (0 for roots); a level column
    holding names (``Region``) becomes the level name. Territories without a
    shape get source ``"none"``, the others ``"imported"``.

    Parameters
    ----------
    source, columns, crs, filename, layer, sheet, encoding, limits
        See :func:`validate_file`.
    scenario_id
        Scenario to put in the ``scenario_id`` column; left out when ``None``.

    Returns
    -------
    geopandas.GeoDataFrame
        In the shape of ``TABLES["territories"]``, polygons in EPSG:4326.

    Raises
    ------
    InputError
        Listing every error.
    """
    report = validate_file(
        source,
        kind="territories",
        columns=columns,
        filename=filename,
        layer=layer,
        sheet=sheet,
        encoding=encoding,
        crs=crs,
        scenario_id=scenario_id,
        limits=limits,
    )
    return _strict(report)


def locate_postal_codes(codes: pd.Series | Sequence[object]) -> pd.DataFrame:
    """Place US ZIP codes at their centre, offline.

    Accepts ZIP+4 (``"30303-1234"``), codes that lost a leading zero in a
    spreadsheet (``2134`` is ``02134``) and numbers read from Excel.

    Parameters
    ----------
    codes
        Postal codes as text or numbers.

    Returns
    -------
    pandas.DataFrame
        Same index as ``codes`` (or a range index), with ``postal_code`` (the
        normalised 5-digit ZIP, or missing when the value is not shaped like
        one), ``latitude`` and ``longitude`` (NaN when the ZIP is unknown).
    """
    series = codes if isinstance(codes, pd.Series) else pd.Series(list(codes), dtype=object)
    text = column_text(series)
    zip5, _ = _normalise_zip(text)
    lat, lon = _locate_zip5(zip5)
    return pd.DataFrame(
        {s.POSTAL_CODE: zip5, s.LATITUDE: lat, s.LONGITUDE: lon}, index=series.index
    )


# --------------------------------------------------------------------------- values


_NUM_SPACE = r"[\s\u00a0$€£¥%]"
_THOUSANDS_COMMA = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"
_THOUSANDS_DOT = r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d*)?"
_DECIMAL_COMMA = r"[+-]?\d*,\d+"


def _numbers(
    col: pd.Series, *, decimal_comma: bool, grouping: bool
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse a column as numbers.

    Returns the values (NaN when blank or bad), a mask of bad (non-blank,
    non-numeric) cells, and the cells as text for messages.
    """
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        values = col.astype(float)
        bad = pd.Series(np.isinf(values.to_numpy()), index=col.index)
        return values.where(~bad), bad, col
    text = column_text(col)
    values = pd.to_numeric(text.astype(object), errors="coerce").astype(float)
    retry = text.notna() & values.isna()
    if decimal_comma and grouping:  # "1.200" means 1200 where the decimal mark is a comma
        retry |= text.str.fullmatch(_THOUSANDS_DOT).fillna(False).astype(bool)
    if retry.any():  # only the cells that are not plain numbers go through the cleaning
        values[retry] = _clean_numbers(text[retry], decimal_comma=decimal_comma, grouping=grouping)
    bad_cells = (text.notna() & values.isna()) | pd.Series(np.isinf(values), index=values.index)
    return values.where(~bad_cells), bad_cells.astype(bool), text


def _clean_numbers(text: pd.Series, *, decimal_comma: bool, grouping: bool) -> pd.Series:
    """Parse numbers written with currency signs, thousands separators or decimal commas."""
    cleaned = text.str.replace(_NUM_SPACE, "", regex=True)
    if grouping:
        comma = cleaned.str.fullmatch(_THOUSANDS_COMMA).fillna(False).astype(bool)
        dot = cleaned.str.fullmatch(_THOUSANDS_DOT).fillna(False).astype(bool)
        if decimal_comma:
            fixed = cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
            cleaned = cleaned.where(~dot, fixed)
        else:
            cleaned = cleaned.where(~comma, cleaned.str.replace(",", "", regex=False))
    dec = cleaned.str.fullmatch(_DECIMAL_COMMA).fillna(False).astype(bool)
    cleaned = cleaned.where(~dec, cleaned.str.replace(",", ".", regex=False))
    return pd.to_numeric(cleaned.astype(object), errors="coerce").astype(float)


def _rows(mask: pd.Series) -> tuple[int, ...]:
    return tuple(int(i) for i in mask.index[mask.to_numpy(dtype=bool)][:MAX_ROWS])


def _examples(values: pd.Series, limit: int = 5) -> str:
    uniq = list(dict.fromkeys(str(v) for v in values if v is not None and v == v))
    return format_ids([f"'{u}'" for u in uniq], limit=limit)


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word[:-1]}ies" if word.endswith("y") else f"{n} {word}s"


def _has(mask: pd.Series) -> str:
    return "has" if int(mask.sum()) == 1 else "have"


def _is(mask: pd.Series) -> str:
    return "is" if int(mask.sum()) == 1 else "are"


# --------------------------------------------------------------------------- postal codes


@cache
def _zip_table() -> tuple[dict[str, float], dict[str, float]]:
    """Latitude and longitude of every US ZIP code, from the offline ``zipcodes`` package."""
    import zipcodes

    lats: dict[str, float] = {}
    lons: dict[str, float] = {}
    for z in zipcodes.list_all():
        try:
            lat, lon = float(z["lat"]), float(z["long"])
        except (KeyError, TypeError, ValueError):
            continue
        lats[str(z["zip_code"])] = lat
        lons[str(z["zip_code"])] = lon
    return lats, lons


_ZIP = re.compile(r"(\d{3,5}?)(?:[-\s]?(\d{4}))?")


def _zip_forms(code: str) -> tuple[str, str] | None:
    """Return the 5-digit ZIP and its display form (ZIP or ZIP+4), or None if not US-shaped."""
    m = _ZIP.fullmatch(re.sub(r"\.0+$", "", code))
    if m is None:
        return None
    zip5 = m.group(1).zfill(5)
    return zip5, zip5 if m.group(2) is None else f"{zip5}-{m.group(2)}"


def _normalise_zip(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return the 5-digit ZIP and the display form (ZIP or ZIP+4) of US-shaped codes."""
    codes, uniques = pd.factorize(text)
    forms = [_zip_forms(str(u)) for u in uniques]
    zip5 = np.array([None if f is None else f[0] for f in forms] + [None], dtype=object)
    display = np.array([None if f is None else f[1] for f in forms] + [None], dtype=object)
    # code -1 (missing) picks the trailing None
    return (
        pd.Series(zip5[codes], index=text.index, dtype="str"),
        pd.Series(display[codes], index=text.index, dtype="str"),
    )


def _locate_zip5(zip5: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return latitude and longitude of 5-digit ZIP codes (NaN when unknown)."""
    lats, lons = _zip_table()
    codes, uniques = pd.factorize(zip5)
    lat = np.array([lats.get(str(u), np.nan) for u in uniques] + [np.nan], dtype=float)
    lon = np.array([lons.get(str(u), np.nan) for u in uniques] + [np.nan], dtype=float)
    return pd.Series(lat[codes], index=zip5.index), pd.Series(lon[codes], index=zip5.index)


def _haversine_km(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return cast(np.ndarray, 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0, 1))))


# --------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class _Options:
    fix_swapped: bool = True
    unit_type: str = "custom"
    scenario_id: str | None = None


@dataclass
class _Checked:
    """Checked rows: the whole frame (indexed by row number) and which rows have errors."""

    frame: pd.DataFrame
    bad: pd.Series
    problems: list[Problem]


class _Collector:
    """Collects problems and the rows they disqualify."""

    def __init__(self, index: pd.Index) -> None:
        self.index = index
        self.bad = pd.Series(False, index=index)
        self.problems: list[Problem] = []

    def error(
        self,
        message: str,
        mask: pd.Series | None = None,
        *,
        column: str | None = None,
        fix: str,
        rows: tuple[int, ...] | None = None,
    ) -> None:
        if mask is not None:
            self.bad |= mask.reindex(self.index, fill_value=False).astype(bool)
            rows = _rows(mask)
        else:  # a problem of the whole file disqualifies every row
            self.bad[:] = True
        self.problems.append(Problem(message, rows=rows or (), column=column, fix=fix))

    def warn(
        self,
        message: str,
        mask: pd.Series | None = None,
        *,
        column: str | None = None,
        fix: str = "",
    ) -> None:
        rows = _rows(mask) if mask is not None else ()
        self.problems.append(
            Problem(message, rows=rows, column=column, fix=fix, severity="warning")
        )


def _id_column(
    table: RawTable,
    match: ColumnMatch,
    out: _Collector,
    *,
    target: str,
    what: str,
    aliases_hint: str,
) -> pd.Series:
    """Check the id column (present, filled, unique) and return the ids as text."""
    frame = table.frame
    src = match.source_of(target)
    if src is None:
        cols = ", ".join(f"'{c}'" for c in frame.columns)
        header = (table.header_row,) if table.header_row else ()
        out.error(
            f"no {what} id column found among the columns ({cols})",
            rows=header,
            fix=f"add an id column named '{target}' (or {aliases_hint}), "
            f"or pass columns={{'<your id column>': '{target}'}}",
        )
        return pd.Series(np.nan, index=frame.index, dtype="str")
    ids = column_text(frame[src])
    hidden = invisible_mask(ids)
    if hidden.any():
        out.error(
            f"{_plural(int(hidden.sum()), what + ' id')} {_has(hidden)} invisible characters "
            f"({describe_invisible(ids[hidden])}): "
            f"{_examples(ids[hidden].head(20).map(_visible))}; "
            "such ids look alike on screen and collide when saved",
            hidden,
            column=src,
            fix="delete the invisible characters from these ids (retype them) and export again",
        )
        ids = ids.where(~hidden, strip_invisible(ids))
    blank = ids.isna()
    if blank.any():
        out.error(
            f"{_plural(int(blank.sum()), 'row')} {_has(blank)} no {what} id",
            blank,
            column=src,
            fix=f"give every {what} an id in '{src}', or delete the rows",
        )
    dup = ids.duplicated(keep=False) & ~blank
    if dup.any():
        groups = (
            pd.Series(ids.index[dup.to_numpy()], index=ids[dup].to_numpy())
            .groupby(level=0, sort=False)
            .agg(lambda r: ", ".join(map(str, r)))
        )
        listed = format_ids([f"{k} (rows {v})" for k, v in groups.items()], limit=5)
        out.error(
            f"{_plural(len(groups), what + ' id')} {'appears' if len(groups) == 1 else 'appear'} "
            f"more than once: {listed}",
            dup,
            column=src,
            fix=f"give every {what} its own id, or delete the repeated rows",
        )
    return ids


def _visible(v: object) -> str:
    """Show invisible characters of a text as ``<U+200B>``."""
    return INVISIBLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", str(v))


def _coordinates(
    table: RawTable,
    match: ColumnMatch,
    out: _Collector,
    options: _Options,
    *,
    lat_target: str,
    lon_target: str,
    zip_location: pd.DataFrame | None,
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse latitude/longitude columns; report bad, half-filled, out-of-range and swapped.

    Returns latitude and longitude (NaN where unusable) and a mask of rows with
    coordinate errors.
    """
    frame = table.frame
    nan = pd.Series(np.nan, index=frame.index)
    none = pd.Series(False, index=frame.index)
    lat_src, lon_src = match.source_of(lat_target), match.source_of(lon_target)
    if lat_src is None and lon_src is None:
        return nan, nan.copy(), none
    if lat_src is None or lon_src is None:
        have, lack = (lat_src, "longitude") if lat_src else (lon_src, "latitude")
        out.warn(
            f"the file has '{have}' but no {lack} column, so '{have}' was not used",
            column=have,
            fix=f"add a {lack} column, or pass columns={{'<your column>': '{lack}'}}",
        )
        return nan, nan.copy(), none
    lat, lat_bad, lat_text = _numbers(frame[lat_src], decimal_comma=True, grouping=False)
    lon, lon_bad, lon_text = _numbers(frame[lon_src], decimal_comma=True, grouping=False)
    for src, bad_mask, text, word in (
        (lat_src, lat_bad, lat_text, "latitude"),
        (lon_src, lon_bad, lon_text, "longitude"),
    ):
        if bad_mask.any():
            out.error(
                f"{_plural(int(bad_mask.sum()), word)} {_is(bad_mask)} "
                f"not a number: {_examples(text[bad_mask])}",
                bad_mask,
                column=src,
                fix=f"write the {word} in decimal degrees, such as "
                f"{'33.7490' if word == 'latitude' else '-84.3880'}, or leave it blank",
            )
    lat, lon, lat_src, lon_src, swap_errors = _resolve_swaps(
        lat,
        lon,
        zip_location,
        out,
        options,
        names=(lat_src, lon_src),
        targets=(lat_target, lon_target),
    )
    half = lat.notna() ^ lon.notna()
    half &= ~(lat_bad | lon_bad)
    if half.any():
        out.error(
            f"{_plural(int(half.sum()), 'row')} {_has(half)} only one of latitude and longitude",
            half,
            column=lon_src
            if lat.notna()[half].all()
            else lat_src
            if lon.notna()[half].all()
            else None,
            fix="fill in both latitude and longitude, or leave both blank",
        )
    for src, values, limit, word in (
        (lat_src, lat, 90, "latitude"),
        (lon_src, lon, 180, "longitude"),
    ):
        out_of_range = (values.abs() > limit) & ~swap_errors
        if out_of_range.any():
            out.error(
                f"{_plural(int(out_of_range.sum()), word)} {_is(out_of_range)} outside "
                f"-{limit}..{limit}: {_examples(values[out_of_range].map(lambda v: f'{v:g}'))}",
                out_of_range,
                column=src,
                fix=f"correct the {word} (it must be between -{limit} and {limit}); if latitude "
                "and longitude are swapped in these rows, swap them back",
            )
    zero = (lat == 0) & (lon == 0)
    if zero.any():
        out.warn(
            f"{_plural(int(zero.sum()), 'row')} {_has(zero)} latitude "
            "0 and longitude 0, which usually means 'unknown'; treated as no coordinates",
            zero,
            column=lat_src,
            fix="enter the real coordinates, or leave them blank to use the postal code",
        )
    errors = lat_bad | lon_bad | half | (lat.abs() > 90) | (lon.abs() > 180) | swap_errors
    keep = ~(errors | zero)
    return lat.where(keep), lon.where(keep), errors


def _resolve_swaps(
    lat: pd.Series,
    lon: pd.Series,
    zip_location: pd.DataFrame | None,
    out: _Collector,
    options: _Options,
    *,
    names: tuple[str, str],
    targets: tuple[str, str],
) -> tuple[pd.Series, pd.Series, str, str, pd.Series]:
    """Find swapped latitude/longitude and decide: swap the columns, or report the rows.

    Every row with coordinates looks swapped: the columns are swapped back with a
    warning (an error when ``fix_swapped`` is off). Most rows look swapped: an
    error on those rows. A few rows look swapped: a warning on those rows.
    Returns latitude, longitude, their column names and a mask of rows in error.
    """
    lat_src, lon_src = names
    none = pd.Series(False, index=lat.index)
    looks, reason = _swap_evidence(lat, lon, zip_location)
    n = int((lat.notna() & lon.notna()).sum())
    k = int(looks.sum())
    if k == 0:
        return lat, lon, lat_src, lon_src, none
    if k == n:
        message = (
            f"latitude and longitude look swapped ({reason}): '{lat_src}' seems to hold "
            f"longitudes and '{lon_src}' latitudes"
        )
        fix = (
            "swap the two column names in the file, or pass "
            f"columns={{'{lat_src}': '{targets[1]}', '{lon_src}': '{targets[0]}'}}"
        )
        if options.fix_swapped:
            out.warn(message + "; they were swapped back", looks, fix=fix)
            return lon, lat, lon_src, lat_src, none
        out.error(message, looks, fix=fix)
        return lat, lon, lat_src, lon_src, looks
    if k > n / 2:
        out.error(
            f"latitude and longitude look swapped in {k} of {n} rows ({reason})",
            looks,
            column=lat_src,
            fix="swap the latitude and longitude values in these rows",
        )
        return lat, lon, lat_src, lon_src, looks
    in_range = looks & (lat.abs() <= 90) & (lon.abs() <= 180)
    if in_range.any():
        out.warn(
            f"latitude and longitude may be swapped in {_plural(int(in_range.sum()), 'row')} "
            f"({reason})",
            in_range,
            column=lat_src,
            fix="check these rows and swap their latitude and longitude if they are wrong",
        )
    return lat, lon, lat_src, lon_src, none


def _swap_evidence(
    lat: pd.Series, lon: pd.Series, zip_location: pd.DataFrame | None
) -> tuple[pd.Series, str]:
    """Return which rows look like swapped coordinates, and why.

    A row looks swapped when, as given, its latitude is outside -90..90 or south
    of 60°S (Antarctica, where no one has accounts), while swapped it is a valid
    point outside Antarctica; or when it lies on its US ZIP code only once swapped.
    """
    both = lat.notna() & lon.notna()
    implausible = (lat.abs() > 90) | (lat < -60)
    plausible_swapped = (lon.abs() <= 90) & (lat.abs() <= 180) & (lon >= -60)
    by_range = both & implausible & plausible_swapped
    by_zip = pd.Series(False, index=lat.index)
    if zip_location is not None:
        known = both & zip_location[s.LATITUDE].notna()
        if known.any():
            zla = zip_location.loc[known, s.LATITUDE].to_numpy()
            zlo = zip_location.loc[known, s.LONGITUDE].to_numpy()
            a, o = lat[known].to_numpy(), lon[known].to_numpy()
            given = _haversine_km(a, o, zla, zlo)
            swapped = _haversine_km(o, a, zla, zlo)
            by_zip[known] = (swapped < 100) & (given > 500)
    reasons = []
    if by_range.any():
        reasons.append("latitudes outside -90..90 or in Antarctica that fit when swapped")
    if by_zip.any():
        reasons.append("points that lie on their ZIP code only when swapped")
    return by_range | by_zip, "; ".join(reasons)


def _postal(
    table: RawTable, match: ColumnMatch
) -> tuple[str | None, pd.Series, pd.DataFrame, pd.Series]:
    """Return the postal column's name, its text, ZIP locations and a US-country mask."""
    frame = table.frame
    src = match.source_of(s.POSTAL_CODE)
    empty = pd.DataFrame(
        {
            s.POSTAL_CODE: pd.Series(np.nan, index=frame.index, dtype="str"),
            s.LATITUDE: np.nan,
            s.LONGITUDE: np.nan,
        },
        index=frame.index,
    )
    country_src = match.source_of(s.COUNTRY)
    if country_src is not None:
        country = column_text(frame[country_src])
        us_values = {u for u in country.dropna().unique() if normalise_name(u) in _US}
        us = country.isna() | country.isin(us_values)
    else:
        us = pd.Series(True, index=frame.index)
    if src is None:
        return None, pd.Series(np.nan, index=frame.index, dtype="str"), empty, us
    text = column_text(frame[src])
    zip5, display = _normalise_zip(text.where(us))
    lat, lon = _locate_zip5(zip5)
    located = pd.DataFrame({s.POSTAL_CODE: zip5, s.LATITUDE: lat, s.LONGITUDE: lon})
    shown = display.where(display.notna(), text)
    return src, shown.astype("str"), located, us


def _place(
    table: RawTable,
    match: ColumnMatch,
    out: _Collector,
    options: _Options,
    *,
    what: str,
    lat_target: str,
    lon_target: str,
    required: bool,
) -> tuple[gpd.GeoSeries, pd.Series, pd.Series]:
    """Locate each row: geometry, then coordinates, then the US ZIP code.

    Returns the points (EPSG:4326), the geocode precision and the postal codes.
    """
    frame = table.frame
    index = frame.index
    postal_src, postal_text, located, us = _postal(table, match)
    lat, lon, coord_errors = _coordinates(
        table,
        match,
        out,
        options,
        lat_target=lat_target,
        lon_target=lon_target,
        zip_location=located,
    )
    precision = np.full(len(index), None, dtype=object)
    has_coords = lat.notna() & lon.notna()
    precision[has_coords.to_numpy()] = "exact"
    xs, ys = lon.to_numpy(copy=True), lat.to_numpy(copy=True)

    if table.geometry_unusable:  # already an error of the whole file
        out.bad[:] = True
        required = False
    elif table.geometry is not None:
        geom = _unplaceable(table.geometry, out, what=what)
        coord_errors = coord_errors | (table.geometry.notna() & geom.isna())
        present = geom.notna() & ~geom.is_empty
        not_point = present & (geom.geom_type != "Point")
        if not_point.any():
            out.warn(
                f"{_plural(int(not_point.sum()), 'row')} {_has(not_point)} "
                "a shape that is not a point; a point inside each shape was used",
                not_point,
                fix=f"export the {what}s as points to choose the location yourself",
            )
        pts = geom.where(~not_point, geom.representative_point())
        use = present.to_numpy()
        xs[use] = shapely.get_x(pts[present].to_numpy())
        ys[use] = shapely.get_y(pts[present].to_numpy())
        precision[use] = "exact"
        has_coords = has_coords | present

    # Rows whose coordinates were given but wrong are already errors: no fallback.
    need = ~has_coords & ~coord_errors
    found = located[s.LATITUDE].notna()
    from_zip = need & found
    if from_zip.any():
        ys[from_zip.to_numpy()] = located.loc[from_zip, s.LATITUDE].to_numpy()
        xs[from_zip.to_numpy()] = located.loc[from_zip, s.LONGITUDE].to_numpy()
        precision[from_zip.to_numpy()] = "postal_code"
    unresolved = need & ~found
    if postal_src is not None:
        has_code = postal_text.notna()
        foreign = unresolved & has_code & ~us
        unknown = unresolved & has_code & us
        if foreign.any():
            msg = (
                f"{_plural(int(foreign.sum()), 'row')} outside the US "
                f"{_has(foreign)} no coordinates, and postal codes "
                "can only be located in the US"
            )
            fix = "add latitude and longitude for these rows"
            if required:
                out.error(msg, foreign, column=postal_src, fix=fix)
            else:
                out.warn(msg + "; the location was left empty", foreign, column=postal_src, fix=fix)
        if unknown.any():
            msg = (
                f"{_plural(int(unknown.sum()), 'postal code')} "
                f"{_is(unknown)} not a known US ZIP code: "
                f"{_examples(postal_text[unknown])}"
            )
            fix = "correct the ZIP code (5 digits, or ZIP+4), or add latitude and longitude"
            if required:
                out.error(msg, unknown, column=postal_src, fix=fix)
            else:
                out.warn(msg + "; the location was left empty", unknown, column=postal_src, fix=fix)
        neither = unresolved & ~has_code
    else:
        neither = unresolved
    if required and neither.any():
        out.error(
            f"{_plural(int(neither.sum()), 'row')} {_has(neither)} "
            "neither coordinates nor a postal code",
            neither,
            fix="add latitude/longitude or a US postal code",
        )
    located_mask = ~np.isnan(xs) & ~np.isnan(ys)
    points = np.full(len(index), None, dtype=object)
    points[located_mask] = shapely.points(xs[located_mask], ys[located_mask])
    geometry = gpd.GeoSeries(points, index=index, crs=s.STORAGE_CRS)
    precision[~located_mask] = None
    return geometry, pd.Series(precision, index=index, dtype="str"), postal_text


def _number_column(
    frame: pd.DataFrame,
    match: ColumnMatch,
    out: _Collector,
    target: str,
    *,
    decimal_comma: bool,
    example: str,
    positive: bool = False,
) -> pd.Series:
    src = match.source_of(target)
    if src is None:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    values, bad, text = _numbers(frame[src], decimal_comma=decimal_comma, grouping=True)
    if bad.any():
        out.error(
            f"'{src}' has {_plural(int(bad.sum()), 'value')} that {_is(bad)} "
            f"not a number: {_examples(text[bad])}",
            bad,
            column=src,
            fix=f"use plain numbers such as {example}, or leave the cell blank",
        )
    negative = values < 0 if not positive else values <= 0
    if negative.any():
        out.error(
            f"'{src}' has {_plural(int(negative.sum()), 'value')} "
            f"{'below or equal to' if positive else 'below'} zero",
            negative,
            column=src,
            fix=f"use a number {'above' if positive else 'of at least'} zero",
        )
    return values.where(~bad)


def _text_column(frame: pd.DataFrame, match: ColumnMatch, target: str) -> pd.Series:
    src = match.source_of(target)
    if src is None:
        return pd.Series(np.nan, index=frame.index, dtype="str")
    return column_text(frame[src])


def _assemble(
    table: RawTable,
    match: ColumnMatch,
    schema_name: str,
    values: dict[str, pd.Series],
    geometry: gpd.GeoSeries | None,
    *,
    consumed: Sequence[str] = (),
    keep_extra: bool = True,
) -> gpd.GeoDataFrame:
    """Build the output frame: declared columns first, then the file's other columns."""
    frame = table.frame
    schema = s.TABLES[schema_name]
    data: dict[str, pd.Series] = {}
    for spec in schema.columns:
        if spec.name in values:
            data[spec.name] = values[spec.name]
    for name, col in values.items():
        if name not in data:
            data[name] = col
    if keep_extra:
        used = set(match.mapping) | set(match.ignored) | set(consumed)
        for c in frame.columns:
            if c in used:
                continue
            name = str(c)
            while name in data or name == s.GEOMETRY:
                name = f"{name}_original"
            data[name] = frame[c]
    out = pd.DataFrame(data, index=frame.index)
    geom = (
        geometry
        if geometry is not None
        else gpd.GeoSeries([None] * len(frame), index=frame.index, crs=s.STORAGE_CRS)
    )
    return gpd.GeoDataFrame(out, geometry=geom, crs=s.STORAGE_CRS)


def _check_accounts(table: RawTable, match: ColumnMatch, options: _Options) -> _Checked:
    frame = table.frame
    out = _Collector(frame.index)
    ids = _id_column(
        table,
        match,
        out,
        target=s.ACCOUNT_ID,
        what="account",
        aliases_hint="'Id', 'Account ID', 'AccountId'",
    )
    geometry, precision, postal = _place(
        table,
        match,
        out,
        options,
        what="account",
        lat_target=s.LATITUDE,
        lon_target=s.LONGITUDE,
        required=True,
    )
    values: dict[str, pd.Series] = {s.ACCOUNT_ID: ids, s.NAME: _text_column(frame, match, s.NAME)}
    for target in (s.ADDRESS, CITY, STATE):
        if match.source_of(target) is not None:
            values[target] = _text_column(frame, match, target)
    values[s.POSTAL_CODE] = postal
    for target in (s.COUNTRY, s.INDUSTRY, s.PRODUCT_LINE, s.SIZE):
        values[target] = _text_column(frame, match, target)
    for target, example in (
        (s.ANNUAL_REVENUE, "1250000"),
        (s.VISITS_PER_MONTH, "2 or 0.5"),
        (s.VISIT_MINUTES, "45"),
    ):
        values[target] = _number_column(
            frame, match, out, target, decimal_comma=table.decimal_comma, example=example
        )
    values[s.OPENING_HOURS] = _text_column(frame, match, s.OPENING_HOURS)
    values[s.OWNER_ID] = _text_column(frame, match, s.OWNER_ID)
    values[s.GEOCODE_PRECISION] = precision
    result = _assemble(table, match, "accounts", values, geometry)
    return _Checked(result, out.bad, out.problems)


def _role_column(frame: pd.DataFrame, match: ColumnMatch, out: _Collector) -> pd.Series:
    src = match.source_of(s.ROLE)
    if src is None:
        return pd.Series("rep", index=frame.index, dtype="str")
    text = column_text(frame[src])
    roles = text.map(
        lambda r: _ROLE_SYNONYMS.get(normalise_name(r), "?") if isinstance(r, str) else "rep"
    )
    unknown = roles == "?"
    if unknown.any():
        out.error(
            f"'{src}' has unknown roles: {_examples(text[unknown])}",
            unknown,
            column=src,
            fix=f"use one of {', '.join(s.USER_ROLES)} (blank means rep)",
        )
    return roles.where(~unknown).astype("str")


def _check_reps(table: RawTable, match: ColumnMatch, options: _Options) -> _Checked:
    frame = table.frame
    out = _Collector(frame.index)
    ids = _id_column(
        table, match, out, target=s.REP_ID, what="rep", aliases_hint="'Id', 'user_id', 'UserId'"
    )
    name = _text_column(frame, match, s.NAME)
    first, last = match.source_of(FIRST_NAME), match.source_of(LAST_NAME)
    if first is not None or last is not None:
        parts = [column_text(frame[c]).fillna("") for c in (first, last) if c is not None]
        joined = parts[0] if len(parts) == 1 else (parts[0] + " " + parts[1])
        joined = joined.str.strip()
        name = name.fillna(joined.mask(joined == ""))
    geometry, _, postal = _place(
        table,
        match,
        out,
        options,
        what="rep",
        lat_target=s.HOME_LATITUDE,
        lon_target=s.HOME_LONGITUDE,
        required=False,
    )
    manager = _text_column(frame, match, s.MANAGER_ID)
    unknown_manager = manager.notna() & ~manager.isin(set(ids.dropna()))
    if unknown_manager.any() and ids.notna().any():
        out.warn(
            f"{_plural(int(unknown_manager.sum()), 'row')} "
            f"{'names' if unknown_manager.sum() == 1 else 'name'} a manager who is not in the "
            f"file: {_examples(manager[unknown_manager])}",
            unknown_manager,
            column=match.source_of(s.MANAGER_ID),
            fix="add the managers as rows, or correct the manager ids",
        )
    _manager_loops(ids, manager, out, column=match.source_of(s.MANAGER_ID))
    _password_hashes(frame, match, out)
    values: dict[str, pd.Series] = {
        s.REP_ID: ids,
        s.NAME: name,
        s.ROLE: _role_column(frame, match, out),
        s.EMAIL: _text_column(frame, match, s.EMAIL),
        s.MANAGER_ID: manager,
        s.CAPACITY_H_PER_WEEK: _number_column(
            frame,
            match,
            out,
            s.CAPACITY_H_PER_WEEK,
            decimal_comma=table.decimal_comma,
            example="40",
            positive=True,
        ),
        s.PASSWORD_HASH: _text_column(frame, match, s.PASSWORD_HASH),
    }
    for target in (s.ADDRESS, CITY, STATE):
        if match.source_of(target) is not None:
            values[target] = _text_column(frame, match, target)
    if match.source_of(s.POSTAL_CODE) is not None:
        values[s.POSTAL_CODE] = postal
    if match.source_of(s.COUNTRY) is not None:
        values[s.COUNTRY] = _text_column(frame, match, s.COUNTRY)
    result = _assemble(table, match, "reps", values, geometry)
    return _Checked(result, out.bad, out.problems)


def _password_hashes(frame: pd.DataFrame, match: ColumnMatch, out: _Collector) -> None:
    """Password hashes should never travel in files: say so when a file carries them."""
    src = match.source_of(s.PASSWORD_HASH)
    if src is None:
        return
    present = column_text(frame[src]).notna()
    if present.any():
        out.warn(
            f"{_plural(int(present.sum()), 'row')} carry a password hash; only an admin may "
            "import them, and a hash copied from elsewhere is a risk",
            present,
            column=src,
            fix="leave the column out and set passwords in the app (or with set_password)",
        )


def _manager_loops(
    ids: pd.Series, manager: pd.Series, out: _Collector, *, column: str | None
) -> None:
    """A loop in the manager chain would make everyone in it the others' manager: refuse it."""
    if column is None:
        return
    own = manager.notna() & (manager == ids)
    _, looped = _depths(ids, manager.where(~own))
    looped |= own
    if looped.any():
        out.error(
            f"{_plural(int(looped.sum()), 'user')} {_is(looped)} in or below a loop of the "
            f"manager chain (someone is their own manager's manager): {_examples(ids[looped])}",
            looped,
            column=column,
            fix="break the loop: give the top manager of the group no manager (or one above "
            "the group), so the chain ends",
        )


def _polygons(table: RawTable, out: _Collector, *, what: str, required: bool) -> gpd.GeoSeries:
    """Check polygon geometry: present, polygonal, valid (repaired with a warning)."""
    index = table.frame.index
    if table.geometry is None:
        if required:
            out.error(
                f"the file has no shapes, and {what}s need polygons",
                fix="use a GeoJSON, GeoPackage or zipped Shapefile with polygons",
            )
        return gpd.GeoSeries([None] * len(index), index=index, crs=s.STORAGE_CRS)
    geom = table.geometry
    if table.geometry_unusable:
        out.bad[:] = True
        return geom
    geom = _unplaceable(geom, out, what=what)
    missing = geom.isna() | geom.is_empty
    unplaceable = missing & table.geometry.notna()  # already reported
    if required and (missing & ~unplaceable).any():
        lacking = missing & ~unplaceable
        out.error(
            f"{_plural(int(lacking.sum()), what)} {_has(lacking)} no shape",
            lacking,
            fix=f"draw a polygon for each {what}, or delete the rows",
        )
    polygonal = geom.geom_type.isin(["Polygon", "MultiPolygon"])
    wrong = ~missing & ~polygonal
    if wrong.any():
        kinds = format_ids(sorted(set(geom[wrong].geom_type)))
        out.error(
            f"{_plural(int(wrong.sum()), what)} {_is(wrong)} not a polygon ({kinds})",
            wrong,
            fix=f"use polygons for {what}s (points belong in the accounts file)",
        )
    invalid = ~missing & polygonal & ~geom.is_valid
    if invalid.any():
        repaired = geom[invalid].map(_repair_polygon)
        geom = geom.copy()
        geom[invalid] = repaired
        failed = invalid & (geom.isna() | geom.is_empty)
        out.warn(
            f"{_plural(int(invalid.sum()), what)} had an invalid shape (e.g. a self-crossing "
            "ring) and {'was' if invalid.sum() == 1 else 'were'} repaired",
            invalid & ~failed,
            fix="check the shapes in a GIS if the repair looks wrong",
        )
        if failed.any():
            out.error(
                f"{_plural(int(failed.sum()), what)} had a shape that could not be repaired",
                failed,
                fix="fix the polygons in a GIS and export again",
            )
    return geom


def _unplaceable(geom: gpd.GeoSeries, out: _Collector, *, what: str) -> gpd.GeoSeries:
    """Report shapes with NaN/infinite or off-the-globe coordinates; return the others."""
    trouble = coordinate_trouble(geom)
    if not trouble.any:
        return geom
    for mask, problem in (
        (trouble.nonfinite, "a coordinate that is not a number (NaN) or infinite"),
        (trouble.off_globe, "points outside longitude -180..180 or latitude -90..90"),
    ):
        if mask.any():
            out.error(
                f"{_plural(int(mask.sum()), what)} {_has(mask)} {problem} "
                f"(e.g. {_examples(trouble.example[mask], limit=3)})",
                mask,
                column=s.GEOMETRY,
                fix=f"correct the coordinates of these {what}s in a GIS and export again "
                "(if the whole file is in metres, pass crs= with its coordinate system)",
            )
    broken = trouble.nonfinite | trouble.off_globe
    return geom.where(~broken, None)


def _overlaps(geometry: gpd.GeoSeries, ids: pd.Series, out: _Collector) -> None:
    """Warn about units whose insides overlap (an account there would fall in two)."""
    present = geometry.notna() & ~geometry.is_empty
    if present.sum() < 2:
        return
    shapes = geometry[present].to_numpy()
    tree = shapely.STRtree(shapes)
    pairs = np.hstack([tree.query(shapes, predicate=p) for p in ("overlaps", "contains")])
    pairs = np.sort(pairs, axis=0)
    pairs = pairs[:, pairs[0] < pairs[1]]
    if pairs.size == 0:
        return
    rows = geometry.index[present.to_numpy()]
    names = ids[rows].to_numpy()
    pairs = np.unique(pairs, axis=1)
    listed = format_ids([f"{names[a]} and {names[b]}" for a, b in pairs.T[:20]], limit=5)
    mask = pd.Series(geometry.index.isin(rows[np.unique(pairs)]), index=geometry.index)
    out.warn(
        f"{_plural(pairs.shape[1], 'pair')} of units overlap ({listed}); accounts in an "
        "overlap belong to one of them only",
        mask,
        column=s.GEOMETRY,
        fix="check the shapes in a GIS: units should tile the area without overlapping",
    )


def _repair_polygon(g: Any) -> Any:
    try:
        fixed = shapely.make_valid(g)
    except shapely.errors.GEOSException:
        return None
    parts = [p for p in shapely.get_parts(fixed) if p.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return None
    merged = shapely.union_all(parts)
    return merged if not merged.is_empty else None


def _check_units(table: RawTable, match: ColumnMatch, options: _Options) -> _Checked:
    frame = table.frame
    out = _Collector(frame.index)
    ids = _id_column(
        table,
        match,
        out,
        target=s.UNIT_ID,
        what="unit",
        aliases_hint="'id', 'GEOID', 'FIPS', 'ZCTA5CE20'; or pass id_column=",
    )
    geometry = _polygons(table, out, what="unit", required=True)
    _overlaps(geometry, ids, out)
    values = {
        s.UNIT_ID: ids,
        s.NAME: _text_column(frame, match, s.NAME),
        s.UNIT_TYPE: pd.Series(options.unit_type, index=frame.index, dtype="str"),
    }
    result = _assemble(table, match, "units", values, geometry)
    return _Checked(result, out.bad, out.problems)


def _check_territories(table: RawTable, match: ColumnMatch, options: _Options) -> _Checked:
    frame = table.frame
    out = _Collector(frame.index)
    ids = _id_column(
        table,
        match,
        out,
        target=s.TERRITORY_ID,
        what="territory",
        aliases_hint="'id', 'territory', 'DeveloperName'",
    )
    geometry = _polygons(table, out, what="territory", required=False)
    parent = _text_column(frame, match, s.PARENT_ID)
    parent_src = match.source_of(s.PARENT_ID)
    known = set(ids.dropna())
    orphan = parent.notna() & ~parent.isin(known)
    if orphan.any():
        out.error(
            f"{_plural(int(orphan.sum()), 'row')} {'names' if orphan.sum() == 1 else 'name'} "
            f"a parent that is not a territory in the file: {_examples(parent[orphan])}",
            orphan,
            column=parent_src,
            fix="add the parent territories, correct the parent ids, or leave them blank for "
            "top-level territories",
        )
    self_parent = parent.notna() & (parent == ids)
    depth, cyclic = _depths(ids, parent.where(~orphan & ~self_parent))
    cyclic |= self_parent
    if cyclic.any():
        out.error(
            f"{_plural(int(cyclic.sum()), 'territory')} {_is(cyclic)} "
            f"its own ancestor: {_examples(ids[cyclic])}",
            cyclic,
            column=parent_src,
            fix="break the loop: a territory's parent must be higher in the hierarchy",
        )
    level_src = match.source_of(s.LEVEL)
    level_name = _text_column(frame, match, s.LEVEL_NAME)
    level = depth.astype(float)
    if level_src is not None:
        raw, bad, text = _numbers(frame[level_src], decimal_comma=False, grouping=False)
        if bad.sum() > len(frame) / 2:  # names such as "Region": they are level names
            level_name = level_name.fillna(text)
        else:
            wrong = bad | (raw.notna() & ((raw < 0) | (raw % 1 != 0)))
            if wrong.any():
                out.error(
                    f"'{level_src}' has {_plural(int(wrong.sum()), 'value')} that "
                    f"{_is(wrong)} not a whole number of 0 or more: "
                    f"{_examples(text[wrong])}",
                    wrong,
                    column=level_src,
                    fix="use 0 for top-level territories, 1 below them, and so on "
                    "(or leave blank to count from the parents)",
                )
            level = raw.where(raw.notna() & ~wrong, level)
            parent_level = parent.map(dict(zip(ids, level, strict=False)))
            inverted = parent_level.notna() & (level <= parent_level) & ~wrong
            if inverted.any():
                out.error(
                    f"{_plural(int(inverted.sum()), 'territory')} {_has(inverted)} a level "
                    "that is not deeper than the parent's",
                    inverted,
                    column=level_src,
                    fix="give each territory a higher level number than its parent",
                )
    type_id = _text_column(frame, match, s.TYPE_ID).fillna(DEFAULT_TYPE.type_id)
    has_shape = geometry.notna() & ~geometry.is_empty
    values: dict[str, pd.Series] = {}
    if options.scenario_id is not None:
        values[s.SCENARIO_ID] = pd.Series(options.scenario_id, index=frame.index, dtype="str")
    values.update(
        {
            s.TERRITORY_ID: ids,
            s.NAME: _text_column(frame, match, s.NAME),
            s.PARENT_ID: parent,
            s.LEVEL: level.fillna(0).astype("int64"),
            s.LEVEL_NAME: level_name,
            s.TYPE_ID: type_id.astype("str"),
            s.SOURCE: pd.Series(
                np.where(has_shape, "imported", "none"), index=frame.index, dtype="str"
            ),
            s.RULE: _rules(frame, match, out, ids),
        }
    )
    result = _assemble(table, match, "territories", values, geometry, keep_extra=False)
    return _Checked(result, out.bad, out.problems)


def _rules(frame: pd.DataFrame, match: ColumnMatch, out: _Collector, ids: pd.Series) -> pd.Series:
    """Return the rule column, reporting every rule that does not parse."""
    rules = _text_column(frame, match, s.RULE)
    src = match.source_of(s.RULE)
    for row, rule in rules.dropna().items():
        try:
            parse_rule(str(rule), label=f"territory {ids.get(row, row)}")
        except RuleError as exc:
            problem = exc.problems[0]
            out.error(
                problem.message,
                pd.Series(True, index=[row]),
                column=src,
                fix=problem.fix or "correct the rule (see the rule language in the README)",
            )
    return rules


def _depths(ids: pd.Series, parent: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return each territory's depth below its root, and which rows are on or below a cycle."""
    parent_of = {
        i: p for i, p in zip(ids, parent, strict=True) if isinstance(i, str) and isinstance(p, str)
    }
    depth: dict[str, int] = {}
    cyclic: set[str] = set()
    for start in ids.dropna().unique():
        path: list[str] = []
        node = str(start)
        base: int | None
        while True:
            if node in depth:
                base = depth[node]
                break
            if node in cyclic:
                base = None
                break
            if node in path:  # walked into a loop
                cyclic.update(path[path.index(node) :])
                base = None
                break
            path.append(node)
            up = parent_of.get(node)
            if up is None:
                base = -1
                break
            node = up
        for k, n in enumerate(reversed([n for n in path if n not in cyclic])):
            if base is None:
                cyclic.add(n)
            else:
                depth[n] = base + 1 + k
    d = ids.map(lambda i: depth.get(i, 0) if isinstance(i, str) else 0).astype("int64")
    c = ids.map(lambda i: isinstance(i, str) and i in cyclic).astype(bool)
    return d, c


_CHECKS = {
    "accounts": _check_accounts,
    "reps": _check_reps,
    "units": _check_units,
    "territories": _check_territories,
}


# --------------------------------------------------------------------------- results


def _with_scenario(frame: pd.DataFrame, kind: Kind) -> pd.DataFrame:
    """Territories read without a scenario are checked as if they had one."""
    if kind == "territories" and s.SCENARIO_ID not in frame.columns:
        return frame.assign(**{s.SCENARIO_ID: "(import)"})
    return frame


def _empty_report(
    name: str,
    kind: Kind,
    problems: Sequence[Problem],
    *,
    file_format: str,
    encoding: str | None = None,
    header_row: int | None = None,
) -> ValidationReport:
    return ValidationReport(
        path=name,
        kind=kind,
        rows_read=0,
        rows_valid=0,
        columns_recognised={},
        problems=tuple(problems),
        frame=s.empty_frame(kind),
        file_format=file_format,
        encoding=encoding,
        header_row=header_row,
    )


def _strict(report: ValidationReport) -> gpd.GeoDataFrame:
    """Raise on errors, warn on warnings, else return the frame."""
    errors = report.errors
    if errors:
        bad = report.rows_read - report.rows_valid
        if report.rows_read:
            summary = (
                f"{_plural(len(errors), 'problem')} in the {report.kind} file: "
                f"{bad} of {report.rows_read} rows cannot be used"
            )
        else:
            summary = f"the {report.kind} file cannot be read"
        raise InputError(summary, errors, source=report.path)
    for problem in report.warnings:
        category: type[PlannerWarning] = (
            GeometryRepairWarning if "repaired" in problem.message else InputWarning
        )
        warnings.warn(f"{report.path}: {problem}", category, stacklevel=3)
    return cast(gpd.GeoDataFrame, report.frame)
