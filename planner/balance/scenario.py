"""Balancing and workspace scenarios: a scenario's plan, plans aligned to it, saved as scenarios."""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from planner import schema as s
from planner.balance.compare import PlanComparison, compare_plans
from planner.balance.metrics import compute_metrics
from planner.balance.plan import Locks, TerritoryPlan
from planner.balance.scenario_plan import scenario_assignment
from planner.balance.scenario_save import SAVE_ACTION, save_plan_as_scenario, unique_scenario_id
from planner.balance.units import BalanceUnits, UnitsLike, prepare_units
from planner.balance.workload import ACCOUNT_COUNT, WORKLOAD_H, BalanceWeight, unit_of_accounts
from planner.errors import InputError, Problem, format_ids
from planner.workspace import Workspace

__all__ = [
    "SAVE_ACTION",
    "align_plan",
    "compare_scenarios",
    "keep_territories_locks",
    "moved_accounts",
    "recorded_weight",
    "save_plan_as_scenario",
    "scenario_assignment",
    "territory_owners",
    "unique_scenario_id",
]

logger = logging.getLogger(__name__)


def territory_owners(ws: Workspace, scenario_id: str) -> dict[str, str]:
    """Return the current owner rep of each territory of a scenario (the first one, by rep id).

    An owner association is current when it has no end date or ends today or
    later.
    """
    assoc = ws.associations(scenario_id)
    if assoc.empty:
        return {}
    today = date.today().isoformat()
    current = np.array([v is None or (isinstance(v, float) and v != v) or str(v) >= today
                        for v in assoc[s.END_DATE].tolist()], dtype=bool)
    mine = assoc[(assoc[s.ROLE].astype(str) == "owner").to_numpy() & current]
    mine = mine.sort_values([s.TERRITORY_ID, s.REP_ID])
    out: dict[str, str] = {}
    for t, r in zip(mine[s.TERRITORY_ID].astype(str), mine[s.REP_ID].astype(str), strict=True):
        out.setdefault(t, r)
    return out


def recorded_weight(ws: Workspace, scenario_id: str) -> BalanceWeight | None:
    """Return the balance variable recorded in a scenario's parameters, if any."""
    weight = ws.scenario(scenario_id).parameters.get("weight")
    if isinstance(weight, str) and weight:
        return weight
    if isinstance(weight, dict) and weight:
        return {str(k): float(v) for k, v in weight.items()}
    return None


def keep_territories_locks(
    baseline: pd.Series | Mapping[str, str],
    territories: Collection[str],
    *,
    labels: Mapping[str, str] | None = None,
) -> Locks:
    """Return locks that keep ``territories`` of ``baseline`` exactly as they are.

    Parameters
    ----------
    baseline
        Unit id -> territory id (e.g. :func:`scenario_assignment`).
    territories
        Territories to keep ("keep Anna's territory as it is").
    labels
        Territory id -> the label the plan will give it. A design around
        reps names territories by rep id, so pass each territory's owner
        (:func:`territory_owners`).

    Raises
    ------
    InputError
        If a territory is not in the baseline, or ``labels`` lacks one.
    """
    locks = Locks.keep_territories(baseline, territories)
    if labels is None:
        return locks
    missing = sorted(t for t in locks.territories if t not in labels)
    if missing:
        raise InputError(
            "locked territories have no label in the plan",
            [Problem(f"territories {format_ids(missing)} have no owner rep",
                     fix="give them an owner, or do not centre territories on reps")],
            source="locked")
    return Locks(units={u: labels[t] for u, t in locks.units.items()},
                 territories=frozenset(labels[t] for t in locks.territories))


# --- aligning a designed plan to the scenario it replaces ------------------------------
def align_plan(
    plan: TerritoryPlan,
    units: UnitsLike,
    baseline: pd.Series | Mapping[str, str],
    *,
    fixed: Mapping[str, str] | None = None,
    reserved: Collection[str] = (),
    reps: gpd.GeoDataFrame | None = None,
) -> TerritoryPlan:
    """Rename a plan's territories after the baseline territories they overlap most.

    A design from scratch names territories ``T01``, ``T02``...; matched to
    the current scenario, each new territory keeps the id (and so the name
    and rep) of the old territory it shares the most accounts with (an
    optimal one-to-one matching), so a comparison shows what really moves.
    New territories left over keep their id unless it is taken, in which
    case they get the next free ``Tnn``. Metrics are measured again with the
    baseline, so they include the disruption (moved accounts).

    Parameters
    ----------
    plan
        The plan to rename.
    units
        The units of the plan (with ``account_count`` for matching by
        accounts; without it each unit counts as one).
    baseline
        Unit id -> territory id of the plan being replaced.
    fixed
        Plan territory id -> the id it must take (e.g. a rep's territory).
        Locked territories that are baseline ids always keep their id.
    reserved
        Ids a new territory must not take (e.g. the parents of the hierarchy).
    reps
        Reps, to measure the distance to their homes (as in the design).

    Returns
    -------
    TerritoryPlan
        The renamed plan; ``parameters["renamed"]`` maps old to new ids.

    Raises
    ------
    InputError
        If ``fixed`` gives two territories the same id.
    """
    bu = prepare_units(units)
    base = _as_series(baseline)
    assignment = plan.assignment.astype(str)
    assignment.index = assignment.index.astype(str)
    territories = sorted(set(assignment))
    base_ids = sorted(set(base))
    mapping = _fixed_names(plan, territories, base_ids, fixed)
    free_new = [t for t in territories if t not in mapping]
    free_old = [t for t in base_ids if t not in set(mapping.values())]
    if free_new and free_old:
        mapping |= _most_overlap(bu, assignment, base, free_new, free_old)
    taken = set(mapping.values()) | set(base_ids) | {str(r) for r in reserved}
    counter = 1
    for t in territories:
        if t in mapping:
            continue
        if t not in taken:
            mapping[t] = t
        else:
            while (name := f"T{counter:02d}") in taken:
                counter += 1
            mapping[t] = name
        taken.add(mapping[t])
    return _renamed(plan, bu, base, mapping, reps)


def _fixed_names(
    plan: TerritoryPlan,
    territories: list[str],
    base_ids: list[str],
    fixed: Mapping[str, str] | None,
) -> dict[str, str]:
    """Locked territories keep their ids; ``fixed`` ids are given as asked (each once)."""
    mapping: dict[str, str] = {}
    locks = plan.parameters.get("locks")
    locked = locks.get("territories", []) if isinstance(locks, dict) else []
    for t in locked:
        if str(t) in territories and str(t) in base_ids:
            mapping[str(t)] = str(t)
    for t, target in (fixed or {}).items():
        if str(t) in territories:
            mapping[str(t)] = str(target)
    doubles = [v for v, n in Counter(mapping.values()).items() if n > 1]
    if doubles:
        raise InputError("two territories would get the same id",
                         [Problem(f"ids {format_ids(doubles)} are given to several territories",
                                  fix="fix each id to one territory")], source="fixed")
    return mapping


def _most_overlap(
    bu: BalanceUnits,
    assignment: pd.Series,
    base: pd.Series,
    free_new: list[str],
    free_old: list[str],
) -> dict[str, str]:
    """Pair new and old territories so that the most accounts keep their territory's id."""
    cost = (pd.to_numeric(bu.frame[ACCOUNT_COUNT], errors="coerce").fillna(0).to_numpy()
            if ACCOUNT_COUNT in bu.frame.columns else np.ones(bu.n))
    weight = pd.Series(cost + 1e-6, index=list(bu.ids))  # units break ties between accounts
    common = assignment.index.intersection(base.index).intersection(weight.index)
    shared = pd.DataFrame({"new": assignment[common].to_numpy(),
                           "old": base[common].to_numpy(),
                           "w": weight[common].to_numpy()})
    table = shared.groupby(["new", "old"])["w"].sum().unstack(fill_value=0)
    overlap = table.reindex(index=free_new, columns=free_old).fillna(0.0).to_numpy(float)
    rows, cols = linear_sum_assignment(-overlap)
    return {free_new[r]: free_old[c] for r, c in zip(rows.tolist(), cols.tolist(), strict=True)
            if overlap[r, c] > 0}


def _renamed(
    plan: TerritoryPlan,
    bu: Any,
    base: pd.Series,
    mapping: dict[str, str],
    reps: gpd.GeoDataFrame | None,
) -> TerritoryPlan:
    assignment = plan.assignment.astype(str).map(mapping)
    assignment.index = plan.assignment.index.astype(str)
    assignment.index.name = s.UNIT_ID
    assignment.name = s.TERRITORY_ID
    targets = {mapping.get(t, t): v for t, v in plan.targets.items()}
    rep_of = {mapping.get(t, t): r for t, r in plan.rep_of.items()}
    parameters = dict(plan.parameters)
    locks = parameters.get("locks")
    locked_territories: list[str] = []
    if isinstance(locks, dict):
        locked_territories = sorted(mapping.get(str(t), str(t))
                                    for t in locks.get("territories", []))
        parameters["locks"] = {
            "units": {u: mapping.get(str(t), str(t))
                      for u, t in dict(locks.get("units", {})).items()},
            "territories": locked_territories,
        }
    parameters["renamed"] = {t: n for t, n in sorted(mapping.items()) if t != n}
    weight = parameters.get("weight")
    if not isinstance(weight, str | dict):
        raise InputError("the plan records no balance variable",
                         [Problem("parameters['weight'] is missing",
                                  fix="align plans made by design_territories or rebalance")])
    use_reps = reps if reps is not None and rep_of else None
    metrics = compute_metrics(bu, assignment, weight=weight, targets=targets or None,
                              locked_territories=locked_territories, baseline=base,
                              reps=use_reps, rep_of=rep_of or None)
    return TerritoryPlan(assignment, parameters, metrics, plan.locked_units, targets, rep_of)


def _as_series(assignment: pd.Series | Mapping[str, str]) -> pd.Series:
    series = assignment.copy() if isinstance(assignment, pd.Series) else pd.Series(assignment)
    series = series.astype(str)
    series.index = series.index.astype(str)
    return series


# --- saving a plan as a scenario -------------------------------------------------------


def moved_accounts(ws: Workspace, scenario_a: str, scenario_b: str) -> pd.DataFrame:
    """Return the accounts whose territory differs between two scenarios (from -> to).

    An account's territory is its primary membership at the deepest level
    (what a rep sees as "my account").

    Returns
    -------
    pandas.DataFrame
        ``account_id``, ``name``, ``unit_id`` (the unit the account lies in,
        when known), ``from_territory``, ``to_territory`` (``None`` where an
        account has no territory), sorted by account id.
    """
    before = _primary(ws, scenario_a)
    after = _primary(ws, scenario_b)
    acc = ws.accounts
    ids = acc[s.ACCOUNT_ID].astype(str)
    frame = pd.DataFrame({s.ACCOUNT_ID: ids.to_numpy(), s.NAME: acc[s.NAME].to_numpy(),
                          "from_territory": ids.map(before).to_numpy(),
                          "to_territory": ids.map(after).to_numpy()})
    changed = (frame["from_territory"].fillna("") != frame["to_territory"].fillna("")).to_numpy()
    if len(ws.units) and changed.any():
        unit_of = unit_of_accounts(acc[changed], ws.units, s.UNIT_ID)
        frame.loc[changed, s.UNIT_ID] = unit_of.to_numpy()
    else:
        frame[s.UNIT_ID] = None
    out = frame[changed][[s.ACCOUNT_ID, s.NAME, s.UNIT_ID, "from_territory", "to_territory"]]
    return out.sort_values(s.ACCOUNT_ID).reset_index(drop=True)


def _primary(ws: Workspace, scenario_id: str) -> dict[str, str]:
    members = ws.memberships(scenario_id)
    if members.empty:
        return {}
    level = dict(zip(ws.territories(scenario_id)[s.TERRITORY_ID].astype(str),
                     ws.territories(scenario_id)[s.LEVEL], strict=True))
    frame = members[[s.ACCOUNT_ID, s.TERRITORY_ID, s.IS_PRIMARY]].copy()
    frame[s.ACCOUNT_ID] = frame[s.ACCOUNT_ID].astype(str)
    frame[s.TERRITORY_ID] = frame[s.TERRITORY_ID].astype(str)
    frame["_level"] = frame[s.TERRITORY_ID].map(level).fillna(-1)
    frame = frame.sort_values([s.ACCOUNT_ID, s.IS_PRIMARY, "_level", s.TERRITORY_ID],
                              ascending=[True, False, False, True])
    first = frame.drop_duplicates(s.ACCOUNT_ID)
    return dict(zip(first[s.ACCOUNT_ID], first[s.TERRITORY_ID], strict=True))


def compare_scenarios(
    ws: Workspace,
    scenario_a: str,
    scenario_b: str,
    units: UnitsLike,
    *,
    weight: BalanceWeight | None = None,
) -> PlanComparison:
    """Compare two scenarios of a workspace: metrics side by side, moved units and accounts.

    Parameters
    ----------
    ws
        The workspace.
    scenario_a, scenario_b
        The scenarios ("from" and "to").
    units
        The workspace's units with the balance columns
        (:func:`planner.balance.workload.units_with_workload`), or prepared.
    weight
        Balance variable to measure both with; by default the one recorded
        in ``scenario_b``'s (then ``scenario_a``'s) parameters when the units
        have it, else ``workload_h``, else ``account_count``.

    Returns
    -------
    PlanComparison
        As :func:`compare_plans`; ``moved_accounts`` compares the accounts'
        memberships (so manual moves count too).
    """
    bu = prepare_units(units)
    if weight is None:
        columns = set(bu.frame.columns)
        for candidate in (recorded_weight(ws, scenario_b), recorded_weight(ws, scenario_a)):
            wanted = {candidate} if isinstance(candidate, str) else set(candidate or {})
            if candidate and wanted <= columns:
                weight = candidate
                break
        else:
            weight = WORKLOAD_H if WORKLOAD_H in columns else ACCOUNT_COUNT
    keep = list(bu.ids)
    plan_a = _scenario_plan(ws, scenario_a, bu, weight, keep)
    plan_b = _scenario_plan(ws, scenario_b, bu, weight, keep)
    comparison = compare_plans(plan_a, plan_b, bu, None, weight=weight)
    return dataclasses.replace(comparison, moved_accounts=moved_accounts(ws, scenario_a,
                                                                         scenario_b))


def _scenario_plan(
    ws: Workspace, scenario_id: str, bu: Any, weight: BalanceWeight, keep: list[str]
) -> TerritoryPlan | pd.Series:
    """Return a scenario's plan; with the targets and locks it was balanced with, if recorded."""
    assignment = scenario_assignment(ws, scenario_id).reindex(keep)
    parameters = ws.scenario(scenario_id).parameters
    targets = parameters.get("targets")
    same_weight = recorded_weight(ws, scenario_id) == weight
    if not same_weight or not isinstance(targets, dict) or set(targets) != set(assignment):
        return assignment
    targets = {str(t): float(v) for t, v in targets.items()}
    locks = parameters.get("locks")
    locked = [str(t) for t in locks.get("territories", [])] if isinstance(locks, dict) else []
    metrics = compute_metrics(bu, assignment, weight=weight, targets=targets,
                              locked_territories=locked)
    return TerritoryPlan(assignment, dict(parameters), metrics, frozenset(), targets)
