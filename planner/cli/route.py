"""Routing commands: ``route`` (a rep's day route) and ``matrix`` (travel times between points)."""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path
from typing import Any

from planner.cli import add_json_flag, emit
from planner.errors import InputError, PlannerWarning, Problem

__all__ = ["register"]

_WEEKDAYS = {"mo": 0, "tu": 1, "we": 2, "th": 3, "fr": 4, "sa": 5, "su": 6}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``route`` and ``matrix`` commands."""
    p = sub.add_parser(
        "route",
        help="plan a day route through stops along real roads",
        description="Plan the order of a day's visits from home and back, respecting opening "
        "hours and the shift, and write the route (GeoJSON lines along the roads, stops with "
        "ETAs). Stops that cannot be visited are listed with the reason. With --instance, "
        "solve a standard CVRP/VRPTW instance instead and print its cost, routes and checks.",
    )
    p.add_argument(
        "--network",
        help="OSM file (.osm.pbf, .osm) or saved network (.graphml.gz); "
        "without it drive times are straight-line estimates",
    )
    p.add_argument(
        "--stops",
        help="CSV with account_id (or id), latitude, "
        "longitude and optionally name, visit_minutes, opening_hours",
    )
    p.add_argument("--home", help="LAT,LON where the day starts and ends (default: the first stop)")
    p.add_argument("--day-start", default="08:00", help="shift start HH:MM (default 08:00)")
    p.add_argument("--day-end", default="17:00", help="latest return HH:MM (default 17:00)")
    p.add_argument("--max-hours", type=float, help="longest working day in hours")
    p.add_argument(
        "--weekday",
        default="mo",
        choices=list(_WEEKDAYS),
        help="weekday of the route, for opening hours (default mo)",
    )
    p.add_argument(
        "--weekdays", help="plan several days at once, e.g. mo,tu,we,th,fr (overrides --weekday)"
    )
    p.add_argument("--weeks", type=int, default=1, help="weeks planned (default 1)")
    p.add_argument(
        "--frequencies",
        action="store_true",
        help="visit each account as often as its visits_per_month asks in the plan",
    )
    p.add_argument(
        "--reps",
        help="CSV of a team (rep_id, home_latitude, home_longitude and "
        "optionally name, day_start, day_end, weekdays, max_hours, skills, "
        "max_visits): plan the team's days at once; --out is then a folder",
    )
    p.add_argument(
        "--visit-minutes",
        type=float,
        default=30.0,
        help="visit length of stops without visit_minutes (default 30)",
    )
    p.add_argument("--time-limit", type=float, default=2.0, help="solver seconds (default 2)")
    p.add_argument("--seed", type=int, default=0, help="solver seed (default 0)")
    p.add_argument("--cache-dir", help="folder to cache networks built from OSM files")
    p.add_argument("--out", help="GeoJSON file to write (required with --stops)")
    p.add_argument("--gpx", help="also write a GPX file for a phone")
    p.add_argument("--instance", help="solve this CVRP/VRPTW instance file instead of stops")
    p.add_argument(
        "--format",
        choices=["vrplib", "solomon"],
        default="vrplib",
        help="instance format (default vrplib)",
    )
    p.add_argument(
        "--round",
        choices=["none", "round", "trunc", "dimacs", "exact"],
        default="none",
        help="rounding of distances and times, as PyVRP's "
        "(dimacs: ten times, truncated; default none)",
    )
    p.add_argument("--vehicles", type=int, help="fleet size (default: from the file)")
    add_json_flag(p)
    p.set_defaults(handler=_route)

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
    import pandas as pd

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


def _network(args: argparse.Namespace) -> Any:
    if not args.network:
        return None
    from planner.routing.network import build_network

    return build_network(args.network, cache_dir=args.cache_dir)


def _route(args: argparse.Namespace) -> int:
    if args.instance:
        return _route_instance(args)
    missing = [f"--{name}" for name in ("stops", "out") if not getattr(args, name)]
    if missing:
        raise InputError(
            f"planner route needs {' and '.join(missing)}",
            [
                Problem(
                    "give the stops to visit and the GeoJSON file to write",
                    fix="--stops stops.csv --out route.geojson, or --instance FILE",
                )
            ],
        )
    return _route_stops(args)


def _route_instance(args: argparse.Namespace) -> int:
    from planner.routing.instances import read_instance, solve_instance

    instance = read_instance(
        args.instance, format=args.format, rounding=args.round, vehicles=args.vehicles
    )
    result = solve_instance(instance, time_limit_s=args.time_limit, seed=args.seed)
    payload = {
        "ok": result.feasible,
        "instance": instance.name,
        "customers": instance.n_clients,
        "rounding": args.round,
        "vehicles": instance.vehicles,
        "routes_used": sum(1 for r in result.routes if r),
        "cost": result.cost,
        "feasible": result.feasible,
        "violations": list(result.violations),
        "runtime_s": round(result.runtime_s, 3),
        "routes": [list(r) for r in result.routes if r],
    }
    lines = [
        f"{instance.name}: cost {result.cost:g} with {payload['routes_used']} of "
        f"{instance.vehicles} vehicles, {instance.n_clients} customers, "
        f"{result.runtime_s:.2f} s (rounding {args.round})",
        *[f"Route #{k}: {' '.join(map(str, r))}" for k, r in enumerate(payload["routes"], 1)],
        "every constraint holds" if result.feasible else "NOT feasible:",
        *[f"  {v}" for v in result.violations[:20]],
    ]
    emit(args, payload, "\n".join(lines))
    return 0 if result.feasible else 1


def _params(args: argparse.Namespace) -> Any:
    from planner.routing.params import RouteParams

    weekdays: tuple[int, ...] = (_WEEKDAYS[args.weekday],)
    if args.weekdays:
        names = [w.strip().lower()[:2] for w in args.weekdays.split(",")]
        unknown = [w for w in names if w not in _WEEKDAYS]
        if unknown:
            raise InputError(
                f"--weekdays {args.weekdays!r}: {', '.join(unknown)} not a weekday",
                [Problem("use mo, tu, we, th, fr, sa, su", fix="e.g. mo,tu,we")],
            )
        weekdays = tuple(dict.fromkeys(_WEEKDAYS[w] for w in names))
    return RouteParams(
        day_start=args.day_start,
        day_end=args.day_end,
        max_hours=args.max_hours,
        weekdays=weekdays,
        weeks=args.weeks,
        use_frequencies=args.frequencies,
        default_visit_minutes=args.visit_minutes,
        time_limit_s=args.time_limit,
        seed=args.seed,
    )


def _route_team(args: argparse.Namespace) -> int:
    from planner.routing.outputs import to_geojson, to_gpx
    from planner.routing.team import plan_team

    stops = _read_csv(args.stops, "stops")
    reps = _read_csv(args.reps, "reps")
    params = _params(args)
    network = _network(args)
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
    from planner.routing.outputs import to_geojson, to_gpx
    from planner.routing.tours import plan_routes

    if args.reps:
        return _route_team(args)
    stops = _read_csv(args.stops, "stops")
    params = _params(args)
    network = _network(args)
    if args.home:
        home = _parse_home(args.home)
    else:
        if len(stops) == 0:
            raise InputError("there are no stops to route", source="stops")
        cols = {c.lower(): c for c in stops.columns}
        lat_c = cols.get("latitude", cols.get("lat"))
        lon_c = cols.get("longitude", cols.get("lon"))
        if lat_c is None or lon_c is None:
            raise InputError("stops have no latitude/longitude columns", source="stops")
        home = (float(stops[lat_c].iloc[0]), float(stops[lon_c].iloc[0]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PlannerWarning)
        plan = plan_routes(stops, home, network=network, params=params)
    collection = to_geojson(plan, network)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(collection, default=str), encoding="utf-8")
    if args.gpx:
        Path(args.gpx).write_text(to_gpx(plan, network), encoding="utf-8")
    eta = plan.eta_table()
    totals = plan.totals()
    messages = [str(w.message) for w in caught] + list(plan.notes)
    payload = {
        "ok": True,
        "out": str(out),
        "gpx": args.gpx,
        "totals": totals,
        "stops": eta.to_dict(orient="records"),
        "unvisited": plan.unvisited_table().to_dict(orient="records"),
        "notes": messages,
    }
    lines = [
        f"route ({plan.method}): {totals['visits']} visits, drive "
        f"{totals['drive_h'] * 60:.0f} min / {totals['drive_km']:.1f} km, "
        f"work {totals['work_h']:.2f} h",
        *[
            f"{day.label}: {len(day.stops)} visits, leave home {_clock(day.leave_home_s)}, "
            f"back {_clock(day.return_home_s)}"
            for day in plan.days
        ],
        eta.to_string(index=False) if len(eta) else "(no visits)",
    ]
    for u in plan.unvisited:
        lines.append(f"not visited: {u.stop_id} {u.name}: {u.reason}")
    lines.extend(f"note: {m}" for m in messages)
    lines.append(f"wrote {out}" + (f" and {args.gpx}" if args.gpx else ""))
    emit(args, payload, "\n".join(lines))
    return 0


def _clock(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600:02d}:{(s % 3600) // 60:02d}"


def _matrix(args: argparse.Namespace) -> int:
    import pandas as pd

    from planner.routing.matrix import travel_matrix

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
    network = _network(args)
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
