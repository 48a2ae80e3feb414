"""Units prepared for balancing: projected geometry measures and the adjacency graph."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner.errors import GeometryRepairWarning, InputError, Problem, format_ids
from planner.geo.adjacency import Contiguity, UnitAdjacency, build_adjacency
from planner.schema import UNIT_ID

__all__ = ["BalanceUnits", "UnitsLike", "prepare_units"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class BalanceUnits:
    """Units with everything the balancing algorithms measure, computed once.

    Build it with :func:`prepare_units`; every function of
    :mod:`planner.balance` also accepts the plain GeoDataFrame and prepares
    it on the fly (pass a prepared object to save that time when running
    several scenarios on the same units).

    Parameters
    ----------
    frame
        The units' attribute table (index reset, ``unit_id`` as strings).
    geometry
        Unit polygons in the projected CRS used for measuring.
    adjacency
        Adjacency graph of the units, islands bridged.
    area_m2, perimeter_m
        Area and perimeter of every unit.
    x_m, y_m
        Centroid coordinates in the projected CRS.
    """

    frame: pd.DataFrame
    geometry: gpd.GeoSeries
    adjacency: UnitAdjacency
    area_m2: np.ndarray
    perimeter_m: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    neighbours: list[list[int]] = field(repr=False)
    shared_m: list[dict[int, float]] = field(repr=False)

    @property
    def ids(self) -> tuple[str, ...]:
        """Unit ids in node order."""
        return self.adjacency.unit_ids

    @property
    def n(self) -> int:
        """Number of units."""
        return len(self.adjacency.unit_ids)

    def index_of(self) -> dict[str, int]:
        """Return a map from unit id to node index."""
        return {u: i for i, u in enumerate(self.ids)}


#: Units as a GeoDataFrame or already prepared.
UnitsLike: TypeAlias = gpd.GeoDataFrame | BalanceUnits


def prepare_units(
    units: UnitsLike,
    *,
    contiguity: Contiguity = "rook",
    snap_tolerance_m: float = 0.0,
    id_column: str = UNIT_ID,
) -> BalanceUnits:
    """Measure units and build their adjacency graph.

    Geographic data is reprojected to a local UTM zone
    (``estimate_utm_crs``) for measuring; projected data is used as it is; a
    frame with no CRS is taken as planar coordinates in metres.

    Parameters
    ----------
    units
        Unit polygons with an id column (or an already prepared object, which
        is returned unchanged).
    contiguity
        ``"rook"`` (shared border) or ``"queen"`` (corners count).
    snap_tolerance_m
        Units closer than this count as touching.
    id_column
        Column holding the unit id.

    Raises
    ------
    InputError
        If the id column is missing, ids repeat, or geometries are missing,
        empty or not polygons.
    """
    if isinstance(units, BalanceUnits):
        return units
    frame = _valid_frame(units, id_column)
    if frame.crs is not None and frame.crs.is_geographic:
        frame = frame.to_crs(frame.estimate_utm_crs())
    geometry = frame.geometry
    adjacency = build_adjacency(
        frame, contiguity=contiguity, snap_tolerance_m=snap_tolerance_m, id_column=UNIT_ID
    )
    cent = geometry.centroid
    return BalanceUnits(
        frame=pd.DataFrame(frame.drop(columns=frame.geometry.name)),
        geometry=geometry,
        adjacency=adjacency,
        area_m2=geometry.area.to_numpy(dtype=float),
        perimeter_m=geometry.length.to_numpy(dtype=float),
        x_m=cent.x.to_numpy(dtype=float),
        y_m=cent.y.to_numpy(dtype=float),
        neighbours=adjacency.neighbour_lists(),
        shared_m=_shared_lengths(adjacency, len(frame)),
    )


def _valid_frame(units: object, id_column: str) -> gpd.GeoDataFrame:
    """Return the units with string ``unit_id`` and valid polygons (invalid ones repaired)."""
    if not isinstance(units, gpd.GeoDataFrame):
        raise InputError(
            "units must be a GeoDataFrame of polygons",
            [Problem(f"got {type(units).__name__}", fix="read the units with geopandas")],
            source="units",
        )
    if len(units) == 0:
        raise InputError("units are empty", [Problem("no rows", fix="import some units")],
                         source="units")
    frame = units.reset_index(drop=True)
    if id_column in frame.columns:
        frame[UNIT_ID] = frame[id_column].astype(str)
    _check_polygons(frame)
    invalid = ~frame.geometry.is_valid.to_numpy() & frame.geometry.notna().to_numpy()
    if invalid.any():
        warnings.warn(
            f"{int(invalid.sum())} unit polygons were invalid and have been repaired "
            f"(units {format_ids(frame.loc[invalid, UNIT_ID])})",
            GeometryRepairWarning,
            stacklevel=3,  # the caller of prepare_units
        )
        frame.loc[invalid, frame.geometry.name] = shapely.make_valid(
            frame.geometry.to_numpy()[invalid]
        )
    return frame


def _shared_lengths(adjacency: UnitAdjacency, n: int) -> list[dict[int, float]]:
    """Shared border length (m) of each unit with each neighbour, by position."""
    shared: list[dict[int, float]] = [{} for _ in range(n)]
    for (i, j), length in zip(
        adjacency.pairs.tolist(), adjacency.shared_length_m.tolist(), strict=True
    ):
        shared[i][j] = length
        shared[j][i] = length
    return shared


def _check_polygons(frame: gpd.GeoDataFrame) -> None:
    kinds = frame.geometry.geom_type
    ok = kinds.isin(["Polygon", "MultiPolygon"]) | frame.geometry.isna()
    if not ok.all():
        bad = frame.loc[~ok.to_numpy(), UNIT_ID] if UNIT_ID in frame.columns else frame.index[~ok]
        raise InputError(
            "units must be polygons",
            [
                Problem(
                    f"units {', '.join(map(str, list(bad)[:8]))} are "
                    f"{', '.join(sorted(set(kinds[~ok])))}",
                    column="geometry",
                    fix="use polygon units (ZIP/county areas or H3 cells)",
                )
            ],
            source="units",
        )
