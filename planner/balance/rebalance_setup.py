"""Rebalancing inputs: the baseline encoded on the units, targets, locks and the move budget."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.balance.metrics import encode_assignment, territory_pieces
from planner.balance.plan import Locks, TerritoryPlan
from planner.balance.units import BalanceUnits, UnitsLike, prepare_units
from planner.balance.workload import BalanceWeight, balance_values
from planner.errors import InputError, Problem, format_ids
from planner.geo.adjacency import Contiguity
from planner.schema import REP_ID, TERRITORY_ID, UNIT_ID

__all__ = ["Baseline", "RebalanceSetup", "move_budget", "prepare_rebalance"]

logger = logging.getLogger(__name__)

Baseline = TerritoryPlan | pd.Series | Mapping[str, str]


@dataclass(frozen=True)
class RebalanceSetup:
    """A baseline ready for the budgeted search: labels, targets, what may move, account costs."""

    bu: BalanceUnits
    values: np.ndarray
    labels: np.ndarray
    territories: list[str]
    targets: np.ndarray
    movable: np.ndarray
    open_: np.ndarray
    cost: np.ndarray
    budget_basis: str
    locks: Locks
    baseline: pd.Series


def prepare_rebalance(
    units: UnitsLike,
    baseline: Baseline,
    *,
    weight: BalanceWeight,
    locked: Locks | Mapping[str, str] | pd.Series | None,
    account_count: str,
    reps: gpd.GeoDataFrame | None,
    capacity_column: str,
    contiguity: Contiguity,
    tolerance: float,
) -> RebalanceSetup:
    if not 0 <= tolerance < 1:
        raise InputError(f"tolerance must be in [0, 1), not {tolerance!r}")
    bu = prepare_units(units, contiguity=contiguity)
    values, _ = balance_values(bu.frame, weight)
    base = baseline.assignment if isinstance(baseline, TerritoryPlan) else baseline
    labels, territories = encode_assignment(bu, base)
    base_series = pd.Series(np.asarray(territories, dtype=object)[labels],
                            index=pd.Index(bu.ids, name=UNIT_ID), name=TERRITORY_ID)
    locks = Locks.coerce(locked)
    index = bu.index_of()
    problems: list[Problem] = []
    unknown = sorted(u for u in locks.units if u not in index)
    if unknown:
        problems.append(Problem(f"locked units {format_ids(unknown)} are not in the units",
                                fix="lock units that exist"))
    moved_locks = sorted(u for u, t in locks.units.items()
                         if u in index and base_series[u] != t)
    if moved_locks:
        problems.append(Problem(
            f"units {format_ids(moved_locks)} are locked to a territory other than the "
            "baseline's", fix="rebalance keeps locked units where the baseline has them: lock "
            "them to their baseline territory (Locks.keep_territories does this)"))
    if problems:
        raise InputError("locks do not match the baseline", problems, source="locked")
    movable = np.ones(bu.n, dtype=bool)
    for u in locks.units:
        movable[index[u]] = False
    t_index = {t: i for i, t in enumerate(territories)}
    frozen = [t_index[t] for t in locks.territories if t in t_index]
    open_ = np.ones(len(territories), dtype=bool)
    open_[frozen] = False
    # units of frozen territories never move; nothing enters them (open_ is False)
    movable &= ~np.isin(labels, frozen)
    shares = _rep_shares(reps, territories, capacity_column)
    w_free = values[~np.isin(labels, frozen)].sum()
    free = [t for t in range(len(territories)) if open_[t]]
    s = np.array([shares[territories[t]] if shares else 1.0 for t in free])
    targets = np.zeros(len(territories))
    for t, share in zip(free, s, strict=True):
        targets[t] = w_free * share / s.sum()
    for t in frozen:
        targets[t] = max(values[labels == t].sum(), 1e-12)
    if account_count in bu.frame.columns:
        cost = pd.to_numeric(bu.frame[account_count], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(cost) | (cost < 0)
        if bad.any():
            raise InputError(
                f"'{account_count}' is missing or negative for units "
                f"{format_ids(np.asarray(bu.ids)[bad])}",
                [Problem("account counts must be 0 or more", column=account_count,
                         fix="fill in the number of accounts per unit")], source="units")
        basis = "accounts"
    else:
        cost = np.ones(bu.n)
        basis = "units"
        logger.info("units have no '%s' column: each unit counts as one account", account_count)
    pieces = territory_pieces(bu, labels, len(territories))
    if (pieces > 1).any():
        split = [t for t, p in zip(territories, pieces, strict=True) if p > 1]
        logger.warning("baseline territories %s are not contiguous; moves never split them "
                       "further", format_ids(split))
    return RebalanceSetup(bu, values, labels, territories, targets, movable, open_, cost, basis,
                     locks, base_series)


def _rep_shares(
    reps: gpd.GeoDataFrame | None, territories: list[str], capacity_column: str
) -> dict[str, float] | None:
    if reps is None or capacity_column not in reps.columns:
        return None
    cap = dict(zip(reps[REP_ID].astype(str),
                   pd.to_numeric(reps[capacity_column], errors="coerce"), strict=True))
    missing = [t for t in territories if not (cap.get(t, 0) > 0)]
    if missing:
        raise InputError(
            "reps do not give every territory a capacity",
            [Problem(f"territories {format_ids(missing)} have no rep with a positive capacity",
                     column=capacity_column,
                     fix="territory ids must be rep ids with a capacity, or leave reps out")],
            source="reps")
    return {t: float(cap[t]) for t in territories}


def move_budget(prep: RebalanceSetup, max_moved_accounts: int | None,
            max_moved_share: float | None) -> float:
    problems = []
    if max_moved_accounts is not None and max_moved_accounts < 0:
        problems.append(Problem(f"max_moved_accounts is {max_moved_accounts}",
                                fix="use 0 or more"))
    if max_moved_share is not None and not 0 <= max_moved_share <= 1:
        problems.append(Problem(f"max_moved_share is {max_moved_share}",
                                fix="use a share between 0 and 1"))
    if problems:
        raise InputError("the move budget is invalid", problems)
    budget = math.inf
    if max_moved_accounts is not None:
        budget = float(max_moved_accounts)
    if max_moved_share is not None:
        budget = min(budget, math.floor(max_moved_share * float(prep.cost.sum()) + 1e-9))
    return budget
