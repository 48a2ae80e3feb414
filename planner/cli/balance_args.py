"""The arguments of ``planner balance``: declared, and checked together (every problem at once)."""

from __future__ import annotations

import argparse
from typing import Any

from planner.balance import BalanceParams
from planner.cli.balance_files import TOLERANCE_MISSED, weights
from planner.errors import InputError, Problem
from planner.services.balance_runs import DESIGN, REBALANCE

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
    """Refuse arguments that do not fit together, every one at once."""
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
    try:
        BalanceParams(weight=weight, **param_fields(args))
    except InputError as exc:
        problems += [_as_argument(p) for p in exc.problems]
    if problems:
        raise InputError("bad arguments for planner balance", problems, source="balance")


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
    names = {"k": "--territories", "max_moved_accounts": "--max-moved"}
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
    if _wants_drive(args) and not args.reps:
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
    if not args.baseline and (args.max_moved is not None or args.keep):
        out.append(
            Problem(
                "--max-moved and --keep need --baseline",
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
    if _wants_drive(args) and args.mode == DESIGN and args.on_reps is None:
        out.append(
            Problem(
                "a design with --max-drive-h or --compactness drive needs --on-reps",
                column="--on-reps",
                fix="add --on-reps to centre one territory on each rep's home",
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
    if args.mode == DESIGN and args.territories is None and args.on_reps is None:
        out.append(
            Problem(
                "a design needs --territories or --on-reps",
                column="--territories",
                fix="add -k 4, or --on-reps to centre one territory on each rep",
            )
        )
    if args.mode == DESIGN and (args.max_moved is not None or args.max_moved_share is not None):
        out.append(
            Problem(
                "a move budget applies to a rebalance",
                column="--max-moved",
                fix="leave --max-moved out, or rebalance",
            )
        )
    if args.mode == REBALANCE and (args.territories is not None or args.on_reps is not None):
        out.append(
            Problem(
                "a rebalance keeps the scenario's territories",
                column="--territories",
                fix="leave --territories and --on-reps out",
            )
        )
    if args.mode == REBALANCE and (args.min_workload is not None or args.max_workload is not None):
        out.append(
            Problem(
                "workload bounds apply to a design",
                column="--min-workload",
                fix="leave --min-workload and --max-workload out, or design",
            )
        )
    return out


def _wants_drive(args: argparse.Namespace) -> bool:
    """Whether the run measures drive time from reps' homes."""
    return args.max_drive_h is not None or args.compactness == "drive"
