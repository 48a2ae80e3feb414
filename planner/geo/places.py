"""Place names that work offline: a map's context without a tile server.

Two sources, both already on the machine:

- the US postal-code table of the ``zipcodes`` package (42,789 ZIP codes
  with their city, state and centre, condensed by ``scripts/build_places.py``
  into ``data/us_places.csv.gz``): each city is placed at the mean
  centre of its ZIP codes and ranked by how many it has (Atlanta has
  dozens, a village one), which follows population closely enough for a
  label layer;
- the workspace's own accounts: their ``city`` (or ``town``,
  ``municipality``, ``locality``) column, or the place after the postal
  code at the end of an address ("Mikonkatu 1, 00100 Helsinki"), placed at
  the median of its accounts and ranked by their number.

:func:`place_labels` returns the biggest places inside a map's bounds.
"""

from __future__ import annotations

import logging
import re
from functools import cache

import geopandas as gpd
import numpy as np
import pandas as pd

from planner import schema as s
from planner.samples import data_dir

__all__ = ["CITY_COLUMNS", "account_places", "place_labels", "us_places"]

logger = logging.getLogger(__name__)

#: The US places table, built from the ``zipcodes`` package by ``scripts/build_places.py``.
US_PLACES_FILE = "us_places.csv.gz"
#: Account columns that name a place, in the order they are looked for.
CITY_COLUMNS = ("city", "town", "municipality", "locality")
#: The end of an address: "..., 00100 Helsinki" -> "Helsinki"; "..., Helsinki" -> "Helsinki".
_ADDRESS_PLACE = re.compile(r",\s*(?:[A-Z]{0,2}-?\d[\d -]*\s+)?([^\W\d_][^\d,;:/]*?)\s*$")
_COLUMNS = ["name", "weight", "source", "geometry"]


@cache
def _us_table() -> pd.DataFrame:
    """Every US city with its ZIP count and mean centre (``data/us_places.csv.gz``)."""
    path = data_dir() / US_PLACES_FILE
    if not path.is_file():
        logger.warning("no %s: US place names are not shown (scripts/build_places.py)", path)
        return pd.DataFrame({"city": [], "state": [], "lat": [], "lon": [], "weight": []})
    return pd.read_csv(path, dtype={"city": str, "state": str}, keep_default_na=False)


def us_places(bounds: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    """US cities inside ``bounds`` (min lon, min lat, max lon, max lat), biggest first.

    ``weight`` is the city's number of ZIP codes.
    """
    table = _us_table()
    west, south, east, north = bounds
    inside = table["lon"].between(west, east) & table["lat"].between(south, north)
    found = table[inside.to_numpy()]
    return _frame(found["city"], found["weight"], "us-zip", found["lon"], found["lat"])


def _account_city(accounts: pd.DataFrame) -> pd.Series | None:
    """Each account's place name: a city column, or the end of its address."""
    for column in CITY_COLUMNS:
        if column in accounts.columns:
            return accounts[column].astype(object).map(s.text_or_none)
    if s.ADDRESS not in accounts.columns:
        return None
    address = accounts[s.ADDRESS].astype(object)
    known = {a: _address_place(a) for a in pd.unique(address.dropna())}  # each text once
    return address.map(known)


def _address_place(address: object) -> str | None:
    text = s.text_or_none(address)
    match = _ADDRESS_PLACE.search(text) if text else None
    return match.group(1).strip() if match else None


def account_places(accounts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Places named by the accounts themselves, at the median of their accounts, biggest first.

    ``weight`` is the number of accounts; accounts without a place or a
    location are left out.
    """
    if accounts.empty:
        return _frame([], [], "accounts", [], [])
    city = _account_city(accounts)
    if city is None:
        return _frame([], [], "accounts", [], [])
    points = accounts.geometry.to_crs(s.STORAGE_CRS) if accounts.crs else accounts.geometry
    usable = points.notna() & ~points.is_empty & points.geom_type.eq("Point")
    x = np.full(len(points), np.nan)
    y = np.full(len(points), np.nan)
    x[usable.to_numpy()] = points[usable].x.to_numpy()
    y[usable.to_numpy()] = points[usable].y.to_numpy()
    keep = np.isfinite(x) & np.isfinite(y) & city.notna().to_numpy()
    if not keep.any():
        return _frame([], [], "accounts", [], [])
    frame = pd.DataFrame({"city": city.to_numpy()[keep], "lon": x[keep], "lat": y[keep]})
    grouped = (
        frame.groupby("city", sort=False)
        .agg(lon=("lon", "median"), lat=("lat", "median"), weight=("lon", "size"))
        .reset_index()
    )
    return _frame(grouped["city"], grouped["weight"], "accounts", grouped["lon"], grouped["lat"])


def place_labels(
    bounds: tuple[float, float, float, float],
    *,
    accounts: gpd.GeoDataFrame | None = None,
    limit: int = 40,
) -> gpd.GeoDataFrame:
    """The biggest places inside ``bounds`` to label on a map, biggest first.

    US places come from the postal-code table; where it has none (outside
    the US) the accounts' own place names are used.

    Parameters
    ----------
    bounds
        ``(min lon, min lat, max lon, max lat)`` in degrees.
    accounts
        The workspace's accounts, for places outside the US.
    limit
        Most labels returned (a map with hundreds of labels is unreadable).

    Returns
    -------
    geopandas.GeoDataFrame
        ``name``, ``weight`` (ZIP codes or accounts), ``source``
        (``us-zip`` or ``accounts``), ``rank`` (1 = biggest) and
        ``tier`` (1-3, for the label size), in EPSG:4326.
    """
    places = us_places(bounds)
    if places.empty and accounts is not None:
        places = account_places(accounts)
        west, south, east, north = bounds
        inside = places.geometry.x.between(west, east) & places.geometry.y.between(south, north)
        places = places[inside.to_numpy()]
    places = places.sort_values(["weight", "name"], ascending=[False, True], kind="stable")
    places = places.head(max(0, int(limit))).reset_index(drop=True)
    places["rank"] = np.arange(1, len(places) + 1)
    top = float(places["weight"].max()) if len(places) else 1.0
    share = places["weight"].astype(float) / top
    places["tier"] = np.where(share >= 0.5, 1, np.where(share >= 0.15, 2, 3))
    return places


def _frame(
    names: object, weights: object, source: str, lon: object, lat: object
) -> gpd.GeoDataFrame:
    names_s = pd.Series(names, dtype=object).reset_index(drop=True)
    frame = gpd.GeoDataFrame(
        {
            "name": names_s,
            "weight": pd.Series(weights, dtype="int64").reset_index(drop=True),
            "source": source,
        },
        geometry=gpd.points_from_xy(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)),
        crs=s.STORAGE_CRS,
    )
    return frame[_COLUMNS]
