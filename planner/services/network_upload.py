"""A road network from the user's own OpenStreetMap extract, stored beside the workspace.

The Routes page's *Road network* tab: a planner uploads an ``.osm.pbf`` of the
workspace's region; it is checked against the upload limits
(:mod:`planner.io.limits`), built into a drivable network
(:func:`planner.routing.build_network`, parts that cannot be reached and
left again are dropped and reported), and saved as the workspace's network
(``NAME_roads.graphml.gz`` beside ``NAME.gpkg``, the file
:func:`planner.services.rep_accounts.saved_network_file` finds), so every
route of the workspace runs on it from then on.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from planner import schema as s
from planner.errors import InputError, Problem
from planner.io.limits import DEFAULT_LIMITS, ReadLimits, check_file_size
from planner.progress import Progress, no_progress
from planner.routing import RoadNetwork, build_network, save_network
from planner.routing.roads import NetworkReport
from planner.services.rep_accounts import network_file_for, saved_network_file

__all__ = ["OSM_SUFFIXES", "UploadedNetwork", "network_target", "store_uploaded_network"]

#: The OpenStreetMap files accepted (PBF, or XML plain or gzip'd).
OSM_SUFFIXES = (".osm.pbf", ".osm", ".osm.gz")


@dataclass(frozen=True, eq=False)
class UploadedNetwork:
    """The network built from an upload, where it was stored and what it covers.

    Parameters
    ----------
    network
        The routable network.
    path
        The file it was saved to, beside the workspace.
    report
        What was dropped as unreachable (``None`` if the builder did not say).
    accounts, covered
        Located accounts of the workspace, and how many lie inside the
        network's area (its box, padded by about 1 km).
    """

    network: RoadNetwork
    path: Path
    report: NetworkReport | None
    accounts: int
    covered: int

    def coverage_note(self) -> str | None:
        """Return a warning when the network misses most of the workspace's accounts."""
        if not self.accounts or self.covered >= 0.9 * self.accounts:
            return None
        return (
            f"only {self.covered:,} of the workspace's {self.accounts:,} located accounts lie "
            "in the area of this extract: routes to the others will be refused or estimated; "
            "upload an extract of the workspace's region"
        )


def network_target(workspace_path: str | Path | None) -> Path:
    """Return the file a workspace's network is saved to: ``NAME_roads.graphml.gz`` beside it.

    Raises
    ------
    InputError
        If the workspace has no file (a server workspace or an in-memory copy).
    """
    if workspace_path is None:
        raise InputError(
            "this workspace has no file to store a network beside",
            [
                Problem(
                    "the workspace is not a file on this machine",
                    fix="open the workspace from its .gpkg file, or build the network with "
                    "`planner network build` next to the workspace file",
                )
            ],
        )
    return network_file_for(workspace_path)


def _check_upload(name: str, size: int, limits: ReadLimits) -> None:
    if not name.lower().endswith(OSM_SUFFIXES):
        raise InputError(
            f"'{name}' is not an OpenStreetMap extract",
            [
                Problem(
                    f"'{name}' is not an OpenStreetMap file",
                    fix="upload an .osm.pbf extract of the region (e.g. from Geofabrik or "
                    "BBBike), or .osm / .osm.gz",
                )
            ],
            source=name,
        )
    check_file_size(size, limits, name=name)
    if size == 0:
        raise InputError(
            "the file is empty",
            [Problem(f"'{name}' has no bytes", fix="upload the extract again")],
            source=name,
        )


def _safe_name(name: str) -> str:
    """The upload's own name without folders or unusual characters (its suffix kept)."""
    base = Path(name.replace("\\", "/")).name
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in base) or "upload.osm.pbf"


def _covered(network: RoadNetwork, accounts: pd.DataFrame) -> tuple[int, int]:
    """Located accounts, and how many lie in the network's box padded by 0.01 degrees."""
    if accounts.empty or s.LATITUDE not in accounts.columns:
        return 0, 0
    lat = pd.to_numeric(accounts[s.LATITUDE], errors="coerce").to_numpy(float)
    lon = pd.to_numeric(accounts[s.LONGITUDE], errors="coerce").to_numpy(float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    pad = 0.01
    inside = (
        ok
        & (lat >= network.lat.min() - pad)
        & (lat <= network.lat.max() + pad)
        & (lon >= network.lon.min() - pad)
        & (lon <= network.lon.max() + pad)
    )
    return int(ok.sum()), int(inside.sum())


def store_uploaded_network(
    data: bytes,
    name: str,
    workspace_path: str | Path | None,
    *,
    accounts: pd.DataFrame | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    progress: Progress | None = None,
) -> UploadedNetwork:
    """Build the network of an uploaded OSM extract and save it beside the workspace.

    The recipe: check the name, size and the workspace's file; write the
    bytes to a temporary file; build the network (unsimplified, largest
    strongly connected part kept, the rest reported); save it atomically as
    the workspace's network; count the accounts it covers.

    Parameters
    ----------
    data, name
        The uploaded file's bytes and name.
    workspace_path
        The workspace's ``.gpkg`` file.
    accounts
        The workspace's accounts with ``latitude``/``longitude`` (for the
        coverage check); ``None`` skips it.
    limits
        Upload limits (``max_file_bytes``).
    progress
        Called with (fraction, message).

    Raises
    ------
    InputError
        A file that is not OSM, too large or empty, a workspace without a
        file, or an extract that is corrupt or has no drivable roads
        (:class:`~planner.errors.NetworkFileError`).
    """
    report = progress or no_progress
    _check_upload(name, len(data), limits)
    target = network_target(workspace_path)
    report(0.02, f"reading {name}")
    with tempfile.TemporaryDirectory(prefix="tp-osm-") as folder:
        upload = Path(folder) / _safe_name(name)  # errors name the user's file
        upload.write_bytes(data)
        network = build_network(upload, progress=lambda f, m: report(0.05 + 0.8 * f, m))
    network.source = name
    report(0.9, "saving the network beside the workspace")
    save_network(network, target)
    found = saved_network_file(workspace_path)
    if found is None or found.resolve() != target.resolve():
        raise InputError(
            "the saved network is not the one the workspace reads",
            [
                Problem(
                    f"{found} is read before {target.name}",
                    fix=f"remove {found} beside the workspace, then upload again",
                )
            ],
        )
    n, covered = _covered(network, accounts if accounts is not None else pd.DataFrame())
    report(1.0, f"{network.n_nodes:,} junctions saved")
    return UploadedNetwork(network, target, network.report, n, covered)
