"""The ``balance`` and ``audit`` commands: design or rebalance territories; audit a plan.

``planner balance`` works on a units file (``--units``, plan to ``--out``) or
a workspace (``--workspace``: the units, workload and drive hours of the
app's Balance page; ``--save-scenario`` saves the plan as a planning
scenario, ``--promote`` makes it active). A plan that misses the tolerance is
still written and saved, and the command exits 3 saying by how much and what
binds. Bad arguments are reported all at once (exit 2, also under ``--json``).
"""

from __future__ import annotations

import argparse
from typing import Any

import geopandas as gpd

from planner.access import scope_for
from planner.balance import (
    BalanceParams,
    Locks,
    TerritoryPlan,
    ToleranceNotMetError,
    design_territories,
    prepare_units,
    rebalance,
)
from planner.balance.audit import audit_plan
from planner.balance.audit_report import write_audit_report
from planner.balance.scenario import territory_owners
from planner.balance.workload import BalanceWeight
from planner.cli import add_json_flag, emit
from planner.cli.balance_args import add_balance_arguments, check_arguments, param_fields
from planner.cli.balance_files import (
    TOLERANCE_MISSED,
    budget_note,
    drive_met,
    payload,
    read_plan,
    read_reps_file,
    read_units_file,
    summary_text,
    weights,
    write_plan,
)
from planner.errors import InputError, Problem, format_ids
from planner.schema import REP_ID
from planner.services.balance_inputs import (
    DRIVE_H_PER_WEEK,
    BalanceInputs,
    balance_inputs,
    variable_options,
    workspace_network,
)
from planner.services.balance_runs import (
    REBALANCE,
    SAVE_LABEL,
    BalanceRequest,
    BalanceResult,
    field_reps,
    run_balance,
    save_balance,
)
from planner.workspace import Workspace, open_workspace

__all__ = ["TOLERANCE_MISSED", "register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``balance`` and ``audit`` commands."""
    p = sub.add_parser(
        "balance",
        help="split units into balanced contiguous territories, or rebalance a plan",
        description="Design K contiguous territories of even workload, or rebalance an "
        "existing plan moving at most --max-moved accounts. From a units file (--units; "
        "--baseline to rebalance; the plan is written to --out) or from a workspace "
        "(--workspace: the units, workload and drive hours of the app's Balance page; "
        "--save-scenario NAME saves the plan as a planning scenario, --promote makes it "
        f"active). A plan that misses the tolerance is still written; the exit code is then "
        f"{TOLERANCE_MISSED}.",
    )
    add_balance_arguments(p)
    add_json_flag(p)
    p.set_defaults(handler=_balance)
    _register_audit(sub)


def _register_audit(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``audit`` command: the plan beside an ensemble of valid plans."""
    p = sub.add_parser(
        "audit",
        help="place a plan among an ensemble of valid plans (fairness audit)",
        description="Sample plans valid under the same rules with a ReCom chain "
        "(contiguous, every territory within the tolerance of its target, within the workload "
        "bounds, kept territories as they are, no unit beyond a hard drive limit) and show "
        "where the plan sits on each metric. Writes histograms with the plan marked "
        "(--report .html) or the ensemble (--report .csv).",
    )
    p.add_argument("--units", required=True, help="units file (GeoPackage, GeoJSON, Shapefile)")
    p.add_argument("--plan", required=True, help="plan: CSV unit_id,territory_id or JSON map")
    p.add_argument(
        "--weight",
        required=True,
        action="append",
        metavar="COLUMN[=W]",
        help="balanced column(s), as for planner balance",
    )
    p.add_argument(
        "--tolerance",
        type=float,
        help="tolerance of the ensemble (default: the plan's own, at least 0.02)",
    )
    p.add_argument("--plans", type=int, default=1000, help="plans to sample (1000)")
    p.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="COLUMN",
        help="further column whose spread is compared, e.g. revenue (repeatable)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument(
        "--baseline",
        help="the plan before (CSV unit_id,territory_id or JSON): also compare what each "
        "plan moves away from it",
    )
    p.add_argument(
        "--moved-column",
        help="units' column counting what moves (default account_count when present, else units)",
    )
    p.add_argument("--id-column", help="units' id column")
    p.add_argument("--layer", help="layer of a GeoPackage")
    p.add_argument("--report", help="report file to write: .html or .csv")
    _add_audit_rules(p)
    add_json_flag(p)
    p.set_defaults(handler=_audit)


def _add_audit_rules(p: argparse.ArgumentParser) -> None:
    """The plan's rules the ensemble keeps too (as for planner balance)."""
    rules = p.add_argument_group("the plan's rules, kept by every sampled plan")
    rules.add_argument("--reps", help="reps file: targets follow capacity_h_per_week (territory "
                       "ids are rep ids); homes for --max-drive-h")
    rules.add_argument("--min-workload", type=float, help="smallest workload of a territory")
    rules.add_argument("--max-workload", type=float, help="largest workload of a territory")
    rules.add_argument("--max-drive-h", type=float, metavar="HOURS",
                       help="hard drive limit from each rep's home (needs --reps)")
    rules.add_argument("--drive-limit", default="hard",
                       help="hard (kept by every sampled plan) or soft (not a rule)")
    rules.add_argument("--keep", action="append", default=[], metavar="TERRITORY",
                       help="a territory kept as it is (repeatable)")


def _audit_params(args: argparse.Namespace, plan: Any, weight: Any) -> BalanceParams | None:
    """The plan's rules from the flags (``None`` when none is given)."""
    given = (args.min_workload, args.max_workload, args.max_drive_h)
    if all(v is None for v in given) and not args.keep:
        return None
    locks = Locks.keep_territories(plan, args.keep) if args.keep else Locks()
    return BalanceParams(
        weight=weight, tolerance=0.02 if args.tolerance is None else args.tolerance,
        min_workload=args.min_workload, max_workload=args.max_workload,
        max_drive_h=args.max_drive_h, drive_limit=args.drive_limit, locked=locks)


def _audit(args: argparse.Namespace) -> int:
    """Sample the ensemble, print the plan's rank on each metric, write the report."""
    units = prepare_units(read_units_file(args.units, args.id_column, args.layer))
    plan = read_plan(args.plan)
    weight = weights(args.weight)
    result = audit_plan(
        units,
        plan,
        weight=weight,
        params=_audit_params(args, plan, weight),
        reps=read_reps_file(args.reps) if args.reps else None,
        tolerance=args.tolerance,
        n_plans=args.plans,
        columns=args.column,
        seed=args.seed,
        baseline=read_plan(args.baseline) if args.baseline else None,
        moved_column=args.moved_column,
    )
    if args.report:
        write_audit_report(result, args.report)
    ranks = result.ranks()
    lines = [
        f"{len(result.ensemble)} plans sampled (ReCom, tolerance {result.tolerance:.2%}, "
        f"{result.runtime_s:.1f} s); every one keeps: " + "; ".join(result.rules_text())
    ]
    lines += [
        f"  {r['metric']}: plan {r['plan']:.4g}, ensemble median "
        f"{r['ensemble_median']:.4g} [{r['ensemble_min']:.4g}, {r['ensemble_max']:.4g}], "
        f"as good as {r['as_good_as_share']:.0%} ({r['better']} is better)"
        for r in ranks.to_dict(orient="records")
    ]
    if args.report:
        lines.append(f"wrote {args.report}")
    emit(args, {"ok": True, "report": args.report, **result.to_dict()}, "\n".join(lines))
    return 0


def _balance(args: argparse.Namespace) -> int:
    """Design or rebalance; the plan is always written, a missed tolerance exits 3."""
    check_arguments(args)
    if args.workspace:
        return _balance_workspace(args)
    return _balance_units(args)


def _balance_units(args: argparse.Namespace) -> int:
    """Balance a units file; write the plan to --out."""
    weight = weights(args.weight)
    units = prepare_units(
        read_units_file(args.units, args.id_column, args.layer), contiguity=args.contiguity
    )
    reps = read_reps_file(args.reps) if args.reps else None
    missed: str | None = None
    if args.baseline:
        plan = _rebalance(args, units, weight, reps)
        if plan.metrics.max_abs_deviation > args.tolerance + 1e-12 or not drive_met(plan):
            missed = budget_note(plan, args)
    else:
        params = BalanceParams(weight=weight, **param_fields(args))
        try:
            plan = design_territories(units, params, reps=reps)
        except ToleranceNotMetError as exc:
            plan = exc.plan
            missed = str(exc).replace(" The best plan is attached as .plan.", "")
    write_plan(plan, args.out)
    emit(args, payload(plan, args, missed), summary_text(plan, args, missed))
    return TOLERANCE_MISSED if missed else 0


def _balance_workspace(args: argparse.Namespace) -> int:
    """Balance a workspace's scenario; write --out, save (and promote) the plan as asked."""
    ws = open_workspace(args.workspace)
    if args.user:
        scope_for(ws, args.user).require("manage_scenarios")
    sid = args.scenario or ws.active_scenario_id()
    ws.scenario(sid)  # an unknown scenario is an InputError naming it
    inputs, request, notes = _workspace_request(ws, sid, args)
    result = run_balance(ws, sid, inputs, request)
    missed = result.missed
    if result.request.mode == REBALANCE and (missed is not None or not drive_met(result.plan)):
        missed = budget_note(result.plan, args)
    if args.out:
        write_plan(result.plan, args.out)
    saved = _save(ws, sid, result, args, missed, notes)
    data = {**payload(result.plan, args, missed), **saved, "scenario": sid, "notes": notes}
    lines = [summary_text(result.plan, args, missed, head=_head(args, sid, saved))]
    lines += [f"  note: {n}" for n in notes]
    emit(args, data, "\n".join(lines))
    return TOLERANCE_MISSED if missed else 0


def _workspace_request(
    ws: Workspace, sid: str, args: argparse.Namespace
) -> tuple[BalanceInputs, BalanceRequest, list[str]]:
    """The workspace's balance inputs, the request (its weight checked) and notes for the user."""
    weight = weights(args.weight) if args.weight else None
    names = [] if weight is None else ([weight] if isinstance(weight, str) else list(weight))
    drive = DRIVE_H_PER_WEEK in names  # estimated only when asked for: it takes a while
    network, why = workspace_network(ws) if drive else (None, None)
    inputs = balance_inputs(ws, sid if drive else None, network=network, contiguity=args.contiguity)
    variables = variable_options(inputs.units)
    unknown = [n for n in names if n not in variables]
    if unknown:
        why_not = f" ({inputs.drive_error})" if inputs.drive_error else ""
        raise InputError(
            "bad --weight value",
            [
                Problem(
                    f"'{n}' cannot be balanced in this workspace{why_not}",
                    column="--weight",
                    fix=f"choose from {', '.join(variables)}",
                )
                for n in unknown
            ],
        )
    chosen: BalanceWeight = weight if weight is not None else next(iter(variables))
    request = BalanceRequest(
        mode=args.mode,
        params=BalanceParams(weight=chosen, **param_fields(args)),
        keep=tuple(args.keep),
        reps=_workspace_reps(ws, sid, args.on_reps),
    )
    notes = [n for n in (why, inputs.drive_note if drive else None) if n]
    if inputs.outside:
        notes.append(f"{inputs.outside} accounts lie outside every unit and are left out")
    return inputs, request, notes


def _workspace_reps(ws: Workspace, sid: str, picked: list[str] | None) -> gpd.GeoDataFrame | None:
    """The field reps to centre territories on (``None``: no --on-reps)."""
    if picked is None:
        return None
    staff = field_reps(ws)
    homes = staff[staff.geometry.notna() & ~staff.geometry.is_empty]
    ids = homes[REP_ID].astype(str)
    wanted = picked or sorted(set(territory_owners(ws, sid).values()) & set(ids))
    unknown = sorted(set(wanted) - set(ids))
    if unknown or not wanted:
        raise InputError(
            "bad --on-reps value",
            [
                Problem(
                    f"reps {format_ids(unknown)} are no field reps with a home"
                    if unknown
                    else f"no field rep with a home owns a territory of scenario '{sid}'",
                    column="--on-reps",
                    fix=f"name reps from {format_ids(sorted(ids)) or 'none'}",
                )
            ],
        )
    return homes[ids.isin(wanted).to_numpy()]


def _save(
    ws: Workspace,
    sid: str,
    result: BalanceResult,
    args: argparse.Namespace,
    missed: str | None,
    notes: list[str],
) -> dict[str, Any]:
    """Save the plan as a scenario (one change), then promote it (another) when asked."""
    if not args.save_scenario:
        return {"saved_as": None, "promoted": False, "version": None}
    scenario = save_balance(
        ws, result, base_scenario_id=sid, name=args.save_scenario, user=args.user
    )
    new_id = scenario.scenario_id
    change = ws.commit(SAVE_LABEL, user=args.user, scenario_id=new_id, cause="balance")
    promoted = False
    if args.promote and missed is not None:
        notes.append(
            f"not promoted: the plan misses the tolerance (promote it anyway with "
            f"planner promote {new_id} --workspace {args.workspace})"
        )
    elif args.promote:
        ws.promote(new_id, user=args.user)
        change = ws.commit(f"promote scenario {new_id}", user=args.user, scenario_id=new_id)
        promoted = True
    return {
        "saved_as": new_id,
        "promoted": promoted,
        "version": None if change is None else change.version,
    }


def _head(args: argparse.Namespace, sid: str, saved: dict[str, Any]) -> str:
    """The first line of the text output of a workspace run."""
    parts = [f"balanced scenario {sid} of {args.workspace}"]
    if args.out:
        parts.append(f"wrote {args.out}")
    if saved["saved_as"]:
        state = "active" if saved["promoted"] else "planning"
        parts.append(f"saved as {state} scenario {saved['saved_as']}")
    return "; ".join(parts)


def _rebalance(args: argparse.Namespace, units: Any, weight: Any, reps: Any) -> TerritoryPlan:
    baseline = read_plan(args.baseline)
    k_base = baseline.nunique()
    if args.territories is not None and args.territories != k_base:
        raise InputError(
            f"--territories {args.territories} but the baseline has {k_base}",
            [
                Problem(
                    "rebalancing keeps the baseline's territories",
                    fix="leave --territories out with --baseline",
                )
            ],
        )
    locks = Locks.keep_territories(baseline, args.keep) if args.keep else None
    fields = {**param_fields(args), "k": None, "min_workload": None, "max_workload": None}
    params = BalanceParams(weight=weight, locked=locks or Locks(), **fields)
    return rebalance(units, baseline, params, reps=reps)
