"""Solomon VRPTW at equal time: the route engine beside PyVRP and OR-Tools, run in the same process.

Convention of LKH-3 and the DIMACS challenge: distances and times are ten
times the Euclidean values, truncated (``--round dimacs``); the fleet is
that of the best-known solution. Each solver gets the same time limit per
instance; the gap is to the best-known cost. The engine's figures are
exactly what ``planner route --instance FILE --round dimacs --vehicles K
--time-limit S --seed N`` prints.

Run: python benchmarks/bench_vrptw.py [--time-limit 10] [--all | --instances C101 R101]
Goal: every customer visited and a mean gap of at most 2 % over C1, C2,
R1, R2, RC1 and RC2.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import vrplib
from pyvrp import read as pyvrp_read
from pyvrp import solve as pyvrp_solve
from pyvrp.stop import MaxRuntime

from planner.routing.instances import Instance, check_routes, read_instance, solve_instance

DATA = Path(__file__).resolve().parent / "data" / "solomon"
#: Two instances of each family (the first, and one from the middle).
DEFAULT = ["C101", "C106", "C201", "C205", "R101", "R107", "R201", "R206",
           "RC101", "RC106", "RC201", "RC206"]


def pyvrp_direct(path: Path, vehicles: int, time_limit_s: float, seed: int) -> list[list[int]]:
    """PyVRP on its own: its reader with DIMACS rounding, the same fleet and limit."""
    data = pyvrp_read(path, round_func="dimacs")
    vt = data.vehicle_types()[0]
    data = data.replace(vehicle_types=[vt.replace(num_available=vehicles)])
    best = pyvrp_solve(data, MaxRuntime(time_limit_s), seed=seed, display=False).best
    return [[data.clients()[a.idx].location for a in r if a.is_client()] for r in best.routes()]


def ortools_vrptw(inst: Instance, time_limit_s: float) -> list[list[int]]:
    """OR-Tools routing: capacity and time dimensions, guided local search, the same fleet.

    Customers may be left out at a large penalty (else no first solution is found).
    """
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = len(inst.demand)
    manager = pywrapcp.RoutingIndexManager(n, inst.vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)
    D = inst.distance.tolist()
    svc = inst.service.tolist()
    dem = inst.demand.tolist()

    def dist(i: int, j: int) -> int:
        return D[manager.IndexToNode(i)][manager.IndexToNode(j)]

    def travel(i: int, j: int) -> int:
        a, b = manager.IndexToNode(i), manager.IndexToNode(j)
        return svc[a] + D[a][b]

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(dist))
    load = routing.RegisterUnaryTransitCallback(lambda i: dem[manager.IndexToNode(i)])
    routing.AddDimensionWithVehicleCapacity(load, 0, [inst.capacity] * inst.vehicles, True,
                                            "load")
    horizon = int(inst.windows[0, 1])
    routing.AddDimension(routing.RegisterTransitCallback(travel), horizon, horizon, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    # With the best-known fleet OR-Tools often builds no first solution at all; a
    # large penalty for leaving a customer out lets it start and report who is missing.
    penalty = int(inst.distance.max()) * len(inst.demand)
    for node in range(1, n):
        index = manager.NodeToIndex(node)
        time_dim.CumulVar(index).SetRange(int(inst.windows[node, 0]), int(inst.windows[node, 1]))
        routing.AddDisjunction([index], penalty)
    for v in range(inst.vehicles):
        time_dim.CumulVar(routing.Start(v)).SetRange(0, horizon)
        time_dim.CumulVar(routing.End(v)).SetRange(0, horizon)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
    params.time_limit.FromMilliseconds(int(time_limit_s * 1000))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return []
    routes = []
    for v in range(inst.vehicles):
        index = routing.Start(v)
        route = []
        index = solution.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            route.append(manager.IndexToNode(index))
            index = solution.Value(routing.NextVar(index))
        routes.append(route)
    return routes


def _cell(inst: Instance, routes: list[list[int]], bks: float, secs: float) -> tuple[str, float]:
    cost, bad = check_routes(inst, [r for r in routes if r])
    visited = len({c for r in routes for c in r})
    gap = 100 * (cost / bks - 1)
    mark = "" if not bad else " !"
    return f"{cost:8.1f} {gap:6.2f} {visited:4d}{mark} {secs:5.1f}", (gap if not bad else np.nan)


def main() -> None:
    """Run the three solvers on each instance and print costs, gaps and customers visited."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--all", action="store_true", help="all 56 instances")
    parser.add_argument("--instances", nargs="*", default=None)
    parser.add_argument("--no-ortools", action="store_true")
    args = parser.parse_args()
    names = (sorted(p.stem for p in DATA.glob("*.vrp")) if args.all
             else args.instances or DEFAULT)
    print(f"Solomon VRPTW, DIMACS rounding, fleet of the best known, {args.time_limit:g} s "
          "per instance and solver (2 shared cores: noisy)")
    print(f"{'instance':9} {'K':>3} {'best':>8} | {'ours: cost gap% cust s':>27} | "
          f"{'PyVRP: cost gap% cust s':>27} | {'OR-Tools: cost gap% cust s':>27}")
    gaps: dict[str, list[float]] = {"ours": [], "pyvrp": [], "ortools": []}
    for name in names:
        path = DATA / f"{name}.vrp"
        sol = vrplib.read_solution(str(path.with_suffix(".sol")))
        k = len(sol["routes"])
        bks = float(sol["cost"])
        inst = read_instance(path, rounding="dimacs", vehicles=k)
        ours = solve_instance(inst, time_limit_s=args.time_limit, seed=args.seed)
        row_ours, g = _cell(inst, [list(r) for r in ours.routes], bks, ours.runtime_s)
        gaps["ours"].append(g)
        t0 = time.perf_counter()
        direct = pyvrp_direct(path, k, args.time_limit, args.seed)
        row_py, g = _cell(inst, direct, bks, time.perf_counter() - t0)
        gaps["pyvrp"].append(g)
        row_or = "-"
        if not args.no_ortools:
            t0 = time.perf_counter()
            peer = ortools_vrptw(inst, args.time_limit)
            row_or, g = _cell(inst, peer, bks, time.perf_counter() - t0)
            gaps["ortools"].append(g)
        print(f"{name:9} {k:3d} {bks:8.1f} | {row_ours:>27} | {row_py:>27} | {row_or:>27}",
              flush=True)
    print("('!': infeasible or customers missing; its gap is left out of the mean)")
    for who, vals in gaps.items():
        if vals:
            arr = np.array(vals, dtype=float)
            print(f"{who:8} mean gap {np.nanmean(arr) if np.isfinite(arr).any() else np.nan:6.2f} %"
                  f" over {int(np.isfinite(arr).sum())} feasible of {len(arr)}")
    ours_arr = np.array(gaps["ours"], dtype=float)
    met = np.isfinite(ours_arr).all() and np.nanmean(ours_arr) <= 2.0
    print(f"goal (every customer, mean gap <= 2 %): {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
