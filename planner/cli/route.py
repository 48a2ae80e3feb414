"""Routing commands: ``route`` (a rep's day or week route) and ``matrix`` (travel times).

``planner route`` plans from one of three sources: a workspace (``--workspace
W --rep USER --date D``: the rep's territories, accounts and home on that
date, exactly as the app's Routes page does), a stop file (``--stops``, with
``--reps`` a whole team), or a benchmark instance (``--instance``).
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from planner.cli import add_json_flag, emit
from planner.cli.route_common import (
    WEEKDAYS,
    WORKWEEK,
    network_of,
    plan_report,
    stops_params,
    write_plan,
)
from planner.cli.route_workspace import route_workspace
from planner.errors import InputError, PlannerWarning, Problem
from planner.routing import plan_routes, plan_team, read_instance, solve_instance, travel_matrix
from planner.routing.outputs import to_geojson, to_gpx

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``route`` and ``matrix`` commands."""
    _add_route(sub)
    _add_matrix(sub)


def _add_route(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "route",
        help="plan a rep's day or week route along real roads",
        description="Plan the order of visits from home and back, respecting opening hours and "
        "the shift, print the ETA table and write the route (GeoJSON lines along the roads, "
        "stops with ETAs; GPX for a phone). Stops that cannot be visited are listed with the "
        "reason. From a workspace (--workspace W --rep USER --date YYYY-MM-DD): the rep's "
        "territories on that date, their accounts' visit frequencies and opening hours, and the "
        "rep's home, as the Routes page plans it. From a file: --stops (or a team with --reps). "
        "With --instance, solve a standard CVRP/VRPTW instance and print its cost and checks.",
    )
    _add_workspace_options(p)
    _add_stops_options(p)
    _add_shift_options(p)
    _add_output_options(p)
    _add_instance_options(p)
    add_json_flag(p)
    p.set_defaults(handler=_route)


def _add_workspace_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("from a workspace")
    g.add_argument("--workspace", "-w", help="the workspace (.gpkg, or a server workspace)")
    g.add_argument("--rep", help="the rep (user id) whose route to plan")
    g.add_argument("--as-user", help="plan as this user: only a rep they may see, their accounts")
    g.add_argument("--date", help="the day to route, YYYY-MM-DD (a due plan covers its week)")
    g.add_argument("--scenario", help="scenario id (the active one by default)")
    g.add_argument(
        "--accounts",
        help="route these account ids (comma-separated) on the date, once each, instead "
        "of the visits due",
    )


def _add_stops_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("from files")
    g.add_argument(
        "--stops",
        help="CSV with account_id (or id), latitude, "
        "longitude and optionally name, visit_minutes, opening_hours",
    )
    g.add_argument("--home", help="LAT,LON where the day starts and ends (default: first stop)")
    g.add_argument(
        "--weekday",
        choices=list(WEEKDAYS),
        help="weekday of a --stops route, for opening hours (default mo)",
    )
    g.add_argument(
        "--frequencies",
        action="store_true",
        help="visit each stop as often as its visits_per_month asks in the plan",
    )
    g.add_argument(
        "--reps",
        help="CSV of a team (rep_id, home_latitude, home_longitude and "
        "optionally name, day_start, day_end, weekdays, max_hours, skills, "
        "max_visits): plan the team's days at once; --out is then a folder",
    )
    g.add_argument(
        "--visit-minutes",
        type=float,
        default=30.0,
        help="visit length of stops without visit_minutes (default 30)",
    )


def _add_shift_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--network",
        help="OSM file (.osm.pbf, .osm) or saved network (.graphml.gz); default: the network "
        "saved beside the workspace; without one drive times are straight-line estimates",
    )
    p.add_argument("--day-start", default="08:00", help="shift start HH:MM (default 08:00)")
    p.add_argument("--day-end", default="17:00", help="latest return HH:MM (default 17:00)")
    p.add_argument("--max-hours", type=float, help="longest working day in hours")
    p.add_argument(
        "--weekdays",
        help=f"working days, e.g. {WORKWEEK} (the default from a workspace; overrides --weekday)",
    )
    p.add_argument("--weeks", type=int, default=1, help="weeks planned (default 1)")
    p.add_argument("--time-limit", type=float, default=2.0, help="solver seconds (default 2)")
    p.add_argument("--seed", type=int, default=0, help="solver seed (default 0)")
    p.add_argument("--cache-dir", help="folder to cache networks built from OSM files")


def _add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", help="GeoJSON file to write (required with --stops)")
    p.add_argument("--gpx", help="also write a GPX file for a phone")


def _add_instance_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("benchmark instances")
    g.add_argument("--instance", help="solve this CVRP/VRPTW instance file instead of stops")
    g.add_argument(
        "--format",
        choices=["vrplib", "solomon"],
        default="vrplib",
        help="instance format (default vrplib)",
    )
    g.add_argument(
        "--round",
        choices=["none", "round", "trunc", "dimacs", "exact"],
        default="none",
        help="rounding of distances and times, as PyVRP's "
        "(dimacs: ten times, truncated; default none)",
    )
    g.add_argument("--vehicles", type=int, help="fleet size (default: from the file)")


def _add_matrix(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "matrix",
        help="travel times (and distances) between points",
        description="Write the drive-time matrix between points in seconds (rows: from, "
        "columns: to); asymmetric where one-way streets differ.",
    )
    p.add_argument("--network", help="OSM file or saved network; without it: estimates")
    p.add_argument(
        "--points", required=True, help="CSV with id (or account_id), latitude, longitude"
    )
    p.add_argument("--out", required=True, help="CSV file for the drive times (seconds)")
    p.add_argument("--distance-out", help="also write road distances (metres) to this CSV")
    p.add_argument("--cache-dir", help="folder to cache networks built from OSM files")
    add_json_flag(p)
    p.set_defaults(handler=_matrix)


def _read_csv(path: str, what: str) -> Any:
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{what} file {path} does not exist", source=what)
    try:
        return pd.read_csv(file)
    except Exception as exc:  # pandas raises many kinds for unreadable files
        raise InputError(f"cannot read {path} as CSV ({exc})", source=what) from exc


def _parse_home(text: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        lat, lon = (float(v) for v in parts)
    except ValueError:
        raise InputError(
            f"--home {text!r} is not LAT,LON",
            [Problem("expected two numbers separated by a comma", fix="e.g. --home 60.17,24.94")],
        ) from None
    if not (abs(lat) <= 90 and abs(lon) <= 180):
        raise InputError(f"--home {text!r} is out of range: latitude first, then longitude")
    return lat, lon


# -- route: the three sources ----------------------------------------------------------------


def _route(args: argparse.Namespace) -> int:
    if args.instance:
        return _route_instance(args)
    if args.workspace:
        return route_workspace(args)
    missing = [f"--{name}" for name in ("stops", "out") if not getattr(args, name)]
    if missing:
        raise InputError(
            f"planner route needs {' and '.join(missing)}",
            [
                Problem(
                    "give the stops to visit and the GeoJSON file to write, or a workspace",
                    fix="--stops stops.csv --out route.geojson, --workspace W --rep USER "
                    "--date YYYY-MM-DD, or --instance FILE",
                )
            ],
        )
    return _route_team(args) if args.reps else _route_stops(args)


def _route_instance(args: argparse.Namespace) -> int:
    instance = read_instance(
        args.instance, format=args.format, rounding=args.round, vehicles=args.vehicles
    )
    result = solve_instance(instance, time_limit_s=args.time_limit, seed=args.seed)
    routes = [list(r) for r in result.routes if r]
    payload = {
        "ok": result.feasible,
        "instance": instance.name,
        "customers": instance.n_clients,
        "rounding": args.round,
        "vehicles": instance.vehicles,
        "routes_used": len(routes),
        "cost": result.cost,
        "feasible": result.feasible,
        "violations": list(result.violations),
        "runtime_s": round(result.runtime_s, 3),
        "routes": routes,
    }
    lines = [
        f"{instance.name}: cost {result.cost:g} with {len(routes)} of "
        f"{instance.vehicles} vehicles, {instance.n_clients} customers, "
        f"{result.runtime_s:.2f} s (rounding {args.round})",
        *[f"Route #{k}: {' '.join(map(str, r))}" for k, r in enumerate(routes, 1)],
        "every constraint holds" if result.feasible else "NOT feasible:",
        *[f"  {v}" for v in result.violations[:20]],
    ]
    emit(args, payload, "\n".join(lines))
    return 0 if result.feasible else 1


def _route_team(args: argparse.Namespace) -> int:
    stops = _read_csv(args.stops, "stops")
    reps = _read_csv(args.reps, "reps")
    params = stops_params(args)
    network = network_of(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PlannerWarning)
        team = plan_team(stops, reps, network=network, params=params)
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    for rep, plan in zip(team.reps, team.plans, strict=True):
        (folder / f"{rep.rep_id}.geojson").write_text(
            json.dumps(to_geojson(plan, network), default=str), encoding="utf-8"
        )
        (folder / f"{rep.rep_id}.gpx").write_text(to_gpx(plan, network), encoding="utf-8")
    eta = team.eta_table()
    eta.to_csv(folder / "visits.csv", index=False)
    totals = team.totals()
    unvisited = [
        {"account_id": u.stop_id, "status": u.status, "reason": u.reason} for u in team.unvisited
    ]
    messages = [str(w.message) for w in caught] + list(team.notes)
    payload = {
        "ok": True,
        "out": str(folder),
        "reps": totals.to_dict(orient="records"),
        "visits": eta.to_dict(orient="records"),
        "unvisited": unvisited,
        "notes": messages,
    }
    lines = [
        totals[["rep_id", "rep_name", "visits", "drive_h", "work_h"]].to_string(index=False),
        *[f"not visited: {u['account_id']}: {u['reason']}" for u in unvisited],
        *[f"note: {m}" for m in messages],
        f"wrote one GeoJSON and GPX per rep and visits.csv to {folder}",
    ]
    emit(args, payload, "\n".join(lines))
    return 0


def _route_stops(args: argparse.Namespace) -> int:
    stops = _read_csv(args.stops, "stops")
    params = stops_params(args)
    network = network_of(args)
    home = _parse_home(args.home) if args.home else _first_stop(stops)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PlannerWarning)
        plan = plan_routes(stops, home, network=network, params=params)
    written = write_plan(args, plan, network)
    messages = [str(w.message) for w in caught] + list(plan.notes)
    payload, lines = plan_report(plan, messages, written)
    payload.update(out=args.out, gpx=args.gpx)
    emit(args, payload, "\n".join(lines))
    return 0


def _first_stop(stops: Any) -> tuple[float, float]:
    if len(stops) == 0:
        raise InputError("there are no stops to route", source="stops")
    cols = {c.lower(): c for c in stops.columns}
    lat_c = cols.get("latitude", cols.get("lat"))
    lon_c = cols.get("longitude", cols.get("lon"))
    if lat_c is None or lon_c is None:
        raise InputError("stops have no latitude/longitude columns", source="stops")
    return float(stops[lat_c].iloc[0]), float(stops[lon_c].iloc[0])


def _matrix(args: argparse.Namespace) -> int:
    points = _read_csv(args.points, "points")
    if len(points) == 0:
        raise InputError("there are no points", source="points")
    cols = {c.lower(): c for c in points.columns}
    lat_c = cols.get("latitude", cols.get("lat"))
    lon_c = cols.get("longitude", cols.get("lon"))
    if lat_c is None or lon_c is None:
        raise InputError(
            "points have no coordinates",
            source="points",
            problems=[
                Problem(
                    "no latitude/longitude columns", fix="add 'latitude' and 'longitude' columns"
                )
            ],
        )
    id_c = cols.get("account_id", cols.get("id"))
    ids = [str(v) for v in points[id_c]] if id_c else [str(i + 1) for i in range(len(points))]
    network = network_of(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PlannerWarning)
        tm = travel_matrix(
            pd.to_numeric(points[lat_c], errors="coerce").to_numpy(float),
            pd.to_numeric(points[lon_c], errors="coerce").to_numpy(float),
            network,
            ids=ids,
            with_distance=bool(args.distance_out),
        )
    pd.DataFrame(tm.duration_s.round(1), index=ids, columns=ids).to_csv(
        args.out, index_label="from"
    )
    if args.distance_out:
        pd.DataFrame(tm.distance_m.round(1), index=ids, columns=ids).to_csv(
            args.distance_out, index_label="from"
        )
    unreachable = int((~pd.DataFrame(tm.duration_s).apply(lambda c: c < float("inf"))).sum().sum())
    payload = {
        "ok": True,
        "out": args.out,
        "distance_out": args.distance_out,
        "points": tm.n,
        "estimated": tm.estimated,
        "method": tm.method,
        "unreachable_pairs": unreachable,
        "notes": [str(w.message) for w in caught],
    }
    text = f"wrote {tm.n}x{tm.n} drive times ({tm.method}) to {args.out}"
    if unreachable:
        text += f"; {unreachable} pairs unreachable (inf)"
    for w in caught:
        text += f"\nnote: {w.message}"
    emit(args, payload, text)
    return 0
