"""TSP quality on TSPLIB at equal time: solve_tour (PyVRP) beside OR-Tools guided local search.

Run: python benchmarks/bench_tsp.py [--time-limit 2]
Goal: mean gap to the proven optimum <= 1 % at 2 s per instance.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _tsp_peers import SHARED, best_known, ortools_tour, read_tsplib, tour_length

from planner.routing.tours import solve_tour

INSTANCES = ["berlin52", "eil51", "st70", "pr76", "kroA100", "lin105", "ch150", "a280"]


def main() -> None:
    """Run both solvers on every instance and print gaps side by side."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    folder = SHARED / "tsplib"
    best = best_known(folder / "bestSolutions.txt")
    print(f"TSPLIB, {args.time_limit:g} s per instance and solver (2 shared cores: noisy)")
    print(
        f"{'instance':10} {'n':>4} {'optimum':>8} {'ours':>8} {'gap%':>6} "
        f"{'OR-Tools':>9} {'gap%':>6}"
    )
    ours_gaps, peer_gaps = [], []
    for name in INSTANCES:
        D = read_tsplib(folder / f"{name}.tsp")
        t0 = time.perf_counter()
        ours = solve_tour(D, time_limit_s=args.time_limit, seed=args.seed)
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        peer = ortools_tour(D, time_limit_s=args.time_limit)
        t_peer = time.perf_counter() - t0
        assert sorted(ours) == list(range(len(D))) and sorted(peer) == list(range(len(D)))
        lo, lp = tour_length(D, ours), tour_length(D, peer)
        go, gp = 100 * (lo / best[name] - 1), 100 * (lp / best[name] - 1)
        ours_gaps.append(go)
        peer_gaps.append(gp)
        print(f"{name:10} {len(D):4d} {best[name]:8d} {lo:8.0f} {go:6.2f} {lp:9.0f} {gp:6.2f}"
              f"   ({t_ours:.2f} s / {t_peer:.2f} s)")
    print(f"{'mean gap':24} {np.mean(ours_gaps):15.2f} {np.mean(peer_gaps):16.2f}")
    print(f"goal <= 1 %: {'met' if np.mean(ours_gaps) <= 1.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
