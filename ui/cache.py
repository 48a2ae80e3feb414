"""Cached reading of workspace files, shared by every session of the server."""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
from pathlib import Path

import geopandas as gpd
import streamlit as st

from planner.errors import PlannerError
from planner.store import Snapshot, Store, open_store
from planner.viz import road_lines
from planner.workspace import Workspace

__all__ = ["read_workspace", "road_lines_for", "roads_file_for", "store_for", "store_upload"]

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
    if workspace_path is None:
        return None
    path = Path(workspace_path)
    for suffix in ("_roads.graphml.gz", "_roads.graphml"):
        candidate = path.with_name(f"{path.stem}{suffix}")
        if candidate.is_file():
            return candidate
    return None


@st.cache_data(show_spinner="Loading the road network…", max_entries=4)
def _road_lines(path: str, mtime_ns: int) -> gpd.GeoDataFrame:
    del mtime_ns  # only part of the cache key
    from planner.routing.network import load_network

    return road_lines(load_network(path))


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
