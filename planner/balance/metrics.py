"""Plan metrics: workload balance, contiguity, compactness, disruption and distance to reps."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from planner.balance.units import BalanceUnits, UnitsLike, prepare_units
from planner.balance.workload import (
    ACCOUNT_COUNT,
    BalanceWeight,
    _unit_of_accounts,
    balance_values,
)
from planner.errors import InputError, Problem, format_ids
from planner.geo.adjacency import Bridge
from planner.schema import ANNUAL_REVENUE, REP_ID, TERRITORY_ID, UNIT_ID

__all__ = [
    "Disruption",
    "PlanMetrics",
    "compute_metrics",
    "default_targets",
]


@dataclass(frozen=True)
class Disruption:
    """What a plan changes against a baseline plan.

    Parameters
    ----------
    moved_units
        Units whose territory changed.
    moved_accounts
        Accounts in those units (``None`` when account counts are unknown).
    moved_workload
        Balance value (workload) moved.
    moved_revenue
        Revenue moved (``None`` without a revenue column).
    total_units, total_accounts, total_workload, total_revenue
        Totals the shares are taken of.
    """

    moved_units: int
    moved_accounts: int | None
    moved_workload: float
    moved_revenue: float | None
    total_units: int
    total_accounts: int | None
    total_workload: float
    total_revenue: float | None

    @property
    def moved_account_share(self) -> float | None:
        """Share of accounts that changed territory."""
        if self.moved_accounts is None or not self.total_accounts:
            return None
        return self.moved_accounts / self.total_accounts

    @property
    def moved_workload_share(self) -> float:
        """Share of workload that changed territory."""
        return self.moved_workload / self.total_workload if self.total_workload else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return the figures as a JSON-friendly dictionary."""
        return {
            "moved_units": self.moved_units,
            "moved_accounts": self.moved_accounts,
            "moved_workload": _r(self.moved_workload),
            "moved_revenue": None if self.moved_revenue is None else _r(self.moved_revenue),
            "moved_account_share": _r(self.moved_account_share),
            "moved_workload_share": _r(self.moved_workload_share),
            "total_units": self.total_units,
            "total_accounts": self.total_accounts,
        }


@dataclass(frozen=True, eq=False)
class PlanMetrics:
    """Measures of one plan.

    Parameters
    ----------
    territories
        One row per territory: ``territory_id``, ``units``, ``workload``,
        ``target``, ``deviation`` (relative, signed), ``locked``,
        ``contiguous``, ``pieces``, ``area_km2``, ``polsby_popper``,
        ``dispersion_km`` and, with reps, ``rep_id``, ``home_distance_km``.
    total_workload
        Sum of the balance value over all units.
    max_abs_deviation, mean_abs_deviation
        Largest and mean absolute relative deviation from target over the
        territories that are balanced (locked territories are excluded; their
        deviation is still in the table).
    all_contiguous
        Whether every territory is one connected piece on the unit adjacency
        graph (bridges count as connections).
    noncontiguous
        Ids of territories in several pieces.
    polsby_popper_mean, polsby_popper_min
        Polsby-Popper compactness 4 pi A / P^2 (1 for a disc).
    dispersion_mean_km
        Mean over territories of the workload-weighted mean distance from
        unit centroids to the territory's workload centre.
    variables
        Per balance variable, its largest absolute deviation from the
        variable's even share (with several variables).
    disruption
        Changes against a baseline, when one was given.
    home_distance_mean_km, home_distance_max_km
        Distance from accounts (or unit centroids, workload-weighted) to their
        rep's home, when reps are known.
    bridges
        Island bridges the contiguity check relied on.
    """

    territories: pd.DataFrame
    total_workload: float
    max_abs_deviation: float
    mean_abs_deviation: float
    all_contiguous: bool
    noncontiguous: tuple[str, ...]
    polsby_popper_mean: float
    polsby_popper_min: float
    dispersion_mean_km: float
    variables: dict[str, float] = field(default_factory=dict)
    disruption: Disruption | None = None
    home_distance_mean_km: float | None = None
    home_distance_max_km: float | None = None
    bridges: tuple[Bridge, ...] = ()

    @property
    def n_territories(self) -> int:
        """Number of territories."""
        return len(self.territories)

    def summary(self) -> dict[str, Any]:
        """Return the scalar figures (no per-territory rows) as a flat dictionary.

        Disruption figures, when measured against a baseline, are included
        under their own names (``moved_units``, ``moved_accounts``...).
        """
        out: dict[str, Any] = {
            "n_territories": self.n_territories,
            "total_workload": _r(self.total_workload),
            "max_abs_deviation": _r(self.max_abs_deviation),
            "mean_abs_deviation": _r(self.mean_abs_deviation),
            "all_contiguous": self.all_contiguous,
            "noncontiguous": list(self.noncontiguous),
            "polsby_popper_mean": _r(self.polsby_popper_mean),
            "polsby_popper_min": _r(self.polsby_popper_min),
            "dispersion_mean_km": _r(self.dispersion_mean_km),
            "home_distance_mean_km": _r(self.home_distance_mean_km),
            "home_distance_max_km": _r(self.home_distance_max_km),
            "bridges": len(self.bridges),
        }
        if self.disruption is not None:
            out.update(self.disruption.to_dict())
        return out

    def to_dict(self) -> dict[str, Any]:
        """Return every figure as a JSON-friendly dictionary (summary plus territory rows)."""
        out = self.summary()
        out["variables"] = {k: _r(v) for k, v in self.variables.items()}
        out["bridges"] = [b.to_dict() for b in self.bridges]
        rows = []
        for rec in self.territories.to_dict(orient="records"):
            rows.append({str(k): _jsonable(v) for k, v in rec.items()})
        out["territories"] = rows
        return out


def _r(value: float | None, digits: int = 6) -> float | None:
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return round(float(value), digits)


def _jsonable(value: object) -> object:
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return _r(float(value))
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value if isinstance(value, int | str) else str(value)


def default_targets(
    territories: list[str],
    total: float,
    *,
    shares: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Return each territory's target: the mean, or a share proportional to ``shares``.

    Parameters
    ----------
    territories
        Territory ids.
    total
        Total workload to share.
    shares
        Relative size per territory (for instance rep capacity in hours per
        week); equal when omitted.
    """
    if shares is None:
        return {t: total / len(territories) for t in territories}
    s = np.array([float(shares[t]) for t in territories])
    return {t: total * v / s.sum() for t, v in zip(territories, s, strict=True)}


def compute_metrics(
    units: UnitsLike,
    assignment: pd.Series | Mapping[str, str],
    *,
    weight: BalanceWeight,
    targets: Mapping[str, float] | None = None,
    locked_territories: Collection[str] = (),
    baseline: pd.Series | Mapping[str, str] | None = None,
    reps: gpd.GeoDataFrame | None = None,
    rep_of: Mapping[str, str] | None = None,
    accounts: gpd.GeoDataFrame | None = None,
    account_count: str | None = ACCOUNT_COUNT,
    revenue: str | None = ANNUAL_REVENUE,
) -> PlanMetrics:
    """Measure a plan (an assignment of units to territories).

    Parameters
    ----------
    units
        Unit polygons with the balance column(s), or prepared units.
    assignment
        Territory id per unit id; every unit must be assigned.
    weight
        Column to balance, or a mapping of column to relative weight.
    targets
        Target workload per territory; the mean when omitted.
    locked_territories
        Territories left out of the deviation summary (they are not balanced).
    baseline
        An earlier assignment to measure disruption against.
    reps
        Reps with ``rep_id`` and home point geometry, for distances to home.
    rep_of
        Rep id per territory id; by default a territory's id is its rep's id.
    accounts
        Account points with a ``unit_id`` column, for account-level home
        distances (unit centroids are used without them).
    account_count
        Units' column of account counts (used for disruption), if present.
    revenue
        Units' column of revenue (used for disruption), if present.

    Raises
    ------
    InputError
        If units are unassigned or unknown, or the balance column is invalid.
    """
    bu = prepare_units(units)
    values, betas = balance_values(bu.frame, weight)
    labels, territories = encode_assignment(bu, assignment)
    k = len(territories)
    tgt = dict(targets) if targets is not None else default_targets(territories, values.sum())
    missing_t = [t for t in territories if t not in tgt]
    if missing_t:
        raise InputError(
            "targets do not cover every territory",
            [Problem(f"no target for territories {format_ids(missing_t)}",
                     fix="give a target per territory or leave targets out")],
        )
    load = np.bincount(labels, weights=values, minlength=k)
    target = np.array([tgt[t] for t in territories], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = np.where(target > 0, (load - target) / target, np.where(load > 0, np.inf, 0.0))
    locked = np.array([t in set(locked_territories) for t in territories])
    pieces = territory_pieces(bu, labels, k)
    area = np.bincount(labels, weights=bu.area_m2, minlength=k)
    perim = territory_perimeters(bu, labels, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        pp = np.where(perim > 0, 4 * np.pi * area / perim**2, 0.0)
    disp = _dispersion_km(bu, labels, k, values)
    table = pd.DataFrame(
        {
            TERRITORY_ID: territories,
            "units": np.bincount(labels, minlength=k),
            "workload": load,
            "target": target,
            "deviation": dev,
            "locked": locked,
            "contiguous": pieces == 1,
            "pieces": pieces,
            "area_km2": area / 1e6,
            "polsby_popper": pp,
            "dispersion_km": disp,
        }
    )
    balanced = ~locked if (~locked).any() else np.ones(k, dtype=bool)
    abs_dev = np.abs(dev[balanced])
    variables: dict[str, float] = {}
    if len(betas) > 1:
        for col in betas:
            v = pd.to_numeric(bu.frame[col]).to_numpy(dtype=float)
            lv = np.bincount(labels, weights=v, minlength=k)
            share = target / target.sum() * v.sum()
            with np.errstate(divide="ignore", invalid="ignore"):
                d = np.where(share > 0, np.abs(lv - share) / share, 0.0)
            variables[col] = float(d[balanced].max())
    home_mean = home_max = None
    if reps is not None:
        home_mean, home_max, per_t, rep_ids = _home_distances(
            bu, labels, territories, values, reps, rep_of, accounts
        )
        table[REP_ID] = rep_ids
        table["home_distance_km"] = per_t
    disruption = None
    if baseline is not None:
        disruption = _disruption(bu, labels, territories, values, baseline, account_count, revenue)
    return PlanMetrics(
        territories=table,
        total_workload=float(values.sum()),
        max_abs_deviation=float(abs_dev.max()) if len(abs_dev) else 0.0,
        mean_abs_deviation=float(abs_dev.mean()) if len(abs_dev) else 0.0,
        all_contiguous=bool((pieces == 1).all()),
        noncontiguous=tuple(t for t, p in zip(territories, pieces, strict=True) if p != 1),
        polsby_popper_mean=float(pp.mean()),
        polsby_popper_min=float(pp.min()),
        dispersion_mean_km=float(np.mean(disp)),
        variables=variables,
        disruption=disruption,
        home_distance_mean_km=home_mean,
        home_distance_max_km=home_max,
        bridges=bu.adjacency.bridges,
    )


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


def territory_pieces(bu: BalanceUnits, labels: np.ndarray, k: int) -> np.ndarray:
    """Return how many connected pieces each territory has on the adjacency graph."""
    pairs = bu.adjacency.pairs
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


def _dispersion_km(bu: BalanceUnits, labels: np.ndarray, k: int, values: np.ndarray) -> np.ndarray:
    w = values + 1e-9 * max(values.mean(), 1e-12)
    sw = np.bincount(labels, weights=w, minlength=k)
    cx = np.bincount(labels, weights=w * bu.x_m, minlength=k) / sw
    cy = np.bincount(labels, weights=w * bu.y_m, minlength=k) / sw
    d = np.hypot(bu.x_m - cx[labels], bu.y_m - cy[labels])
    return np.bincount(labels, weights=w * d, minlength=k) / sw / 1000.0


def _home_distances(
    bu: BalanceUnits,
    labels: np.ndarray,
    territories: list[str],
    values: np.ndarray,
    reps: gpd.GeoDataFrame,
    rep_of: Mapping[str, str] | None,
    accounts: gpd.GeoDataFrame | None,
) -> tuple[float, float, np.ndarray, list[str | None]]:
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
            unit_of = _unit_of_accounts(acc, frame, UNIT_ID)
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


def _disruption(
    bu: BalanceUnits,
    labels: np.ndarray,
    territories: list[str],
    values: np.ndarray,
    baseline: pd.Series | Mapping[str, str],
    account_count: str | None,
    revenue: str | None,
) -> Disruption:
    base_labels, base_terr = encode_assignment(bu, baseline)
    now = np.asarray(territories, dtype=object)[labels]
    before = np.asarray(base_terr, dtype=object)[base_labels]
    moved = now != before
    acc = rev = None
    tot_acc = tot_rev = None
    if account_count and account_count in bu.frame.columns:
        a = pd.to_numeric(bu.frame[account_count]).fillna(0).to_numpy()
        acc, tot_acc = int(a[moved].sum()), int(a.sum())
    if revenue and revenue in bu.frame.columns:
        r = pd.to_numeric(bu.frame[revenue]).fillna(0).to_numpy(dtype=float)
        rev, tot_rev = float(r[moved].sum()), float(r.sum())
    return Disruption(
        moved_units=int(moved.sum()),
        moved_accounts=acc,
        moved_workload=float(values[moved].sum()),
        moved_revenue=rev,
        total_units=bu.n,
        total_accounts=tot_acc,
        total_workload=float(values.sum()),
        total_revenue=tot_rev,
    )
