"""Routes on real asymmetric city networks (Baltimore, Harrisburg): ours beside OR-Tools.

Run: python benchmarks/bench_city_routes.py [--time-limit 2] [--sizes 25,50,100]
Stops are real points of interest of each extract; drive times come from
the road network (one-way streets make them asymmetric). Both solvers get
the same integer-second matrix and the same time. Goal: never worse than
OR-Tools.
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

from planner.routing.matrix import travel_matrix
from planner.routing.network import build_network
from planner.routing.tours import solve_tour, to_solver_units

CITIES = ["baltimore", "harrisburg"]


def _pois(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import pyrosm

    pois = pyrosm.OSM(str(path)).get_pois()
    pts = pois[pois.geometry.geom_type == "Point"]
    return pts.geometry.y.to_numpy(), pts.geometry.x.to_numpy()


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
    print(f"ours worse than OR-Tools on {worse} instance(s); goal: never "
          f"({'met' if worse == 0 else 'NOT met'})")


if __name__ == "__main__":
    main()
