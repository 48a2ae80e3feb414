"""Streamlit piece of the Routes page's *Road network* tab: upload an OSM extract, build, store.

The work is :func:`planner.services.network_upload.store_uploaded_network`;
this module asks for the file, shows the progress and what was dropped.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from planner import schema as s
from planner.errors import InputError, PlannerError
from planner.io.limits import DEFAULT_LIMITS
from planner.routing import RoadNetwork
from planner.services.network_upload import UploadedNetwork, store_uploaded_network
from planner.workspace import Workspace
from ui import display, keys
from ui.progress import ProgressBar
from ui.routes import recall, remember

__all__ = ["network_section"]


def network_section(ws: Workspace, ws_file: Path | None, network: RoadNetwork | None) -> None:
    """Ask for an ``.osm.pbf`` of the region, build its network with progress, store it."""
    st.caption(
        "Upload an OpenStreetMap extract (`.osm.pbf`, e.g. from Geofabrik or BBBike) of this "
        "workspace's region. Its drivable roads become the workspace's road network, saved "
        "beside the workspace file; every route then follows the roads. Road pieces that "
        "cannot be reached and left again are dropped, and listed here."
    )
    if network is not None:
        st.caption(f"Current network: {network.source} ({network.n_nodes:,} junctions).")
    if ws_file is None:
        st.info(
            "This workspace is not a file on this machine: there is nowhere to store a "
            "network beside it. Open the workspace from its .gpkg file."
        )
        return
    upload = st.file_uploader(
        "OpenStreetMap extract",
        type=["pbf", "osm", "gz"],
        key=keys.NETWORK_FILE,
        help=f"At most {DEFAULT_LIMITS.max_file_bytes >> 20:,} MB.",
    )
    if upload is not None and st.button(
        "Build the road network", type="primary", key=keys.NETWORK_BUILD
    ):
        _build(ws, ws_file, upload.name, upload.getvalue())
    done = recall("network_upload", str(ws_file))
    if done is not None:
        _show(done)


def _build(ws: Workspace, ws_file: Path, name: str, data: bytes) -> None:
    bar = ProgressBar(f"Building the road network of {name}…")
    accounts = _located(ws)
    try:
        done = store_uploaded_network(data, name, ws_file, accounts=accounts, progress=bar)
    except PlannerError as exc:
        st.error(str(exc))
        if isinstance(exc, InputError):
            for p in exc.problems:
                st.caption(f"- {p.message}" + (f" ({p.fix})" if p.fix else ""))
        return
    finally:
        bar.clear()
    remember("network_upload", str(ws_file), done)
    st.rerun()


def _located(ws: Workspace) -> pd.DataFrame:
    """Every account's latitude and longitude (for the coverage check)."""
    accounts = ws.accounts
    if accounts.crs is not None and not accounts.crs.equals(s.STORAGE_CRS):
        accounts = accounts.to_crs(s.STORAGE_CRS)
    points = accounts.geometry
    ok = (points.notna() & ~points.is_empty).to_numpy()
    return pd.DataFrame(
        {s.LATITUDE: points[ok].y.to_numpy(float), s.LONGITUDE: points[ok].x.to_numpy(float)}
    )


def _show(done: UploadedNetwork) -> None:
    st.success(
        f"Road network saved as {done.path.name}: {done.network.n_nodes:,} junctions from "
        f"{done.network.source}. Routes of this workspace now follow these roads."
    )
    if done.report is not None:
        st.caption(f"Dropped as unreachable: {done.report.summary()}.")
        parts = [
            {
                "junctions": p.nodes,
                "road segments": p.edges,
                "latitude": round(p.centroid[0], 5),
                "longitude": round(p.centroid[1], 5),
            }
            for p in done.report.dropped_parts
        ]
        if parts:
            with st.expander(f"Largest dropped parts ({len(parts)})"):
                display.show_table(pd.DataFrame(parts), hide_index=True, width="stretch")
    note = done.coverage_note()
    if note:
        st.warning(note[0].upper() + note[1:] + ".")
