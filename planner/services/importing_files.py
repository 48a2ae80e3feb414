"""Checking an uploaded file before it is imported: its type, layers, columns and problems."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import pyogrio

from planner import schema as s
from planner.errors import InputError, Problem, format_ids
from planner.geo.columns import ALIASES, Kind, match_columns
from planner.geo.io import ValidationReport, validate_file
from planner.geo.sources import Unreadable, open_input, read_table
from planner.services import unit_plans
from planner.services.importing_common import GIS_SUFFIXES, NOT_USED

__all__ = [
    "ACCOUNT_TEMPLATE_COLUMNS",
    "accounts_template_csv",
    "auto_mapping",
    "file_columns",
    "is_gis_file",
    "layer_names",
    "mapping_frame",
    "mapping_overrides",
    "parse_crs",
    "problems_frame",
    "sheet_names",
    "target_columns",
    "validate_upload",
]

logger = logging.getLogger(__name__)

#: Columns of the downloadable accounts template, in order.
ACCOUNT_TEMPLATE_COLUMNS = (
    s.ACCOUNT_ID,
    s.NAME,
    s.ADDRESS,
    s.POSTAL_CODE,
    s.COUNTRY,
    s.INDUSTRY,
    s.ANNUAL_REVENUE,
    s.VISITS_PER_MONTH,
    s.VISIT_MINUTES,
    s.OPENING_HOURS,
    s.OWNER_ID,
    s.LATITUDE,
    s.LONGITUDE,
)

# --------------------------------------------------------------------------- the template


def accounts_template_csv() -> bytes:
    """Return a small CSV with the accounts columns the planner reads, and two example rows."""
    rows = [
        ["A-1001", "Kauppahalli Deli", "Eteläranta 1, Helsinki", "00130", "FI", "retail",
         "1250000", "2", "45", "Mo-Fr 08:00-18:00", "", "60.1672", "24.9533"],
        ["A-1002", "Kamppi Pharmacy", "Urho Kekkosen katu 1, Helsinki", "00100", "FI",
         "pharmacy", "830000", "1", "30", "", "", "60.1690", "24.9325"],
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=list(ACCOUNT_TEMPLATE_COLUMNS))
    return frame.to_csv(index=False).encode("utf-8")


# --------------------------------------------------------------------------- checking a file


def parse_crs(text: str | int | None) -> str | None:
    """Return ``"EPSG:<code>"`` (or the text as given) for a CRS the user typed; ``None`` if blank.

    ``26916``, ``"EPSG:26916"`` and ``"epsg 26916"`` give ``"EPSG:26916"``.

    Raises
    ------
    planner.errors.InputError
        If the text is not a coordinate reference system pyproj knows.
    """
    if text is None:
        return None
    raw = str(text).strip()
    if not raw:
        return None
    digits = re.fullmatch(r"(?:epsg)?\s*[:\s]?\s*(\d{4,6})", raw, flags=re.IGNORECASE)
    value = f"EPSG:{digits.group(1)}" if digits else raw
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        CRS.from_user_input(value)
    except CRSError as exc:
        problem = Problem(
            f"'{raw}' is not a coordinate reference system ({exc})",
            column=None,
            fix="type the EPSG code of the file's coordinates, e.g. 3067 (Finland) or "
            "26916 (UTM 16N)",
        )
        raise InputError(f"unknown CRS '{raw}'", [problem]) from exc
    return value


def validate_upload(
    filename: str,
    data: bytes,
    *,
    kind: Kind | None = None,
    columns: Mapping[str, str | None] | None = None,
    crs: str | None = None,
    layer: str | None = None,
    sheet: str | int | None = None,
) -> ValidationReport:
    """Validate an uploaded file with :func:`planner.geo.io.validate_file`.

    Parameters
    ----------
    filename, data
        The file's name (its suffix says how to read it) and bytes.
    kind
        What it holds (guessed from the columns when ``None``).
    columns
        File column -> planner column, for columns the reader does not
        recognise (``None`` ignores a column).
    crs
        The coordinates' CRS when the file does not say (e.g. ``"3067"``).
    layer, sheet
        The GIS layer or spreadsheet sheet to read.

    Returns
    -------
    ValidationReport
        Every problem; a CRS that cannot be understood is one of them.
    """
    try:
        epsg = parse_crs(crs)
    except InputError as exc:
        return ValidationReport(
            path=filename,
            kind=kind or "accounts",
            rows_read=0,
            rows_valid=0,
            columns_recognised={},
            problems=tuple(exc.problems),
            frame=s.empty_frame(kind or "accounts"),
        )
    if kind == "territories":  # a unit-to-territory file: one row per unit
        plan = unit_plans.read_unit_plan(filename, data, columns=columns, sheet=sheet)
        if plan is not None:
            return plan
    report = validate_file(
        data, kind=kind, columns=columns, filename=filename, crs=epsg, layer=layer, sheet=sheet
    )
    if kind is None and report.kind == "territories" and not report.ok:  # guessed: units?
        plan = unit_plans.read_unit_plan(filename, data, columns=columns, sheet=sheet)
        return plan or report
    return report


def is_gis_file(filename: str) -> bool:
    """Tell whether a file name is a GIS format whose shapes have a CRS."""
    return Path(filename).suffix.lower() in GIS_SUFFIXES


def layer_names(filename: str, data: bytes) -> list[str]:
    """Return the layers of an uploaded GeoPackage (empty for other files or damaged ones)."""
    if Path(filename).suffix.lower() != ".gpkg":
        return []
    try:
        with open_input(data, filename).local_path() as path:
            return [str(row[0]) for row in pyogrio.list_layers(path)]
    except Exception:  # pyogrio raises its own error family; the report says what is wrong
        logger.info("could not list the layers of %s", filename, exc_info=True)
        return []


def sheet_names(filename: str, data: bytes) -> list[str]:
    """Return the sheets of an uploaded workbook (empty for other files or damaged ones)."""
    if Path(filename).suffix.lower() not in (".xlsx", ".xlsm"):
        return []
    try:
        with pd.ExcelFile(io.BytesIO(data)) as book:
            return [str(name) for name in book.sheet_names]
    except Exception:  # openpyxl's zip/xml errors; the report says what is wrong
        logger.info("could not list the sheets of %s", filename, exc_info=True)
        return []


# --------------------------------------------------------------------------- the column mapping


def target_columns(kind: Kind) -> list[str]:
    """Return the planner columns a file column of ``kind`` can be mapped to."""
    return list(ALIASES[kind])


def auto_mapping(columns: Sequence[str], kind: Kind) -> dict[str, str]:
    """Return file column -> planner column as recognised without any override."""
    return dict(match_columns(list(columns), kind).mapping)


def mapping_overrides(
    chosen: Mapping[str, str | None], auto: Mapping[str, str]
) -> dict[str, str | None]:
    """Return the entries of the user's mapping that differ from the automatic one.

    Parameters
    ----------
    chosen
        File column -> planner column picked by the user (``None``: not used).
    auto
        The automatic mapping (:func:`auto_mapping`).
    """
    return {col: tgt for col, tgt in chosen.items() if auto.get(col) != tgt}


def mapping_frame(columns: Sequence[str], recognised: Mapping[str, str]) -> pd.DataFrame:
    """Return the mapping as a table: every file column and the planner column it feeds."""
    return pd.DataFrame(
        {
            "file column": list(columns),
            "planner column": [recognised.get(c, NOT_USED) for c in columns],
        }
    )


def problems_frame(problems: Sequence[Problem]) -> pd.DataFrame:
    """Return problems as a table (errors first): severity, rows, column, message, fix."""
    ordered = sorted(problems, key=lambda p: p.severity != "error")
    return pd.DataFrame(
        {
            "severity": [p.severity for p in ordered],
            "rows": [format_ids(p.rows, limit=25) for p in ordered],
            "column": [p.column or "" for p in ordered],
            "message": [p.message for p in ordered],
            "fix": [p.fix for p in ordered],
        },
        columns=["severity", "rows", "column", "message", "fix"],
    )


def file_columns(
    filename: str,
    data: bytes,
    *,
    kind: Kind,
    sheet: str | int | None = None,
    layer: str | None = None,
) -> list[str]:
    """Return the column names of an uploaded file (without the geometry), as the reader sees them.

    An unreadable file has none.
    """
    try:
        inp = open_input(data, filename)
    except Unreadable:
        return []
    table = read_table(
        inp, kinds=(kind,), columns=None, sheet=sheet, layer=layer, encoding=None, crs=None
    )
    return [str(c) for c in table.frame.columns]
