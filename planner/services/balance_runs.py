"""Balancing a workspace's scenario and saving the plan as a new scenario.

The workflow the Balance page and ``planner balance --workspace`` share::

    inputs = balance_inputs(ws, "2026-plan")
    request = BalanceRequest(mode="design", params=BalanceParams(weight="workload_h", k=4))
    result = run_balance(ws, "2026-plan", inputs, request)    # plan, tolerance met or not
    scenario = save_balance(ws, result, base_scenario_id="2026-plan", name="Even four")
    ws.commit(SAVE_LABEL)

A design replacing a scenario's territories is matched to them (each new
territory takes the id, name and rep of the old one it overlaps most), so a
comparison shows what really moves; a rebalance starts from the scenario's
own unit assignment. Kept territories stay exactly as they are.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import geopandas as gpd
import pandas as pd

from planner import schema as s
from planner.balance import (
    BalanceParams,
    TerritoryPlan,
    ToleranceNotMetError,
    TradeoffCurve,
    design_territories,
    rebalance,
    tradeoff_curve,
)
from planner.balance.scenario import (
    align_plan,
    keep_territories_locks,
    save_plan_as_scenario,
    scenario_assignment,
    territory_owners,
    unique_scenario_id,
)
from planner.errors import InputError, Problem, format_ids
from planner.hierarchy import leaves
from planner.models import Scenario
from planner.progress import Progress, no_progress
from planner.services.balance_inputs import BalanceInputs, home_drive_hours, workspace_network
from planner.services.rep_accounts import territory_homes
from planner.workspace import Workspace

__all__ = [
    "DESIGN",
    "MODES",
    "REBALANCE",
    "SAVE_LABEL",
    "BalanceMode",
    "BalanceRequest",
    "BalanceResult",
    "default_scenario_name",
    "field_reps",
    "reps_by_territory",
    "run_balance",
    "save_balance",
]

#: Design territories from scratch, or rebalance the scenario's own.
BalanceMode = Literal["design", "rebalance"]
DESIGN: BalanceMode = "design"
REBALANCE: BalanceMode = "rebalance"
#: What the user reads for each mode.
MODES: dict[str, str] = {DESIGN: "Design from scratch", REBALANCE: "Rebalance this scenario"}
#: The history label of saving a plan as a scenario.
SAVE_LABEL = "save balance plan as scenario"


@dataclass(frozen=True, eq=False)
class BalanceRequest:
    """What a balancing run of a workspace's scenario is asked to do.

    Parameters
    ----------
    mode
        ``"design"`` from scratch or ``"rebalance"`` the scenario's territories.
    params
        What to balance and how (:class:`~planner.balance.BalanceParams`);
        with ``keep``, its ``locked`` is replaced by the kept territories.
    keep
        Territories of the scenario kept exactly as they are.
    reps
        Design only: one territory per rep, around the rep's home (``k`` is
        then the number of reps).
    curve
        Rebalance only: also trace the trade-off curve (deviation against
        accounts moved) under the same settings.

    Raises
    ------
    InputError
        Naming every argument that does not fit the mode, at once.
    """

    mode: BalanceMode
    params: BalanceParams
    keep: tuple[str, ...] = ()
    reps: gpd.GeoDataFrame | None = None
    curve: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "keep", tuple(str(t) for t in self.keep))
        problems = _request_problems(self)
        if problems:
            raise InputError("the balance request is invalid", problems, source="request")


def _request_problems(r: BalanceRequest) -> list[Problem]:
    out: list[Problem] = []
    p = r.params
    if r.mode not in MODES:
        out.append(
            Problem(
                f"mode must be 'design' or 'rebalance', not {r.mode!r}",
                column="mode",
                fix="pass mode='design' or mode='rebalance'",
            )
        )
    if r.mode == DESIGN and (p.max_moved_accounts is not None or p.max_moved_share is not None):
        out.append(
            Problem(
                "a move budget only applies to a rebalance",
                column="max_moved",
                fix="leave the move budget out, or rebalance",
            )
        )
    if r.mode == DESIGN and r.curve:
        out.append(
            Problem(
                "the trade-off curve is traced for a rebalance",
                column="curve",
                fix="leave the curve out, or rebalance",
            )
        )
    if r.mode == REBALANCE and p.k is not None:
        out.append(
            Problem(
                "a rebalance keeps the scenario's territories",
                column="k",
                fix="leave the number of territories out",
            )
        )
    if r.mode == REBALANCE and (p.min_workload is not None or p.max_workload is not None):
        out.append(
            Problem(
                "workload bounds apply to a design",
                column="min_workload",
                fix="leave them out, or design from scratch",
            )
        )
    if r.mode == DESIGN and r.reps is None and (
        p.max_drive_h is not None or p.compactness == "drive"
    ):
        out.append(
            Problem(
                "a design with a drive limit or drive compactness needs the reps",
                column="max_drive_h",
                fix="centre the territories on the reps' homes, or leave the drive limit out",
            )
        )
    if r.mode == DESIGN and p.k is None and r.reps is None:
        out.append(
            Problem(
                "a design needs a number of territories or reps",
                column="k",
                fix="give k, e.g. 4, or the reps to centre territories on",
            )
        )
    return out


@dataclass(frozen=True, eq=False)
class BalanceResult:
    """A plan for a workspace's scenario, ready to show or save.

    Parameters
    ----------
    plan
        The plan, its territories named after the scenario's where they match.
    request
        What was asked.
    tolerance_met
        Whether every territory is within the tolerance.
    elapsed_s
        Wall-clock time of the run.
    curve
        The trade-off curve of a rebalance, when asked for.
    missed
        When the tolerance was missed: by how much and what binds.
    """

    plan: TerritoryPlan
    request: BalanceRequest
    tolerance_met: bool
    elapsed_s: float
    curve: TradeoffCurve | None = None
    missed: str | None = None
    notes: list[str] = field(default_factory=list)


def field_reps(ws: Workspace) -> gpd.GeoDataFrame:
    """Return the workspace's field reps (role ``rep``)."""
    reps = ws.reps
    return reps[(reps[s.ROLE].astype(str) == "rep").to_numpy()]


def run_balance(
    ws: Workspace,
    scenario_id: str,
    inputs: BalanceInputs,
    request: BalanceRequest,
    *,
    progress: Progress | None = None,
) -> BalanceResult:
    """Design or rebalance the territories of ``scenario_id`` on the workspace's units.

    A missed tolerance is not an error: the best plan comes back with
    ``tolerance_met=False`` and ``missed`` saying by how much and why.

    Raises
    ------
    InputError
        If a kept territory is not a territory of the scenario, or a
        rebalance is asked of a scenario without territories.
    planner.errors.InfeasibleError
        If the design cannot meet the tolerance at all (a unit heavier than
        a target allows...), naming what would make it feasible.
    """
    started = time.perf_counter()
    report = progress or no_progress
    base_terr = ws.territories(scenario_id)
    leaf_ids = [str(t) for t in leaves(base_terr)] if len(base_terr) else []
    _check_scenario(request, scenario_id, leaf_ids)
    baseline = scenario_assignment(ws, scenario_id) if leaf_ids else None
    drive = _drive_hours(ws, scenario_id, inputs, request)
    if request.mode == DESIGN:
        plan, missed = _design(ws, scenario_id, inputs, request, (baseline, leaf_ids), report,
                               drive)
        curve = None
    else:
        assert baseline is not None  # checked above
        owners = territory_owners(ws, scenario_id) if request.reps is not None else {}
        plan, missed, curve = _rebalance(inputs, request, baseline, report, drive, owners)
    return BalanceResult(
        plan, request, missed is None, time.perf_counter() - started, curve=curve, missed=missed
    )


def _drive_hours(
    ws: Workspace, scenario_id: str, inputs: BalanceInputs, request: BalanceRequest
) -> pd.DataFrame | None:
    """Drive hours from the reps' homes (design) or the territories' owners' (rebalance).

    On the road network saved beside the workspace when there is one, else
    estimated; ``None`` when no drive limit or drive compactness is asked for.
    """
    p = request.params
    if p.max_drive_h is None and p.compactness != "drive":
        return None
    if request.mode == DESIGN and request.reps is not None:  # territories named by rep
        pts = request.reps.to_crs(s.STORAGE_CRS).geometry
        homes = {str(r): (float(g.y), float(g.x))
                 for r, g in zip(request.reps[s.REP_ID], pts, strict=True)}
    else:
        homes = territory_homes(ws, scenario_id, on=date.today())
    network, _why = workspace_network(ws)
    hours, _method = home_drive_hours(inputs.prepared, homes, network=network)
    return hours


def _check_scenario(request: BalanceRequest, scenario_id: str, leaf_ids: Sequence[str]) -> None:
    problems = []
    if request.mode == REBALANCE and not leaf_ids:
        problems.append(
            Problem(
                f"scenario '{scenario_id}' has no territories to rebalance",
                column="scenario",
                fix="design territories from scratch first",
            )
        )
    unknown = sorted(set(request.keep) - set(leaf_ids))
    if unknown:
        problems.append(
            Problem(
                f"territories {format_ids(unknown)} are not territories "
                f"(leaves) of scenario '{scenario_id}'",
                column="keep",
                fix=f"keep some of {format_ids(sorted(leaf_ids)) or 'none'}",
            )
        )
    if problems:
        raise InputError("the scenario cannot be balanced as asked", problems, source="request")


def _design(
    ws: Workspace,
    scenario_id: str,
    inputs: BalanceInputs,
    request: BalanceRequest,
    base: tuple[pd.Series | None, Sequence[str]],
    report: Progress,
    drive: pd.DataFrame | None = None,
) -> tuple[TerritoryPlan, str | None]:
    """Design, then name the territories after the scenario's they overlap most.

    ``base`` is the scenario's unit assignment (``None`` without territories)
    and its leaf territories.
    """
    baseline, leaf_ids = base
    owner_of = territory_owners(ws, scenario_id)
    reps = request.reps
    locks = None
    if request.keep and baseline is not None:
        labels = owner_of if reps is not None else None
        locks = keep_territories_locks(baseline, request.keep, labels=labels)
    params = request.params if locks is None else request.params.with_(locked=locks)
    missed = None
    try:
        plan = design_territories(inputs.prepared, params, reps=reps, progress=report,
                                  drive_hours=drive)
    except ToleranceNotMetError as exc:
        plan = exc.plan
        missed = str(exc).replace(" The best plan is attached as .plan.", "")
    if baseline is None:
        return plan, missed
    base_ids = ws.territories(scenario_id)[s.TERRITORY_ID].astype(str)
    reserved = [t for t in base_ids if t not in set(leaf_ids)]  # parents keep their ids
    rep_owned = {r: t for t, r in owner_of.items()}
    fixed = (
        {r: rep_owned[r] for r in plan.territories if r in rep_owned} if reps is not None else None
    )
    plan = align_plan(plan, inputs.prepared, baseline, fixed=fixed, reserved=reserved, reps=reps)
    return plan, missed


def reps_by_territory(
    reps: gpd.GeoDataFrame, owners: Mapping[str, str], territories: Sequence[str]
) -> gpd.GeoDataFrame:
    """The reps re-keyed by the territory each owns: a rebalance's capacity targets.

    Raises
    ------
    InputError
        Naming the territories without an owner among ``reps``.
    """
    by_rep = reps.set_index(reps[s.REP_ID].astype(str), drop=False)
    missing = sorted(t for t in territories if owners.get(t) not in by_rep.index)
    if missing:
        raise InputError(
            "targets by capacity need an owner with a capacity for every territory",
            [Problem(f"territories {format_ids(missing)} have no owner among the reps",
                     column="reps", fix="staff them on the Team page, or use equal targets")],
            source="request",
        )  # fmt: skip
    ordered = sorted(territories)
    rows = by_rep.loc[[owners[t] for t in ordered]].reset_index(drop=True)
    rows[s.REP_ID] = ordered
    return gpd.GeoDataFrame(rows, geometry=reps.geometry.name, crs=reps.crs)


def _rebalance(
    inputs: BalanceInputs, request: BalanceRequest, baseline: pd.Series, report: Progress,
    drive: pd.DataFrame | None = None, owners: Mapping[str, str] | None = None,
) -> tuple[TerritoryPlan, str | None, TradeoffCurve | None]:
    """Rebalance from the scenario's assignment (and trace the curve when asked).

    With ``request.reps``, each territory's target follows its owner's capacity.
    """
    p = request.params
    if request.keep:
        p = p.with_(locked=keep_territories_locks(baseline, request.keep))
    reps = None
    if request.reps is not None:
        territories = sorted(set(baseline.astype(str)))
        reps = reps_by_territory(request.reps, owners or {}, territories)
    plan = rebalance(inputs.prepared, baseline, p, reps=reps, progress=report, drive_hours=drive)
    missed = None
    drive_kept = bool((plan.parameters.get("drive") or {}).get("met", True))
    if not bool(plan.parameters.get("tolerance_met", True)) or not drive_kept:
        missed = budget_note(plan, p)
    curve = None
    if request.curve:
        report(0.0, "Tracing the trade-off curve…")
        curve = tradeoff_curve(  # the same rules as the plan: it lies on the curve or above
            inputs.prepared, baseline, p, reps=reps, drive_hours=drive, progress=report)
    return plan, missed, curve


def budget_note(plan: TerritoryPlan, params: BalanceParams) -> str:
    """Say by how much a rebalance missed the tolerance and what binds."""
    m = plan.metrics
    binds = (
        "the move budget binds (allow more accounts to move)"
        if params.max_moved_accounts is not None or params.max_moved_share is not None
        else "the units are too coarse or the kept territories too many"
    )
    drive = plan.parameters.get("drive") or {}
    if drive and not drive["met"]:
        binds += (f"; {drive['units_beyond']} units stay beyond the drive limit of "
                  f"{drive['max_drive_h']:g} h")
    if drive.get("binds"):
        binds += f"; the drive limit binds territories {format_ids(drive['binds'])}"
    return (
        f"the best plan found is {m.max_abs_deviation:.2%} from target at worst, outside "
        f"the tolerance of {params.tolerance:.2%}: {binds}"
    )


def default_scenario_name(result: BalanceResult, base: Scenario) -> str:
    """Return the name a saved plan gets unless the user gives one."""
    if result.request.mode == DESIGN:
        return f"Designed: {result.plan.metrics.n_territories} territories"
    return f"Rebalanced {base.name or base.scenario_id}"


def save_balance(
    ws: Workspace,
    result: BalanceResult,
    *,
    base_scenario_id: str,
    name: str | None = None,
    user: str | None = None,
) -> Scenario:
    """Save a run's plan as a new planning scenario made from ``base_scenario_id``.

    The scenario's id is made from its name (``unique_scenario_id``); the
    change is in ``ws`` (commit it, e.g. ``ws.commit(SAVE_LABEL)``).
    """
    base = ws.scenario(base_scenario_id)
    label = name or default_scenario_name(result, base)
    mode = result.request.mode
    return save_plan_as_scenario(
        ws,
        result.plan,
        scenario_id=unique_scenario_id(ws, label),
        name=label,
        base_scenario_id=base_scenario_id,
        user=user,
        description=f"{MODES.get(mode, mode)} of {base.name or base_scenario_id}",
    )
