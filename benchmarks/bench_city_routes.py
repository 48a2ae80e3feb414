"""Routes on real asymmetric city networks (Baltimore, Harrisburg): ours beside OR-Tools.

Run: python benchmarks/bench_city_routes.py [--time-limit 2] [--sizes 25,50,100]
Stops are real points of interest of each extract; drive times come from
the road network (one-way streets make them asymmetric). Both solvers get
the same integer-second matrix and the same time. Two problems: a closed
tour through every stop (solve_tour), and a rep's day with opening-hour
windows, 15-minute visits and an 08:00-17:00 shift in which the rep may
leave late (plan_routes; compared on visits made, then drive time plus
working time, the objective both solvers are given). Goal: never worse
than OR-Tools.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _tsp_peers import SHARED, ortools_tour, tour_length

from planner.routing.matrix import TravelMatrix, travel_matrix
from planner.routing.network import build_network
from planner.routing.tours import RouteParams, plan_routes, solve_tour, to_solver_units

CITIES = ["baltimore", "harrisburg"]


def _pois(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import pyrosm

    pois = pyrosm.OSM(str(path)).get_pois()
    pts = pois[pois.geometry.geom_type == "Point"]
    return pts.geometry.y.to_numpy(), pts.geometry.x.to_numpy()


DAY_START, DAY_END, VISIT_S = 8 * 3600, 17 * 3600, 15 * 60


def _windows(n: int, rng: np.random.Generator) -> np.ndarray:
    """Random opening windows (open, close) in seconds, 2 to 5 hours long, within the shift."""
    opens = rng.integers(8 * 4, 13 * 4, n) * 900
    lengths = rng.integers(2 * 4, 5 * 4 + 1, n) * 900
    return np.column_stack((opens, np.minimum(opens + lengths, DAY_END)))


def _ortools_day(D: np.ndarray, win: np.ndarray, time_limit_s: float) -> tuple[int, float, float]:
    """Day route with windows by OR-Tools: (visits, drive s, end - start s)."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = len(D)
    drive = np.rint(D).astype(np.int64)
    service = np.r_[0, np.full(n - 1, VISIT_S)]
    manager = pywrapcp.RoutingIndexManager(n, 1, 0)
    routing = pywrapcp.RoutingModel(manager)
    arc = routing.RegisterTransitMatrix(drive.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(arc)
    timed = routing.RegisterTransitMatrix((drive + service[:, None]).tolist())
    routing.AddDimension(timed, DAY_END, DAY_END, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    time_dim.SetSpanCostCoefficientForAllVehicles(1)
    # The same model as ours: the rep may leave late, every visit that fits is made
    # (a prize above any day's cost), and the cost is drive plus working time.
    prize = int(4 * (DAY_END - DAY_START) + 1000)
    for node in range(1, n):
        index = manager.NodeToIndex(node)
        time_dim.CumulVar(index).SetRange(int(win[node - 1, 0]), int(win[node - 1, 1] - VISIT_S))
        routing.AddDisjunction([index], prize)
    time_dim.CumulVar(routing.Start(0)).SetRange(DAY_START, DAY_END)
    time_dim.CumulVar(routing.End(0)).SetRange(DAY_START, DAY_END)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(time_limit_s * 1000))
    sol = routing.SolveWithParameters(params)
    index, visits, drive_s = routing.Start(0), 0, 0.0
    while not routing.IsEnd(index):
        nxt = sol.Value(routing.NextVar(index))
        drive_s += D[manager.IndexToNode(index), manager.IndexToNode(nxt)]
        visits += not routing.IsStart(index)
        index = nxt
    start = sol.Value(time_dim.CumulVar(routing.Start(0)))
    end = sol.Value(time_dim.CumulVar(routing.End(0)))
    return visits, drive_s, float(end - start)


def _ours_day(
    D: np.ndarray, win: np.ndarray, time_limit_s: float, seed: int
) -> tuple[int, float, float]:
    """Day route with windows by plan_routes on the same matrix."""
    import pandas as pd

    n = len(D) - 1
    hours = [
        f"Mo {int(a) // 3600:02d}:{int(a) % 3600 // 60:02d}-"
        f"{int(b) // 3600:02d}:{int(b) % 3600 // 60:02d}"
        for a, b in win
    ]
    stops = pd.DataFrame({
        "account_id": [f"S{i}" for i in range(n)],
        "latitude": np.zeros(n), "longitude": np.zeros(n),
        "visit_minutes": VISIT_S / 60, "opening_hours": hours,
    })
    matrix = TravelMatrix(D, np.zeros_like(D), False, "road network")
    params = RouteParams(day_start="08:00", day_end="17:00", time_limit_s=time_limit_s,
                         seed=seed)
    plan = plan_routes(stops, (0.0, 0.0), matrix=matrix, params=params)
    day = plan.days[0]
    # Both solvers count the working time from leaving home to coming back.
    return len(day.stops), day.drive_s, day.work_s


def main() -> None:
    """Solve TSPs through real stops on each city with both solvers at equal time."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=2.0)
    parser.add_argument("--sizes", default="25,50,100")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"TSP through real POIs, {args.time_limit:g} s each (2 shared cores: noisy)")
    print(
        f"{'city':11} {'stops':>5} {'asym%':>6} {'ours min':>9} {'OR-Tools min':>13} "
        f"{'diff%':>6}"
    )
    worse = 0
    for city in CITIES:
        path = SHARED / "osm" / f"{city}.osm.pbf"
        net = build_network(path)
        lat, lon = _pois(path)
        rng = np.random.default_rng(args.seed)
        for n in sizes:
            pick = rng.choice(len(lat), min(n, len(lat)), replace=False)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tm = travel_matrix(
                    lat[pick], lon[pick], net, with_distance=False, reject_snap_m=1e9
                )
            D, _ = to_solver_units(tm.duration_s, resolution=1.0)
            D = D.astype(float)
            asym = 100 * np.mean(np.abs(D - D.T) > 1)
            t0 = time.perf_counter()
            ours = solve_tour(D, time_limit_s=args.time_limit, seed=args.seed)
            t_ours = time.perf_counter() - t0
            t0 = time.perf_counter()
            peer = ortools_tour(D, time_limit_s=args.time_limit)
            t_peer = time.perf_counter() - t0
            lo, lp = tour_length(D, ours), tour_length(D, peer)
            diff = 100 * (lo / lp - 1)
            worse += lo > lp
            print(f"{city:11} {len(pick):5d} {asym:6.1f} {lo / 60:9.1f} {lp / 60:13.1f} "
                  f"{diff:6.2f}   ({t_ours:.2f} s / {t_peer:.2f} s)")
    print(f"TSP: ours worse than OR-Tools on {worse} instance(s)")
    print()
    print(f"Day with opening-hour windows, 15-min visits, 08:00-17:00, {args.time_limit:g} s each")
    print(f"{'city':11} {'stops':>5} {'ours visits':>11} {'drive+work min':>14} "
          f"{'OR-Tools visits':>15} {'drive+work min':>14}")
    worse_tw = 0
    for city in CITIES:
        path = SHARED / "osm" / f"{city}.osm.pbf"
        net = build_network(path)
        lat, lon = _pois(path)
        rng = np.random.default_rng(args.seed + 1)
        for n in [s for s in sizes if s <= 50] or sizes[:1]:
            pick = rng.choice(len(lat), min(n, len(lat)) + 1, replace=False)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tm = travel_matrix(
                    lat[pick], lon[pick], net, with_distance=False, reject_snap_m=1e9
                )
            D, _ = to_solver_units(tm.duration_s, resolution=1.0)
            D = D.astype(float)
            win = _windows(len(pick) - 1, rng)
            ov, od, ospan = _ours_day(D, win, args.time_limit, args.seed)
            pv, pd_, pspan = _ortools_day(D, win, args.time_limit)
            ours_key, peer_key = (-ov, od + ospan), (-pv, pd_ + pspan)
            worse_tw += ours_key > peer_key
            print(f"{city:11} {len(pick) - 1:5d} {ov:11d} {(od + ospan) / 60:14.1f} "
                  f"{pv:15d} {(pd_ + pspan) / 60:14.1f}")
    total = worse + worse_tw
    print(f"ours worse than OR-Tools on {total} instance(s); goal: never "
          f"({'met' if total == 0 else 'NOT met'})")


if __name__ == "__main__":
    main()
