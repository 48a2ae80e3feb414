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

import geopandas as gpd

from planner import schema as s
from planner.errors import InputError, Problem
from planner.geo.io import ValidationReport
from planner.models import Scenario, ScenarioState
from planner.services.importing_common import (
    FILE_TYPES,
    KIND_LABELS,
    NEW_SCENARIO,
    NOT_USED,
    ImportKind,
    ImportOptions,
    ImportResult,
    active_scenario,
    assign_all,
    drop_rows,
    frame_of,
    maybe_h3,
    plural,
    require_ok,
    trial_copy,
)
from planner.services.importing_files import (
    ACCOUNT_TEMPLATE_COLUMNS,
    accounts_template_csv,
    auto_mapping,
    file_columns,
    is_gis_file,
    layer_names,
    mapping_frame,
    mapping_overrides,
    parse_crs,
    problems_frame,
    sheet_names,
    target_columns,
    validate_upload,
)
from planner.services.importing_territories import import_territories
from planner.services.importing_users import import_reps
from planner.workspace import Workspace

__all__ = [
    "ACCOUNT_TEMPLATE_COLUMNS",
    "FILE_TYPES",
    "KIND_LABELS",
    "NEW_SCENARIO",
    "NOT_USED",
    "ImportKind",
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
    trial = trial_copy(ws)
    message = maybe_h3(trial, ImportOptions(into="open", make_h3_units=True), user)
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
    require_ok(report)
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
        ws = trial_copy(workspace)
    frame = frame_of(report)
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
        f"Imported {plural(len(frame), 'account')}"
        + (f" (replacing {before:,})." if options.into == "open" else ".")
    ]
    h3 = maybe_h3(ws, options, user)
    if h3:
        messages.append(h3)
    scenarios = [sc.scenario_id for sc in ws.scenario_list()]
    assignments = assign_all(ws, scenarios, user)
    messages.append(f"Re-assigned the accounts in {plural(len(scenarios), 'scenario')}.")
    notes = []
    if not len(ws.units):
        notes.append(
            "The workspace has no units yet: import counties or ZIP areas, or make H3 units "
            "from the accounts, before balancing territories."
        )
    sid = active_scenario(ws)
    return ImportResult(ws, tuple(messages), tuple(notes), sid, assignments)


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
    dropped = drop_rows(ws, "unit_assignment", s.UNIT_ID, keep=lambda v: v in ids)
    if dropped:
        notes.append(
            f"Dropped {plural(dropped, 'unit assignment')} naming units that are no longer in "
            "the workspace; the territories keep their shapes."
        )
    ws.log(
        "import.units",
        {"file": report.path, "rows": len(frame), "replaced": before,
         "unit_type": options.unit_type, "dropped_unit_assignments": dropped},
        user=user,
    )  # fmt: skip
    message = f"Imported {plural(len(frame), 'unit')} of type {options.unit_type}"
    message += f" (replacing {before:,})." if options.into == "open" and before else "."
    sid = active_scenario(ws)
    return ImportResult(ws, (message,), tuple(notes), sid)


_IMPORTERS = {
    "accounts": _import_accounts,
    "reps": import_reps,
    "units": _import_units,
    "territories": import_territories,
}
