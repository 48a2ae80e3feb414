"""Importing territories into a scenario: a new one or an existing one, added or replaced."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from planner import schema as s
from planner.balance.scenario_save import unique_scenario_id
from planner.errors import InputError, Problem, format_ids
from planner.geo.io import ValidationReport
from planner.hierarchy import validate_hierarchy
from planner.models import DEFAULT_TYPE, Scenario, TerritoryType
from planner.services import unit_plans
from planner.services.importing_common import (
    NEW_SCENARIO,
    ImportOptions,
    ImportResult,
    assign_all,
    drop_rows,
    maybe_h3,
    plural,
)
from planner.workspace import SCENARIO_TABLES, Workspace

__all__ = ["import_territories"]


def import_territories(
    ws: Workspace,
    frame: gpd.GeoDataFrame,
    report: ValidationReport,
    options: ImportOptions,
    user: str | None,
    may_manage_users: bool,
) -> ImportResult:
    """Put the territories of ``frame`` into a scenario of ``ws`` (a trial copy).

    Raises
    ------
    InputError
        If the territories would not form a sound hierarchy (every problem
        listed); nothing is imported then.
    """
    notes: list[str] = []
    messages: list[str] = []
    by_units = None
    if unit_plans.is_unit_plan(frame):
        frame, by_units = unit_plans.territories_from_units(ws, frame, report)
    sid, replace = _target_scenario(ws, report, options, user, messages)
    frame = frame.drop(columns=[s.SCENARIO_ID], errors="ignore")
    combined = _combined(ws, frame, sid, replace=replace)
    new_types = _add_new_types(ws, combined, notes)
    _check_hierarchy(ws, combined, report, replace=replace, notes=notes)
    ws.set_rows("territories", sid, combined)
    if by_units is not None:
        unit_plans.store_unit_assignment(ws, sid, by_units, replace=replace)
    dropped = _drop_stale_rows(ws, sid, combined, notes)
    ws.log(
        "import.territories",
        {"file": report.path, "rows": len(frame), "replace": replace, "dropped": dropped,
         "added_types": new_types},
        user=user,
        scenario_id=sid,
    )  # fmt: skip
    messages.append(_imported_message(frame, sid, replace=replace, options=options))
    h3 = maybe_h3(ws, options, user)
    if h3:
        messages.append(h3)
    assignments = assign_all(ws, [sid], user)
    return ImportResult(ws, tuple(messages), tuple(notes), sid, assignments)


def _target_scenario(
    ws: Workspace,
    report: ValidationReport,
    options: ImportOptions,
    user: str | None,
    messages: list[str],
) -> tuple[str, bool]:
    """The scenario the territories go into (made when new), and whether they replace its own."""
    if options.into == "new":
        return "base", True
    if options.scenario_id == NEW_SCENARIO:
        name = options.scenario_name.strip() or f"Imported from {report.path}"
        sid = unique_scenario_id(ws, name)
        ws.add_scenario(
            Scenario(sid, name=name, description=f"Territories imported from {report.path}."),
            user=user,
        )
        messages.append(f"Made planning scenario '{name}' ({sid}).")
        return sid, True
    ws.scenario(options.scenario_id)  # raises for an unknown scenario
    return options.scenario_id, options.replace_territories


def _combined(
    ws: Workspace, frame: gpd.GeoDataFrame, sid: str, *, replace: bool
) -> gpd.GeoDataFrame:
    """The scenario's territories after the import (the file's win over same-id ones)."""
    if replace:
        return frame
    current = ws.rows("territories", sid).drop(columns=[s.SCENARIO_ID])
    imported = set(frame[s.TERRITORY_ID].astype(str))
    kept = current[~current[s.TERRITORY_ID].astype(str).isin(imported)]
    combined = pd.concat([kept, frame], ignore_index=True) if len(kept) else frame
    return gpd.GeoDataFrame(combined, geometry=s.GEOMETRY, crs=s.STORAGE_CRS)


def _add_new_types(ws: Workspace, combined: pd.DataFrame, notes: list[str]) -> list[str]:
    """Add the territory types the territories name that the workspace lacks; return them."""
    known_types = set(ws.territory_types[s.TYPE_ID].astype(str))
    new_types = sorted({str(t) for t in combined[s.TYPE_ID].dropna()} - known_types)
    for type_id in new_types:
        ws.add_territory_type(TerritoryType(type_id, name=type_id, priority=DEFAULT_TYPE.priority))
    if new_types:
        notes.append(
            f"Added territory types {format_ids(new_types)} with priority "
            f"{DEFAULT_TYPE.priority}; change their priorities on the hierarchy page."
        )
    return new_types


def _check_hierarchy(
    ws: Workspace,
    combined: pd.DataFrame,
    report: ValidationReport,
    *,
    replace: bool,
    notes: list[str],
) -> None:
    """Refuse a broken hierarchy (every error listed); keep its warnings as notes."""
    problems: list[Problem] = validate_hierarchy(combined, territory_types=ws.territory_types)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(
            f"the territories would not form a sound hierarchy ({plural(len(errors), 'problem')})"
            ": nothing was imported. Rows below are positions in the scenario's territories"
            + ("" if replace else " after adding the file's"),
            errors,
            source=report.path,
        )
    notes.extend(p.message for p in problems if p.severity != "error")


def _drop_stale_rows(
    ws: Workspace, sid: str, combined: pd.DataFrame, notes: list[str]
) -> dict[str, int]:
    """Drop the scenario's rows naming territories no longer in it; table -> rows dropped."""
    remaining = set(combined[s.TERRITORY_ID].astype(str))
    dropped: dict[str, int] = {}
    for table in SCENARIO_TABLES:
        if table in ("territories", "memberships"):
            continue
        n = drop_rows(ws, table, s.TERRITORY_ID, scenario_id=sid,
                      keep=lambda v: v == "" or v in remaining)  # fmt: skip
        if n:
            dropped[table] = n
    if dropped:
        notes.append(
            "Dropped rows naming territories that are no longer in the scenario: "
            + ", ".join(f"{n:,} {table.replace('_', ' ')}" for table, n in dropped.items())
            + "."
        )
    return dropped


def _imported_message(
    frame: gpd.GeoDataFrame, sid: str, *, replace: bool, options: ImportOptions
) -> str:
    shaped = int((frame.geometry.notna() & ~frame.geometry.is_empty).sum())
    replaced = replace and options.into == "open"
    return (
        f"Imported {plural(len(frame), 'territory', 'territories')} ({shaped:,} with a shape) "
        f"into scenario {sid}" + (", replacing its territories." if replaced else ".")
    )
