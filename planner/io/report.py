"""What validating one input file found: :class:`ValidationReport`; the last check of its rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from planner import schema as s
from planner.errors import (
    InputError,
    Problem,
    format_ids,
)
from planner.geo.columns import (
    KINDS,
    Kind,
)
from planner.io.compact import duplicated_cells
from planner.io.values import row_numbers

__all__ = ["ValidationReport", "schema_problems", "valid_rows", "with_scenario"]


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


_SCHEMA_BLOCK = 100_000  # rows checked against the schema at a time


def schema_problems(frame: pd.DataFrame, kind: Kind) -> list[Problem]:
    """Check the valid rows against the schema; any problem is a bug in the checks above.

    Reported, never raised. The rows are checked a block at a time and a key
    repeated across blocks is found by :func:`~planner.io.compact.duplicated_cells`,
    so a large table is never hashed whole.
    """
    problems: list[Problem] = []
    for start in range(0, max(len(frame), 1), _SCHEMA_BLOCK):
        block = frame.iloc[start : start + _SCHEMA_BLOCK]
        try:
            s.validate_frame(with_scenario(block, kind), kind)
        except InputError as exc:
            problems.extend(p for p in exc.problems if p not in problems)
    key = s.TABLES[kind].key
    if len(frame) > _SCHEMA_BLOCK and len(key) == 1 and key[0] in frame.columns:
        repeated = duplicated_cells(frame[key[0]])
        if repeated.any():
            problems.append(
                Problem(
                    f"{key[0]} is not unique: "
                    f"{format_ids(sorted(set(frame[key[0]][repeated])))} appear more than once",
                    rows=row_numbers(repeated),
                    column=key[0],
                    fix="give every row its own id",
                )
            )
    return problems


def valid_rows(frame: pd.DataFrame, bad: pd.Series) -> pd.DataFrame:
    """The rows without errors; the frame itself (no copy) when every row is fine."""
    return frame.loc[~bad] if bad.any() else frame


def with_scenario(frame: pd.DataFrame, kind: Kind) -> pd.DataFrame:
    """Territories read without a scenario are checked as if they had one."""
    if kind == "territories" and s.SCENARIO_ID not in frame.columns:
        return frame.assign(**{s.SCENARIO_ID: "(import)"})
    return frame
