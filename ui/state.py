"""Session state of the app: the open workspace, the chosen scenario and map settings.

Pages read state only through these accessors, never through raw
``st.session_state`` keys, so the keys live in one place::

    ws = state.current_workspace()      # what the user may see; stops the page if none
    sid = state.current_scenario_id()
    ws = state.workspace_for_edit()     # the whole workspace, for a page that edits it
    ... edit ws in place (check scope.can_edit_territory for each change) ...
    state.mark_changed()                # after editing: caches keyed on the version refresh

:func:`current_workspace` goes through :mod:`ui.auth`: a rep or a manager gets
an in-memory copy restricted to what they may see
(:func:`planner.access.restrict_workspace`), planners, admins and local mode
the session's workspace itself. Each browser session has its own copy of the
workspace, so one user's edits never show up in another's session.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pandas as pd
import streamlit as st

from planner.errors import PlannerError
from planner.samples import SAMPLES, sample_path
from planner.viz import MapOptions, TileSource
from planner.workspace import Workspace
from ui.cache import read_workspace

__all__ = [
    "TILES_ENV",
    "WORKSPACE_ENV",
    "WorkspaceSource",
    "current_scenario_id",
    "current_workspace",
    "default_tiles",
    "env_source",
    "load_error",
    "map_options",
    "mark_changed",
    "open_source",
    "opportunities",
    "save_target",
    "save_workspace",
    "scenario_choice",
    "set_opportunities",
    "set_scenario_id",
    "set_tiles",
    "tile_source",
    "workspace_for_edit",
    "workspace_or_none",
    "workspace_path",
    "workspace_source",
    "workspace_version",
]

#: A sample name (``helsinki``, ``georgia``) or a path to a ``.gpkg`` to open at start.
WORKSPACE_ENV = "PLANNER_WORKSPACE"
#: Folder where workspaces opened from a sample or an upload are saved.
SAVE_DIR_ENV = "PLANNER_SAVE_DIR"
#: ``none`` (default: works offline) or ``osm`` (OpenStreetMap tiles; needs internet).
TILES_ENV = "PLANNER_TILES"
DEFAULT_SAMPLE = "helsinki"

_WS = "tp.workspace"
_SOURCE = "tp.source"
_SCENARIO = "tp.scenario_id"
_VERSION = "tp.version"
_ERROR = "tp.load_error"
_TILES = "tp.tiles"
_SAVED_PATH = "tp.saved_path"
_OPPORTUNITIES = "tp.opportunities"


@dataclass(frozen=True)
class WorkspaceSource:
    """Where a workspace came from.

    Parameters
    ----------
    key
        Identifies the source (``sample:helsinki``, ``file:/x.gpkg``, ``upload:<hash>``).
    label
        What the user sees.
    path
        The file read.
    """

    key: str
    label: str
    path: Path


def sample_source(name: str) -> WorkspaceSource:
    """Return the source of bundled sample ``name``.

    Raises
    ------
    planner.errors.InputError
        If the sample is unknown or its file has not been built.
    """
    return WorkspaceSource(f"sample:{name}", f"{name.title()} (sample)", sample_path(name))


def file_source(path: str | os.PathLike[str], *, label: str | None = None) -> WorkspaceSource:
    """Return the source of a workspace file."""
    p = Path(path)
    return WorkspaceSource(f"file:{p.resolve()}", label or p.name, p)


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


def open_source(source: WorkspaceSource) -> Workspace | None:
    """Open ``source`` as the session's workspace; on failure keep the previous one.

    Returns
    -------
    Workspace or None
        The workspace opened, or ``None`` if it could not be read (the
        error's message is then in :func:`load_error`).
    """
    try:
        ws = read_workspace(source.path)
    except PlannerError as exc:
        st.session_state[_ERROR] = f"Could not open {source.label}: {exc}"
        return None
    st.session_state[_WS] = ws
    st.session_state[_SOURCE] = source
    st.session_state[_ERROR] = None
    st.session_state[_SCENARIO] = _default_scenario(ws)
    st.session_state[_SAVED_PATH] = None
    mark_changed()
    return ws


def set_load_error(message: str | None) -> None:
    """Record (or clear) the message of a workspace that failed to open."""
    st.session_state[_ERROR] = message


def load_error() -> str | None:
    """Return why the last workspace failed to open, or ``None``."""
    return cast("str | None", st.session_state.get(_ERROR))


def workspace_source() -> WorkspaceSource | None:
    """Return where the open workspace came from, or ``None``."""
    return cast("WorkspaceSource | None", st.session_state.get(_SOURCE))


def workspace_or_none() -> Workspace | None:
    """Return the session's whole workspace, or ``None`` if none is open.

    For the shared frame (sidebar, saving) only: pages show
    :func:`current_workspace`, which holds what the user may see.
    """
    return cast("Workspace | None", st.session_state.get(_WS))


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
    from ui import auth

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
    from ui import auth

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
    sid = st.session_state.get(_SCENARIO)
    known = set(ws.scenarios["scenario_id"].astype(str))
    if sid not in known:
        sid = _default_scenario(ws)
        st.session_state[_SCENARIO] = sid
    if sid is None:
        st.warning("This workspace has no scenario yet: import or draw territories first.")
        st.stop()
    return str(sid)


def scenario_choice() -> str | None:
    """Return the chosen scenario id as stored, unchecked (``None`` if none chosen yet)."""
    value = st.session_state.get(_SCENARIO)
    return None if value is None else str(value)


def set_scenario_id(scenario_id: str) -> None:
    """Choose scenario ``scenario_id`` (call ``st.rerun()`` to refresh the sidebar at once)."""
    st.session_state[_SCENARIO] = scenario_id


def mark_changed() -> None:
    """Note that the workspace changed in place (bumps :func:`workspace_version`)."""
    st.session_state[_VERSION] = int(st.session_state.get(_VERSION, 0)) + 1


def workspace_version() -> int:
    """Return a number that changes whenever the session's workspace changes."""
    return int(st.session_state.get(_VERSION, 0))


def set_opportunities(frame: pd.DataFrame | None, *, label: str = "") -> None:
    """Keep opportunities read by :func:`planner.reports.read_opportunities` for this workspace.

    They live in the session only (the workspace has no opportunities table)
    and are dropped when another workspace is opened. ``None`` forgets them.
    """
    source = workspace_source()
    if frame is None or source is None:
        st.session_state.pop(_OPPORTUNITIES, None)
        return
    st.session_state[_OPPORTUNITIES] = (source.key, label, frame)


def opportunities() -> tuple[pd.DataFrame, str] | None:
    """Return the session's opportunities that the user may see, with their file name, or ``None``.

    Filtered through the user's scope (:meth:`planner.access.AccessScope.filter_opportunities`).
    """
    stored = st.session_state.get(_OPPORTUNITIES)
    source = workspace_source()
    if stored is None or source is None or stored[0] != source.key:
        return None
    from ui import auth

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
    return cast(TileSource, st.session_state.get(_TILES) or default_tiles())


def set_tiles(tiles: TileSource) -> None:
    """Set the session's basemap."""
    st.session_state[_TILES] = tiles


def map_options(**overrides: object) -> MapOptions:
    """Return :class:`planner.viz.MapOptions` with the session's basemap, plus ``overrides``."""
    params: dict[str, object] = {"tiles": tile_source()}
    params.update(overrides)
    return MapOptions(**params)  # type: ignore[arg-type]


def save_target() -> Path:
    """Return the file that :func:`save_workspace` writes.

    A workspace opened from a file is saved back to that file. One opened from
    a bundled sample or an upload is saved under ``$PLANNER_SAVE_DIR``
    (``./workspaces`` by default), so the bundled samples are never
    overwritten.
    """
    ws = _full_workspace()
    saved = st.session_state.get(_SAVED_PATH)
    if saved is not None:
        return Path(saved)
    source = workspace_source()
    if source is not None and source.key.startswith("file:"):
        return source.path
    folder = Path(os.environ.get(SAVE_DIR_ENV, "workspaces"))
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in ws.name) or "workspace"
    return folder / f"{stem}.gpkg"


def save_workspace() -> Path:
    """Save the session's workspace atomically to :func:`save_target` and return the path.

    After the first save of a sample, later saves go to the same file.

    Raises
    ------
    planner.errors.WorkspaceError
        If writing fails; the previous file is then unchanged.
    planner.access.AccessDeniedError
        If the user's role may not edit (reps).
    """
    from planner.access import AccessDeniedError
    from ui import auth

    scope = auth.current_scope()
    if scope is None or not scope.can("edit"):
        raise AccessDeniedError("your role may not change the workspace, so it cannot save it")
    ws = _full_workspace()
    target = save_target()
    target.parent.mkdir(parents=True, exist_ok=True)
    path = ws.save(target)
    st.session_state[_SAVED_PATH] = str(path)
    return path
