"""XLSX workbooks: the sheet, its header, formula cells without a saved result, bombs.

A workbook is a zip: its unpacked size is checked from the directory before
openpyxl reads it. Formula cells are read as their saved results; a formula
that was never calculated (written by a script) would read as empty, so such
cells are reported by row and column.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from typing import Any

import pandas as pd

from planner.errors import InputError, Problem
from planner.geo.columns import Kind, normalise_name
from planner.io.limits import ReadLimits, read_zip_member
from planner.io.table import (
    MAX_ROWS,
    InputFile,
    RawTable,
    Unreadable,
    check_row_count,
    empty_file_problem,
    find_header,
    finish_rows,
    header_names,
    header_only_problem,
    unreadable_table,
)

__all__ = ["read_excel"]

logger = logging.getLogger(__name__)


def read_excel(
    inp: InputFile,
    *,
    kinds: tuple[Kind, ...],
    extra: tuple[str, ...],
    sheet: str | int | None,
    limits: ReadLimits,
) -> RawTable:
    data = inp.read_bytes()
    if not data:
        return unreadable_table(inp, "xlsx", empty_file_problem())
    try:
        has_formulas = _xlsx_preflight(data, limits, inp.name)
        rows, ws_name = _excel_rows(data, sheet, kinds, data_only=True)
    except Unreadable as exc:
        return unreadable_table(inp, "xlsx", exc.problem)
    h = find_header(rows, kinds, extra)
    if h is None:
        return unreadable_table(
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
        names_ = header_names(rows[h], header_row, limits, problems)
        if len(rows) - h - 1 > limits.max_rows:
            check_row_count(len(rows) - h - 1, header_row, limits)
    except Unreadable as exc:
        return unreadable_table(inp, "xlsx", exc.problem)
    if has_formulas:
        formulas, _ = _excel_rows(data, ws_name, kinds, data_only=False)
        problems.extend(_formula_problems(rows, formulas, names_, h))
        del formulas  # a second copy of every cell: released before the frame is built
    width = len(names_)
    body: list[Any] = rows[h + 1 :]
    del rows  # the sheet's rows are held once, not beside a padded copy
    if any(len(r) != width for r in body):
        body = [(list(r) + [None] * (width - len(r)))[:width] for r in body]
    frame = pd.DataFrame(body, columns=names_, dtype=object)
    del body
    frame = finish_rows(frame, header_row)
    table = RawTable(inp.name, "xlsx", frame, header_row=header_row, problems=problems)
    if h > 0:
        logger.info("%s: header found on row %d of sheet %s", inp.name, header_row, ws_name)
    if frame.empty:
        table.problems.append(header_only_problem(header_row))
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
