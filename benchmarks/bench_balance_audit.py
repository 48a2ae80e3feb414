"""Fairness audit benchmark: a 1,000-plan ReCom ensemble on Georgia k = 10 beside bare GerryChain.

Our ``audit_plan`` runs its rule-keeping ReCom chain (``planner.balance.ensemble``:
targets, bounds, locks and a hard drive limit kept) from our Georgia plan (159
counties, TotPop90, k = 10, tolerance 2 %) and measures every sampled plan
(deviation, Polsby-Popper, cut edges, dispersion). The peer is GerryChain's
ReCom chain on the same plan and tolerance (equal targets, its own tally of
population only, no measuring). Goal: under 2 minutes.

Usage: ``python benchmarks/bench_balance_audit.py [--plans 1000]``
"""

from __future__ import annotations

import argparse
import random
import time
import warnings
from functools import partial

import networkx as nx
from bench_balance import georgia
from gerrychain import Graph, MarkovChain, Partition
from gerrychain.accept import always_accept
from gerrychain.constraints import contiguous, within_percent_of_ideal_population
from gerrychain.proposals import recom
from gerrychain.updaters import Tally

from planner.balance import BalanceParams, design_territories, prepare_units
from planner.balance.audit import audit_plan
from planner.balance.metrics import encode_assignment

warnings.filterwarnings("ignore")


def bare_chain(bu, labels, values, k: int, tol: float, steps: int, seed: int) -> float:
    """Seconds GerryChain alone takes for ``steps`` ReCom steps from the same plan."""
    graph = nx.Graph()
    for i in range(bu.n):
        graph.add_node(i, w=float(values[i]))
    graph.add_edges_from((int(a), int(b)) for a, b in bu.adjacency.pairs.tolist())
    start = Partition(Graph.from_networkx(graph), {i: int(labels[i]) for i in range(bu.n)},
                      {"population": Tally("w", alias="population")})
    chain = MarkovChain(partial(recom, pop_col="w", pop_target=float(values.sum()) / k,
                                epsilon=tol, rng=random.Random(seed)),
                        [contiguous, within_percent_of_ideal_population(start, tol)],
                        always_accept, start, steps + 1, rng=random.Random(seed))
    began = time.perf_counter()
    for _ in chain:
        pass
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=1000)
    args = parser.parse_args()
    print(__doc__.splitlines()[0])
    g = georgia()
    bu = prepare_units(g)
    plan = design_territories(bu, BalanceParams(weight="TotPop90", k=10, tolerance=0.02))
    began = time.perf_counter()
    result = audit_plan(bu, plan, weight="TotPop90", n_plans=args.plans, seed=0)
    ours = time.perf_counter() - began
    labels, _ = encode_assignment(bu, plan.assignment)
    peer = bare_chain(bu, labels, g["TotPop90"].to_numpy(float), 10, result.tolerance,
                      args.plans, 0)
    print(f"ours (audit_plan, {len(result.ensemble)} plans sampled and measured): {ours:.1f} s; "
          f"GerryChain's ReCom alone, same plan and tolerance: {peer:.1f} s; goal < 120 s")
    print("rules kept: " + "; ".join(result.rules_text()))
    print(result.ranks().to_string(index=False, float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
