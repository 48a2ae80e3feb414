"""Session state of the app: the open workspace, the chosen scenario and map settings.

Pages read state only through these accessors, never through raw
``st.session_state`` keys; every key is named once, in :mod:`ui.keys`::

    ws = state.current_workspace()      # what the user may see; stops the page if none
    sid = state.current_scenario_id()
    ws = state.workspace_for_edit()     # the whole workspace, for a page that edits it
    ... edit ws in place (check scope.can_edit_territory for each change) ...
    state.mark_changed("move unit")     # saves the edit at once as one change in the store

:func:`current_workspace` goes through :mod:`ui.auth`: a rep or a manager gets
an in-memory copy restricted to what they may see
(:func:`planner.access.restrict_workspace`), planners, admins and local mode
the session's workspace itself. Each browser session has its own copy of the
workspace, read from the shared store (:mod:`planner.store`); every edit is
committed at once by :func:`mark_changed`, and :func:`sync` takes in what
other sessions committed. An edit that collides with somebody else's is kept
in the session (:func:`pending`) until the user reloads or keeps it as a new
scenario.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

import pandas as pd
import streamlit as st

from planner.access import AccessDeniedError
from planner.errors import ConflictError, PlannerError, WorkspaceError
from planner.samples import SAMPLES, sample_path, write_sample
from planner.services.rep_accounts import NETWORK_SUFFIXES
from planner.store import DATABASE_URL_ENV, list_workspaces
from planner.viz import MapOptions, TileSource
from planner.workspace import Workspace
from ui import auth, keys
from ui.cache import Content, read_workspace, undo_redo_targets
from ui.session import (
    WorkspaceSource,
    scenario_choice,
    workspace_or_none,
    workspace_source,
    workspace_version,
)

__all__ = [
    "TILES_ENV",
    "WORKSPACE_ENV",
    "Pending",
    "WorkspaceSource",
    "can_undo_redo",
    "content_key",
    "current_scenario_id",
    "current_workspace",
    "default_tiles",
    "drop_pending",
    "env_source",
    "file_source",
    "keep_pending_as_scenario",
    "load_error",
    "map_options",
    "mark_changed",
    "newer_version",
    "open_source",
    "opportunities",
    "pending",
    "request_refresh",
    "retry_pending",
    "sample_entry",
    "sample_source",
    "save_copy",
    "save_dir",
    "scenario_choice",
    "server_source",
    "set_opportunities",
    "set_scenario_id",
    "set_tiles",
    "sync",
    "tile_source",
    "undo_redo",
    "workspace_choices",
    "workspace_for_edit",
    "workspace_or_none",
    "workspace_path",
    "workspace_source",
    "workspace_version",
]

#: A sample name (``helsinki``, ``georgia``) or a path to a ``.gpkg`` to open at start.
WORKSPACE_ENV = "PLANNER_WORKSPACE"
#: Folder of the app's workspace files (working copies of samples, uploads, copies, imports).
SAVE_DIR_ENV = "PLANNER_SAVE_DIR"
#: ``none`` (default: works offline) or ``osm`` (OpenStreetMap tiles; needs internet).
TILES_ENV = "PLANNER_TILES"
DEFAULT_SAMPLE = "helsinki"


def save_dir() -> Path:
    """Return the folder of the app's workspaces (``$PLANNER_SAVE_DIR``, ``./workspaces``)."""
    return Path(os.environ.get(SAVE_DIR_ENV, "workspaces"))


def sample_source(name: str) -> WorkspaceSource:
    """Return the source of bundled sample ``name``: its working copy in the save folder.

    The first time, the sample (and its road network) is copied into
    :func:`save_dir`; everybody who opens the sample then shares that copy,
    and the bundled file is never changed.

    Raises
    ------
    planner.errors.InputError
        If the sample is unknown or its file has not been built.
    """
    return WorkspaceSource(f"sample:{name}", f"{name.title()} (sample)", _working_copy(name))


def _working_copy(name: str) -> Path:
    bundled = sample_path(name)
    target = save_dir() / bundled.name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        write_sample(name, target)
    for suffix in NETWORK_SUFFIXES:
        roads = bundled.with_name(f"{bundled.stem}{suffix}")
        copy = target.with_name(f"{target.stem}{suffix}")
        if roads.is_file() and not copy.exists():
            shutil.copyfile(roads, copy)
    return target


def file_source(path: str | os.PathLike[str], *, label: str | None = None) -> WorkspaceSource:
    """Return the source of a workspace file."""
    p = Path(path)
    return WorkspaceSource(f"file:{p.resolve()}", label or p.stem, p)


def server_source(name: str) -> WorkspaceSource:
    """Return the source of workspace ``name`` on the team server."""
    return WorkspaceSource(f"server:{name}", f"{name} (team server)", None, name)


def env_source() -> WorkspaceSource:
    """Return the workspace named by ``$PLANNER_WORKSPACE`` (Helsinki by default).

    Raises
    ------
    planner.errors.PlannerError
        If it names a sample whose file is missing.
    """
    value = os.environ.get(WORKSPACE_ENV, "").strip() or DEFAULT_SAMPLE
    if value in SAMPLES:
        return sample_source(value)
    return file_source(value)


def _read(source: WorkspaceSource) -> Workspace:
    if source.path is None:
        return read_workspace(source.where, source.server_name)
    return read_workspace(source.path)


def open_source(source: WorkspaceSource) -> Workspace | None:
    """Open ``source`` as the session's workspace; on failure keep the previous one.

    Returns
    -------
    Workspace or None
        The workspace opened, or ``None`` if it could not be read (the
        error's message is then in :func:`load_error`).
    """
    try:
        ws = _read(source)
    except PlannerError as exc:
        st.session_state[keys.LOAD_ERROR] = f"Could not open {source.label}: {exc}"
        return None
    st.session_state[keys.WORKSPACE] = ws
    st.session_state[keys.SOURCE] = source
    st.session_state[keys.LOAD_ERROR] = None
    st.session_state[keys.SCENARIO] = _default_scenario(ws)
    st.session_state.pop(keys.PENDING, None)
    mark_changed(commit=False)
    return ws


def newer_version() -> bool:
    """Tell whether somebody committed a change since this session read the workspace."""
    ws = workspace_or_none()
    if ws is None or ws.store is None or pending() is not None:
        return False
    try:
        return ws.store.head() != ws.version
    except PlannerError:
        return False


def request_refresh() -> None:
    """Ask the next run to take in others' changes (see :func:`sync`)."""
    st.session_state[keys.REFRESH] = True


def sync() -> None:
    """Take in what others committed, when asked to by :func:`request_refresh`.

    The sidebar watches the store and asks for a refresh between the user's
    interactions, so an edit is always made on the version the user saw:
    if somebody changed the same things meanwhile, the commit reports a
    conflict instead of silently overwriting it. A session holding an edit
    that could not be saved keeps it until the user decides.
    """
    if not st.session_state.pop(keys.REFRESH, False):
        return
    ws = workspace_or_none()
    source = workspace_source()
    if ws is None or source is None or ws.store is None or pending() is not None:
        return
    try:
        if ws.store.head() != ws.version:
            st.session_state[keys.WORKSPACE] = _read(source)
            mark_changed(commit=False)
    except PlannerError as exc:
        st.session_state[keys.LOAD_ERROR] = f"Could not read the newest version: {exc}"


def set_load_error(message: str | None) -> None:
    """Record (or clear) the message of a workspace that failed to open."""
    st.session_state[keys.LOAD_ERROR] = message


def load_error() -> str | None:
    """Return why the last workspace failed to open, or ``None``."""
    return cast("str | None", st.session_state.get(keys.LOAD_ERROR))


def _full_workspace() -> Workspace:
    """Return the session's whole workspace; stop the page with an explanation if none is open."""
    ws = workspace_or_none()
    if ws is None:
        message = load_error() or "No workspace is open."
        st.error(message)
        st.info("Pick a sample or upload a workspace (.gpkg) in the sidebar.")
        st.stop()  # raises: the page ends here
        raise AssertionError("unreachable")
    return ws


def current_workspace() -> Workspace:
    """Return what the session's user may see of the workspace.

    Planners, admins and local mode get the session's workspace itself; reps
    and managers an in-memory copy holding only the chosen scenario, their
    territories, accounts and users (see :func:`ui.auth.visible_view`). Stops
    the page with an explanation if no workspace is open or nobody is signed in.
    """
    _full_workspace()
    view = auth.visible_view()
    if view is None:
        st.warning("Sign in to see this workspace.")
        st.stop()
        raise AssertionError("unreachable")
    return view[1]


def workspace_path() -> Path | None:
    """Return the file the session's workspace was read from (restricted copies have none)."""
    ws = workspace_or_none()
    return None if ws is None else ws.path


def workspace_for_edit() -> Workspace:
    """Return the session's whole workspace for a page that edits it.

    Stops the page with "access denied" unless the user's role may edit
    (managers, planners, admins, local mode). A manager may still change only
    the territories of their scope: check ``ui.auth.current_scope()``
    (``can_edit_territory``, ``require_move_account``) before each change.
    """
    ws = _full_workspace()
    auth.require("edit")
    return ws


def _default_scenario(ws: Workspace) -> str | None:
    try:
        return ws.active_scenario_id()
    except PlannerError:
        return None


def current_scenario_id() -> str:
    """Return the chosen scenario of the open workspace (its active one by default).

    Stops the page with an explanation if the workspace has no scenario.
    """
    current_workspace()  # stops the page if none is open or nobody is signed in
    ws = _full_workspace()
    sid = st.session_state.get(keys.SCENARIO)
    known = set(ws.scenarios["scenario_id"].astype(str))
    if sid not in known:
        sid = _default_scenario(ws)
        st.session_state[keys.SCENARIO] = sid
    if sid is None:
        st.warning("This workspace has no scenario yet: import or draw territories first.")
        st.stop()
    return str(sid)


def set_scenario_id(scenario_id: str) -> None:
    """Choose scenario ``scenario_id`` (call ``st.rerun()`` to refresh the sidebar at once)."""
    st.session_state[keys.SCENARIO] = scenario_id


@dataclass(frozen=True)
class Pending:
    """An edit of this session that is not saved: a conflict or a store fault."""

    action: str
    scenario_id: str
    message: str
    conflict: bool


def pending() -> Pending | None:
    """Return the session's unsaved edit, if the last save failed."""
    return cast("Pending | None", st.session_state.get(keys.PENDING))


def _user_id() -> str | None:
    user = auth.current_user()
    return None if user is None else str(user.user_id)


def mark_changed(action: str = "edit", *, commit: bool = True) -> bool:
    """Save the session's edit at once (one change in the store) and refresh what depends on it.

    Every page calls this right after it changed the workspace. The change
    is committed with the signed-in user, the chosen scenario and
    ``action`` as its label. If somebody changed the same rows meanwhile,
    or the store cannot be written, nothing is saved, the edit stays in
    this session and :func:`pending` describes it for the banner that
    offers the way out.

    Returns
    -------
    bool
        Whether the edit is saved (or there was nothing to save).
    """
    st.session_state[keys.VERSION] = int(st.session_state.get(keys.VERSION, 0)) + 1
    ws = workspace_or_none()
    if not commit or ws is None or ws.store is None:
        return True
    sid = scenario_choice() or ""
    try:
        ws.commit(action, user=_user_id(), scenario_id=sid or None)
    except ConflictError as exc:
        st.session_state[keys.PENDING] = Pending(action, sid, str(exc), conflict=True)
        return False
    except PlannerError as exc:
        st.session_state[keys.PENDING] = Pending(action, sid, str(exc), conflict=False)
        return False
    st.session_state.pop(keys.PENDING, None)
    return True


def retry_pending() -> bool:
    """Try again to save the session's unsaved edit (after a store fault)."""
    held = pending()
    if held is None:
        return True
    st.session_state.pop(keys.PENDING, None)
    return mark_changed(held.action)


def drop_pending() -> None:
    """Drop the session's unsaved edit and show the newest saved version ("reload and reapply")."""
    st.session_state.pop(keys.PENDING, None)
    ws = workspace_or_none()
    if ws is not None and ws.store is not None:
        ws.reload()
    mark_changed(commit=False)


def keep_pending_as_scenario() -> str | None:
    """Save the session's version of the conflicting scenario as a new planning scenario.

    Returns the new scenario's id (now chosen), or ``None`` if it could not be saved.
    """
    held = pending()
    ws = workspace_or_none()
    if held is None or ws is None or not held.scenario_id:
        return None
    try:
        change = ws.commit_as_new_scenario(held.scenario_id, user=_user_id())
    except PlannerError as exc:
        st.session_state[keys.PENDING] = Pending(held.action, held.scenario_id, str(exc), False)
        return None
    st.session_state.pop(keys.PENDING, None)
    mark_changed(commit=False)
    new_id = None if change is None else change.scenario_id
    if new_id:
        set_scenario_id(new_id)
    return new_id


def undo_redo(what: Literal["undo", "redo"]) -> str:
    """Undo or redo the signed-in user's newest change; return a message for the user."""
    ws = workspace_or_none()
    if ws is None or ws.store is None:
        return "Nothing to undo: this workspace is not saved."
    user = _user_id()
    try:
        change = ws.undo(user) if what == "undo" else ws.redo(user)
    except ConflictError as exc:
        return f"Could not {what}: {exc}"
    except PlannerError as exc:
        return str(exc)
    mark_changed(commit=False)
    return f"{change.action[0].upper()}{change.action[1:]} (version {change.version})."


def can_undo_redo() -> tuple[bool, bool]:
    """Whether the signed-in user has a change to undo, and an undo to redo.

    Asked once per version of the store and user (:func:`ui.cache.undo_redo_targets`),
    however many page runs draw the buttons.
    """
    ws = workspace_or_none()
    if ws is None or ws.store is None:
        return False, False
    try:
        return undo_redo_targets(str(ws.store.location), int(ws.version), _user_id(), ws.store)
    except PlannerError:
        return False, False


def content_key(ws: Workspace) -> Content | None:
    """What cached results computed from ``ws`` depend on (:mod:`ui.cache`), or ``None``.

    The session's whole workspace, saved: its store's location and version.
    ``None`` (compute afresh) for a copy restricted to a user, a workspace
    with no store and one holding an edit that could not be saved.
    """
    if ws.store is None or ws is not workspace_or_none() or pending() is not None:
        return None
    return str(ws.store.location), int(ws.version)


def set_opportunities(frame: pd.DataFrame | None, *, label: str = "") -> None:
    """Keep opportunities read by :func:`planner.reports.read_opportunities` for this workspace.

    They live in the session only (the workspace has no opportunities table)
    and are dropped when another workspace is opened. ``None`` forgets them.
    """
    source = workspace_source()
    if frame is None or source is None:
        st.session_state.pop(keys.OPPORTUNITIES, None)
        return
    st.session_state[keys.OPPORTUNITIES] = (source.key, label, frame)


def opportunities() -> tuple[pd.DataFrame, str] | None:
    """Return the session's opportunities that the user may see, with their file name, or ``None``.

    Filtered through the user's scope (:meth:`planner.access.AccessScope.filter_opportunities`).
    """
    stored = st.session_state.get(keys.OPPORTUNITIES)
    source = workspace_source()
    if stored is None or source is None or stored[0] != source.key:
        return None
    scope = auth.current_scope()
    if scope is None:
        return None
    return scope.filter_opportunities(stored[2]).reset_index(drop=True), str(stored[1])


def default_tiles() -> TileSource:
    """Return the basemap from ``$PLANNER_TILES``: ``osm`` or ``none`` (the default)."""
    value = os.environ.get(TILES_ENV, "none").strip().lower()
    return "osm" if value == "osm" else "none"


def tile_source() -> TileSource:
    """Return the session's basemap setting."""
    return cast(TileSource, st.session_state.get(keys.TILES) or default_tiles())


def set_tiles(tiles: TileSource) -> None:
    """Set the session's basemap."""
    st.session_state[keys.TILES] = tiles


def map_options(**overrides: object) -> MapOptions:
    """Return :class:`planner.viz.MapOptions` with the session's basemap, plus ``overrides``."""
    params: dict[str, object] = {"tiles": tile_source()}
    params.update(overrides)
    return MapOptions(**params)  # type: ignore[arg-type]


def save_copy(name: str) -> Path:
    """Write the session's workspace as a new workspace ``name`` in the save folder; open it.

    Raises
    ------
    planner.errors.WorkspaceError
        If writing fails or the name is taken; nothing is changed then.
    planner.access.AccessDeniedError
        If the user's role may not edit (reps).
    """
    scope = auth.current_scope()
    if scope is None or not scope.can("edit"):
        raise AccessDeniedError("your role may not change the workspace, so it cannot copy it")
    ws = _full_workspace()
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name.strip()) or "workspace"
    target = save_dir() / f"{stem}.gpkg"
    if target.exists():
        raise WorkspaceError(f"a workspace named {stem} already exists: choose another name")
    target.parent.mkdir(parents=True, exist_ok=True)
    copy = Workspace(name=name.strip() or stem, tables=dict(ws.tables), description=ws.description)
    path = copy.save(target)
    if copy.store is not None:
        copy.store.dispose()
    open_source(file_source(path))
    return path


def sample_entry(name: str) -> WorkspaceSource:
    """The picker's entry of a sample (its working copy is made only when it is opened)."""
    return WorkspaceSource(f"sample:{name}", f"{name.title()} (sample)", None)


def workspace_choices() -> list[WorkspaceSource]:
    """Every workspace the picker offers: samples, the save folder's files, the server's."""
    out = [sample_entry(n) for n in SAMPLES]
    samples = {f"{SAMPLES[n][0]}" for n in SAMPLES}
    for found in list_workspaces(save_dir(), os.environ.get(DATABASE_URL_ENV) or None):
        if found.backend == "postgis":
            out.append(server_source(found.name))
        elif Path(found.location).name not in samples:
            out.append(file_source(found.location))
    return out
