"""The frames behind the data page: accounts, reps and territories as plain tables, and filters.

Pure pandas (no Streamlit), so the filters are tested without a browser.
"""

from __future__ import annotations

from collections.abc import Collection

import geopandas as gpd
import numpy as np
import pandas as pd

from planner import schema as s
from planner.viz import primary_territory, territory_summary
from planner.workspace import Workspace

__all__ = [
    "NO_TERRITORY",
    "accounts_table",
    "filter_accounts",
    "reps_table",
    "territories_table",
]

#: The territory label of accounts that belong to none.
NO_TERRITORY = "(no territory)"


def _lat_lon(frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    geoms = frame.geometry
    ok = (geoms.notna() & ~geoms.is_empty).to_numpy()
    lat = np.full(len(frame), np.nan)
    lon = np.full(len(frame), np.nan)
    if ok.any():
        lat[ok] = geoms[ok].y.to_numpy()
        lon[ok] = geoms[ok].x.to_numpy()
    return lat, lon


def _names(ws: Workspace, scenario_id: str) -> dict[str, str]:
    terr = ws.territories(scenario_id)
    return {
        str(t): str(n) if isinstance(n, str) and n else str(t)
        for t, n in zip(terr[s.TERRITORY_ID], terr[s.NAME], strict=True)
    }


def accounts_table(ws: Workspace, scenario_id: str) -> pd.DataFrame:
    """Return the accounts with their territory in ``scenario_id``, location as columns."""
    acc = ws.accounts
    own = primary_territory(ws.memberships(scenario_id), ws.territories(scenario_id))
    names = _names(ws, scenario_id)
    ids = acc[s.ACCOUNT_ID].astype(str)
    tid = ids.map(own)
    lat, lon = _lat_lon(acc)
    out = pd.DataFrame(
        {
            s.ACCOUNT_ID: ids.to_numpy(),
            s.NAME: acc[s.NAME].to_numpy(),
            "territory": tid.map(names).fillna(NO_TERRITORY).to_numpy(),
            s.TERRITORY_ID: tid.to_numpy(),
            s.INDUSTRY: acc[s.INDUSTRY].to_numpy(),
            s.ANNUAL_REVENUE: acc[s.ANNUAL_REVENUE].to_numpy(),
            s.ADDRESS: acc[s.ADDRESS].to_numpy(),
            s.POSTAL_CODE: acc[s.POSTAL_CODE].to_numpy(),
            s.VISITS_PER_MONTH: acc[s.VISITS_PER_MONTH].to_numpy(),
            s.VISIT_MINUTES: acc[s.VISIT_MINUTES].to_numpy(),
            s.OWNER_ID: acc[s.OWNER_ID].to_numpy(),
            s.LATITUDE: lat,
            s.LONGITUDE: lon,
        }
    )
    return out


def filter_accounts(
    table: pd.DataFrame,
    *,
    territories: Collection[str] = (),
    industries: Collection[str] = (),
    text: str = "",
) -> pd.DataFrame:
    """Return the rows of an :func:`accounts_table` that pass every filter given.

    Parameters
    ----------
    table
        From :func:`accounts_table`.
    territories
        Territory labels to keep (the ``territory`` column; :data:`NO_TERRITORY`
        for accounts without one); empty keeps all.
    industries
        Industries to keep; empty keeps all.
    text
        Case-insensitive text that the id, name or address must contain.
    """
    keep = pd.Series(True, index=table.index)
    if territories:
        keep &= table["territory"].isin(list(territories))
    if industries:
        keep &= table[s.INDUSTRY].isin(list(industries))
    needle = text.strip().casefold()
    if needle:
        hay = (
            table[s.ACCOUNT_ID].fillna("").astype(str)
            + "\n"
            + table[s.NAME].fillna("").astype(str)
            + "\n"
            + table[s.ADDRESS].fillna("").astype(str)
        ).str.casefold()
        keep &= hay.str.contains(needle, regex=False)
    return table[keep]


def reps_table(ws: Workspace, scenario_id: str) -> pd.DataFrame:
    """Return the reps with the territories they own or manage in ``scenario_id``."""
    reps = ws.reps
    assoc = ws.associations(scenario_id)
    names = _names(ws, scenario_id)
    owned: dict[str, list[str]] = {}
    for rid, tid, role in zip(
        assoc[s.REP_ID].astype(str), assoc[s.TERRITORY_ID].astype(str), assoc[s.ROLE], strict=True
    ):
        owned.setdefault(rid, []).append(f"{names.get(tid, tid)} ({role})")
    lat, lon = _lat_lon(reps)
    ids = reps[s.REP_ID].astype(str)
    return pd.DataFrame(
        {
            s.REP_ID: ids.to_numpy(),
            s.NAME: reps[s.NAME].to_numpy(),
            s.ROLE: reps[s.ROLE].to_numpy(),
            s.EMAIL: reps[s.EMAIL].to_numpy(),
            s.MANAGER_ID: reps[s.MANAGER_ID].to_numpy(),
            s.CAPACITY_H_PER_WEEK: reps[s.CAPACITY_H_PER_WEEK].to_numpy(),
            "territories": [", ".join(owned.get(r, [])) for r in ids],
            "home_latitude": lat,
            "home_longitude": lon,
        }
    )


def territories_table(ws: Workspace, scenario_id: str) -> pd.DataFrame:
    """Return the territories of ``scenario_id`` with accounts, revenue and area (km²)."""
    summary = territory_summary(ws, scenario_id)
    terr = ws.territories(scenario_id)
    area = pd.Series(np.nan, index=terr[s.TERRITORY_ID].astype(str).to_numpy())
    shaped = terr[terr.geometry.notna() & ~terr.geometry.is_empty]
    if len(shaped):
        projected = shaped.to_crs(shaped.estimate_utm_crs())
        area.loc[shaped[s.TERRITORY_ID].astype(str).to_numpy()] = (
            projected.geometry.area.to_numpy() / 1e6
        )
    summary["area_km2"] = summary[s.TERRITORY_ID].astype(str).map(area).to_numpy()
    summary["parent"] = summary[s.PARENT_ID].map(_names(ws, scenario_id))
    return summary
