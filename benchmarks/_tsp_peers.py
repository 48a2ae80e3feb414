"""Shared helpers of the routing benchmarks: TSPLIB reading and the OR-Tools peer."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def read_tsplib(path: Path) -> np.ndarray:
    """Return the EUC_2D distance matrix of a TSPLIB file, rounded per TSPLIB (nint)."""
    coords: list[tuple[float, float]] = []
    inside = False
    kind = ""
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("EDGE_WEIGHT_TYPE"):
            kind = line.split(":")[1].strip()
        elif line.startswith("NODE_COORD_SECTION"):
            inside = True
        elif line == "EOF":
            break
        elif inside and line:
            _, x, y = line.split()[:3]
            coords.append((float(x), float(y)))
    if kind != "EUC_2D":
        raise ValueError(f"{path.name}: only EUC_2D instances are supported, not {kind}")
    xy = np.asarray(coords)
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    return np.floor(d + 0.5)


def best_known(path: Path) -> dict[str, int]:
    """Return the optimal tour lengths listed in TSPLIB's bestSolutions.txt."""
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r"\s*(\w+)\s*:\s*(\d+)", line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


def ortools_tour(matrix: np.ndarray, *, start: int = 0, time_limit_s: float = 2.0) -> list[int]:
    """Solve a TSP with OR-Tools routing: cheapest arc, then guided local search."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = len(matrix)
    m = np.rint(matrix).astype(np.int64)
    manager = pywrapcp.RoutingIndexManager(n, 1, start)
    routing = pywrapcp.RoutingModel(manager)
    transit = routing.RegisterTransitMatrix(m.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(time_limit_s * 1000))
    solution = routing.SolveWithParameters(params)
    index = routing.Start(0)
    tour = []
    while not routing.IsEnd(index):
        tour.append(manager.IndexToNode(index))
        index = solution.Value(routing.NextVar(index))
    return tour


def tour_length(matrix: np.ndarray, tour: list[int]) -> float:
    """Length of a closed tour."""
    return float(sum(matrix[a, b] for a, b in zip(tour, tour[1:] + tour[:1], strict=True)))
