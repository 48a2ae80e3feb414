"""Compare two plans: metrics side by side, and the units and accounts that move."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.balance.metrics import PlanMetrics, compute_metrics, encode_assignment
from planner.balance.plan import TerritoryPlan
from planner.balance.units import UnitsLike, prepare_units
from planner.balance.workload import (
    ACCOUNT_COUNT,
    BalanceWeight,
    balance_values,
    unit_of_accounts,
)
from planner.errors import InputError, Problem
from planner.schema import ACCOUNT_ID, STORAGE_CRS, TERRITORY_ID, UNIT_ID

__all__ = ["PlanComparison", "compare_plans"]

PlanLike = TerritoryPlan | pd.Series

FROM = "from_territory"
TO = "to_territory"


@dataclass(frozen=True, eq=False)
class PlanComparison:
    """Two plans side by side.

    Parameters
    ----------
    metrics
        One row per scalar metric (index ``metric``), columns ``a``, ``b``
        and ``delta`` (b - a, for numbers).
    territories
        Per territory id present in either plan: ``workload_a``,
        ``workload_b``, ``deviation_a``, ``deviation_b``, ``units_a``,
        ``units_b``.
    moved_units
        Units whose territory differs: ``unit_id``, ``from_territory``,
        ``to_territory``, ``workload`` (and ``account_count`` when known).
    moved_accounts
        Accounts in moved units: ``account_id``, ``unit_id``,
        ``from_territory``, ``to_territory`` (``None`` without accounts).
    changes
        Moved units with their polygons in EPSG:4326, for a map of the changes.
    metrics_a, metrics_b
        The full metrics of each plan.
    """

    metrics: pd.DataFrame
    territories: pd.DataFrame
    moved_units: pd.DataFrame
    moved_accounts: pd.DataFrame | None
    changes: gpd.GeoDataFrame
    metrics_a: PlanMetrics
    metrics_b: PlanMetrics

    def to_dict(self) -> dict[str, Any]:
        """Return the comparison (without geometry) as a JSON-friendly dictionary."""
        def clean(v: object) -> object:
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, float):
                return None if not math.isfinite(v) else round(v, 6)
            return v

        def rows(frame: pd.DataFrame) -> list[dict[str, object]]:
            return [{str(k): clean(v) for k, v in r.items()}
                    for r in frame.to_dict(orient="records")]

        return {
            "metrics": {str(m): {c: clean(self.metrics.loc[m, c]) for c in self.metrics.columns}
                        for m in self.metrics.index},
            "territories": rows(self.territories),
            "moved_units": rows(self.moved_units),
            "moved_accounts": None if self.moved_accounts is None else rows(self.moved_accounts),
        }


def compare_plans(
    plan_a: PlanLike,
    plan_b: PlanLike,
    units: UnitsLike,
    accounts: pd.DataFrame | None = None,
    *,
    weight: BalanceWeight | None = None,
) -> PlanComparison:
    """Compare two plans of the same units.

    Parameters
    ----------
    plan_a, plan_b
        Plans, or assignments (unit id -> territory id).
    units
        The units both plans assign, with the balance column(s).
    accounts
        Accounts with a ``unit_id`` column (or points, joined to the units),
        to list the accounts that change territory.
    weight
        Balance column(s) to measure both plans with; by default the weight
        recorded in ``plan_a``'s parameters (then ``plan_b``'s). Needed when
        both plans are plain assignments.

    Raises
    ------
    InputError
        If the plans do not cover the units, or no weight is known.
    """
    bu = prepare_units(units)
    weight = weight or _weight_of(plan_a) or _weight_of(plan_b)
    if weight is None:
        raise InputError("no balance column to measure the plans with",
                         [Problem("neither plan records a weight",
                                  fix="pass weight=<column>")])
    a = plan_a.assignment if isinstance(plan_a, TerritoryPlan) else plan_a
    b = plan_b.assignment if isinstance(plan_b, TerritoryPlan) else plan_b
    la, ta = encode_assignment(bu, a)
    lb, tb = encode_assignment(bu, b)
    terr_a = np.asarray(ta, dtype=object)[la]
    terr_b = np.asarray(tb, dtype=object)[lb]
    ma = compute_metrics(bu, a, weight=weight, targets=_targets(plan_a),
                         locked_territories=_locked(plan_a))
    mb = compute_metrics(bu, b, weight=weight, targets=_targets(plan_b),
                         locked_territories=_locked(plan_b), baseline=a)
    side = _side_by_side(ma, mb)
    moved = terr_a != terr_b
    ids = np.asarray(bu.ids, dtype=object)
    values = balance_values(bu.frame, weight)[0]
    moved_units = pd.DataFrame({
        UNIT_ID: ids[moved], FROM: terr_a[moved], TO: terr_b[moved], "workload": values[moved],
    })
    if ACCOUNT_COUNT in bu.frame.columns:
        moved_units[ACCOUNT_COUNT] = pd.to_numeric(bu.frame[ACCOUNT_COUNT]).to_numpy()[moved]
    moved_accounts = None
    if accounts is not None:
        moved_accounts = _moved_accounts(accounts, units, dict(zip(ids, terr_a, strict=True)),
                                         dict(zip(ids, terr_b, strict=True)))
    geo = gpd.GeoDataFrame(moved_units.copy(), geometry=bu.geometry.to_numpy()[moved],
                           crs=bu.geometry.crs)
    if geo.crs is not None:
        geo = geo.to_crs(STORAGE_CRS)
    return PlanComparison(side, _territories(ma, mb), moved_units, moved_accounts, geo, ma, mb)


def _weight_of(plan: PlanLike) -> BalanceWeight | None:
    if isinstance(plan, TerritoryPlan):
        w = plan.parameters.get("weight")
        if isinstance(w, str | dict):
            return w
    return None


def _targets(plan: PlanLike) -> dict[str, float] | None:
    return plan.targets or None if isinstance(plan, TerritoryPlan) else None


def _locked(plan: PlanLike) -> list[str]:
    if isinstance(plan, TerritoryPlan):
        locks = plan.parameters.get("locks") or {}
        return list(locks.get("territories", [])) if isinstance(locks, dict) else []
    return []


def _side_by_side(ma: PlanMetrics, mb: PlanMetrics) -> pd.DataFrame:
    sa, sb = ma.summary(), mb.summary()
    keys = [k for k in sa if not isinstance(sa[k], list)]
    keys += [k for k in sb if k not in sa and not isinstance(sb[k], list)]
    rows = []
    for k in keys:
        va, vb = sa.get(k), sb.get(k)
        delta = None
        if (isinstance(va, int | float) and isinstance(vb, int | float)
                and not isinstance(va, bool) and not isinstance(vb, bool)):
            delta = vb - va
        rows.append({"metric": k, "a": va, "b": vb, "delta": delta})
    return pd.DataFrame(rows).set_index("metric")


def _territories(ma: PlanMetrics, mb: PlanMetrics) -> pd.DataFrame:
    cols = ["workload", "deviation", "units", "polsby_popper"]
    left = ma.territories.set_index(TERRITORY_ID)[cols].add_suffix("_a")
    right = mb.territories.set_index(TERRITORY_ID)[cols].add_suffix("_b")
    return left.join(right, how="outer").reset_index()


def _moved_accounts(
    accounts: pd.DataFrame,
    units: UnitsLike,
    before: dict[str, str],
    after: dict[str, str],
) -> pd.DataFrame:
    unit_frame = units if isinstance(units, gpd.GeoDataFrame) else None
    if UNIT_ID not in accounts.columns and unit_frame is None:
        raise InputError("accounts cannot be placed in units",
                         [Problem("accounts have no unit_id and units are prepared",
                                  fix="add a unit_id column to the accounts")])
    unit_of = unit_of_accounts(accounts, unit_frame, UNIT_ID)
    acc_id = (accounts[ACCOUNT_ID].astype(str) if ACCOUNT_ID in accounts.columns
              else pd.Series(accounts.index.astype(str), index=accounts.index))
    frame = pd.DataFrame({ACCOUNT_ID: acc_id.to_numpy(), UNIT_ID: unit_of.to_numpy()})
    frame = frame[frame[UNIT_ID].notna()]
    frame[FROM] = frame[UNIT_ID].map(before)
    frame[TO] = frame[UNIT_ID].map(after)
    return frame[frame[FROM] != frame[TO]].reset_index(drop=True)
