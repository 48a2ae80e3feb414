"""Standard routing instances (CVRP and VRPTW in VRPLIB or Solomon format): read, solve, check.

Anyone can check the route engine on the instances the field uses, with
the rounding conventions of PyVRP (``none``, ``round``, ``trunc``,
``dimacs``: ten times the value, truncated, ``exact``: a thousand times,
rounded). :func:`check_routes` recomputes every constraint from the
instance itself, independently of the solver.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import vrplib
from pyvrp import Model, ProblemData, Solution

from planner.errors import InputError, Problem
from planner.progress import Stop
from planner.routing.solver import Deadline, matrices, run_pyvrp

__all__ = [
    "ROUNDINGS",
    "Instance",
    "InstanceResult",
    "check_routes",
    "read_instance",
    "solve_instance",
]

Rounding = Literal["none", "round", "trunc", "dimacs", "exact"]
InstanceFormat = Literal["vrplib", "solomon"]

#: Scale and rounding of each convention: ``(factor, "round" | "trunc" | None)``.
ROUNDINGS: dict[str, tuple[float, str | None]] = {
    "none": (1.0, None),
    "round": (1.0, "round"),
    "trunc": (1.0, "trunc"),
    "dimacs": (10.0, "trunc"),
    "exact": (1000.0, "round"),
}


@dataclass(frozen=True, eq=False)
class Instance:
    """A routing instance in integer units; location 0 is the depot.

    Parameters
    ----------
    name
        Name from the file.
    distance
        ``(n, n)`` integer distances (also the travel durations).
    demand, capacity
        Load of each location (0 at the depot) and of each vehicle.
    windows
        ``(n, 2)`` earliest and latest start of service; the depot's row
        is the planning horizon.
    service
        Service duration of each location.
    vehicles
        Fleet size.
    scale
        Integer units per unit of the file (10 for ``dimacs``).
    """

    name: str
    distance: np.ndarray
    demand: np.ndarray
    capacity: int
    windows: np.ndarray
    service: np.ndarray
    vehicles: int
    scale: float

    @property
    def n_clients(self) -> int:
        """Number of customers (every location but the depot)."""
        return len(self.demand) - 1

    @property
    def has_windows(self) -> bool:
        """Whether any customer has a time window narrower than the horizon."""
        return bool(np.any(self.windows[1:, 0] > self.windows[0, 0])
                    or np.any(self.windows[1:, 1] < self.windows[0, 1]))


@dataclass(frozen=True)
class InstanceResult:
    """A solved instance: routes (customer numbers, 1-based as in VRPLIB), cost and checks."""

    name: str
    routes: tuple[tuple[int, ...], ...]
    cost: float
    violations: tuple[str, ...]
    runtime_s: float
    stopped: bool = False

    @property
    def feasible(self) -> bool:
        """Whether every constraint holds and every customer is visited once."""
        return not self.violations


def _round(values: np.ndarray, rounding: str) -> np.ndarray:
    factor, how = ROUNDINGS[rounding]
    scaled = np.asarray(values, dtype=float) * factor
    if how == "round":
        return np.round(scaled).astype(np.int64)
    if how == "trunc":
        return np.trunc(scaled).astype(np.int64)
    whole = np.round(scaled)
    if not np.allclose(scaled, whole):
        raise InputError(
            "the instance has fractional distances or times and rounding 'none' keeps them",
            [Problem("PyVRP works in whole numbers", fix="pass --round round, dimacs or exact")],
        )
    return whole.astype(np.int64)


def read_instance(
    path: str | Path,
    *,
    format: InstanceFormat = "vrplib",
    rounding: Rounding = "none",
    vehicles: int | None = None,
) -> Instance:
    """Read a CVRP or VRPTW instance with the ``vrplib`` package and check it.

    Parameters
    ----------
    path
        Instance file.
    format
        ``"vrplib"`` (``.vrp``) or ``"solomon"`` (``.txt``).
    rounding
        How distances, times, demands and capacity become integers.
    vehicles
        Fleet size; ``None`` takes it from the file (or one per customer).

    Raises
    ------
    InputError
        If the file is missing or unreadable, a section is missing, or a
        value is negative, non-numeric or inconsistent (a window that closes
        before it opens, a service longer than the horizon, a demand above
        the capacity), naming the line or customer and the fix.
    """
    if rounding not in ROUNDINGS:
        raise InputError(f"rounding {rounding!r} is not one of {', '.join(ROUNDINGS)}")
    if format not in ("vrplib", "solomon"):
        raise InputError(f"format {format!r} is not 'vrplib' or 'solomon'")
    raw = _parse(Path(path), format)
    problems = _check_raw(raw, Path(path).name)
    if vehicles is not None and vehicles < 1:
        problems.append(Problem(f"--vehicles must be at least 1, got {vehicles}"))
    if problems:
        raise InputError(f"{Path(path).name} is not a valid instance", problems, source=str(path))
    n = len(raw["demand"])
    horizon = np.array([[0.0, 1e9]]) if "time_window" not in raw else None
    windows = raw["time_window"] if horizon is None else np.repeat(horizon, n, axis=0)
    service = _service_times(raw.get("service_time", 0.0), n)
    service[0] = 0.0
    factor = ROUNDINGS[rounding][0]
    return Instance(
        name=str(raw.get("name", Path(path).stem)),
        distance=_round(raw["edge_weight"], rounding),
        demand=_round(raw["demand"], rounding),
        capacity=int(_round(np.array([raw["capacity"]]), rounding)[0]),
        windows=_round(windows, rounding) if horizon is None else windows.astype(np.int64),
        service=_round(service, rounding),
        vehicles=int(vehicles or raw.get("vehicles", n - 1)),
        scale=factor,
    )


def _parse(path: Path, format: str) -> dict[str, Any]:
    """The file's sections as ``vrplib`` reads them; unreadable files are input errors."""
    if not path.is_file():
        raise InputError(f"instance file {path} does not exist", source=str(path))
    try:
        raw = vrplib.read_instance(str(path), instance_format=format)
    except Exception as exc:  # vrplib raises many kinds for malformed files
        raise InputError(
            f"cannot read {path.name} as a {format} instance ({type(exc).__name__}: {exc})",
            [Problem("the file does not follow the format",
                     fix="check the format (--format vrplib for .vrp, solomon for .txt)")],
            source=str(path),
        ) from exc
    return dict(raw)


def _check_raw(raw: dict[str, Any], name: str) -> list[Problem]:
    """Every problem of the instance's sections at once."""
    problems = []
    for key in ("edge_weight", "demand", "capacity"):
        if key not in raw:
            problems.append(Problem(f"{name} has no {key.upper()} section",
                                    fix="add it, or check --format"))
    if problems:
        return problems
    demand = np.asarray(raw["demand"], dtype=float)
    bad = np.flatnonzero(~np.isfinite(demand) | (demand < 0))
    if bad.size:
        problems.append(Problem(f"negative or missing demand at customers {_ids(bad)}",
                                fix="give every customer a demand of 0 or more"))
    over = np.flatnonzero(demand > float(raw["capacity"]))
    if over.size:
        problems.append(Problem(f"demand above the vehicle capacity at customers {_ids(over)}",
                                fix="lower the demand or raise CAPACITY"))
    if "time_window" in raw:
        problems += _check_windows(np.asarray(raw["time_window"], float),
                                   raw.get("service_time", 0.0))
    return problems


def _check_windows(tw: np.ndarray, service: Any) -> list[Problem]:
    problems = []
    bad = np.flatnonzero(~np.isfinite(tw).all(axis=1) | (tw < 0).any(axis=1))
    if bad.size:
        problems.append(Problem(f"negative or non-numeric times at customers {_ids(bad)}",
                                fix="give READY TIME and DUE DATE as numbers of 0 or more"))
    shut = np.flatnonzero(tw[:, 1] < tw[:, 0])
    if shut.size:
        problems.append(Problem(f"windows that close before they open at customers {_ids(shut)}",
                                fix="the DUE DATE must not be before the READY TIME"))
    svc = _service_times(service, len(tw))
    long = np.flatnonzero(svc[1:] > tw[0, 1] - tw[0, 0]) + 1
    if long.size:
        problems.append(Problem(f"service longer than the depot's horizon at {_ids(long)}",
                                fix="shorten the service time or widen the depot window"))
    return problems


def _service_times(service: Any, n: int) -> np.ndarray:
    """Service time per location from one number for all, or one per location."""
    arr = np.asarray(service, dtype=float)
    return np.full(n, float(arr)) if arr.ndim == 0 else arr.astype(float).copy()


def _ids(idx: np.ndarray) -> str:
    shown = ", ".join(str(int(i)) for i in idx[:8])
    return shown + (f" and {len(idx) - 8} more" if len(idx) > 8 else "")


def solve_instance(
    instance: Instance,
    *,
    time_limit_s: float = 10.0,
    seed: int = 0,
    stop: Stop | None = None,
) -> InstanceResult:
    """Solve an instance with the route engine (PyVRP behind our model) and check the answer.

    The limit includes building the model: the call returns within it
    plus the time to check the routes.
    """
    began = time.monotonic()
    data = _model(instance).data().replace(
        distance_matrices=matrices(instance.distance), duration_matrices=matrices(instance.distance)
    )
    start = _fewest_routes(data, instance, began + 0.3 * time_limit_s, seed, stop)
    deadline = Deadline(began + 0.97 * time_limit_s, stop)
    result = run_pyvrp(data, deadline, seed=seed, initial=start)
    best = result.best
    if start is not None and not best.is_feasible():
        best = start
    routes = tuple(
        tuple(int(data.clients()[a.idx].location) for a in route if a.is_client())
        for route in best.routes()
    )
    cost, violations = check_routes(instance, routes)
    return InstanceResult(instance.name, routes, cost, tuple(violations),
                          time.monotonic() - began, deadline.stopped)


def _fewest_routes(
    data: ProblemData, instance: Instance, deadline: float, seed: int, stop: Stop | None
) -> Solution | None:
    """A feasible start within the fleet: solve with spare vehicles that cost a lot to use.

    A fleet as small as the best known solution's is hard to fill from
    scratch (PyVRP alone often finds no feasible plan for C101 with 10
    vehicles in 10 s); a fixed cost per route drives the count down first.
    """
    vehicle = data.vehicle_types()[0]
    spare = vehicle.replace(
        num_available=max(instance.n_clients, instance.vehicles),
        fixed_cost=int(instance.distance.max()) * 4 + 1,
    )
    first = run_pyvrp(data.replace(vehicle_types=[spare]), Deadline(deadline, stop), seed=seed)
    best = first.best
    if not best.is_feasible() or best.num_routes() > instance.vehicles:
        return None
    visits = [[a.idx for a in route if a.is_client()] for route in best.routes()]
    return Solution(data, visits)


def _model(instance: Instance) -> Model:
    """The instance as a PyVRP model (edges are set as whole matrices afterwards)."""
    model = Model()
    locs = [model.add_location(x=0.0, y=0.0) for _ in range(len(instance.demand))]
    depot = model.add_depot(locs[0], tw_early=int(instance.windows[0, 0]),
                            tw_late=int(instance.windows[0, 1]))
    model.add_vehicle_type(
        instance.vehicles, capacity=[instance.capacity], start_depot=depot, end_depot=depot,
        tw_early=int(instance.windows[0, 0]), tw_late=int(instance.windows[0, 1]),
    )
    for i in range(1, len(locs)):
        model.add_client(
            locs[i], delivery=[int(instance.demand[i])], service_duration=int(instance.service[i]),
            tw_early=int(instance.windows[i, 0]), tw_late=int(instance.windows[i, 1]),
        )
    return model


def check_routes(
    instance: Instance, routes: tuple[tuple[int, ...], ...] | list[list[int]]
) -> tuple[float, list[str]]:
    """Recompute a solution's cost (file units) and list every broken constraint.

    Checks: every customer visited exactly once, at most the fleet, each
    route's load within capacity, every service starting inside its window
    (waiting allowed), and every vehicle back before the depot closes.
    """
    D, tw, svc = instance.distance, instance.windows, instance.service
    violations = []
    seen = [c for r in routes for c in r]
    missing = sorted(set(range(1, instance.n_clients + 1)) - set(seen))
    if missing:
        violations.append(f"{len(missing)} customers not visited: {_ids(np.array(missing))}")
    if len(seen) != len(set(seen)):
        violations.append("a customer is visited more than once")
    used = [r for r in routes if r]
    if len(used) > instance.vehicles:
        violations.append(f"{len(used)} routes for a fleet of {instance.vehicles}")
    total = 0
    for k, route in enumerate(used, start=1):
        load = int(instance.demand[list(route)].sum())
        if load > instance.capacity:
            violations.append(f"route {k} carries {load} > capacity {instance.capacity}")
        t, prev = float(tw[0, 0]), 0
        for c in route:
            t = max(t + D[prev, c], float(tw[c, 0]))
            if t > tw[c, 1]:
                violations.append(f"route {k} reaches customer {c} after its window closes")
            t += svc[c]
            total += int(D[prev, c])
            prev = c
        total += int(D[prev, 0])
        if t + D[prev, 0] > tw[0, 1]:
            violations.append(f"route {k} returns after the depot closes")
    return total / instance.scale, violations
