"""What every kind of import shares: options, the result, and the steps on a trial workspace."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import pandas as pd

from planner import schema as s
from planner.errors import InputError, PlannerError, Problem
from planner.geo.assign import assign_workspace
from planner.geo.io import ValidationReport
from planner.geo.units import h3_units
from planner.schema import text_or_none
from planner.workspace import Workspace

__all__ = [
    "FILE_TYPES",
    "GIS_SUFFIXES",
    "KIND_LABELS",
    "NEW_SCENARIO",
    "NOT_USED",
    "ImportKind",
    "ImportOptions",
    "ImportResult",
    "active_scenario",
    "assign_all",
    "drop_rows",
    "frame_of",
    "maybe_h3",
    "plural",
    "require_ok",
    "trial_copy",
]

ImportKind = Literal["auto", "accounts", "reps", "units", "territories"]

#: What the "what does the file hold?" choice shows.
KIND_LABELS: dict[str, str] = {
    "auto": "Guess from the columns",
    "accounts": "Accounts (the customers to cover)",
    "reps": "Reps and other users",
    "units": "Units (counties, ZIP areas: the building blocks)",
    "territories": "Territories (with or without shapes)",
}

_TABLE = ("csv", "txt", "tsv", "xlsx", "xlsm", "gz")
_GIS = ("geojson", "json", "gpkg", "zip")
#: File extensions the uploader accepts, per kind.
FILE_TYPES: dict[str, tuple[str, ...]] = {
    "accounts": (*_TABLE, *_GIS, "parquet"),
    "reps": _TABLE,
    "units": _GIS,
    "territories": (*_GIS, *_TABLE),
    "auto": (*_TABLE, *_GIS, "parquet"),
}
GIS_SUFFIXES = {".geojson", ".json", ".gpkg", ".zip", ".shp", ".parquet"}

#: The column-mapping choice that ignores a file column.
NOT_USED = "(not used)"
#: The scenario choice that makes a new planning scenario for imported territories.
NEW_SCENARIO = "__new__"


@dataclass(frozen=True)
class ImportOptions:
    """Where and how to import a checked file.

    Parameters
    ----------
    into
        ``new``: a new workspace; ``open``: the session's workspace.
    workspace_name
        Name of the new workspace.
    replace_reps
        Reps into the open workspace: replace every user (``True``) or add
        them, updating those with the same id (``False``).
    scenario_id
        Territories into the open workspace: the scenario they go into, or
        :data:`NEW_SCENARIO` for a new planning scenario.
    replace_territories
        Territories into an existing scenario: replace all its territories
        (``True``) or add them, replacing those with the same id (``False``).
    scenario_name
        Name of the new planning scenario.
    make_h3_units
        Make H3 hexagon units from the accounts when the workspace has no units.
    unit_type
        Type given to imported units (``county``, ``zip``, ``custom``).
    """

    into: Literal["new", "open"] = "new"
    workspace_name: str = ""
    replace_reps: bool = False
    scenario_id: str = NEW_SCENARIO
    replace_territories: bool = False
    scenario_name: str = ""
    make_h3_units: bool = False
    unit_type: str = "custom"

    def __post_init__(self) -> None:
        if self.into not in ("new", "open"):
            raise InputError(
                f"unknown import target '{self.into}'",
                [Problem(f"unknown import target '{self.into}'", fix="use 'new' or 'open'")],
            )
        if self.into == "new" and not self.workspace_name.strip():
            raise InputError(
                "the new workspace needs a name",
                [Problem("the new workspace has no name", fix="type a name for it")],
            )
        if not self.unit_type.strip():
            raise InputError(
                "units need a type",
                [Problem("the unit type is blank", fix="choose county, zip or custom")],
            )


@dataclass(frozen=True, eq=False)
class ImportResult:
    """What an import did, on a copy of the workspace that is not in the session yet.

    Parameters
    ----------
    workspace
        The workspace after the import.
    messages
        What changed, one sentence each.
    notes
        Warnings the user should read (dropped rows, added types...).
    scenario_id
        The scenario to show afterwards (where territories went), if any.
    assignments
        Scenario id -> assignment summary, for every scenario re-assigned.
    """

    workspace: Workspace
    messages: tuple[str, ...]
    notes: tuple[str, ...] = ()
    scenario_id: str | None = None
    assignments: dict[str, dict[str, Any]] = field(default_factory=dict)


def trial_copy(ws: Workspace) -> Workspace:
    """A copy of ``ws`` whose table dictionary is its own (frames are replaced, never mutated)."""
    trial = copy.copy(ws)
    trial.tables = dict(ws.tables)
    return trial


def plural(n: int, word: str, many: str | None = None) -> str:
    """``n`` and ``word`` in the right number (``many`` when the plural is irregular)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def frame_of(report: ValidationReport) -> gpd.GeoDataFrame:
    """The checked rows of ``report`` as a GeoDataFrame with a fresh index."""
    frame = report.frame
    if not isinstance(frame, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame, geometry=s.GEOMETRY, crs=s.STORAGE_CRS)
    return frame.reset_index(drop=True)


def require_ok(report: ValidationReport) -> None:
    """Refuse a report with errors or without a single readable row."""
    if not report.ok:
        raise InputError(
            f"{report.path} has {plural(len(report.errors), 'error')}: nothing was imported",
            report.errors,
            source=report.path,
        )
    if report.rows_valid == 0:
        raise InputError(
            f"{report.path} has no rows to import",
            [Problem("the file has no readable rows", fix="check that it holds data rows")],
            source=report.path,
        )


def assign_all(ws: Workspace, scenario_ids: Sequence[str], user: str | None) -> dict[str, Any]:
    """Re-assign the accounts of each scenario; scenario id -> assignment summary."""
    out: dict[str, dict[str, Any]] = {}
    for sid in scenario_ids:
        out[sid] = assign_workspace(ws, sid, store=True, user=user).summary()
    return out


def maybe_h3(ws: Workspace, options: ImportOptions, user: str | None) -> str | None:
    """Make H3 units when asked and the workspace has accounts but no units."""
    if not options.make_h3_units or len(ws.units) or not len(ws.accounts):
        return None
    units = h3_units(ws.accounts)
    ws.set_table("units", units)
    resolution = int(units["h3_resolution"].iloc[0]) if len(units) else None
    ws.log("units.h3", {"units": len(units), "resolution": resolution}, user=user)
    return f"Made {plural(len(units), 'H3 unit')} (resolution {resolution}) from the accounts."


def drop_rows(ws: Workspace, table: str, column: str, *, keep: Any, scenario_id: str | None = None
               ) -> int:  # fmt: skip
    """Drop rows of a scenario table whose ``column`` fails ``keep``; return how many."""
    frame = ws.tables[table]
    values = frame[column].map(lambda v: text_or_none(v) or "")
    mine = pd.Series(True, index=frame.index)
    if scenario_id is not None:
        mine = frame[s.SCENARIO_ID].astype(str) == scenario_id
    drop = mine & ~values.map(keep).astype(bool)
    if not drop.any():
        return 0
    ws.set_table(table, frame[~drop], validate=False)
    return int(drop.sum())


def active_scenario(ws: Workspace) -> str | None:
    """The workspace's active scenario, or ``None`` when it has none."""
    try:
        return ws.active_scenario_id()
    except PlannerError:
        return None
