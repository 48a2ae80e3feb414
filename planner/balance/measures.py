"""Measures of an assignment on prepared units: pieces, outlines, dispersion, distance to reps."""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from planner.balance.units import BalanceUnits
from planner.balance.workload import (
    unit_of_accounts,
)
from planner.errors import InputError, Problem, format_ids
from planner.schema import REP_ID, UNIT_ID

__all__ = [
    "dispersion_km",
    "encode_assignment",
    "home_distances",
    "rep_home_points",
    "territory_perimeters",
    "territory_pieces",
]


def encode_assignment(
    bu: BalanceUnits, assignment: pd.Series | Mapping[str, str]
) -> tuple[np.ndarray, list[str]]:
    """Return territory indices per unit (node order) and the sorted territory ids.

    Raises
    ------
    InputError
        If units are missing from the assignment, or it names unknown units.
    """
    series = pd.Series(assignment) if not isinstance(assignment, pd.Series) else assignment
    series = series.copy()
    series.index = series.index.astype(str)
    ids = bu.ids
    problems: list[Problem] = []
    missing = [u for u in ids if u not in series.index or pd.isna(series.get(u))]
    if missing:
        problems.append(Problem(f"units {format_ids(missing)} have no territory",
                                fix="assign every unit to a territory"))
    known = set(ids)
    extra = [u for u in series.index if u not in known]
    if extra:
        problems.append(Problem(f"the plan names units {format_ids(extra)} missing from the units",
                                fix="use the units the plan was made for"))
    if series.index.duplicated().any():
        dups = sorted(set(series.index[series.index.duplicated()]))
        problems.append(Problem(f"units {format_ids(dups)} are assigned more than once",
                                fix="give each unit one territory"))
    if problems:
        raise InputError("the plan does not match the units", problems, source="plan")
    terr = series.reindex(list(ids)).astype(str)
    territories = sorted(set(terr))
    index = {t: i for i, t in enumerate(territories)}
    return np.array([index[t] for t in terr], dtype=np.int64), territories


def territory_pieces(
    bu: BalanceUnits, labels: np.ndarray, k: int, *, include_bridges: bool = True
) -> np.ndarray:
    """Return how many connected pieces each territory has on the adjacency graph.

    With ``include_bridges=False`` island bridges do not count: contiguity as
    the plain rook or queen adjacency sees it.
    """
    pairs = bu.adjacency.pairs
    if not include_bridges and bu.adjacency.bridges:
        index = bu.index_of()
        drop = {tuple(sorted((index[b.unit_a], index[b.unit_b]))) for b in bu.adjacency.bridges}
        keep = np.array([tuple(sorted((int(a), int(b)))) not in drop for a, b in pairs.tolist()],
                        dtype=bool)
        pairs = pairs[keep]
    same = labels[pairs[:, 0]] == labels[pairs[:, 1]] if len(pairs) else np.zeros(0, bool)
    p = pairs[same]
    n = bu.n
    graph = sparse.csr_matrix((np.ones(len(p)), (p[:, 0], p[:, 1])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    pieces = np.zeros(k, dtype=np.int64)
    for t in range(k):
        members = comp[labels == t]
        pieces[t] = len(np.unique(members))
    return pieces


def territory_perimeters(bu: BalanceUnits, labels: np.ndarray, k: int) -> np.ndarray:
    """Return each territory's outline length: unit perimeters less twice the inner borders."""
    perim = np.bincount(labels, weights=bu.perimeter_m, minlength=k)
    pairs = bu.adjacency.pairs
    if len(pairs):
        same = labels[pairs[:, 0]] == labels[pairs[:, 1]]
        inner = np.bincount(
            labels[pairs[same, 0]], weights=bu.adjacency.shared_length_m[same], minlength=k
        )
        perim = perim - 2.0 * inner
    return np.maximum(perim, 0.0)


def dispersion_km(bu: BalanceUnits, labels: np.ndarray, k: int, values: np.ndarray) -> np.ndarray:
    """Return each territory's workload-weighted mean distance of its units to its centre, km."""
    w = values + 1e-9 * max(values.mean(), 1e-12)
    sw = np.bincount(labels, weights=w, minlength=k)
    cx = np.bincount(labels, weights=w * bu.x_m, minlength=k) / sw
    cy = np.bincount(labels, weights=w * bu.y_m, minlength=k) / sw
    d = np.hypot(bu.x_m - cx[labels], bu.y_m - cy[labels])
    return np.bincount(labels, weights=w * d, minlength=k) / sw / 1000.0


def home_distances(
    bu: BalanceUnits,
    labels: np.ndarray,
    territories: list[str],
    values: np.ndarray,
    reps: gpd.GeoDataFrame,
    rep_of: Mapping[str, str] | None,
    accounts: gpd.GeoDataFrame | None,
) -> tuple[float, float, np.ndarray, list[str | None]]:
    """Distance to the rep's home: mean and largest, per territory, and each territory's rep."""
    homes = rep_home_points(reps, bu)
    rep_ids = [(rep_of or {}).get(t, t) for t in territories]
    missing = [r for r in rep_ids if r not in homes]
    if missing:
        raise InputError(
            "reps do not cover every territory",
            [Problem(f"no home location for reps {format_ids(missing)}",
                     fix="add the reps' home points or pass rep_of (territory -> rep)")],
            source="reps",
        )
    hx = np.array([homes[r][0] for r in rep_ids])
    hy = np.array([homes[r][1] for r in rep_ids])
    k = len(territories)
    if accounts is not None and len(accounts):
        acc = accounts.to_crs(bu.geometry.crs) if bu.geometry.crs is not None else accounts
        index = bu.index_of()
        if UNIT_ID in acc.columns:
            unit_of = acc[UNIT_ID].astype(str)
        else:  # place the points in the units
            frame = gpd.GeoDataFrame({UNIT_ID: list(bu.ids)}, geometry=bu.geometry.to_numpy(),
                                     crs=bu.geometry.crs)
            unit_of = unit_of_accounts(acc, frame, UNIT_ID)
        known = unit_of.isin(index).to_numpy()
        if not known.all():
            raise InputError(
                "accounts cannot all be placed in units",
                [Problem(f"{int((~known).sum())} accounts have no unit of this plan",
                         fix="give every account a unit id of these units")],
                source="accounts",
            )
        lab = labels[np.array([index[u] for u in unit_of])]
        d = np.hypot(acc.geometry.x.to_numpy() - hx[lab], acc.geometry.y.to_numpy() - hy[lab])
        counts = np.bincount(lab, minlength=k)
        per_t = np.bincount(lab, weights=d, minlength=k) / np.maximum(counts, 1) / 1000.0
        return float(d.mean() / 1000), float(d.max() / 1000), per_t, list(rep_ids)
    d = np.hypot(bu.x_m - hx[labels], bu.y_m - hy[labels])
    w = values + 1e-12
    per_t = np.bincount(labels, weights=w * d, minlength=k) / np.bincount(
        labels, weights=w, minlength=k
    ) / 1000.0
    return float((w * d).sum() / w.sum() / 1000), float(d.max() / 1000), per_t, list(rep_ids)


def rep_home_points(reps: gpd.GeoDataFrame, bu: BalanceUnits) -> dict[str, tuple[float, float]]:
    """Return each rep's home as ``(x, y)`` in the units' measuring CRS.

    Raises
    ------
    InputError
        If ``rep_id`` is missing or a rep has no home point.
    """
    if REP_ID not in reps.columns:
        raise InputError("reps have no id column",
                         [Problem(f"column '{REP_ID}' is missing", column=REP_ID,
                                  fix="add a rep id column")], source="reps")
    geo = reps
    if bu.geometry.crs is not None and reps.crs is not None:
        geo = reps.to_crs(bu.geometry.crs)
    bad = (geo.geometry.isna() | geo.geometry.is_empty).to_numpy()
    if bad.any():
        raise InputError("reps have no home location",
                         [Problem(f"reps {format_ids(reps.loc[bad, REP_ID])} have no home point",
                                  fix="add a home address or coordinates")], source="reps")
    pts = geo.geometry.centroid
    return {
        str(r): (float(x), float(y))
        for r, x, y in zip(reps[REP_ID], pts.x, pts.y, strict=True)
    }
