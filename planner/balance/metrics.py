"""Plan metrics: workload balance, contiguity, compactness, disruption and distance to reps."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.balance.measures import (
    dispersion_km,
    encode_assignment,
    home_distances,
    rep_home_points,
    territory_perimeters,
    territory_pieces,
)
from planner.balance.units import BalanceUnits, UnitsLike, prepare_units
from planner.balance.workload import (
    ACCOUNT_COUNT,
    BalanceWeight,
    balance_values,
)
from planner.errors import InputError, Problem, format_ids
from planner.geo.adjacency import Bridge
from planner.schema import ANNUAL_REVENUE, REP_ID, TERRITORY_ID

__all__ = [
    "Disruption",
    "PlanMetrics",
    "bridges_used",
    "compute_metrics",
    "default_targets",
    "encode_assignment",
    "rep_home_points",
    "territory_perimeters",
    "territory_pieces",
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
    target = _target_array(territories, targets, values)
    locked = np.array([t in set(locked_territories) for t in territories])
    table = _territory_table(bu, labels, territories, values, target, locked)
    balanced = ~locked if (~locked).any() else np.ones(len(territories), dtype=bool)
    home_mean = home_max = None
    if reps is not None:
        home_mean, home_max, per_t, rep_ids = home_distances(
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
        **_table_summary(table, territories, balanced),
        variables=_variable_deviations(bu, labels, len(territories), betas, target, balanced),
        disruption=disruption,
        home_distance_mean_km=home_mean,
        home_distance_max_km=home_max,
        bridges=bridges_used(bu, labels),
    )


def _table_summary(
    table: pd.DataFrame, territories: Sequence[str], balanced: np.ndarray
) -> dict[str, Any]:
    """Deviation (of the balanced territories), contiguity and compactness of a territory table."""
    abs_dev = np.abs(table["deviation"].to_numpy(float)[balanced])
    pieces = table["pieces"].to_numpy()
    pp = table["polsby_popper"].to_numpy(float)
    return {
        "max_abs_deviation": float(abs_dev.max()) if len(abs_dev) else 0.0,
        "mean_abs_deviation": float(abs_dev.mean()) if len(abs_dev) else 0.0,
        "all_contiguous": bool((pieces == 1).all()),
        "noncontiguous": tuple(t for t, p in zip(territories, pieces, strict=True) if p != 1),
        "polsby_popper_mean": float(pp.mean()),
        "polsby_popper_min": float(pp.min()),
        "dispersion_mean_km": float(table["dispersion_km"].mean()),
    }


def bridges_used(bu: BalanceUnits, labels: np.ndarray) -> tuple[Bridge, ...]:
    """Island bridges whose two units share a territory: the contiguity relies on them."""
    index = bu.index_of()
    return tuple(b for b in bu.adjacency.bridges
                 if labels[index[b.unit_a]] == labels[index[b.unit_b]])


def _target_array(
    territories: list[str], targets: Mapping[str, float] | None, values: np.ndarray
) -> np.ndarray:
    tgt = dict(targets) if targets is not None else default_targets(territories, values.sum())
    missing_t = [t for t in territories if t not in tgt]
    if missing_t:
        raise InputError(
            "targets do not cover every territory",
            [Problem(f"no target for territories {format_ids(missing_t)}",
                     fix="give a target per territory or leave targets out")],
        )
    return np.array([tgt[t] for t in territories], dtype=float)


def _territory_table(
    bu: BalanceUnits,
    labels: np.ndarray,
    territories: list[str],
    values: np.ndarray,
    target: np.ndarray,
    locked: np.ndarray,
) -> pd.DataFrame:
    """One row per territory: workload, deviation, pieces (with and without bridges), shape."""
    k = len(territories)
    load = np.bincount(labels, weights=values, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = np.where(target > 0, (load - target) / target, np.where(load > 0, np.inf, 0.0))
    pieces = territory_pieces(bu, labels, k)
    area = np.bincount(labels, weights=bu.area_m2, minlength=k)
    perim = territory_perimeters(bu, labels, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        pp = np.where(perim > 0, 4 * np.pi * area / perim**2, 0.0)
    return pd.DataFrame(
        {
            TERRITORY_ID: territories,
            "units": np.bincount(labels, minlength=k),
            "workload": load,
            "target": target,
            "deviation": dev,
            "locked": locked,
            "contiguous": pieces == 1,
            "pieces": pieces,
            "pieces_without_bridges": territory_pieces(bu, labels, k, include_bridges=False),
            "area_km2": area / 1e6,
            "polsby_popper": pp,
            "dispersion_km": dispersion_km(bu, labels, k, values),
        }
    )


def _variable_deviations(
    bu: BalanceUnits,
    labels: np.ndarray,
    k: int,
    betas: Mapping[str, float],
    target: np.ndarray,
    balanced: np.ndarray,
) -> dict[str, float]:
    """Largest deviation of each balanced column when several are blended."""
    variables: dict[str, float] = {}
    if len(betas) <= 1:
        return variables
    for col in betas:
        v = pd.to_numeric(bu.frame[col]).to_numpy(dtype=float)
        lv = np.bincount(labels, weights=v, minlength=k)
        share = target / target.sum() * v.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.where(share > 0, np.abs(lv - share) / share, 0.0)
        variables[col] = float(d[balanced].max())
    return variables


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
