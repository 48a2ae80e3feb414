"""What the app computes once and shares between runs and sessions: ``st.cache_*`` only.

Results that depend on a workspace are keyed by what they depend on: the
workspace's ``content`` key (its store and version; see
:func:`ui.state.content_key`) and their own arguments, never by a session.
Arguments named with a leading underscore are not part of the key
(Streamlit's rule): they are the objects the result is computed from.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import re
import tempfile
import warnings
import weakref
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any, TypeVar, cast

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st

from planner.assign import Assignment
from planner.edit import counts_table, with_change
from planner.errors import PlannerError
from planner.geo.assign import assign_workspace
from planner.routing.network import RoadNetwork, load_network
from planner.services.rep_accounts import saved_network_file
from planner.store import (
    Snapshot,
    Store,
    history_frame,
    open_store,
    redo_target,
    table_as_of,
    undo_target,
)
from planner.viz import primary_territory, road_lines, territory_summary
from planner.workspace import Workspace
from ui.maps import MapParts
from ui.maps import map_parts as render_parts

__all__ = [
    "Content",
    "assignment",
    "by_frames",
    "history",
    "map_copy",
    "map_parts",
    "owners",
    "parts_of_frames",
    "read_workspace",
    "road_lines_for",
    "roads_file_for",
    "rows_as_of",
    "store_for",
    "store_upload",
    "summary",
    "territory_counts",
    "undo_redo_targets",
]

#: What a workspace's cached results depend on: its store's location and version.
Content = tuple[str, int]

_T = TypeVar("_T")

logger = logging.getLogger(__name__)


@st.cache_resource(show_spinner=False, max_entries=16)
def store_for(where: str, name: str | None) -> Store:
    """Return the store of a workspace file or server workspace, shared by every session.

    Opening migrates a file of an older planner (after a backup) once.
    """
    return open_store(where, name=name)


@st.cache_data(show_spinner="Opening the workspace…", max_entries=8)
def _snapshot(where: str, name: str | None, version: int) -> Snapshot:
    """One version of a workspace's tables; every session on that version shares the read."""
    del version  # only part of the cache key
    return store_for(where, name).read()


def read_workspace(where: str | Path, name: str | None = None) -> Workspace:
    """Return the newest version of a stored workspace, as this session's own copy.

    Raises
    ------
    planner.errors.WorkspaceError
        If the file or server workspace is missing or not a workspace.
    """
    key = str(Path(where).resolve()) if name is None else str(where)
    try:
        store = store_for(key, name)
        snap = _snapshot(key, name, store.head())
    except PlannerError:
        store_for.clear()  # do not keep a failed open
        raise
    return Workspace.from_snapshot(store, snap)


def store_upload(name: str, data: bytes) -> Path:
    """Save an uploaded file under the temp folder, named by its content, and return the path.

    The same upload maps to the same file, so re-reading it hits the cache.
    """
    digest = hashlib.sha256(data).hexdigest()[:16]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).stem)[:60] or "upload"
    folder = Path(tempfile.gettempdir()) / "territory-planner-uploads" / digest
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{stem}.gpkg"
    if not target.exists() or target.stat().st_size != len(data):
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(target)
    return target


def roads_file_for(workspace_path: str | Path | None) -> Path | None:
    """Return the road network saved beside a workspace (``<name>_roads.graphml[.gz]``), if any."""
    return saved_network_file(workspace_path)


@st.cache_resource(show_spinner="Loading the road network…", max_entries=4)
def network(path: str, mtime_ns: int) -> RoadNetwork:
    """The road network in a file, loaded once per file version (shared by every session)."""
    del mtime_ns  # only part of the cache key
    return load_network(path)


@st.cache_data(show_spinner=False, max_entries=4)
def _road_lines(path: str, mtime_ns: int) -> gpd.GeoDataFrame:
    return road_lines(network(path, mtime_ns))


def road_lines_for(workspace_path: str | Path | None) -> gpd.GeoDataFrame | None:
    """Return the streets of the road network beside a workspace, or ``None`` if it has none.

    A network that fails to load is logged and treated as absent: roads are
    only context on the map.
    """
    file = roads_file_for(workspace_path)
    if file is None:
        return None
    try:
        return _road_lines(str(file.resolve()), file.stat().st_mtime_ns)
    except PlannerError as exc:
        logger.warning("road network %s not drawn: %s", file, exc)
        return None


@st.cache_data(show_spinner=False, max_entries=64)
def undo_redo_targets(
    location: str, version: int, user: str | None, _store: Store
) -> tuple[bool, bool]:
    """Whether ``user`` has a change to undo, and an undo to redo, at ``version`` of the store.

    Raises
    ------
    planner.errors.PlannerError
        If the store cannot be read (not cached).
    """
    del location, version  # only part of the cache key
    return undo_target(_store, user) is not None, redo_target(_store, user) is not None


def _assign(ws: Workspace, scenario_id: str) -> Assignment:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return assign_workspace(ws, scenario_id)


@st.cache_data(show_spinner="Assigning the accounts…", max_entries=8)
def _cached_assignment(content: Content, scenario_id: str, _ws: Workspace) -> Assignment:
    del content  # only part of the cache key
    return _assign(_ws, scenario_id)


def assignment(content: Content | None, ws: Workspace, scenario_id: str) -> Assignment:
    """The assignment of a scenario as the library computes it now; cached per ``content``.

    ``content`` ``None`` (a session's unsaved or restricted copy) computes it afresh.

    Raises
    ------
    planner.errors.PlannerError
        If the scenario's territories cannot be used.
    """
    if content is None:
        return _assign(ws, scenario_id)
    return _cached_assignment(content, scenario_id, ws)


@st.cache_resource(show_spinner=False, max_entries=24)
def _cached_map(content: Content, what: str, _build: Callable[[], folium.Map]) -> folium.Map:
    del content, what  # only part of the cache key
    return _build()


def map_copy(content: Content | None, what: str, build: Callable[[], folium.Map]) -> folium.Map:
    """A copy of the map ``build()`` makes, built once per ``content`` and ``what``.

    ``what`` names everything else the map depends on (scenario, mode,
    selection, options). Each caller gets its own deep copy (a few
    milliseconds), since showing a map changes it; the copies of one map
    render to the same page, so showing it again does not reload it.
    """
    if content is None:
        return build()
    return copy.deepcopy(_cached_map(content, what, build))


@st.cache_resource(show_spinner=False, max_entries=24)
def _cached_parts(
    content: Content, what: str, split: bool, _build: Callable[[], folium.Map]
) -> MapParts:
    del content, what  # only part of the cache key
    return render_parts(_build(), split=split)


def map_parts(
    content: Content | None, what: str, build: Callable[[], folium.Map], *, split: bool = False
) -> MapParts:
    """The map ``build()`` makes, rendered once per ``content`` and ``what``.

    Rendered by :func:`ui.maps.map_parts`.

    ``what`` names everything else the map depends on (scenario, mode,
    selection, options). The parts are text, shared read-only by every
    session; showing them costs no rendering. ``content`` ``None`` renders afresh.
    """
    if content is None:
        return render_parts(build(), split=split)
    return _cached_parts(content, what, split, build)


@st.cache_resource(show_spinner=False, max_entries=32)
def _by_frames(
    what: str, ids: tuple[int, ...], _frames: tuple[object, ...], _build: Callable[[], Any]
) -> tuple[tuple[weakref.ref[Any], ...], Any]:
    del what, ids  # only part of the cache key
    return tuple(weakref.ref(f) for f in _frames), _build()


def by_frames(what: str, frames: tuple[object, ...], build: Callable[[], _T]) -> _T:
    """What ``build()`` computes from ``frames`` (and ``what`` names), once per those frames.

    For results that outlive most edits (the place names of the accounts
    and units, the units' workload, a comparison of two scenarios): a
    workspace replaces a table's frame when it changes it and never changes
    it in place, so the same frames give the same result in any version
    (promoting a scenario changes the scenarios table alone). The frames are
    known by identity, checked with weak references, so an ``id`` reused by
    another frame never returns a stale result. Shared read-only by every
    session holding those frames.
    """
    ids = tuple(id(f) for f in frames)
    refs, value = _by_frames(what, ids, frames, build)
    if not all(r() is f for r, f in zip(refs, frames, strict=True)):
        _by_frames.clear(what, ids, frames, build)  # an id reused by another frame: redo it
        refs, value = _by_frames(what, ids, frames, build)
    return cast("_T", value)


def parts_of_frames(
    what: str, frames: tuple[object, ...], build: Callable[[], folium.Map], *, split: bool = True
) -> MapParts:
    """The map ``build()`` makes from ``frames`` alone, rendered once per frames (see
    :func:`by_frames`)."""
    return by_frames(f"parts|{split}|{what}", frames, lambda: render_parts(build(), split=split))


@st.cache_data(show_spinner=False, max_entries=64)
def history(
    content: Content, account: str | None, territory: str | None, _store: Store
) -> pd.DataFrame:
    """The recorded changes of an account or a territory (:func:`planner.store.history_frame`).

    Raises
    ------
    planner.errors.PlannerError
        If the store cannot be read (not cached).
    """
    del content  # only part of the cache key
    return history_frame(_store, account=account, territory=territory)


@st.cache_data(show_spinner=False, max_entries=64)
def rows_as_of(
    content: Content, table: str, day: date, where: tuple[tuple[str, str], ...], _store: Store
) -> pd.DataFrame:
    """The rows of ``table`` matching ``where`` as they were on ``day`` (``table_as_of``)."""
    del content  # only part of the cache key
    return table_as_of(_store, table, day, where=dict(where))


def owners(ws: Workspace, scenario_id: str) -> pd.Series:
    """Each account's territory for display (:func:`planner.viz.primary_territory`).

    Once per memberships and territories (:func:`by_frames`); shared, read-only.
    """
    frames = (ws.tables["memberships"], ws.tables["territories"])
    return by_frames(
        f"owners|{scenario_id}",
        frames,
        lambda: primary_territory(ws.memberships(scenario_id), ws.territories(scenario_id)),
    )


def summary(ws: Workspace, scenario_id: str) -> pd.DataFrame:
    """The scenario's accounts and revenue per territory (:func:`planner.viz.territory_summary`).

    Once per accounts, memberships and territories (:func:`by_frames`), so the
    counts table and the map of one version share it; shared, read-only.
    """
    frames = (ws.tables["accounts"], ws.tables["memberships"], ws.tables["territories"])
    return by_frames(
        f"summary|{scenario_id}",
        frames,
        lambda: territory_summary(ws, scenario_id, owner=owners(ws, scenario_id)),
    )


def territory_counts(
    content: Content | None, ws: Workspace, scenario_id: str, before: Mapping[str, int] | None
) -> pd.DataFrame:
    """Accounts per territory and the change since ``before`` (``planner.edit.counts_table``).

    The counts are made once per the frames they come from (:func:`by_frames`):
    a run after an edit makes them for the new version, and the edit's callback
    finds those of the version it changes. Shared, read-only.
    """
    if content is None:
        return counts_table(ws, scenario_id, dict(before) if before else None)
    frames = (ws.tables["accounts"], ws.tables["memberships"], ws.tables["territories"])
    counts = by_frames(
        f"counts|{scenario_id}",
        frames,
        lambda: counts_table(ws, scenario_id, summary=summary(ws, scenario_id)),
    )
    return with_change(counts, before) if before else counts
