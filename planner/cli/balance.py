"""The ``balance`` and ``audit`` commands: design or rebalance territories; audit a plan."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd

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
from planner.cli import add_json_flag, emit
from planner.errors import InputError, Problem

__all__ = ["TOLERANCE_MISSED", "register"]

#: Exit code when the plan is written but misses the tolerance (errors exit 2).
TOLERANCE_MISSED = 3


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``balance`` command."""
    p = sub.add_parser(
        "balance",
        help="split units into balanced contiguous territories, or rebalance a plan",
        description="Design K contiguous territories of even workload from a units file "
        "(polygons with a workload column), or, with --baseline, rebalance an existing plan "
        "moving at most --max-moved accounts. Writes unit_id -> territory_id to --out.",
    )
    p.add_argument("--units", required=True, help="units file (GeoPackage, GeoJSON, Shapefile)")
    p.add_argument(
        "--weight",
        required=True,
        action="append",
        metavar="COLUMN[=W]",
        help="column to balance; repeat as COLUMN=W to balance several with weights",
    )
    p.add_argument("--territories", "-k", type=int, help="number of territories")
    p.add_argument("--tolerance", type=float, default=0.02, help="accepted deviation (0.02)")
    p.add_argument(
        "--min-workload",
        type=float,
        help="smallest workload of any territory (one --weight column; design)",
    )
    p.add_argument(
        "--max-workload",
        type=float,
        help="largest workload of any territory (one --weight column; design)",
    )
    p.add_argument(
        "--contiguity",
        choices=["rook", "queen"],
        default="rook",
        help="adjacency of units (rook: shared border; queen: corners count)",
    )
    p.add_argument(
        "--reps",
        help="reps file: rep_id and home points (or home_latitude/"
        "home_longitude columns in a CSV), optional capacity_h_per_week",
    )
    p.add_argument("--baseline", help="plan to rebalance: CSV unit_id,territory_id or JSON map")
    p.add_argument("--max-moved", type=int, help="most accounts that may move (rebalance)")
    p.add_argument("--max-moved-share", type=float, help="most accounts that may move, as a share")
    p.add_argument(
        "--keep",
        action="append",
        default=[],
        metavar="TERRITORY",
        help="keep a baseline territory exactly as it is (repeatable)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--id-column", help="units' id column (guessed: unit_id, id, GEOID, FIPS...)")
    p.add_argument("--layer", help="layer of a GeoPackage (a workspace file: its units)")
    p.add_argument(
        "--best-effort",
        action="store_true",
        help="kept for old scripts: a missed tolerance always writes the best plan "
        f"and exits {TOLERANCE_MISSED}",
    )
    p.add_argument("--out", required=True, help="plan file to write: .csv or .json")
    add_json_flag(p)
    p.set_defaults(handler=_balance)
    _register_audit(sub)


def _register_audit(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``audit`` command: the plan beside an ensemble of valid plans."""
    p = sub.add_parser(
        "audit",
        help="place a plan among an ensemble of valid plans (fairness audit)",
        description="Sample plans valid under the same rules with GerryChain's ReCom chain "
        "(contiguous, every territory within the tolerance) and show where the plan sits on "
        "each metric. Writes histograms with the plan marked (--report .html) or the "
        "ensemble (--report .csv).",
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
    p.add_argument("--id-column", help="units' id column")
    p.add_argument("--layer", help="layer of a GeoPackage")
    p.add_argument("--report", help="report file to write: .html or .csv")
    add_json_flag(p)
    p.set_defaults(handler=_audit)


def _audit(args: argparse.Namespace) -> int:
    """Sample the ensemble, print the plan's rank on each metric, write the report."""
    units = prepare_units(_read_units(args.units, args.id_column, args.layer))
    result = audit_plan(
        units,
        _read_plan(args.plan),
        weight=_weights(args.weight),
        tolerance=args.tolerance,
        n_plans=args.plans,
        columns=args.column,
        seed=args.seed,
    )
    if args.report:
        write_audit_report(result, args.report)
    ranks = result.ranks()
    lines = [
        f"{len(result.ensemble)} plans sampled (ReCom, tolerance {result.tolerance:.2%}, "
        f"{result.runtime_s:.1f} s)"
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


def _weights(items: list[str]) -> str | dict[str, float]:
    if len(items) == 1 and "=" not in items[0]:
        return items[0]
    out: dict[str, float] = {}
    bad = []
    for item in items:
        col, _, w = item.partition("=")
        try:
            out[col] = float(w) if w else 1.0
        except ValueError:
            bad.append(item)
    if bad:
        raise InputError(
            "bad --weight value",
            [
                Problem(f"'{b}' is not COLUMN=NUMBER", fix="write --weight workload_h=2")
                for b in bad
            ],
        )
    return out


def _read_units(path: str, id_column: str | None, layer: str | None) -> Any:
    """Read units with the validating reader; a workspace file gives its ``units`` layer."""
    import pyogrio

    from planner.geo.io import read_units

    if not Path(path).exists():
        raise InputError(
            f"units file {path} does not exist",
            [Problem(f"no file {path}", fix="give the path of a units file or a workspace .gpkg")],
        )
    if layer is None and path.lower().endswith(".gpkg"):
        layers = {str(name) for name, _ in pyogrio.list_layers(path)}
        if "units" in layers:
            layer = "units"
    return read_units(path, id_column=id_column, layer=layer)


def _read_reps(path: str) -> Any:
    import geopandas as gpd

    from planner.schema import HOME_LATITUDE, HOME_LONGITUDE, STORAGE_CRS

    if not Path(path).exists():
        raise InputError(f"reps file {path} does not exist")
    if path.lower().endswith(".csv"):
        frame = pd.read_csv(path)
        missing = [c for c in (HOME_LATITUDE, HOME_LONGITUDE) if c not in frame.columns]
        if missing:
            raise InputError(
                "reps have no home coordinates",
                [
                    Problem(
                        f"columns {', '.join(missing)} are missing",
                        fix="add home_latitude and home_longitude",
                    )
                ],
                source=path,
            )
        return gpd.GeoDataFrame(
            frame,
            geometry=gpd.points_from_xy(frame[HOME_LONGITUDE], frame[HOME_LATITUDE]),
            crs=STORAGE_CRS,
        )
    return gpd.read_file(path)


def _read_plan(path: str) -> pd.Series:
    from planner.schema import TERRITORY_ID, UNIT_ID

    if not Path(path).exists():
        raise InputError(f"plan file {path} does not exist")
    if path.lower().endswith(".json"):
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return pd.Series({str(k): str(v) for k, v in data.items()})
    frame = pd.read_csv(path, dtype=str)
    missing = [c for c in (UNIT_ID, TERRITORY_ID) if c not in frame.columns]
    if missing:
        raise InputError(
            "the plan file lacks columns",
            [
                Problem(
                    f"columns {', '.join(missing)} are missing",
                    fix="write unit_id,territory_id rows",
                )
            ],
            source=path,
        )
    return pd.Series(frame[TERRITORY_ID].to_numpy(), index=frame[UNIT_ID].to_numpy())


def _write_plan(plan: Any, path: str) -> None:
    if path.lower().endswith(".json"):
        data = {str(u): str(t) for u, t in plan.assignment.items()}
        Path(path).write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    else:
        plan.to_frame().to_csv(path, index=False)


def _balance(args: argparse.Namespace) -> int:
    """Design or rebalance; the plan is always written, a missed tolerance exits 3."""
    weight = _weights(args.weight)
    units = prepare_units(
        _read_units(args.units, args.id_column, args.layer), contiguity=args.contiguity
    )
    reps = _read_reps(args.reps) if args.reps else None
    missed: str | None = None
    if args.baseline:
        plan = _rebalance(args, units, weight, reps)
        if plan.metrics.max_abs_deviation > args.tolerance + 1e-12:
            missed = _budget_note(plan, args)
    else:
        if args.max_moved is not None or args.keep:
            raise InputError("--max-moved and --keep need --baseline")
        params = BalanceParams(
            weight=weight,
            k=args.territories,
            tolerance=args.tolerance,
            seed=args.seed,
            contiguity=args.contiguity,
            min_workload=args.min_workload,
            max_workload=args.max_workload,
        )
        try:
            plan = design_territories(units, params, reps=reps)
        except ToleranceNotMetError as exc:
            plan = exc.plan
            missed = str(exc).replace(" The best plan is attached as .plan.", "")
    _write_plan(plan, args.out)
    emit(args, _payload(plan, args, missed), _text(plan, args, missed))
    return TOLERANCE_MISSED if missed else 0


def _rebalance(args: argparse.Namespace, units: Any, weight: Any, reps: Any) -> TerritoryPlan:
    baseline = _read_plan(args.baseline)
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
    return rebalance(
        units,
        baseline,
        weight=weight,
        tolerance=args.tolerance,
        max_moved_accounts=args.max_moved,
        max_moved_share=args.max_moved_share,
        locked=locks,
        reps=reps,
        seed=args.seed,
        contiguity=args.contiguity,
    )


def _budget_note(plan: TerritoryPlan, args: argparse.Namespace) -> str:
    m = plan.metrics
    binds = (
        "the move budget binds (raise --max-moved or --max-moved-share)"
        if args.max_moved is not None or args.max_moved_share is not None
        else "the units are too coarse or the locks too tight"
    )
    return (
        f"the best plan found is {m.max_abs_deviation:.2%} from target at worst, outside "
        f"the tolerance of {args.tolerance:.2%}: {binds}"
    )


def _payload(plan: TerritoryPlan, args: argparse.Namespace, missed: str | None) -> dict[str, Any]:
    m = plan.metrics
    return {
        "ok": missed is None,
        "out": args.out,
        "tolerance_met": missed is None,
        "missed_by": max(0.0, m.max_abs_deviation - args.tolerance),
        "message": missed,
        "parameters": plan.parameters,
        "metrics": m.to_dict(),
    }


def _text(plan: TerritoryPlan, args: argparse.Namespace, missed: str | None) -> str:
    m = plan.metrics
    text = [
        f"wrote {args.out}: {m.n_territories} territories, {len(plan.assignment)} units",
        f"  max deviation {m.max_abs_deviation:.2%}, mean {m.mean_abs_deviation:.2%} "
        f"(tolerance {args.tolerance:.2%})",
        f"  contiguous: {'yes' if m.all_contiguous else 'no: ' + ', '.join(m.noncontiguous)}",
        f"  Polsby-Popper mean {m.polsby_popper_mean:.3f}, min {m.polsby_popper_min:.3f}",
    ]
    if m.home_distance_mean_km is not None:
        text.append(
            f"  distance to rep home: mean {m.home_distance_mean_km:.1f} km, "
            f"max {m.home_distance_max_km:.1f} km"
        )
    if m.bridges:
        names = ", ".join(f"{b.unit_a}-{b.unit_b} ({b.gap_m / 1000:.1f} km)" for b in m.bridges)
        text.append(f"  islands bridged (counted as touching): {names}")
    if m.disruption is not None:
        d = m.disruption
        moved = f"{d.moved_accounts} accounts in " if d.moved_accounts is not None else ""
        text.append(
            f"  moved from baseline: {moved}{d.moved_units} units, "
            f"{d.moved_workload_share:.1%} of workload"
        )
    if missed:
        text.append(
            f"  tolerance NOT met, by {m.max_abs_deviation - args.tolerance:.2%}: "
            f"{missed}; the best plan was written (exit {TOLERANCE_MISSED})"
        )
    return "\n".join(text)
