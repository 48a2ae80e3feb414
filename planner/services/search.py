"""Find an account or a place by what a person types: id, name, address or town.

Matching ignores case, accents and punctuation ("Cafe Regatta" finds
"Café Regatta"); exact ids come first, then names that start with the text,
then any field containing it, then places. Only what the user may see is
searched.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from planner import schema as s
from planner.access import AccessScope
from planner.errors import InputError, Problem
from planner.geo.places import account_places, us_places
from planner.workspace import Workspace

__all__ = ["Hit", "find"]

#: Account columns searched, in the order they are shown.
SEARCHED = (s.ACCOUNT_ID, s.NAME, s.ADDRESS, s.POSTAL_CODE, "city")
_WORDS = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True)
class Hit:
    """One search result.

    Parameters
    ----------
    kind
        ``"account"`` or ``"place"``.
    key
        The account id, or the place's name.
    label
        One line for the user.
    lat, lon
        Where to fly the map.
    """

    kind: str
    key: str
    label: str
    lat: float
    lon: float


def _fold(text: object) -> str:
    """Lower case, accents removed, punctuation as single spaces."""
    plain = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return _WORDS.sub(" ", plain.lower()).strip()


def find(
    ws: Workspace, text: str, *, scope: AccessScope | None = None, limit: int = 10
) -> list[Hit]:
    """Return the accounts, then the places, best matching ``text``.

    Raises
    ------
    InputError
        If ``text`` has nothing to search for, or ``limit`` is not 1-100.
    """
    query = _fold(text)
    if not query or not 1 <= limit <= 100:
        raise InputError(
            "nothing to search for",
            [Problem("type part of an id, a name, an address or a town",
                     fix="e.g. 'regatta' or 'A0042'; limit 1-100")],
        )  # fmt: skip
    accounts = ws.accounts if scope is None else scope.filter_accounts(ws.accounts)
    hits = _account_hits(accounts, query, limit)
    if len(hits) < limit:
        hits += _place_hits(accounts, query, limit - len(hits))
    return hits


def _account_hits(accounts: gpd.GeoDataFrame, query: str, limit: int) -> list[Hit]:
    located = accounts[accounts.geometry.notna() & ~accounts.geometry.is_empty]
    if located.empty:
        return []
    columns = [c for c in SEARCHED if c in located.columns]
    folded = {c: located[c].astype(object).map(lambda v: "" if s.is_missing(v) else _fold(v))
              for c in columns}  # fmt: skip
    ids = folded[s.ACCOUNT_ID]
    rank = np.full(len(located), 9, dtype=np.int64)
    anywhere = np.zeros(len(located), dtype=bool)
    for values in folded.values():
        anywhere |= values.str.contains(query, regex=False).to_numpy()
    rank[anywhere] = 2
    if s.NAME in folded:
        rank[folded[s.NAME].str.startswith(query).to_numpy()] = 1
    rank[(ids == query).to_numpy()] = 0
    order = np.lexsort((ids.to_numpy(), rank))
    order = order[rank[order] < 9][:limit]
    rows = located.iloc[order]
    points = rows.geometry.to_crs(s.STORAGE_CRS) if rows.crs else rows.geometry
    return [
        Hit("account", str(aid), _account_label(row), float(p.y), float(p.x))
        for aid, row, p in zip(rows[s.ACCOUNT_ID], rows.to_dict("records"), points, strict=True)
    ]


def _account_label(row: dict[str, object]) -> str:
    name = row.get(s.NAME)
    parts = [str(name) if not s.is_missing(name) and name else str(row[s.ACCOUNT_ID])]
    address = row.get(s.ADDRESS)
    if not s.is_missing(address) and address:
        parts.append(str(address))
    return f"{' · '.join(parts)} ({row[s.ACCOUNT_ID]})"


def _place_hits(accounts: gpd.GeoDataFrame, query: str, limit: int) -> list[Hit]:
    places = account_places(accounts)
    if not accounts.empty:
        west, south, east, north = accounts.to_crs(s.STORAGE_CRS).total_bounds
        if np.isfinite([west, south, east, north]).all():
            near = us_places((west - 1, south - 1, east + 1, north + 1))
            places = pd.concat([places, near], ignore_index=True) if len(near) else places
    if places.empty:
        return []
    names = places["name"].map(_fold)
    match = places[names.str.startswith(query).to_numpy()]
    match = match.sort_values("weight", ascending=False).drop_duplicates("name").head(limit)
    return [Hit("place", str(n), f"{n} (place)", float(g.y), float(g.x))
            for n, g in zip(match["name"], match.geometry, strict=True)]  # fmt: skip
