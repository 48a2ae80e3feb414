"""Snap accounts and rep homes to the nearest node of a drivable road network."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from planner.errors import InputError, Problem, SnapDistanceWarning, format_ids
from planner.routing.network import RoadNetwork, haversine_m, unit_xyz

__all__ = [
    "DEFAULT_MAX_SNAP_M",
    "DEFAULT_REJECT_SNAP_M",
    "FarPoint",
    "SnapResult",
    "snap_points",
]

logger = logging.getLogger(__name__)

#: Points snapped from further than this (metres) are listed in a warning.
DEFAULT_MAX_SNAP_M = 500.0
#: Points further than this (metres) from any road are treated as off the network.
DEFAULT_REJECT_SNAP_M = 5_000.0


@dataclass(frozen=True)
class FarPoint:
    """A point that joins the road network from far away.

    Parameters
    ----------
    id
        The point's label (account id, ``"home"``), or its 1-based position.
    distance_m
        Great-circle distance to the nearest drivable junction.
    off_network
        Whether it is past the rejection distance (not routable at all).
    """

    id: str
    distance_m: float
    off_network: bool


@dataclass(frozen=True)
class SnapResult:
    """Where each point joins the road network.

    Parameters
    ----------
    position
        Row of the nearest node in the network's node arrays, per point.
    node_id
        OSM id of that node.
    distance_m
        Great-circle distance from the point to the node.
    far
        Points snapped from further than the warning distance.
    off_network
        Points further than the rejection distance: not routable.
    """

    position: np.ndarray
    node_id: np.ndarray
    distance_m: np.ndarray
    far: np.ndarray
    off_network: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.position)
        arrays = (self.node_id, self.distance_m, self.far, self.off_network)
        if not all(len(a) == n for a in arrays):
            raise ValueError("SnapResult arrays must have the same length")

    def far_points(self, ids: Sequence[object] | None = None) -> tuple[FarPoint, ...]:
        """Return the points snapped from further than the warning distance, farthest first.

        Parameters
        ----------
        ids
            Labels of the points in order (default: 1-based positions); a
            :class:`~planner.routing.plans.RoutePlan` passes its ``point_ids``.
        """
        labels = list(ids) if ids is not None else list(range(1, len(self.position) + 1))
        if len(labels) != len(self.position):
            raise InputError(
                f"far_points: {len(labels)} ids for {len(self.position)} snapped points"
            )
        rows = np.flatnonzero(self.far)
        rows = rows[np.argsort(-self.distance_m[rows], kind="stable")]
        return tuple(
            FarPoint(str(labels[i]), float(self.distance_m[i]), bool(self.off_network[i]))
            for i in rows
        )


def check_coordinates(
    lat: Sequence[float] | np.ndarray,
    lon: Sequence[float] | np.ndarray,
    *,
    ids: Sequence[object] | None = None,
    what: str = "points",
) -> tuple[np.ndarray, np.ndarray]:
    """Return coordinates as float arrays, raising once for every bad one.

    Raises
    ------
    InputError
        If lengths differ, or values are missing or outside valid ranges.
    """
    la = np.asarray(lat, dtype=float)
    lo = np.asarray(lon, dtype=float)
    if la.shape != lo.shape or la.ndim != 1:
        raise InputError(f"{what}: latitude and longitude must be 1-D and of the same length")
    labels = np.asarray(list(ids) if ids is not None else range(1, len(la) + 1), dtype=object)
    problems = []
    bad = ~np.isfinite(la) | ~np.isfinite(lo)
    if bad.any():
        problems.append(
            Problem(
                f"{int(bad.sum())} {what} have no coordinates (ids {format_ids(labels[bad])})",
                fix="fill in latitude and longitude",
            )
        )
    rng = np.isfinite(la) & np.isfinite(lo) & ((np.abs(la) > 90) | (np.abs(lo) > 180))
    if rng.any():
        problems.append(
            Problem(
                f"{int(rng.sum())} {what} have coordinates out of range "
                f"(ids {format_ids(labels[rng])})",
                fix="latitude must be within -90..90 and longitude within -180..180; "
                "check that the columns are not swapped",
            )
        )
    if problems:
        raise InputError(f"invalid coordinates in {what}", problems)
    return la, lo


def snap_points(
    network: RoadNetwork,
    lat: Sequence[float] | np.ndarray,
    lon: Sequence[float] | np.ndarray,
    *,
    ids: Sequence[object] | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    reject_snap_m: float = DEFAULT_REJECT_SNAP_M,
    warn: bool = True,
) -> SnapResult:
    """Snap points to the nearest drivable node.

    Parameters
    ----------
    network
        The road network.
    lat, lon
        Point coordinates in degrees.
    ids
        Labels of the points for messages (default: 1-based positions).
    max_snap_m
        Points further than this from their node are listed in a
        :class:`~planner.errors.SnapDistanceWarning`.
    reject_snap_m
        Points further than this are flagged ``off_network`` (in the sea, or
        outside the area the network covers).
    warn
        Whether to emit the warning.

    Returns
    -------
    SnapResult
    """
    if not (0 < max_snap_m <= reject_snap_m):
        raise InputError(
            f"snap distances must satisfy 0 < max_snap_m ({max_snap_m}) <= "
            f"reject_snap_m ({reject_snap_m})"
        )
    la, lo = check_coordinates(lat, lon, ids=ids)
    if len(la) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return SnapResult(empty, empty, np.zeros(0), np.zeros(0, bool), np.zeros(0, bool))
    _, pos = network.kdtree.query(unit_xyz(la, lo))
    pos = np.asarray(pos, dtype=np.int64)
    dist = haversine_m(la, lo, network.lat[pos], network.lon[pos])
    far = dist > max_snap_m
    off = dist > reject_snap_m
    if warn and far.any():
        labels = np.asarray(list(ids) if ids is not None else range(1, len(la) + 1), dtype=object)
        shown = [f"{lab} ({d:,.0f} m)" for lab, d in zip(labels[far], dist[far], strict=True)]
        warnings.warn(
            f"{int(far.sum())} points are further than {max_snap_m:,.0f} m from a drivable road "
            f"of {network.source or 'the network'}: {format_ids(shown)}; their drive times "
            "are less reliable (check their coordinates or use a larger extract)",
            SnapDistanceWarning,
            stacklevel=2,
        )
    return SnapResult(pos, network.node_ids[pos], dist, far, off)
