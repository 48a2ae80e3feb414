"""``planner isochrone``: drive-time areas around a point, a rep's home or an account."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from planner import schema as s
from planner.access import scope_for
from planner.cli import add_json_flag, emit
from planner.errors import InputError, Problem
from planner.routing.isochrones import IsochroneParams, isochrones
from planner.routing.network import RoadNetwork, load_network
from planner.services.rep_accounts import rep_home, saved_network_file
from planner.store import DATABASE_URL_ENV
from planner.workspace import Workspace, open_workspace

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``isochrone`` command."""
    p = sub.add_parser(
        "isochrone",
        help="drive-time areas (isochrones) around a point, a rep's home or an account",
        description=(
            "The area reached within each drive time: on the road network (--network, or "
            "the one saved beside the workspace) or, without one, an estimated circle."
        ),
    )
    p.add_argument("--at", metavar="LAT,LON", help="the start")
    p.add_argument(
        "--workspace", "-w", help=f"a workspace .gpkg (or a name on ${DATABASE_URL_ENV})"
    )
    p.add_argument("--rep", help="start at this user's home (needs --workspace)")
    p.add_argument("--account", help="start at this account (needs --workspace)")
    p.add_argument("--minutes", default="15,30,45", help="drive times, comma-separated")
    p.add_argument("--corridor-m", type=float, default=150.0, help="road corridor width (150)")
    p.add_argument("--network", help="road network file (.graphml[.gz])")
    p.add_argument("--estimate", action="store_true", help="ignore any network: estimate")
    p.add_argument("--as-user", help="act as this user: the rep or account must be theirs")
    p.add_argument("--out", help="GeoJSON file to write the areas to")
    add_json_flag(p)
    p.set_defaults(handler=_isochrone)


def _isochrone(args: argparse.Namespace) -> int:
    minutes = _minutes(args.minutes)
    params = IsochroneParams(minutes=minutes, corridor_m=args.corridor_m)
    ws = open_workspace(args.workspace) if args.workspace else None
    lat, lon, label = _start(args, ws)
    network = None if args.estimate else _network(args, ws)
    rings = isochrones(lat, lon, params, network=network)
    if args.out:
        Path(args.out).write_text(rings.to_json(drop_id=True), "utf-8")
    rows = rings.drop(columns="geometry").to_dict("records")
    payload: dict[str, Any] = {"ok": True, "start": [lat, lon], "from": label, "areas": rows,
                               "out": args.out}  # fmt: skip
    lines = [f"  {r['minutes']:>5.0f} min  {r['area_km2']:>10,.2f} km²  ({r['method']})"
             for r in rows]  # fmt: skip
    emit(args, payload, f"drive-time areas from {label}:\n" + "\n".join(lines))
    return 0


def _minutes(text: str) -> list[float]:
    values, bad = [], []
    for part in str(text).split(","):
        try:
            values.append(float(part))
        except ValueError:
            bad.append(part)
    if bad or not values:
        problems = [Problem(f"'{b}' is not a number of minutes", fix="write --minutes 15,30,45")
                    for b in bad or [text]]  # fmt: skip
        try:
            IsochroneParams(minutes=values or [15.0])
        except InputError as exc:  # the numbers given are out of range too: say it now
            problems += exc.problems
        raise InputError("bad --minutes", problems)
    return values


def _start(args: argparse.Namespace, ws: Workspace | None) -> tuple[float, float, str]:
    """The start's latitude, longitude and a label, checked against the user's scope."""
    given = [x for x in (args.at, args.rep, args.account) if x]
    problems = []
    if len(given) != 1:
        problems.append(Problem("give exactly one start", fix="use --at, --rep or --account"))
    if (args.rep or args.account) and ws is None:
        problems.append(Problem("--rep and --account need a workspace", fix="add -w W.gpkg"))
    if problems:
        raise InputError("where do the drive times start?", problems)
    if args.at:
        return (*_lat_lon(args.at), f"({args.at})")
    assert ws is not None
    scope = scope_for(ws, args.as_user) if args.as_user else None
    if args.rep:
        if scope is not None and scope.rep_ids is not None and args.rep not in scope.rep_ids:
            raise InputError("unknown user", [Problem(f"you may not see user '{args.rep}'",
                                                      fix="pick one of your users")])  # fmt: skip
        home = rep_home(ws, args.rep)
        if home is None:
            raise InputError(f"user '{args.rep}' has no home position", [Problem(
                f"'{args.rep}' is unknown or has no home", column=s.REP_ID,
                fix="give the user a home on the Team page, or use --at")])  # fmt: skip
        return home[0], home[1], f"{args.rep}'s home"
    return (*_account_position(ws, args.account, scope), f"account {args.account}")


def _account_position(ws: Workspace, account: str, scope: Any) -> tuple[float, float]:
    accounts = ws.accounts if scope is None else scope.filter_accounts(ws.accounts)
    rows = accounts[accounts[s.ACCOUNT_ID].astype(str) == account]
    point = rows.geometry.iloc[0] if len(rows) else None
    if point is None or point.is_empty:
        raise InputError(f"no position for account '{account}'", [Problem(
            f"account '{account}' is unknown, not yours or has no position",
            column=s.ACCOUNT_ID, fix="check the id (planner explain shows it)")])  # fmt: skip
    return float(point.y), float(point.x)


def _lat_lon(text: str) -> tuple[float, float]:
    try:
        lat, lon = (float(v) for v in text.split(","))
    except ValueError:
        lat = lon = math.nan
    return lat, lon  # isochrones() refuses anything that is not a position


def _network(args: argparse.Namespace, ws: Workspace | None) -> RoadNetwork | None:
    if args.network:
        return load_network(args.network)
    saved = saved_network_file(ws.path) if ws is not None else None
    return load_network(saved) if saved is not None else None
