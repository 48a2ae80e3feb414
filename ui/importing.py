"""Session glue of the import page (the import itself: :mod:`planner.services.importing`).

The page calls, in order::

    report = importing.check_upload(name, data, kind=..., columns=..., crs=...)
    ... show report.problems (problems_frame) and the column mapping ...
    importing.run_import(report, ImportOptions(...))   # in the Import button's callback

:func:`plan_import` does the work on a copy of the workspace and raises one
:class:`~planner.errors.InputError` listing every problem; only when it
succeeds does :func:`run_import` put the copy's tables into the session's
workspace (or save and open the new workspace), so a refused import changes
nothing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import streamlit as st

from planner import schema as s
from planner.errors import PlannerError
from planner.export.etm_read import EtmOptions
from planner.geo.columns import Kind
from planner.geo.io import ValidationReport
from planner.services import importing as services
from planner.services.crm_import import import_salesforce
from planner.services.importing import (
    ACCOUNT_TEMPLATE_COLUMNS,
    FILE_TYPES,
    KIND_LABELS,
    NEW_SCENARIO,
    NOT_USED,
    ImportOptions,
    ImportResult,
    accounts_template_csv,
    auto_mapping,
    is_gis_file,
    layer_names,
    make_units_from_accounts,
    mapping_frame,
    mapping_overrides,
    parse_crs,
    plan_import,
    problems_frame,
    sheet_names,
    target_columns,
    validate_upload,
)
from planner.workspace import Workspace
from ui import auth, keys, state

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
    "check_upload",
    "crm_import_section",
    "file_columns",
    "is_gis_file",
    "layer_names",
    "make_units_from_accounts",
    "mapping_frame",
    "mapping_overrides",
    "new_workspace_path",
    "options_from_widgets",
    "parse_crs",
    "plan_import",
    "pop_flash",
    "problems_frame",
    "run_import",
    "sheet_names",
    "target_columns",
    "uploader_key",
    "validate_upload",
]

logger = logging.getLogger(__name__)

#: The sidebar's workspace picker (ui/sidebar.py); see :func:`_keep_new_workspace_open`.
_PRIVILEGED_ROLES = ("planner", "admin")


@st.cache_data(show_spinner="Checking the file…", max_entries=8)
def _report(
    digest: str,
    filename: str,
    kind: Kind | None,
    columns: tuple[tuple[str, str | None], ...],
    crs: str | None,
    layer: str | None,
    sheet: str | int | None,
    _data: bytes,
) -> ValidationReport:
    """The check of one file (by content digest) with these options; shared by sessions."""
    del digest  # only part of the cache key (``_data`` is not hashed again)
    return validate_upload(
        filename, _data, kind=kind, columns=dict(columns) or None, crs=crs, layer=layer,
        sheet=sheet,
    )  # fmt: skip


@st.cache_data(show_spinner=False, max_entries=8)
def _columns(
    digest: str,
    filename: str,
    kind: Kind | None,
    sheet: str | int | None,
    layer: str | None,
    _data: bytes,
) -> list[str]:
    del digest  # only part of the cache key
    return services.file_columns(filename, _data, kind=kind, sheet=sheet, layer=layer)


def check_upload(
    filename: str,
    data: bytes,
    *,
    kind: Kind | None = None,
    columns: Mapping[str, str | None] | None = None,
    crs: str | None = None,
    layer: str | None = None,
    sheet: str | int | None = None,
) -> ValidationReport:
    """Validate an uploaded file; the last few checks are cached (by content and options).

    Parameters
    ----------
    filename
        The upload's file name (its extension decides the format).
    data
        The file's bytes.
    kind
        ``accounts``, ``reps``, ``units`` or ``territories``; guessed when ``None``.
    columns
        File column -> planner column overrides (``None`` ignores a column).
    crs
        What the user typed as the file's CRS (an EPSG code); blank for the file's own.
    layer, sheet
        The GeoPackage layer or the workbook sheet.

    Returns
    -------
    planner.geo.io.ValidationReport
        Every problem; a CRS that cannot be understood is one of them.
    """
    digest = hashlib.sha256(data).hexdigest()
    options = tuple(sorted((columns or {}).items(), key=lambda kv: kv[0]))
    return _report(digest, filename, kind, options, crs, layer, sheet, data)


def file_columns(
    filename: str,
    data: bytes,
    *,
    kind: Kind,
    sheet: str | int | None = None,
    layer: str | None = None,
) -> list[str]:
    """The file's column names (:func:`planner.services.importing.file_columns`), remembered."""
    digest = hashlib.sha256(data).hexdigest()
    return _columns(digest, filename, kind, sheet, layer, data)


def new_workspace_path(name: str, folder: str | os.PathLike[str] | None = None) -> Path:
    """Return a file for a new workspace named ``name`` that does not exist yet.

    ``folder`` defaults to ``$PLANNER_SAVE_DIR`` (``./workspaces``), where the
    sidebar saves workspaces opened from a sample or an upload.
    """
    base = Path(folder if folder is not None else os.environ.get(state.SAVE_DIR_ENV, "workspaces"))
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", name.strip()).strip("_")[:60] or "workspace"
    candidate, n = base / f"{stem}.gpkg", 2
    while candidate.exists():
        candidate, n = base / f"{stem}-{n}.gpkg", n + 1
    return candidate


# --------------------------------------------------------------------------- the session side


def uploader_key() -> str:
    """Return the key of the page's file uploader (a new one after each import empties it)."""
    return keys.import_file(int(st.session_state.get(keys.IMPORT_UPLOADS, 0)))


def _flash(kind: str, title: str, result: ImportResult | None = None,
           error: Exception | None = None) -> None:  # fmt: skip
    st.session_state[keys.IMPORT_FLASH] = {
        "kind": kind,
        "title": title,
        "result": result,
        "error": error,
    }


def pop_flash() -> dict[str, Any] | None:
    """Return (once) what the last import did or why it was refused."""
    return cast("dict[str, Any] | None", st.session_state.pop(keys.IMPORT_FLASH, None))


def _keep_new_workspace_open() -> None:
    """Select the newly opened workspace in the sidebar's picker.

    The picker lists the open workspace file as an entry of its own, so
    choosing it keeps the new workspace open. Runs in a button callback,
    before the sidebar is drawn.
    """
    source = state.workspace_source()
    if source is not None:
        st.session_state[keys.WORKSPACE_CHOICE] = source.key


def options_from_widgets(widgets: Mapping[str, str], fixed: Mapping[str, Any]) -> ImportOptions:
    """Build :class:`ImportOptions` from the current values of the page's widgets.

    Parameters
    ----------
    widgets
        Option name -> widget key, read from the session state now.
    fixed
        Option name -> value that needs no widget.

    Raises
    ------
    planner.errors.InputError
        If the options are invalid (a blank workspace name...).
    """
    params = dict(fixed)
    for option, key in widgets.items():
        if key in st.session_state:
            params[option] = st.session_state[key]
    return ImportOptions(**params)


def run_import(
    report: ValidationReport, widgets: Mapping[str, str], fixed: Mapping[str, Any]
) -> None:
    """Import a checked file as the signed-in user; for the Import button's ``on_click``.

    The options are read from the widgets when the button is pressed (a name
    typed just before the click counts). A new workspace is saved under
    ``$PLANNER_SAVE_DIR`` and opened as the session's workspace; an import
    into the open one is committed at once as one change. The signed-in
    user becomes the new workspace's admin, keeping their password. The
    outcome, or every problem that stopped it, is kept for :func:`pop_flash`.
    """
    scope = auth.current_scope()
    if scope is None or not scope.can("import_data"):
        _flash("error", "Access denied: your role may not import data.")
        return
    user = auth.current_user()
    user_id = None if user is None else str(user.user_id)
    ws = state.workspace_or_none()
    try:
        options = options_from_widgets(widgets, fixed)
        result = plan_import(
            report,
            options,
            workspace=ws,
            user=user_id,
            may_manage_users=scope.can("manage_users"),
        )
        if options.into == "new":
            path = new_workspace_path(options.workspace_name)
            path.parent.mkdir(parents=True, exist_ok=True)
            _make_importer_admin(result.workspace, ws, user_id)
            result.workspace.save(path)
            if state.open_source(state.file_source(path, label=result.workspace.name)) is None:
                raise PlannerError(state.load_error() or f"could not open {path}")
            _keep_new_workspace_open()
            result = ImportResult(
                result.workspace,
                (*result.messages, f"Saved the new workspace to {path}."),
                result.notes,
                result.scenario_id,
                result.assignments,
            )
        else:
            assert ws is not None  # plan_import refuses a missing workspace
            ws.tables = dict(result.workspace.tables)
            state.mark_changed(f"import {report.kind}")
    except (PlannerError, OSError) as exc:  # OSError: the save folder cannot be made
        logger.info("import of %s refused: %s", report.path, exc)
        _flash("error", f"Nothing was imported from {report.path}.", error=exc)
        return
    if result.scenario_id is not None:
        state.set_scenario_id(result.scenario_id)
    st.session_state[keys.IMPORT_UPLOADS] = int(st.session_state.get(keys.IMPORT_UPLOADS, 0)) + 1
    _flash("success", f"Imported {report.path}.", result=result)


def _make_importer_admin(new: Workspace, old: Workspace | None, user_id: str | None) -> None:
    """The signed-in importer owns the new workspace (as admin, with their password)."""
    if user_id is None or old is None:
        return
    reps = old.reps
    mine = reps[reps[s.REP_ID].astype(str) == user_id]
    row = mine.iloc[0] if len(mine) else None

    def field(column: str) -> str | None:
        if row is None or column not in row.index or s.is_missing(row[column]):
            return None
        return str(row[column])

    new.ensure_admin(
        user_id,
        name=field(s.NAME),
        password_hash=field(s.PASSWORD_HASH),
        email=field(s.EMAIL),
    )


def run_make_units() -> None:
    """Make H3 units from the open workspace's accounts; for a button's ``on_click``."""
    scope = auth.current_scope()
    ws = state.workspace_or_none()
    if scope is None or not scope.can("import_data") or ws is None:
        _flash("error", "Access denied: your role may not import data.")
        return
    user = auth.current_user()
    try:
        result = make_units_from_accounts(ws, user=None if user is None else str(user.user_id))
    except PlannerError as exc:
        _flash("error", "No units were made.", error=exc)
        return
    ws.tables = dict(result.workspace.tables)
    state.mark_changed("make units from accounts")
    _flash("success", "Made units from the accounts.", result=result)


# -- Salesforce ETM export (zip) -----------------------------------------------------------


def crm_import_section(ws: Workspace) -> None:
    """An expander to import a Salesforce ETM export (zip) as a new scenario, with its outcome.

    The zip holds Territory2.csv, UserTerritory2Association.csv and
    ObjectTerritory2Association.csv (Territory2Model.csv, Territory2Type.csv
    and User.csv too when exported); every problem is listed before anything changes.
    """
    outcome = st.session_state.get(keys.IMPORT_SALESFORCE_OUTCOME)
    with st.expander("Salesforce ETM export (zip)", expanded=outcome is not None):
        st.caption(
            "A zip of the Territory2, UserTerritory2Association and ObjectTerritory2Association "
            "files Data Loader exports (Territory2Model, Territory2Type and User too, if you "
            "have them) becomes a new planning scenario that remembers each record's Id, so "
            "the Export page can write a delta that deletes by Id."
        )
        upload = st.file_uploader("Export (zip)", type=["zip"], key=keys.IMPORT_SALESFORCE_FILE)
        left, middle, right = st.columns(3)
        accounts = [c for c in ws.accounts.columns if c != s.GEOMETRY]
        left.selectbox(
            "Salesforce account Id column",
            accounts,
            key=keys.IMPORT_SALESFORCE_ACCOUNTS,
            index=accounts.index(s.ACCOUNT_ID) if s.ACCOUNT_ID in accounts else 0,
        )
        users = [c for c in ws.reps.columns if c not in (s.GEOMETRY, s.PASSWORD_HASH)]
        middle.selectbox(
            "Salesforce username or email column",
            users,
            key=keys.IMPORT_SALESFORCE_USERS,
            index=users.index(s.EMAIL) if s.EMAIL in users else 0,
        )
        right.text_input(
            "Territory model (optional)",
            key=keys.IMPORT_SALESFORCE_MODEL,
            placeholder="the export's only model",
        )
        st.text_input(
            "Scenario name", key=keys.IMPORT_SALESFORCE_NAME, placeholder="the model's label"
        )
        st.button(
            "Import the Salesforce export",
            key=keys.IMPORT_SALESFORCE_GO,
            disabled=upload is None,
            on_click=run_salesforce_import,
        )
        if outcome is not None:
            kind, text = outcome
            (st.success if kind == "success" else st.error)(text)


def run_salesforce_import() -> None:
    """Import the uploaded Salesforce export as the signed-in user (the button's ``on_click``)."""
    scope = auth.current_scope()
    ws = state.workspace_or_none()
    upload = st.session_state.get(keys.IMPORT_SALESFORCE_FILE)
    if scope is None or not scope.can("import_data") or ws is None or upload is None:
        st.session_state[keys.IMPORT_SALESFORCE_OUTCOME] = (
            "error",
            "Access denied, or no file uploaded.",
        )
        return
    user = auth.current_user()
    options = EtmOptions(
        model=str(st.session_state.get(keys.IMPORT_SALESFORCE_MODEL) or ""),
        user_column=str(st.session_state.get(keys.IMPORT_SALESFORCE_USERS) or s.EMAIL),
        account_id_column=str(
            st.session_state.get(keys.IMPORT_SALESFORCE_ACCOUNTS) or s.ACCOUNT_ID
        ),
    )
    with tempfile.TemporaryDirectory(prefix="tp-etm-") as tmp:
        path = Path(tmp) / Path(upload.name).name
        path.write_bytes(upload.getvalue())
        try:
            result = import_salesforce(
                ws,
                path,
                options=options,
                user=None if user is None else str(user.user_id),
                scenario_name=str(st.session_state.get(keys.IMPORT_SALESFORCE_NAME) or ""),
            )
        except PlannerError as exc:
            st.session_state[keys.IMPORT_SALESFORCE_OUTCOME] = ("error", str(exc))
            return
    ws.tables = dict(result.workspace.tables)
    state.mark_changed("import salesforce")
    if result.scenario_id is not None:
        state.set_scenario_id(result.scenario_id)
    st.session_state[keys.IMPORT_SALESFORCE_OUTCOME] = (
        "success",
        " ".join([*result.messages, *result.notes]),
    )
