"""A polygon drawn on the map, ready to become a territory, with the accounts inside it."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
from shapely.geometry.base import BaseGeometry

from planner import schema as s
from planner.errors import GeometryRepairWarning
from planner.geo.locate import locate_points
from planner.geo.shapes.geojson import geometry_from_geojson
from planner.geo.shapes.projection import local_crs, point_xy

__all__ = ["DrawnTerritory", "drawn_territory"]


@dataclass(frozen=True)
class DrawnTerritory:
    """A polygon drawn on the map, ready to become a territory.

    Parameters
    ----------
    geometry
        The repaired shape, EPSG:4326.
    account_ids
        Accounts inside it (boundary included), in the accounts' order.
    area_km2
        Its area.
    warnings
        What was repaired, for the user.
    """

    geometry: BaseGeometry
    account_ids: tuple[str, ...]
    area_km2: float
    warnings: tuple[str, ...] = field(default=())

    @property
    def account_count(self) -> int:
        """How many accounts lie inside the shape."""
        return len(self.account_ids)

    def to_frame(
        self,
        territory_id: str,
        *,
        name: str = "",
        parent_id: str | None = None,
        type_id: str = "geographic",
        level: int = 0,
    ) -> gpd.GeoDataFrame:
        """Return the shape as a one-row territories frame (source ``"drawn"``)."""
        return gpd.GeoDataFrame(
            {
                s.TERRITORY_ID: [territory_id],
                s.NAME: [name or territory_id],
                s.PARENT_ID: [parent_id],
                s.LEVEL: [level],
                s.LEVEL_NAME: [None],
                s.TYPE_ID: [type_id],
                s.SOURCE: ["drawn"],
                s.RULE: [None],
            },
            geometry=gpd.GeoSeries([self.geometry], crs=s.STORAGE_CRS),
        )


def drawn_territory(
    geojson: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    accounts: gpd.GeoDataFrame | None = None,
    *,
    label: str = "drawn shape",
) -> DrawnTerritory:
    """Turn a map drawing into a territory shape and count the accounts inside.

    Parameters
    ----------
    geojson
        What Leaflet.draw returns (Feature, FeatureCollection, geometry or a
        list of Features), in longitude/latitude.
    accounts
        Account points (any CRS); ``None`` counts nothing.
    label
        Name of the shape in messages.

    Returns
    -------
    DrawnTerritory

    Raises
    ------
    InputError
        See :func:`geometry_from_geojson`.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GeometryRepairWarning)
        geometry = geometry_from_geojson(geojson, label=label)
    notes = tuple(str(w.message) for w in caught if issubclass(w.category, GeometryRepairWarning))
    for note in notes:
        warnings.warn(note, GeometryRepairWarning, stacklevel=2)
    series = gpd.GeoSeries([geometry], crs=s.STORAGE_CRS)
    area_km2 = float(series.to_crs(local_crs(series)).area.iloc[0]) / 1e6
    ids: tuple[str, ...] = ()
    if accounts is not None and len(accounts):
        shape = series.to_crs(accounts.crs).iloc[0] if accounts.crs is not None else geometry
        x, y = point_xy(accounts)
        located = locate_points(x, y, np.array([shape], dtype=object))
        inside = np.sort(located.point_index)
        ids = tuple(str(v) for v in accounts[s.ACCOUNT_ID].to_numpy()[inside])
    return DrawnTerritory(geometry, ids, area_km2, notes)
