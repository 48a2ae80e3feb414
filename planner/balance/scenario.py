"""Balancing and workspace scenarios: a scenario's plan, plans aligned to it, saved as scenarios."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections import Counter
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import linear_sum_assignment

from planner import schema as s
from planner.balance.compare import PlanComparison, compare_plans
from planner.balance.metrics import compute_metrics
from planner.balance.plan import Locks, TerritoryPlan
from planner.balance.units import UnitsLike, prepare_units
from planner.balance.workload import ACCOUNT_COUNT, WORKLOAD_H, BalanceWeight, _unit_of_accounts
from planner.errors import InputError, Problem, format_ids
from planner.geo.shapes import dissolve_units, local_crs
from planner.hierarchy import leaves, parent_map
from planner.models import DEFAULT_TYPE, Scenario
from planner.workspace import Workspace

__all__ = [
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

#: Audit action written when a plan is saved as a scenario.
SAVE_ACTION = "balance.save"


# --- a scenario's plan ----------------------------------------------------------------
def scenario_assignment(ws: Workspace, scenario_id: str) -> pd.Series:
    """Return the leaf territory of every unit in a scenario (the plan to rebalance or compare).

    The scenario's ``unit_assignment`` rows come first. Units without a row
    take the leaf territory whose shape covers most of their area, and units
    outside every shape the nearest leaf territory, so every unit has one.

    Parameters
    ----------
    ws
        The workspace.
    scenario_id
        The scenario.

    Returns
    -------
    pandas.Series
        Territory id indexed by unit id (name ``territory_id``), in the
        order of ``ws.units``.

    Raises
    ------
    InputError
        If the scenario is unknown, the workspace has no units, or units
        lack a row and no leaf territory has a shape to place them in.
    """
    territories = ws.territories(scenario_id)
    units = ws.units
    if units.empty:
        raise InputError("the workspace has no units",
                         [Problem("no units to balance", fix="import units (ZIP/county polygons) "
                                  "or make H3 cells from the accounts")], source="units")
    unit_ids = units[s.UNIT_ID].astype(str)
    leaf_ids = set(leaves(territories)) if len(territories) else set()
    rows = ws.rows("unit_assignment", scenario_id)
    given = pd.Series(rows[s.TERRITORY_ID].astype(str).to_numpy(),
                      index=rows[s.UNIT_ID].astype(str).to_numpy())
    given = given[~given.index.duplicated(keep="last")]
    out = given.reindex(unit_ids.to_numpy())
    missing = out.isna().to_numpy()
    if missing.any():
        out[missing] = _locate_units(units[missing], territories, leaf_ids, scenario_id)
    out.index.name = s.UNIT_ID
    out.name = s.TERRITORY_ID
    return out.astype(str)


def _locate_units(
    units: gpd.GeoDataFrame, territories: gpd.GeoDataFrame, leaf_ids: set[str], scenario_id: str
) -> np.ndarray:
    """Return the leaf territory covering most of each unit (the nearest one when none does)."""
    shaped = territories[territories[s.TERRITORY_ID].astype(str).isin(leaf_ids)]
    shaped = shaped[shaped.geometry.notna() & ~shaped.geometry.is_empty]
    if shaped.empty:
        raise InputError(
            f"scenario '{scenario_id}' does not place units in territories",
            [Problem(f"units {format_ids(units[s.UNIT_ID])} have no unit_assignment row and "
                     "no leaf territory has a shape", fix="assign units to territories first "
                     "(map page), or design territories from scratch")],
            source="unit_assignment")
    crs = local_crs(units)
    u = units.geometry.to_crs(crs).reset_index(drop=True)
    t = shaped.geometry.to_crs(crs).reset_index(drop=True)
    tid = shaped[s.TERRITORY_ID].astype(str).to_numpy()
    tree = shapely.STRtree(t.to_numpy())
    ui, ti = tree.query(u.to_numpy(), predicate="intersects")
    area = shapely.area(shapely.intersection(u.to_numpy()[ui], t.to_numpy()[ti]))
    best = np.full(len(u), -1, dtype=np.int64)
    best_area = np.zeros(len(u))
    for a, b, x in zip(ui.tolist(), ti.tolist(), area.tolist(), strict=True):
        if x > best_area[a]:
            best[a], best_area[a] = b, x
    lost = np.flatnonzero(best < 0)
    if len(lost):
        near = tree.query_nearest(u.to_numpy()[lost], all_matches=False)
        best[lost[near[0]]] = near[1]
    return tid[best]


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
    free_new = [t for t in territories if t not in mapping]
    free_old = [t for t in base_ids if t not in set(mapping.values())]
    if free_new and free_old:
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
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            if overlap[r, c] > 0:
                mapping[free_new[r]] = free_old[c]
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
def unique_scenario_id(ws: Workspace, name: str) -> str:
    """Return a scenario id made from ``name`` (lower case, dashes) that is not taken yet."""
    stem = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:40] or "scenario"
    taken = set(ws.scenarios[s.SCENARIO_ID].astype(str))
    candidate, n = stem, 2
    while candidate in taken:
        candidate, n = f"{stem}-{n}", n + 1
    return candidate


def save_plan_as_scenario(
    ws: Workspace,
    plan: TerritoryPlan,
    *,
    scenario_id: str,
    name: str,
    base_scenario_id: str,
    user: str | None = None,
    description: str = "",
    names: Mapping[str, str] | None = None,
) -> Scenario:
    """Save a plan as a new planning scenario made from ``base_scenario_id``.

    The recipe: copy the base scenario (with the plan's parameters and
    metrics); write ``unit_assignment`` from the plan (locked units flagged);
    make each of the plan's territories a leaf whose shape is the union of
    its units (a leaf of the base keeps its name, parent, type and reps; a
    new one joins the parent of the base territories most of its units came
    from); keep the hierarchy above, redrawing the shapes of parents built
    from units as the union of their leaves and dropping parents left with
    no leaf; give each territory of a plan made for reps to its rep; keep
    the overrides and targets of territories that remain; assign every
    account again (:func:`planner.geo.assign.assign_workspace`); and log one
    audit entry. Nothing is changed when any step fails.

    Parameters
    ----------
    ws
        The workspace, changed in place.
    plan
        The plan (from :func:`design_territories`, :func:`rebalance` or
        :func:`align_plan`).
    scenario_id
        Id of the new scenario (see :func:`unique_scenario_id`).
    name
        Its display name.
    base_scenario_id
        The scenario the plan was made from (copied for everything but the
        plan itself).
    user
        Who saved it, for the audit log.
    description
        Free text stored with the scenario.
    names
        Display names of new territories (territory id -> name); a new
        territory of a rep is named after the rep, others after their id.

    Returns
    -------
    Scenario
        The new planning scenario.

    Raises
    ------
    InputError
        If the id is taken, the plan names units the workspace does not have,
        or a plan territory has the id of a parent in the base hierarchy.
    """
    base_terr = ws.territories(base_scenario_id)
    assignment = plan.assignment.astype(str)
    assignment.index = assignment.index.astype(str)
    problems: list[Problem] = []
    if scenario_id in set(ws.scenarios[s.SCENARIO_ID].astype(str)):
        problems.append(Problem(f"scenario '{scenario_id}' already exists",
                                fix="choose another id (unique_scenario_id makes one)"))
    unit_ids = set(ws.units[s.UNIT_ID].astype(str))
    unknown = sorted(set(assignment.index) - unit_ids)
    if unknown:
        problems.append(Problem(f"the plan names units {format_ids(unknown)} the workspace lacks",
                                fix="balance the workspace's own units"))
    parents = parent_map(base_terr)
    base_leaves = set(leaves(base_terr)) if len(base_terr) else set()
    plan_ids = sorted(set(assignment))
    clash = [t for t in plan_ids if t in parents and t not in base_leaves]
    if clash:
        problems.append(Problem(f"plan territories {format_ids(clash)} are parents in "
                                f"'{base_scenario_id}'",
                                fix="rename them (align_plan with reserved=the parents)"))
    if problems:
        raise InputError("the plan cannot be saved as a scenario", problems, source="plan")

    territories, dropped = _territory_rows(ws, plan, assignment, base_terr, base_scenario_id,
                                           names or {})
    kept = set(territories[s.TERRITORY_ID].astype(str))
    associations = _association_rows(ws, plan, base_scenario_id, kept)
    overrides = ws.rows("overrides", base_scenario_id)
    overrides = overrides[overrides[s.TERRITORY_ID].astype(str).isin(kept)]
    targets = ws.rows("targets", base_scenario_id)
    targets = targets[targets[s.TERRITORY_ID].isna() | targets[s.TERRITORY_ID].isin(kept)]
    parameters = {**plan.parameters, "base_scenario": base_scenario_id,
                  "targets": {t: round(float(v), 6) for t, v in sorted(plan.targets.items())}}
    metrics = plan.metrics.summary()
    base_assignment = _base_assignment(ws, base_scenario_id)
    moved_units = sum(1 for u, t in zip(assignment.index, assignment, strict=True)
                      if base_assignment.get(str(u)) != t)

    snapshot = dict(ws.tables)
    try:
        ws.copy_scenario(base_scenario_id, scenario_id, name=name, user=user,
                         parameters=parameters, metrics=metrics)
        scenario = dataclasses.replace(ws.scenario(scenario_id), description=description)
        ws.update_scenario(scenario)
        ws.set_rows("territories", scenario_id, territories)
        ws.set_rows("unit_assignment", scenario_id, plan.to_frame())
        ws.set_rows("associations", scenario_id, associations)
        ws.set_rows("overrides", scenario_id, overrides)
        ws.set_rows("targets", scenario_id, targets)
        from planner.geo.assign import assign_workspace

        result = assign_workspace(ws, scenario_id, store=True, user=user)
        ws.log(
            SAVE_ACTION,
            {
                "base_scenario": base_scenario_id,
                "method": plan.parameters.get("method"),
                "territories": len(plan_ids),
                "moved_units": moved_units,
                "moved_accounts": metrics.get("moved_accounts"),
                "max_abs_deviation": metrics.get("max_abs_deviation"),
                "dropped_territories": dropped,
                "unassigned_accounts": len(result.unassigned),
            },
            user=user,
            scenario_id=scenario_id,
        )
    except BaseException:
        ws.tables.clear()
        ws.tables.update(snapshot)
        raise
    logger.info("saved plan as scenario %s (%d territories, %d units moved)",
                scenario_id, len(plan_ids), moved_units)
    return ws.scenario(scenario_id)


def _base_assignment(ws: Workspace, scenario_id: str) -> dict[str, str]:
    try:
        found = scenario_assignment(ws, scenario_id)
    except InputError:
        return {}
    return {str(u): str(t) for u, t in found.items()}


def _parent(row: Mapping[str, Any]) -> str | None:
    value = row.get(s.PARENT_ID)
    if value is None or (isinstance(value, float) and value != value) or str(value) == "":
        return None
    return str(value)


def _mode(values: pd.Series, default: str) -> str:
    present = values.dropna().astype(str)
    present = present[present != ""]
    return str(present.mode().iloc[0]) if len(present) else default


def _territory_rows(
    ws: Workspace,
    plan: TerritoryPlan,
    assignment: pd.Series,
    base_terr: gpd.GeoDataFrame,
    base_scenario_id: str,
    names: Mapping[str, str],
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Return the new scenario's territories and the base territories it drops."""
    parents = parent_map(base_terr)
    base_leaves = set(leaves(base_terr)) if len(base_terr) else set()
    by_id = {str(r[s.TERRITORY_ID]): r for r in base_terr.to_dict("records")}
    leaf_rows = base_terr[base_terr[s.TERRITORY_ID].astype(str).isin(base_leaves)]
    level_name = _mode(leaf_rows[s.LEVEL_NAME], "territory")
    type_id = _mode(leaf_rows[s.TYPE_ID], DEFAULT_TYPE.type_id)
    base_assignment = _base_assignment(ws, base_scenario_id)
    rep_names = dict(zip(ws.reps[s.REP_ID].astype(str), ws.reps[s.NAME], strict=True))
    rows: dict[str, dict[str, Any]] = {}
    for t in sorted(set(assignment)):
        if t in base_leaves:
            row = {k: v for k, v in by_id[t].items() if k not in (s.GEOMETRY, s.SCENARIO_ID)}
        else:
            votes = Counter(parents.get(base_assignment.get(u, ""))
                            for u in assignment.index[assignment == t])
            votes.pop(None, None)
            parent = min(votes, key=lambda p: (-votes[p], p)) if votes else None
            level = int(by_id[parent][s.LEVEL]) + 1 if parent is not None else 0
            rep = plan.rep_of.get(t)
            rep_name = rep_names.get(rep) if rep is not None else None
            label = (str(rep_name) if isinstance(rep_name, str) and rep_name else t)
            row = {s.TERRITORY_ID: t, s.NAME: label, s.PARENT_ID: parent, s.LEVEL: level,
                   s.LEVEL_NAME: level_name, s.TYPE_ID: type_id, s.RULE: None}
        row[s.SOURCE] = "units"
        if t in names:
            row[s.NAME] = names[t]
        rows[t] = row
    shapes = dissolve_units(ws.units, assignment)
    geometry = dict(zip(shapes[s.TERRITORY_ID].astype(str), shapes.geometry, strict=True))
    # the hierarchy above: every ancestor of a leaf of the plan stays
    for t in sorted(set(assignment)):
        p = _parent(rows[t])
        while p is not None and p in by_id and p not in rows:
            rows[p] = {k: v for k, v in by_id[p].items() if k not in (s.GEOMETRY, s.SCENARIO_ID)}
            p = parents.get(p)
    children: dict[str, list[str]] = {}
    for t, row in rows.items():
        p = _parent(row)
        if p is not None and p in rows:
            children.setdefault(p, []).append(t)
    leaf_units = {t: geometry.get(t) for t in set(assignment)}

    def shape_of(t: str) -> Any:
        if t in leaf_units:
            return leaf_units[t]
        if str(rows[t].get(s.SOURCE)) != "units":
            return by_id[t].get(s.GEOMETRY)
        parts = [g for g in (shape_of(c) for c in children.get(t, [])) if g is not None]
        return shapely.union_all(parts) if parts else None

    ordered = sorted(rows, key=lambda t: (int(rows[t].get(s.LEVEL) or 0), t))
    frame = gpd.GeoDataFrame(
        [rows[t] for t in ordered],
        geometry=[shape_of(t) for t in ordered],
        crs=ws.units.crs or s.STORAGE_CRS,
    )
    dropped = sorted(set(by_id) - set(rows))
    return frame, dropped


def _association_rows(
    ws: Workspace, plan: TerritoryPlan, base_scenario_id: str, kept: set[str]
) -> pd.DataFrame:
    """Keep associations of territories that remain; give territories made for reps to them."""
    assoc = ws.associations(base_scenario_id)
    assoc = assoc[assoc[s.TERRITORY_ID].astype(str).isin(kept)]
    known_reps = set(ws.reps[s.REP_ID].astype(str))
    rep_of = {t: r for t, r in plan.rep_of.items() if r in known_reps}
    if not rep_of:
        return assoc
    plan_ids = set(plan.assignment.astype(str))
    owners = set(rep_of.values())
    is_owner = assoc[s.ROLE].astype(str) == "owner"
    stale = is_owner & (assoc[s.TERRITORY_ID].astype(str).isin(set(rep_of))
                        | (assoc[s.REP_ID].astype(str).isin(owners)
                           & assoc[s.TERRITORY_ID].astype(str).isin(plan_ids)))
    today = date.today().isoformat()
    new = pd.DataFrame({s.REP_ID: list(rep_of.values()), s.TERRITORY_ID: list(rep_of),
                        s.ROLE: "owner", s.START_DATE: today, s.END_DATE: None})
    return pd.concat([assoc[~stale.to_numpy()], new], ignore_index=True)


# --- comparing two scenarios -----------------------------------------------------------
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
        unit_of = _unit_of_accounts(acc[changed], ws.units, s.UNIT_ID)
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
