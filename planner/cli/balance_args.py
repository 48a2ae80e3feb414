"""The arguments of ``planner balance``: declared, and checked together (every problem at once)."""

from __future__ import annotations

import argparse
from typing import Any

import geopandas as gpd

from planner.balance import BalanceParams
from planner.balance.workload import BalanceWeight
from planner.cli.balance_files import TOLERANCE_MISSED, weights
from planner.errors import InputError, Problem
from planner.services.balance_runs import DESIGN, REBALANCE, BalanceRequest

__all__ = ["add_balance_arguments", "check_arguments", "param_fields"]


def add_balance_arguments(p: argparse.ArgumentParser) -> None:
    """Declare what to balance, how, and what to do with the plan."""
    _add_source(p)
    _add_rules(p)
    _add_output(p)


def _add_source(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "mode",
        nargs="?",
        choices=[DESIGN, REBALANCE],
        help="with --workspace: design from scratch or rebalance the scenario "
        "(with --units: --baseline means rebalance)",
    )
    source = p.add_argument_group("what to balance (one of)")
    source.add_argument("--units", help="units file (GeoPackage, GeoJSON, Shapefile)")
    source.add_argument("--workspace", "-w", help="a workspace: its units and accounts")
    p.add_argument("--scenario", help="--workspace: the scenario to balance (default: active)")
    p.add_argument(
        "--weight",
        action="append",
        metavar="COLUMN[=W]",
        help="column to balance; repeat as COLUMN=W to balance several with weights "
        "(--workspace: workload_h, annual_revenue, account_count, drive_h_per_week or a unit "
        "column; default the first of these the workspace has)",
    )


def _add_rules(p: argparse.ArgumentParser) -> None:
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
        "--max-drive-h",
        type=float,
        metavar="HOURS",
        help="longest drive from a rep's home to any unit of the rep's territory (needs --reps "
        "or --on-reps; a workspace rebalance uses the territories' owners); on the road network "
        "saved beside a workspace, else the straight-line estimate",
    )
    p.add_argument(
        "--drive-limit",
        default="hard",
        help="hard: no unit beyond --max-drive-h (the default); soft: a penalty instead",
    )
    p.add_argument(
        "--drive-penalty",
        type=float,
        default=1.0,
        help="weight of a soft drive limit: x %% beyond it costs as much as this times x %% "
        "off target (1.0)",
    )
    p.add_argument(
        "--compactness",
        default="shape",
        help="what compactness raises: shape (outlines) or drive (drive time from the rep's "
        "home; needs reps)",
    )
    p.add_argument(
        "--contiguity",
        default="rook",
        help="adjacency of units (rook: shared border; queen: corners count)",
    )
    p.add_argument(
        "--reps",
        help="--units: reps file: rep_id and home points (or home_latitude/"
        "home_longitude columns in a CSV), optional capacity_h_per_week",
    )
    p.add_argument(
        "--on-reps",
        nargs="*",
        metavar="REP",
        help="--workspace design: one territory per field rep, around the rep's home "
        "(no REP: the reps who own the scenario's territories)",
    )
    p.add_argument("--baseline", help="--units: plan to rebalance (CSV unit_id,territory_id; JSON)")
    p.add_argument("--max-moved", type=int, help="most accounts that may move (rebalance)")
    p.add_argument("--max-moved-share", type=float, help="most accounts that may move, as a share")
    p.add_argument(
        "--keep",
        action="append",
        default=[],
        metavar="TERRITORY",
        help="keep a territory of the baseline or scenario exactly as it is (repeatable)",
    )


def _add_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--id-column", help="units' id column (guessed: unit_id, id, GEOID, FIPS...)")
    p.add_argument("--layer", help="layer of a GeoPackage (a workspace file: its units)")
    p.add_argument(
        "--best-effort",
        action="store_true",
        help="kept for old scripts: a missed tolerance always writes the best plan "
        f"and exits {TOLERANCE_MISSED}",
    )
    p.add_argument("--out", help="plan file to write: .csv or .json (needed with --units)")
    p.add_argument("--save-scenario", metavar="NAME", help="--workspace: save as this scenario")
    p.add_argument(
        "--promote",
        action="store_true",
        help="--workspace: make the saved scenario active (not when the tolerance is missed)",
    )
    p.add_argument("--user", help="--workspace: who balances (recorded; a planner or admin)")


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse arguments that do not fit together, every one at once.

    The command checks only what is its own (which source, which flags go
    with it, where the plan goes); the rules of a balancing run are checked
    by the library that runs it (:class:`~planner.balance.BalanceParams`,
    :class:`~planner.services.balance_runs.BalanceRequest`), whose problems
    are named here by their flags, with the library's own words.
    """
    problems = _source_problems(args)
    if args.workspace and not args.units:
        problems += _workspace_problems(args)
    elif args.units and not args.workspace:
        problems += _units_problems(args)
    try:
        weight = weights(args.weight) if args.weight else "account_count"
    except InputError as exc:
        problems += exc.problems
        weight = "account_count"
    problems += [_as_argument(p) for p in _library_problems(args, weight)]
    if problems:
        raise InputError("bad arguments for planner balance", problems, source="balance")


def _library_problems(args: argparse.Namespace, weight: BalanceWeight) -> list[Problem]:
    """What :class:`BalanceParams` and :class:`BalanceRequest` refuse in these arguments.

    The request is checked even when some parameters are refused: each refused
    value is then replaced by a valid one of its kind (a drive limit stays a
    drive limit), so the request sees what was asked and every problem shows
    at once.
    """
    fields = param_fields(args)
    try:
        params = BalanceParams(weight=weight, **fields)
        found: list[Problem] = []
    except InputError as exc:
        found = list(exc.problems)
        bad = {p.column for p in found}
        kept = {k: _STAND_INS[k] if k in bad else v for k, v in fields.items()
                if k not in bad or k in _STAND_INS}
        try:
            params = BalanceParams(weight=weight, **kept)
        except InputError:
            return found
    mode = args.mode if args.workspace else (REBALANCE if args.baseline else DESIGN)
    if mode not in (DESIGN, REBALANCE):
        return found  # the missing mode is the command's own problem
    wants_reps = args.on_reps is not None if args.workspace else bool(args.reps)
    try:
        BalanceRequest(mode=mode, params=params,
                       reps=_REPS_GIVEN if wants_reps and mode == DESIGN else None)
    except InputError as exc:
        found += [p for p in exc.problems if not (args.units and p.column == "k"
                                                   and mode == REBALANCE)]
    return found


#: Valid stand-ins for refused parameters while the request is checked.
_STAND_INS: dict[str, Any] = {
    "k": 1, "max_drive_h": 1.0, "max_moved_accounts": 0, "max_moved_share": 0.0,
    "min_workload": 0.0, "max_workload": None, "tolerance": 0.02, "seed": 0,
}

#: Stands for the reps a run will be given (the request only asks whether there are any).
_REPS_GIVEN = gpd.GeoDataFrame({"rep_id": []}, geometry=[])


def param_fields(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "k": args.territories,
        "tolerance": args.tolerance,
        "seed": args.seed,
        "contiguity": args.contiguity,
        "max_moved_accounts": args.max_moved,
        "max_moved_share": args.max_moved_share,
        "min_workload": args.min_workload,
        "max_workload": args.max_workload,
        "max_drive_h": args.max_drive_h,
        "drive_limit": args.drive_limit,
        "drive_penalty": args.drive_penalty,
        "compactness": args.compactness,
    }


def _as_argument(problem: Problem) -> Problem:
    """A parameter problem named by its command-line argument."""
    names = {"k": "--territories", "max_moved_accounts": "--max-moved",
             "max_moved": "--max-moved"}
    column = problem.column or ""
    flag = names.get(column, "--" + column.replace("_", "-"))
    return Problem(f"{flag}: {problem.message}", column=flag, fix=problem.fix)


def _source_problems(args: argparse.Namespace) -> list[Problem]:
    if bool(args.units) == bool(args.workspace):
        return [
            Problem(
                "give either --units FILE or --workspace W",
                column="--units",
                fix="--units to balance a units file, --workspace to balance a workspace",
            )
        ]
    return []


def _given(args: argparse.Namespace, flags: dict[str, str]) -> list[str]:
    return [flag for flag, attr in flags.items() if getattr(args, attr) not in (None, False, [])]


def _units_problems(args: argparse.Namespace) -> list[Problem]:
    out: list[Problem] = []
    if not args.out:
        out.append(Problem("--units needs --out", column="--out", fix="add --out plan.csv"))
    if not args.weight:
        out.append(
            Problem(
                "--units needs --weight",
                column="--weight",
                fix="name the units' column to balance, e.g. --weight workload_h",
            )
        )
    wrong = _given(
        args,
        {
            "--scenario": "scenario",
            "--save-scenario": "save_scenario",
            "--promote": "promote",
            "--on-reps": "on_reps",
            "--user": "user",
        },
    )
    if wrong:
        out.append(
            Problem(
                f"{', '.join(wrong)}: for --workspace only",
                column=wrong[0],
                fix="use --workspace W to balance and save a workspace's scenario",
            )
        )
    if _wants_drive(args) and not args.reps and args.baseline:
        out.append(
            Problem(
                "--max-drive-h and --compactness drive need the reps' homes",
                column="--reps",
                fix="add --reps reps.csv (territory ids are then rep ids)",
            )
        )
    if args.mode == REBALANCE and not args.baseline:
        out.append(
            Problem(
                "rebalance of a units file needs --baseline",
                column="--baseline",
                fix="give the plan to rebalance: --baseline plan.csv",
            )
        )
    if not args.baseline and args.keep:
        out.append(
            Problem(
                "--keep needs --baseline",
                column="--baseline",
                fix="give the plan to rebalance: --baseline plan.csv",
            )
        )
    return out


def _workspace_problems(args: argparse.Namespace) -> list[Problem]:
    out: list[Problem] = []
    wrong = _given(
        args,
        {
            "--baseline": "baseline",
            "--reps": "reps",
            "--layer": "layer",
            "--id-column": "id_column",
        },
    )
    if wrong:
        out.append(
            Problem(
                f"{', '.join(wrong)}: for --units only",
                column=wrong[0],
                fix="a workspace brings its own units, reps and plan: leave them out",
            )
        )
    if args.mode is None:
        out.append(
            Problem(
                "--workspace needs design or rebalance",
                column="mode",
                fix="write planner balance design --workspace W -k 4",
            )
        )
    if args.promote and not args.save_scenario:
        out.append(
            Problem(
                "--promote needs --save-scenario",
                column="--promote",
                fix="add --save-scenario NAME",
            )
        )
    if args.mode == REBALANCE and args.on_reps is not None:
        out.append(
            Problem(
                "a rebalance keeps the scenario's territories and measures from their owners",
                column="--on-reps",
                fix="leave --on-reps out",
            )
        )
    return out


def _wants_drive(args: argparse.Namespace) -> bool:
    """Whether the run measures drive time from reps' homes."""
    return args.max_drive_h is not None or args.compactness == "drive"
