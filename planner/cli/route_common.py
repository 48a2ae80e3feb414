"""What every source of ``planner route`` shares: weekdays, shift options, network, outputs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from planner.errors import InputError, Problem
from planner.routing import RoadNetwork, RouteParams, RoutePlan
from planner.routing.network import build_network
from planner.routing.outputs import to_geojson, to_gpx
from planner.routing.plans import clock

__all__ = [
    "WEEKDAYS",
    "WORKWEEK",
    "network_of",
    "parse_weekdays",
    "plan_report",
    "route_params",
    "stops_params",
    "write_plan",
]

WEEKDAYS = {"mo": 0, "tu": 1, "we": 2, "th": 3, "fr": 4, "sa": 5, "su": 6}
WORKWEEK = "mo,tu,we,th,fr"


def network_of(args: argparse.Namespace) -> RoadNetwork | None:
    """The network of ``--network`` (an OSM or GraphML file, cached in ``--cache-dir``)."""
    if not args.network:
        return None
    return build_network(args.network, cache_dir=args.cache_dir)


def parse_weekdays(text: str) -> tuple[int, ...]:
    names = [w.strip().lower()[:2] for w in text.split(",")]
    unknown = [w for w in names if w not in WEEKDAYS]
    if unknown:
        raise InputError(
            f"--weekdays {text!r}: {', '.join(unknown)} not a weekday",
            [Problem(f"--weekdays {text!r}: use mo, tu, we, th, fr, sa, su", fix="e.g. mo,tu,we")],
        )
    return tuple(dict.fromkeys(WEEKDAYS[w] for w in names))


def route_params(args: argparse.Namespace, *, weekdays: tuple[int, ...]) -> RouteParams:
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


def stops_params(args: argparse.Namespace) -> RouteParams:
    weekdays = parse_weekdays(args.weekdays) if args.weekdays else (WEEKDAYS[args.weekday or "mo"],)
    return route_params(args, weekdays=weekdays)


def write_plan(args: argparse.Namespace, plan: RoutePlan, network: RoadNetwork | None) -> list[str]:
    """Write --out (GeoJSON) and --gpx if asked; return what was written."""
    written = []
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(to_geojson(plan, network), default=str), encoding="utf-8")
        written.append(str(out))
    if args.gpx:
        Path(args.gpx).write_text(to_gpx(plan, network), encoding="utf-8")
        written.append(args.gpx)
    return written


def plan_report(
    plan: RoutePlan, messages: list[str], written: list[str]
) -> tuple[dict[str, Any], list[str]]:
    """The JSON payload and the text lines of a plan: totals, ETA table, left-outs, notes."""
    eta = plan.eta_table()
    totals = plan.totals()
    payload = {
        "ok": True,
        "totals": totals,
        "stops": eta.to_dict(orient="records"),
        "unvisited": plan.unvisited_table().to_dict(orient="records"),
        "notes": messages,
        "written": written,
    }
    lines = [
        f"route ({plan.method}): {totals['visits']} visits, drive "
        f"{totals['drive_h'] * 60:.0f} min / {totals['drive_km']:.1f} km, "
        f"work {totals['work_h']:.2f} h",
        *[
            f"{day.label}: {len(day.stops)} visits, leave home {clock(day.leave_home_s)}, "
            f"back {clock(day.return_home_s)}"
            for day in plan.days
        ],
        eta.to_string(index=False) if len(eta) else "(no visits)",
        *[f"not visited: {u.stop_id} {u.name}: {u.reason}" for u in plan.unvisited],
        *[f"note: {m}" for m in messages],
    ]
    if written:
        lines.append(f"wrote {' and '.join(written)}")
    return payload, lines
