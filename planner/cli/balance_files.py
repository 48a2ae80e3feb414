"""Files and output of ``planner balance``: weights, units, reps and plans; the summary.

Shared by the units-file and the workspace forms of the command.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from planner.balance import TerritoryPlan
from planner.balance.drive import binds_text
from planner.errors import InputError, Problem
from planner.geo.io import read_units
from planner.schema import HOME_LATITUDE, HOME_LONGITUDE, STORAGE_CRS, TERRITORY_ID, UNIT_ID

__all__ = [
    "TOLERANCE_MISSED",
    "budget_note",
    "drive_met",
    "payload",
    "read_plan",
    "read_reps_file",
    "read_units_file",
    "summary_text",
    "weights",
    "write_plan",
]

#: Exit code when the plan is written but misses the tolerance (errors exit 2).
TOLERANCE_MISSED = 3


def weights(items: list[str]) -> str | dict[str, float]:
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


def read_units_file(path: str, id_column: str | None, layer: str | None) -> Any:
    """Read units with the validating reader; a workspace file gives its ``units`` layer."""
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


def read_reps_file(path: str) -> Any:
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


def read_plan(path: str) -> pd.Series:
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


def write_plan(plan: Any, path: str) -> None:
    if path.lower().endswith(".json"):
        data = {str(u): str(t) for u, t in plan.assignment.items()}
        Path(path).write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    else:
        plan.to_frame().to_csv(path, index=False)


def budget_note(plan: TerritoryPlan, args: argparse.Namespace) -> str:
    """Say by how much a rebalance missed the tolerance (or drive limit) and what binds."""
    m = plan.metrics
    binds = (
        "the move budget binds (raise --max-moved or --max-moved-share)"
        if args.max_moved is not None or args.max_moved_share is not None
        else "the units are too coarse or the locks too tight"
    )
    drive = _drive_binds(plan, args.tolerance)
    if m.max_abs_deviation <= args.tolerance + 1e-12:
        return drive.removeprefix("; ")
    return (
        f"the best plan found is {m.max_abs_deviation:.2%} from target at worst, outside "
        f"the tolerance of {args.tolerance:.2%}: {binds}{drive}"
    )


def drive_met(plan: TerritoryPlan) -> bool:
    """Whether the plan keeps its hard drive limit (``True`` without one)."""
    drive = plan.parameters.get("drive")
    return not drive or drive["drive_limit"] != "hard" or bool(drive["met"])


def _drive_binds(plan: TerritoryPlan, tolerance: float) -> str:
    """The drive limit's part of the message: units left beyond it, territories it binds."""
    drive = plan.parameters.get("drive")
    if not drive:
        return ""
    parts = []
    if not drive_met(plan):
        parts.append(f"{drive['units_beyond']} units stay beyond the hard drive limit of "
                     f"{drive['max_drive_h']:g} h (the move budget does not reach them)")
    table = plan.metrics.territories
    devs = dict(zip(table[TERRITORY_ID].astype(str), table["deviation"], strict=True))
    text = binds_text(drive, devs, tolerance)
    if text:
        parts.append(text)
    return "".join(f"; {p}" for p in parts)


def payload(plan: TerritoryPlan, args: argparse.Namespace, missed: str | None) -> dict[str, Any]:
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


def summary_text(
    plan: TerritoryPlan, args: argparse.Namespace, missed: str | None, *, head: str | None = None
) -> str:
    m = plan.metrics
    text = [
        f"{head or 'wrote ' + str(args.out)}: {m.n_territories} territories, "
        f"{len(plan.assignment)} units",
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
    drive = plan.parameters.get("drive")
    if drive:
        limit = (f", limit {drive['max_drive_h']:g} h ({drive['drive_limit']}): "
                 f"{'met' if drive['met'] else str(drive['units_beyond']) + ' units beyond'}"
                 if drive["max_drive_h"] is not None else "")
        binds = f"; binds {', '.join(drive['binds'])}" if drive["binds"] else ""
        text.append(f"  longest drive from a rep's home {drive['drive_max_h']:.2f} h"
                    f"{limit}{binds} ({drive['method']})")
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
        kept = [w for w, given in (("written", args.out), ("saved", args.save_scenario)) if given]
        text.append(
            f"  tolerance NOT met, by {m.max_abs_deviation - args.tolerance:.2%}: "
            f"{missed}; the best plan was {' and '.join(kept) or 'kept'} "
            f"(exit {TOLERANCE_MISSED})"
        )
    return "\n".join(text)
