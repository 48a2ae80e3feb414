"""Coverage of the territory shapes: pairs that overlap, and the units and accounts in gaps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner import schema as s
from planner.geo.locate import locate_points
from planner.geo.shapes.projection import local_crs, point_xy
from planner.geo.shapes.repair import DEFAULT_MIN_PART_AREA_M2, polygonal_part

__all__ = ["GapReport", "find_gaps", "find_overlaps"]


def find_overlaps(
    territories: gpd.GeoDataFrame,
    *,
    accounts: gpd.GeoDataFrame | None = None,
    same_type_only: bool = False,
    min_area_m2: float = DEFAULT_MIN_PART_AREA_M2,
) -> gpd.GeoDataFrame:
    """List the pairs of territories whose shapes overlap.

    Parameters
    ----------
    territories
        ``territory_id``, optional ``type_id``, geometry.
    accounts
        Account points; when given, ``accounts`` counts those in both.
    same_type_only
        Only pairs of the same territory type (the overlaps that the
        assignment must resolve; different types may overlap on purpose).
    min_area_m2
        Smaller overlaps (shared borders, rounding) are ignored.

    Returns
    -------
    geopandas.GeoDataFrame
        ``territory_a`` < ``territory_b``, ``type_a``, ``type_b``,
        ``area_m2``, ``accounts`` and the overlap as geometry, largest first.
    """
    columns = ["territory_a", "territory_b", "type_a", "type_b", "area_m2", "accounts"]
    geoms = np.asarray(territories.geometry.values, dtype=object)
    ids = territories[s.TERRITORY_ID].astype(str).to_numpy()
    types = (
        territories[s.TYPE_ID].fillna("geographic").astype(str).to_numpy()
        if s.TYPE_ID in territories.columns
        else np.full(len(ids), "geographic", dtype=object)
    )
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    geoms = geoms.copy()
    geoms[~usable] = None
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    if same_type_only:
        keep &= types[a] == types[b]
    a, b = a[keep], b[keep]
    inter = shapely.intersection(geoms[a], geoms[b])
    inter = np.array([polygonal_part(g) for g in inter], dtype=object)
    series = gpd.GeoSeries(inter, crs=territories.crs)
    area = shapely.area(series.to_crs(local_crs(series)).values) if len(series) else np.zeros(0)
    area = np.nan_to_num(np.asarray(area, dtype=float))
    big = area >= min_area_m2
    a, b, inter, area = a[big], b[big], inter[big], area[big]
    counts = np.zeros(len(a), dtype=np.int64)
    if accounts is not None and len(a) and len(accounts):
        pts = accounts.to_crs(territories.crs) if accounts.crs != territories.crs else accounts
        x, y = point_xy(pts)
        counts = _count_in_pairs(x, y, geoms, a, b)
    ta, tb = ids[a], ids[b]
    swap = ta > tb
    ta, tb = np.where(swap, tb, ta), np.where(swap, ta, tb)
    tya, tyb = np.where(swap, types[b], types[a]), np.where(swap, types[a], types[b])
    frame = gpd.GeoDataFrame(
        {
            "territory_a": ta,
            "territory_b": tb,
            "type_a": tya,
            "type_b": tyb,
            "area_m2": area,
            "accounts": counts,
        },
        geometry=gpd.GeoSeries(inter, crs=territories.crs),
        columns=[*columns, "geometry"],
    )
    return frame.sort_values(
        ["area_m2", "territory_a", "territory_b"], ascending=[False, True, True]
    ).reset_index(drop=True)


def _count_in_pairs(
    x: np.ndarray, y: np.ndarray, geoms: np.ndarray, a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """How many points lie in both polygons of each pair ``(a[k], b[k])``."""
    involved = np.unique(np.concatenate([a, b]))
    located = locate_points(x, y, geoms[involved])
    hits = pd.DataFrame({"p": located.point_index, "poly": involved[located.polygon_index]})
    per_point = hits["p"].map(hits["p"].value_counts())
    hits = hits[(per_point > 1).to_numpy()]
    both = hits.merge(hits, on="p", suffixes=("_a", "_b"))
    both = both[both["poly_a"] < both["poly_b"]]
    counts = both.groupby(["poly_a", "poly_b"]).size()
    firsts = counts.index.get_level_values(0).to_numpy(dtype=np.int64).tolist()
    seconds = counts.index.get_level_values(1).to_numpy(dtype=np.int64).tolist()
    lookup = dict(zip(zip(firsts, seconds, strict=True), counts.tolist(), strict=True))
    return np.array(
        [lookup.get((int(min(i, j)), int(max(i, j))), 0) for i, j in zip(a, b, strict=True)],
        dtype=np.int64,
    )


@dataclass(frozen=True, eq=False)
class GapReport:
    """What no territory covers.

    Parameters
    ----------
    account_ids
        Accounts inside no territory shape.
    units
        ``unit_id`` and ``uncovered_share`` (0..1) of the units not fully
        covered by territory shapes.
    area
        The uncovered parts of the units' area (EPSG of the territories),
        empty when no units were given.
    area_m2
        Total uncovered area.
    """

    account_ids: tuple[str, ...]
    units: pd.DataFrame
    area: gpd.GeoSeries
    area_m2: float

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-friendly dictionary."""
        return {
            "accounts": list(self.account_ids),
            "units": self.units.to_dict("records"),
            "area_m2": round(self.area_m2, 1),
        }


def find_gaps(
    territories: gpd.GeoDataFrame,
    *,
    units: gpd.GeoDataFrame | None = None,
    accounts: gpd.GeoDataFrame | None = None,
    min_share: float = 0.01,
) -> GapReport:
    """Find units and accounts covered by no territory shape.

    Parameters
    ----------
    territories
        Territory shapes (only the leaves, usually; any polygons work).
    units
        Units whose coverage is checked.
    accounts
        Account points checked for coverage.
    min_share
        Units with less than this share uncovered count as covered (shared
        borders rarely match exactly).

    Returns
    -------
    GapReport
    """
    crs = territories.crs
    geoms = np.asarray(territories.geometry.values, dtype=object)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    account_ids: tuple[str, ...] = ()
    if accounts is not None and len(accounts):
        pts = accounts.to_crs(crs) if crs is not None and accounts.crs != crs else accounts
        x, y = point_xy(pts)
        covered = np.zeros(len(pts), dtype=bool)
        if len(geoms):
            covered[locate_points(x, y, geoms).point_index] = True
        account_ids = tuple(str(v) for v in pts[s.ACCOUNT_ID].to_numpy()[~covered])
    unit_rows = pd.DataFrame(
        {s.UNIT_ID: pd.Series([], dtype=object), "uncovered_share": pd.Series([], dtype=float)}
    )
    area = gpd.GeoSeries([], crs=crs)
    area_m2 = 0.0
    if units is not None and len(units):
        u = units.to_crs(crs) if crs is not None and units.crs != crs else units
        metric = local_crs(u)
        u_m = u.to_crs(metric)
        cover = (
            shapely.union_all(gpd.GeoSeries(geoms, crs=crs).to_crs(metric).values)
            if len(geoms)
            else shapely.Polygon()
        )
        ugeoms = np.asarray(u_m.geometry.values, dtype=object)
        left = shapely.difference(ugeoms, cover)
        total = shapely.area(ugeoms)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(total > 0, shapely.area(left) / total, 0.0)
        bad = share >= min_share
        unit_rows = pd.DataFrame(
            {s.UNIT_ID: u[s.UNIT_ID].astype(str).to_numpy()[bad], "uncovered_share": share[bad]}
        ).sort_values(s.UNIT_ID, ignore_index=True)
        gap = polygonal_part(shapely.union_all(left[bad])) if bad.any() else None
        if gap is not None:
            area_m2 = float(gap.area)
            area = gpd.GeoSeries([gap], crs=metric).to_crs(crs)
    return GapReport(account_ids, unit_rows, area, area_m2)
