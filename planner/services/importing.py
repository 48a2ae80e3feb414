"""Importing data files into a workspace: check a file, plan the import, apply it.

Shared by the app's import page and ``planner import``::

    report = validate_upload(name, data, kind="accounts", columns={...}, crs=None)
    result = plan_import(report, ImportOptions(into="open"), workspace=ws, user="ann")
    ws.tables = dict(result.workspace.tables); ws.commit("import accounts", user="ann")

:func:`plan_import` does the work on a copy of the workspace and raises one
:class:`~planner.errors.InputError` listing every problem, so a refused
import changes nothing.
"""

from __future__ import annotations

import copy
import io
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd
import pyogrio

from planner import schema as s
from planner.errors import InputError, PlannerError, Problem, format_ids
from planner.geo.assign import assign_workspace
from planner.geo.columns import ALIASES, Kind, match_columns
from planner.geo.io import ValidationReport, validate_file
from planner.geo.sources import Unreadable, open_input, read_table
from planner.geo.units import h3_units
from planner.hierarchy import validate_hierarchy
from planner.models import DEFAULT_TYPE, Scenario, ScenarioState, TerritoryType
from planner.schema import text_or_none as _text
from planner.services import unit_plans
from planner.workspace import SCENARIO_TABLES, Workspace

__all__ = [
    "ACCOUNT_TEMPLATE_COLUMNS",
    "FILE_TYPES",
    "KIND_LABELS",
    "NEW_SCENARIO",
    "NOT_USED",
    "ImportOptions",
    "ImportResult",
    "accounts_template_csv",
    "auto_mapping",
    "file_columns",
    "is_gis_file",
    "layer_names",
    "make_units_from_accounts",
    "mapping_frame",
    "mapping_overrides",
    "parse_crs",
    "plan_import",
    "problems_frame",
    "sheet_names",
    "target_columns",
    "validate_upload",
]

logger = logging.getLogger(__name__)

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
_GIS_SUFFIXES = {".geojson", ".json", ".gpkg", ".zip", ".shp", ".parquet"}

#: The column-mapping choice that ignores a file column.
NOT_USED = "(not used)"
#: The scenario choice that makes a new planning scenario for imported territories.
NEW_SCENARIO = "__new__"

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
_PRIVILEGED_ROLES = ("planner", "admin")


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
    return Path(filename).suffix.lower() in _GIS_SUFFIXES


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


# --------------------------------------------------------------------------- importing


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


def _trial(ws: Workspace) -> Workspace:
    """A copy of ``ws`` whose table dictionary is its own (frames are replaced, never mutated)."""
    trial = copy.copy(ws)
    trial.tables = dict(ws.tables)
    return trial


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def _frame_of(report: ValidationReport) -> gpd.GeoDataFrame:
    frame = report.frame
    if not isinstance(frame, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame, geometry=s.GEOMETRY, crs=s.STORAGE_CRS)
    return frame.reset_index(drop=True)


def _require_ok(report: ValidationReport) -> None:
    if not report.ok:
        raise InputError(
            f"{report.path} has {_plural(len(report.errors), 'error')}: nothing was imported",
            report.errors,
            source=report.path,
        )
    if report.rows_valid == 0:
        raise InputError(
            f"{report.path} has no rows to import",
            [Problem("the file has no readable rows", fix="check that it holds data rows")],
            source=report.path,
        )


def _assign_all(ws: Workspace, scenario_ids: Sequence[str], user: str | None) -> dict[str, Any]:
    out: dict[str, dict[str, Any]] = {}
    for sid in scenario_ids:
        out[sid] = assign_workspace(ws, sid, store=True, user=user).summary()
    return out


def _maybe_h3(ws: Workspace, options: ImportOptions, user: str | None) -> str | None:
    """Make H3 units when asked and the workspace has accounts but no units."""
    if not options.make_h3_units or len(ws.units) or not len(ws.accounts):
        return None
    units = h3_units(ws.accounts)
    ws.set_table("units", units)
    resolution = int(units["h3_resolution"].iloc[0]) if len(units) else None
    ws.log("units.h3", {"units": len(units), "resolution": resolution}, user=user)
    return f"Made {_plural(len(units), 'H3 unit')} (resolution {resolution}) from the accounts."


def make_units_from_accounts(ws: Workspace, *, user: str | None) -> ImportResult:
    """Make H3 hexagon units from the accounts of a workspace that has none (on a copy).

    Raises
    ------
    planner.errors.InputError
        If the workspace already has units or has no located accounts.
    """
    if len(ws.units):
        raise InputError(
            "the workspace already has units",
            [Problem("the workspace has units", fix="import units to replace them instead")],
        )
    trial = _trial(ws)
    message = _maybe_h3(trial, ImportOptions(into="open", make_h3_units=True), user)
    if message is None:
        raise InputError(
            "the workspace has no accounts",
            [Problem("no accounts to make units from", fix="import accounts first")],
        )
    return ImportResult(trial, (message,))


def _new_workspace(report: ValidationReport, options: ImportOptions, user: str | None) -> Workspace:
    ws = Workspace(name=options.workspace_name.strip(), description=f"Imported from {report.path}.")
    ws.log("workspace.create", {"from": report.path, "kind": report.kind}, user=user)
    ws.add_scenario(Scenario("base", name="Base plan", state=ScenarioState.ACTIVE), user=user)
    return ws


def plan_import(
    report: ValidationReport,
    options: ImportOptions,
    *,
    workspace: Workspace | None,
    user: str | None,
    may_manage_users: bool = False,
) -> ImportResult:
    """Import a checked file into a copy of ``workspace`` (or into a new workspace).

    Parameters
    ----------
    report
        The checked file (:func:`check_upload`); it must have no errors.
    options
        Where and how.
    workspace
        The open workspace (``into="open"``); never changed.
    user
        Who imports, for the audit log.
    may_manage_users
        Whether the user may change other users' roles, e-mails and passwords
        (admins). Only matters for reps imported into a workspace that needs a
        sign-in.

    Returns
    -------
    ImportResult
        The workspace after the import, and what changed.

    Raises
    ------
    planner.errors.InputError
        Listing every problem (the file's errors, a broken hierarchy, users
        the importer may not change); nothing is imported then.
    """
    _require_ok(report)
    kind = report.kind
    if options.into == "new":
        ws = _new_workspace(report, options, user)
    else:
        if workspace is None:
            raise InputError(
                "no workspace is open",
                [Problem("no workspace is open", fix="open one in the sidebar, or import into a "
                         "new workspace")],
            )  # fmt: skip
        ws = _trial(workspace)
    frame = _frame_of(report)
    importer = _IMPORTERS[kind]
    result = importer(ws, frame, report, options, user, may_manage_users)
    extra = [p.message for p in report.warnings]
    return ImportResult(
        result.workspace,
        result.messages,
        (*result.notes, *(f"File warning: {m}" for m in extra[:5])),
        result.scenario_id,
        result.assignments,
    )


def _import_accounts(
    ws: Workspace,
    frame: gpd.GeoDataFrame,
    report: ValidationReport,
    options: ImportOptions,
    user: str | None,
    may_manage_users: bool,
) -> ImportResult:
    before = len(ws.accounts)
    ws.set_table("accounts", frame)
    mode = "create" if options.into == "new" else "replace"
    ws.log(
        "import.accounts",
        {"file": report.path, "rows": len(frame), "replaced": before, "mode": mode},
        user=user,
    )
    messages = [
        f"Imported {_plural(len(frame), 'account')}"
        + (f" (replacing {before:,})." if options.into == "open" else ".")
    ]
    h3 = _maybe_h3(ws, options, user)
    if h3:
        messages.append(h3)
    scenarios = [sc.scenario_id for sc in ws.scenario_list()]
    assignments = _assign_all(ws, scenarios, user)
    messages.append(f"Re-assigned the accounts in {_plural(len(scenarios), 'scenario')}.")
    notes = []
    if not len(ws.units):
        notes.append(
            "The workspace has no units yet: import counties or ZIP areas, or make H3 units "
            "from the accounts, before balancing territories."
        )
    try:
        sid: str | None = ws.active_scenario_id()
    except PlannerError:
        sid = None
    return ImportResult(ws, tuple(messages), tuple(notes), sid, assignments)


def _merge_reps(old: pd.DataFrame, new: pd.DataFrame, *, replace: bool) -> gpd.GeoDataFrame:
    """Users after the import: the file's values win, its blank cells keep the current ones."""
    old_i = pd.DataFrame(old).set_index(s.REP_ID)
    new_i = pd.DataFrame(new).set_index(s.REP_ID)
    old_i.index = old_i.index.astype(str)
    new_i.index = new_i.index.astype(str)
    columns = list(dict.fromkeys([*new_i.columns, *old_i.columns]))
    kept = [i for i in old_i.index if i not in new_i.index]
    if replace:
        kept = []
    order = [*[i for i in old_i.index if i in new_i.index or i in kept],
             *[i for i in new_i.index if i not in old_i.index]]  # fmt: skip
    merged = pd.DataFrame(index=pd.Index(order, name=s.REP_ID), columns=columns, dtype=object)
    for rid in order:
        fresh = new_i.loc[rid] if rid in new_i.index else None
        stale = old_i.loc[rid] if rid in old_i.index else None
        for col in columns:
            value = None
            if fresh is not None and col in fresh.index and _present(fresh[col]):
                value = fresh[col]
            elif stale is not None and col in stale.index and _present(stale[col]):
                value = stale[col]
            merged.at[rid, col] = value
    merged = merged.reset_index()
    geom = gpd.GeoSeries(merged.pop(s.GEOMETRY), crs=s.STORAGE_CRS)
    return gpd.GeoDataFrame(merged, geometry=geom, crs=s.STORAGE_CRS)


def _present(value: Any) -> bool:
    if value is None:
        return False
    if hasattr(value, "is_empty"):  # a shapely geometry
        return not bool(value.is_empty)
    return _text(value) is not None


def _has_password(reps: pd.DataFrame) -> bool:
    if s.PASSWORD_HASH not in reps.columns:
        return False
    return any(_text(v) is not None for v in reps[s.PASSWORD_HASH])


def _user_problems(
    old: pd.DataFrame,
    new: pd.DataFrame,
    merged: pd.DataFrame,
    *,
    replace: bool,
    user: str | None,
    may_manage_users: bool,
) -> list[Problem]:
    """What a reps import into a workspace with sign-in may not do.

    Without the right to manage users (admins), an import may add reps and
    managers and update their names, capacities, managers and homes, but may
    not set passwords, give anyone the planner or admin role, change a user's
    role or e-mail (their sign-in), or replace every user. Nobody may remove
    their own user or the last password.
    """
    problems: list[Problem] = []
    old_by_id = {str(r[s.REP_ID]): r for r in old.to_dict("records")}
    file_ids = list(dict.fromkeys(new[s.REP_ID].astype(str)))
    ask = "ask an admin to import users"
    if not may_manage_users:
        if replace:
            problems.append(
                Problem(
                    "replacing every user needs the right to manage users",
                    fix=f"choose 'add or update' instead, or {ask}",
                )
            )
        pw = [rid for rid in file_ids if _text(_get(new, rid, s.PASSWORD_HASH)) is not None]
        if pw:
            problems.append(
                Problem(
                    f"{_plural(len(pw), 'row')} set a password ({format_ids(pw)}); setting "
                    "passwords needs the right to manage users",
                    column=s.PASSWORD_HASH,
                    fix=f"map the password column to '{NOT_USED}', or {ask}",
                )
            )
        high = []
        changed_role = []
        changed_mail = []
        for rid in file_ids:
            role = _text(_get(new, rid, s.ROLE))
            old_row = old_by_id.get(rid)
            if role in _PRIVILEGED_ROLES and (old_row is None or _text(old_row[s.ROLE]) != role):
                high.append(rid)
            elif old_row is not None and role is not None and _text(old_row[s.ROLE]) != role:
                changed_role.append(rid)
            mail = _text(_get(new, rid, s.EMAIL))
            old_mail = None if old_row is None else _text(old_row.get(s.EMAIL))
            if mail is not None and (old_mail or "").casefold() != mail.casefold():
                changed_mail.append(rid)
        if high:
            problems.append(
                Problem(
                    f"{_plural(len(high), 'row')} give the planner or admin role "
                    f"({format_ids(high)}); that needs the right to manage users",
                    column=s.ROLE,
                    fix=f"use the roles rep or manager, or {ask}",
                )
            )
        if changed_role:
            problems.append(
                Problem(
                    f"{_plural(len(changed_role), 'row')} change the role of an existing user "
                    f"({format_ids(changed_role)}); that needs the right to manage users",
                    column=s.ROLE,
                    fix=f"keep their current roles (or leave the cells blank), or {ask}",
                )
            )
        if changed_mail:
            problems.append(
                Problem(
                    f"{_plural(len(changed_mail), 'row')} set or change an e-mail, which users "
                    f"sign in with ({format_ids(changed_mail)}); that needs the right to "
                    "manage users",
                    column=s.EMAIL,
                    fix=f"map the e-mail column to '{NOT_USED}', or {ask}",
                )
            )
    remaining = set(merged[s.REP_ID].astype(str))
    if user is not None and user in old_by_id and user not in remaining:
        problems.append(
            Problem(
                f"the import would remove your own user ({user})",
                fix="add your user to the file, or choose 'add or update'",
            )
        )
    if _has_password(old) and not _has_password(merged):
        problems.append(
            Problem(
                "after the import no user would have a password, so the workspace would open "
                "for everyone without signing in",
                fix="keep the users with passwords, or choose 'add or update'",
            )
        )
    return problems


def _get(frame: pd.DataFrame, rep_id: str, column: str) -> Any:
    if column not in frame.columns:
        return None
    hits = frame.loc[frame[s.REP_ID].astype(str) == rep_id, column]
    return None if hits.empty else hits.iloc[0]


def _import_reps(
    ws: Workspace,
    frame: gpd.GeoDataFrame,
    report: ValidationReport,
    options: ImportOptions,
    user: str | None,
    may_manage_users: bool,
) -> ImportResult:
    old = ws.reps
    notes: list[str] = []
    if options.into == "new":
        merged = frame
        mode = "create"
    else:
        merged = _merge_reps(old, frame, replace=options.replace_reps)
        mode = "replace" if options.replace_reps else "add"
        if _has_password(ws.reps):
            problems = _user_problems(
                old,
                frame,
                merged,
                replace=options.replace_reps,
                user=user,
                may_manage_users=may_manage_users,
            )
            if problems:
                raise InputError(
                    f"{_plural(len(problems), 'problem')} with the users in {report.path}: "
                    "nothing was imported",
                    problems,
                    source=report.path,
                )
    ws.set_table("reps", merged)
    known = set(old[s.REP_ID].astype(str))
    ids = set(frame[s.REP_ID].astype(str))
    added, updated = len(ids - known), len(ids & known)
    removed = len(known - set(merged[s.REP_ID].astype(str)))
    ws.log(
        "import.reps",
        {"file": report.path, "rows": len(frame), "mode": mode, "added": added,
         "updated": updated, "removed": removed},
        user=user,
    )  # fmt: skip
    message = f"Imported {_plural(len(frame), 'user')}: {added:,} added, {updated:,} updated"
    message += f", {removed:,} removed." if removed else "."
    if not _has_password(old) and _has_password(merged):
        notes.append(
            "Some users now have passwords: from now on everyone signs in to this "
            "workspace, you too."
        )
    if options.into == "open" and removed:
        gone = known - set(merged[s.REP_ID].astype(str))
        dropped = _drop_rows(ws, "associations", s.REP_ID, keep=lambda v: v not in gone)
        if dropped:
            notes.append(f"Dropped {_plural(dropped, 'territory association')} of removed users.")
    try:
        sid: str | None = ws.active_scenario_id()
    except PlannerError:
        sid = None
    return ImportResult(ws, (message,), tuple(notes), sid)


def _drop_rows(ws: Workspace, table: str, column: str, *, keep: Any, scenario_id: str | None = None
               ) -> int:  # fmt: skip
    """Drop rows of a scenario table whose ``column`` fails ``keep``; return how many."""
    frame = ws.tables[table]
    values = frame[column].map(lambda v: _text(v) or "")
    mine = pd.Series(True, index=frame.index)
    if scenario_id is not None:
        mine = frame[s.SCENARIO_ID].astype(str) == scenario_id
    drop = mine & ~values.map(keep).astype(bool)
    if not drop.any():
        return 0
    ws.set_table(table, frame[~drop], validate=False)
    return int(drop.sum())


def _import_units(
    ws: Workspace,
    frame: gpd.GeoDataFrame,
    report: ValidationReport,
    options: ImportOptions,
    user: str | None,
    may_manage_users: bool,
) -> ImportResult:
    before = len(ws.units)
    frame = frame.assign(**{s.UNIT_TYPE: options.unit_type.strip()})
    ws.set_table("units", frame)
    ids = set(frame[s.UNIT_ID].astype(str))
    notes = []
    dropped = _drop_rows(ws, "unit_assignment", s.UNIT_ID, keep=lambda v: v in ids)
    if dropped:
        notes.append(
            f"Dropped {_plural(dropped, 'unit assignment')} naming units that are no longer in "
            "the workspace; the territories keep their shapes."
        )
    ws.log(
        "import.units",
        {"file": report.path, "rows": len(frame), "replaced": before,
         "unit_type": options.unit_type, "dropped_unit_assignments": dropped},
        user=user,
    )  # fmt: skip
    message = f"Imported {_plural(len(frame), 'unit')} of type {options.unit_type}"
    message += f" (replacing {before:,})." if options.into == "open" and before else "."
    try:
        sid: str | None = ws.active_scenario_id()
    except PlannerError:
        sid = None
    return ImportResult(ws, (message,), tuple(notes), sid)


def _import_territories(
    ws: Workspace,
    frame: gpd.GeoDataFrame,
    report: ValidationReport,
    options: ImportOptions,
    user: str | None,
    may_manage_users: bool,
) -> ImportResult:
    notes: list[str] = []
    messages: list[str] = []
    by_units = None
    if unit_plans.is_unit_plan(frame):
        frame, by_units = unit_plans.territories_from_units(ws, frame, report)
    if options.into == "new":
        sid = "base"
        replace = True
    elif options.scenario_id == NEW_SCENARIO:
        from planner.balance.scenario import unique_scenario_id

        name = options.scenario_name.strip() or f"Imported from {report.path}"
        sid = unique_scenario_id(ws, name)
        ws.add_scenario(
            Scenario(sid, name=name, description=f"Territories imported from {report.path}."),
            user=user,
        )
        messages.append(f"Made planning scenario '{name}' ({sid}).")
        replace = True
    else:
        sid = options.scenario_id
        ws.scenario(sid)  # raises for an unknown scenario
        replace = options.replace_territories
    frame = frame.drop(columns=[s.SCENARIO_ID], errors="ignore")
    current = ws.rows("territories", sid).drop(columns=[s.SCENARIO_ID])
    imported = set(frame[s.TERRITORY_ID].astype(str))
    if replace:
        combined = frame
    else:
        kept = current[~current[s.TERRITORY_ID].astype(str).isin(imported)]
        combined = pd.concat([kept, frame], ignore_index=True) if len(kept) else frame
        combined = gpd.GeoDataFrame(combined, geometry=s.GEOMETRY, crs=s.STORAGE_CRS)
    known_types = set(ws.territory_types[s.TYPE_ID].astype(str))
    new_types = sorted({str(t) for t in combined[s.TYPE_ID].dropna()} - known_types)
    for type_id in new_types:
        ws.add_territory_type(TerritoryType(type_id, name=type_id, priority=DEFAULT_TYPE.priority))
    if new_types:
        notes.append(
            f"Added territory types {format_ids(new_types)} with priority "
            f"{DEFAULT_TYPE.priority}; change their priorities on the hierarchy page."
        )
    problems = validate_hierarchy(combined, territory_types=ws.territory_types)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(
            f"the territories would not form a sound hierarchy ({_plural(len(errors), 'problem')})"
            ": nothing was imported. Rows below are positions in the scenario's territories"
            + ("" if replace else " after adding the file's"),
            errors,
            source=report.path,
        )
    notes.extend(p.message for p in problems if p.severity != "error")
    ws.set_rows("territories", sid, combined)
    if by_units is not None:
        unit_plans.store_unit_assignment(ws, sid, by_units, replace=replace)
    remaining = set(combined[s.TERRITORY_ID].astype(str))
    dropped: dict[str, int] = {}
    for table in SCENARIO_TABLES:
        if table in ("territories", "memberships"):
            continue
        n = _drop_rows(ws, table, s.TERRITORY_ID, scenario_id=sid,
                       keep=lambda v: v == "" or v in remaining)  # fmt: skip
        if n:
            dropped[table] = n
    if dropped:
        notes.append(
            "Dropped rows naming territories that are no longer in the scenario: "
            + ", ".join(f"{n:,} {table.replace('_', ' ')}" for table, n in dropped.items())
            + "."
        )
    ws.log(
        "import.territories",
        {"file": report.path, "rows": len(frame), "replace": replace, "dropped": dropped,
         "added_types": new_types},
        user=user,
        scenario_id=sid,
    )  # fmt: skip
    shaped = int((frame.geometry.notna() & ~frame.geometry.is_empty).sum())
    messages.append(
        f"Imported {_plural(len(frame), 'territory', 'territories')} ({shaped:,} with a shape) "
        f"into scenario {sid}" + (", replacing its territories." if replace and options.into
                                  == "open" else ".")
    )  # fmt: skip
    h3 = _maybe_h3(ws, options, user)
    if h3:
        messages.append(h3)
    assignments = _assign_all(ws, [sid], user)
    return ImportResult(ws, tuple(messages), tuple(notes), sid, assignments)


_IMPORTERS = {
    "accounts": _import_accounts,
    "reps": _import_reps,
    "units": _import_units,
    "territories": _import_territories,
}


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
