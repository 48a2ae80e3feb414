"""Read and validate input files: accounts, reps, units and territories.

Every reader follows one recipe: open the input (a path, or bytes/a file
object with a file name) within the size limits and read its raw table (CSV,
XLSX, GeoJSON, GeoPackage, Parquet, a zipped Shapefile or a gzip-compressed
file; :mod:`planner.geo.sources` and :mod:`planner.io`), recognise its columns
(:mod:`planner.geo.columns`), check every row (:mod:`planner.io.records` for
accounts and reps, :mod:`planner.io.areas` for units and territories), and
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
import warnings
from collections.abc import Sequence
from typing import Any, cast

import geopandas as gpd
import pandas as pd

from planner import schema as s
from planner.errors import (
    GeometryRepairWarning,
    InputError,
    InputWarning,
    PlannerWarning,
    Problem,
)
from planner.geo.columns import (
    KINDS,
    Kind,
    guess_kind,
    match_columns,
)
from planner.geo.sources import (
    ColumnMap,
    RawTable,
    Source,
    Unreadable,
    column_text,
    name_of,
    open_input,
    read_table,
)
from planner.io.areas import check_territories, check_units
from planner.io.collect import ReadOptions
from planner.io.limits import DEFAULT_LIMITS, ReadLimits
from planner.io.records import check_accounts, check_reps
from planner.io.report import ValidationReport, schema_problems, valid_rows
from planner.io.values import locate_zip5, normalise_zip, plural

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
        ``accounts``, ``reps``, ``units`` or ``territories``; guessed from the columns and the
        geometry when ``None``.
    columns
        Explicit mapping from file columns to schema columns, e.g. ``{"Breite": "latitude"}``;
        a value of ``None`` ignores the column. It wins over the automatic recognition.
    filename
        The file name, needed for bytes and for file objects without a ``name``; its
        extension decides the format.
    sheet
        Sheet name or 0-based index in an XLSX workbook; by default the sheet named like
        ``kind``, else the first.
    layer
        Layer of a GeoPackage (or Shapefile inside a zip) holding several.
    encoding
        Text encoding of a CSV; detected when ``None`` (UTF-8, then Windows-1252, then Latin-1).
    crs
        CRS of the coordinates in a GIS file; overrides the file's own and is required for a
        Shapefile without ``.prj`` whose coordinates are not longitude/latitude.
    unit_type
        Type given to units (``"county"``, ``"zip"``...).
    scenario_id
        Scenario the territories belong to; the column is left out when ``None``.
    fix_swapped
        Swap latitude and longitude back (with a warning) when the columns as a whole look
        swapped; an error when ``False``.
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
    _check_kind(kind)
    limits = limits or DEFAULT_LIMITS
    try:
        inp = open_input(source, filename, limits=limits)
    except Unreadable as exc:
        name = filename or name_of(source)
        return _empty_report(name, kind or "accounts", [exc.problem], file_format="")
    table = read_table(
        inp,
        kinds=(kind,) if kind else KINDS,
        columns=columns,
        sheet=sheet,
        layer=layer,
        encoding=encoding,
        crs=crs,
        limits=limits,
    )
    options = ReadOptions(fix_swapped=fix_swapped, unit_type=unit_type, scenario_id=scenario_id)
    return _report(inp.name, table, kind, columns, options)


def _check_kind(kind: Kind | None) -> None:
    """Raise :class:`InputError` for a ``kind`` argument that is not a table kind."""
    if kind is not None and kind not in KINDS:
        raise InputError(
            f"unknown kind '{kind}'",
            [Problem(f"unknown kind '{kind}'", fix=f"use one of {', '.join(KINDS)}")],
        )


def _report(
    name: str, table: RawTable, kind: Kind | None, columns: ColumnMap | None, options: ReadOptions
) -> ValidationReport:
    """Recognise the columns of a read table, check every row and report."""
    if kind is None:
        kind = guess_kind([str(c) for c in table.frame.columns], geometry=table.geometry_kind())
        logger.info("%s: guessed that the file holds %s", name, kind)
    if not table.readable:
        return _empty_report(
            name,
            kind,
            table.problems,
            file_format=table.file_format,
            encoding=table.encoding,
            header_row=table.header_row,
        )
    match = match_columns([str(c) for c in table.frame.columns], kind, columns=columns)
    checked = _CHECKS[kind](table, match, options)
    problems = [*table.problems, *match.problems, *checked.problems]
    rows_read = len(checked.frame)
    valid = valid_rows(checked.frame, checked.bad)
    del checked  # the rows with errors are no longer held
    problems.extend(schema_problems(valid, kind))
    valid = valid.reset_index(drop=True)
    return ValidationReport(
        path=name,
        kind=kind,
        rows_read=rows_read,
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
        EPSG:4326, numeric columns as floats (64-bit: amounts and coordinates
        need every digit), ``geocode_precision`` and ``postal_code`` as
        categoricals (few distinct values over many rows), unrecognised columns
        kept as read.

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
    zip5, _ = normalise_zip(text)
    lat, lon = locate_zip5(zip5)
    return pd.DataFrame(
        {s.POSTAL_CODE: zip5, s.LATITUDE: lat, s.LONGITUDE: lon}, index=series.index
    )


_CHECKS = {
    "accounts": check_accounts,
    "reps": check_reps,
    "units": check_units,
    "territories": check_territories,
}


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
                f"{plural(len(errors), 'problem')} in the {report.kind} file: "
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
