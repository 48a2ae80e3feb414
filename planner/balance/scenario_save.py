"""Saving a balancing plan as a workspace scenario: territories, shapes, memberships, audit."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Mapping
from datetime import date
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from planner import schema as s
from planner.assign import assign_accounts
from planner.balance.plan import TerritoryPlan
from planner.balance.scenario_plan import scenario_assignment
from planner.conform import conform
from planner.errors import InputError, Problem, format_ids
from planner.geo.shapes import dissolve_units
from planner.hierarchy import leaves, parent_map
from planner.models import DEFAULT_TYPE, Scenario, ScenarioState
from planner.workspace import Workspace

__all__ = ["SAVE_ACTION", "save_plan_as_scenario", "unique_scenario_id"]

logger = logging.getLogger(__name__)

#: Audit action written when a plan is saved as a scenario.
SAVE_ACTION = "balance.save"
#: Audit action of the new scenario's account assignment (as ``assign_workspace`` logs it).
ASSIGN_ACTION = "assignment.run"


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

    The recipe: a new scenario made from the base (with the plan's
    parameters and metrics); ``unit_assignment`` from the plan (locked units flagged);
    make each of the plan's territories a leaf whose shape is the union of
    its units (a leaf of the base keeps its name, parent, type and reps; a
    new one joins the parent of the base territories most of its units came
    from); keep the hierarchy above, redrawing the shapes of parents built
    from units as the union of their leaves and dropping parents left with
    no leaf; give each territory of a plan made for reps to its rep; keep
    the overrides and targets of territories that remain; assign every
    account again (:func:`planner.assign.assign_workspace`); and log one
    audit entry. Each table gets the new scenario's rows once, after its own
    rows, and the next commit records them as inserts without comparing the
    tables. Nothing is changed when any step fails.

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
    _check_saveable(ws, assignment, base_terr, scenario_id, base_scenario_id)
    tables, dropped = _scenario_tables(ws, plan, assignment, base_terr, base_scenario_id,
                                       names or {})
    moved_units = _moved_units(ws, base_scenario_id, assignment)
    snapshot = dict(ws.tables)
    try:
        unassigned = _write_scenario(ws, plan, tables, scenario_id, name, base_scenario_id,
                                     user=user, description=description)
        ws.log(SAVE_ACTION, _log_detail(plan, base_scenario_id, moved_units, dropped, unassigned),
               user=user, scenario_id=scenario_id)
    except BaseException:
        ws.tables.clear()
        ws.tables.update(snapshot)
        raise
    logger.info("saved plan as scenario %s (%d territories, %d units moved)",
                scenario_id, assignment.nunique(), moved_units)
    return ws.scenario(scenario_id)


def _moved_units(ws: Workspace, base_scenario_id: str, assignment: pd.Series) -> int:
    """How many units the plan puts in another territory than the base scenario does."""
    base_assignment = _base_assignment(ws, base_scenario_id)
    return sum(1 for u, t in zip(assignment.index, assignment, strict=True)
               if base_assignment.get(str(u)) != t)


def _write_scenario(
    ws: Workspace,
    plan: TerritoryPlan,
    tables: Mapping[str, pd.DataFrame],
    scenario_id: str,
    name: str,
    base_scenario_id: str,
    *,
    user: str | None,
    description: str,
) -> int:
    """Add the scenario with the plan's rows and its accounts' memberships; return the
    accounts left unassigned.

    Each table gets the new rows once, after its own (nothing is copied from
    the base to be replaced), so the commit records them as inserts without
    comparing the tables. The tables, their order in the history and the
    audit entries are those of a copy of the base with the plan's rows set
    and the accounts assigned (:func:`planner.assign.assign_workspace`).
    """
    result = assign_accounts(
        ws.accounts,
        _as_rows(tables["territories"], "territories", scenario_id),
        overrides=_as_rows(tables["overrides"], "overrides", scenario_id),
        territory_types=ws.territory_types,
    )  # on the rows the scenario will hold, as assign_workspace reads them
    scenario = Scenario(
        scenario_id,
        name=name,
        state=ScenarioState.PLANNING,
        created_from=base_scenario_id,
        description=description,
        parameters=_parameters(plan, base_scenario_id),
        metrics=plan.metrics.summary(),
    )
    ws.add_scenario(scenario, user=user)
    ws.add_scenario_rows(scenario_id, {**tables, "memberships": result.memberships})
    ws.log(ASSIGN_ACTION, {"memberships": len(result.memberships),
                           "unassigned": len(result.unassigned)},
           user=user, scenario_id=scenario_id)  # fmt: skip
    return len(result.unassigned)


def _as_rows(frame: pd.DataFrame, table: str, scenario_id: str) -> pd.DataFrame:
    """``frame`` as the workspace holds it as rows of ``scenario_id`` (conformed)."""
    return conform(frame.assign(**{s.SCENARIO_ID: scenario_id}), table)


def _scenario_tables(
    ws: Workspace,
    plan: TerritoryPlan,
    assignment: pd.Series,
    base_terr: gpd.GeoDataFrame,
    base_scenario_id: str,
    names: Mapping[str, str],
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """The new scenario's rows per table, and the base territories it drops."""
    territories, dropped = _territory_rows(ws, plan, assignment, base_terr, base_scenario_id,
                                           names)
    kept = set(territories[s.TERRITORY_ID].astype(str))
    tables = {
        "territories": territories,
        "unit_assignment": plan.to_frame(),
        "associations": _association_rows(ws, plan, base_scenario_id, kept),
        **_kept_rows(ws, base_scenario_id, kept),
    }
    return tables, dropped


def _log_detail(
    plan: TerritoryPlan, base_scenario_id: str, moved_units: int, dropped: list[str],
    unassigned: int,
) -> dict[str, Any]:
    """What the audit entry of a saved plan records."""
    metrics = plan.metrics.summary()
    return {
        "base_scenario": base_scenario_id,
        "method": plan.parameters.get("method"),
        "territories": plan.assignment.astype(str).nunique(),
        "moved_units": moved_units,
        "moved_accounts": metrics.get("moved_accounts"),
        "max_abs_deviation": metrics.get("max_abs_deviation"),
        "dropped_territories": dropped,
        "unassigned_accounts": unassigned,
    }


def _check_saveable(
    ws: Workspace,
    assignment: pd.Series,
    base_terr: pd.DataFrame,
    scenario_id: str,
    base_scenario_id: str,
) -> None:
    """Refuse a taken id, units the workspace lacks, and plan territories named like parents."""
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
    clash = [t for t in sorted(set(assignment)) if t in parents and t not in base_leaves]
    if clash:
        problems.append(Problem(f"plan territories {format_ids(clash)} are parents in "
                                f"'{base_scenario_id}'",
                                fix="rename them (align_plan with reserved=the parents)"))
    if problems:
        raise InputError("the plan cannot be saved as a scenario", problems, source="plan")


def _kept_rows(ws: Workspace, base_scenario_id: str, kept: set[str]) -> dict[str, pd.DataFrame]:
    """Overrides and targets of the base scenario whose territory remains."""
    overrides = ws.rows("overrides", base_scenario_id)
    overrides = overrides[overrides[s.TERRITORY_ID].astype(str).isin(kept)]
    targets = ws.rows("targets", base_scenario_id)
    targets = targets[targets[s.TERRITORY_ID].isna() | targets[s.TERRITORY_ID].isin(kept)]
    return {"overrides": overrides, "targets": targets}


def _parameters(plan: TerritoryPlan, base_scenario_id: str) -> dict[str, Any]:
    return {**plan.parameters, "base_scenario": base_scenario_id,
            "targets": {t: round(float(v), 6) for t, v in sorted(plan.targets.items())}}


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
