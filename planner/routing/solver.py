"""The adapter to PyVRP: integer matrices, and a stopping rule that keeps the caller's deadline."""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any, Literal

import numpy as np
from pyvrp import (
    Activity,
    ActivityType,
    IteratedLocalSearch,
    PenaltyManager,
    ProblemData,
    RandomNumberGenerator,
    Result,
    Solution,
    SolveParams,
)
from pyvrp import solve as pyvrp_solve
from pyvrp.search import LocalSearch, PerturbationManager

from planner.errors import InputError
from planner.progress import Stop

__all__ = [
    "UNREACHABLE",
    "Deadline",
    "client_neighbours",
    "matrices",
    "nearest_clients",
    "run_pyvrp",
    "to_solver_units",
]

logger = logging.getLogger(__name__)

#: Integer standing for "no road between these points" in solver matrices.
UNREACHABLE = 10**9


def to_solver_units(
    values: np.ndarray,
    *,
    resolution: float | None = None,
    rounding: Literal["nearest", "up"] = "nearest",
) -> tuple[np.ndarray, float]:
    """Convert a float matrix (seconds, metres) into the integers PyVRP needs.

    Parameters
    ----------
    values
        Non-negative values; ``inf`` marks a missing connection.
    resolution
        Size of one integer unit, in the units of ``values``. ``None``: 1 if
        every finite value is already a whole number, else fine enough that
        the largest finite value becomes about a million units.
    rounding
        ``"nearest"`` for the best approximation; ``"up"`` so that schedules
        computed in floats are never later than the solver believed.

    Returns
    -------
    tuple
        The ``int64`` matrix (missing connections become :data:`UNREACHABLE`)
        and the resolution used.

    Raises
    ------
    InputError
        If a value is negative or NaN.
    """
    arr = np.asarray(values, dtype=float)
    if not bool((arr >= 0).all()):  # NaN compares False too
        raise InputError("travel times must be non-negative numbers (found NaN or < 0)")
    finite = np.isfinite(arr)
    all_finite = bool(finite.all())
    top = float(arr.max() if all_finite else (arr[finite].max() if finite.any() else 0.0))
    if resolution is None:
        whole = top <= 1e7 and _whole(arr, finite, all_finite)
        resolution = 1.0 if whole else max(top / 1e6, 1e-9)
    if resolution <= 0:
        raise InputError(f"resolution must be positive, got {resolution}")
    scaled = arr / resolution if resolution != 1.0 else arr.copy()
    if rounding == "up":
        scaled -= 1e-9
        np.ceil(scaled, out=scaled)
    else:
        np.rint(scaled, out=scaled)
    if not all_finite:
        scaled[~finite] = UNREACHABLE
    np.minimum(scaled, UNREACHABLE, out=scaled)
    out = scaled.astype(np.int64)
    return out, float(resolution)


def _whole(arr: np.ndarray, finite: np.ndarray, all_finite: bool) -> bool:
    """Whether every finite value is a whole number (a sample first: most matrices fail fast)."""
    flat = arr.ravel()
    sample = flat[:: max(1, flat.size // 4096)]
    sample = sample[np.isfinite(sample)]
    if not bool(np.all(sample == np.round(sample))):
        return False
    vals = arr if all_finite else arr[finite]
    return bool(np.all(vals == np.round(vals)))


def matrices(matrix: np.ndarray) -> Any:
    """Wrap one matrix as PyVRP's list of per-profile matrices (its stubs type them oddly)."""
    return [matrix]


class Deadline:
    """PyVRP stopping criterion: stop at a wall-clock deadline or when the caller asks.

    Unlike PyVRP's ``MaxRuntime``, which counts from the first iteration,
    the deadline is absolute, so the time spent building the model counts
    against the caller's limit.

    Parameters
    ----------
    deadline
        ``time.monotonic()`` value at which to stop.
    stop
        Asked between iterations; ``True`` stops the search early.
    """

    def __init__(self, deadline: float, stop: Stop | None = None) -> None:
        self.deadline = float(deadline)
        self.stop = stop
        self.stopped = False

    @classmethod
    def after(cls, seconds: float, stop: Stop | None = None) -> Deadline:
        """Return a deadline ``seconds`` from now."""
        return cls(time.monotonic() + max(float(seconds), 0.0), stop)

    def left(self) -> float:
        """Seconds left until the deadline (never negative)."""
        return max(0.0, self.deadline - time.monotonic())

    def __call__(self, best_cost: float) -> bool:
        """Return whether the search should stop now."""
        if self.stop is not None and self.stop():
            self.stopped = True
            return True
        return time.monotonic() >= self.deadline


def nearest_clients(M: np.ndarray, k: int) -> list[list[int]]:
    """The ``k`` nearest other points of each point by ``M + M.T``, nearest first.

    ``argpartition`` keeps this linear in the matrix size, so neighbour lists
    of 2,000 points fit in a fraction of a second.
    """
    n = len(M)
    k = max(1, min(k, n - 1))
    sym = M + M.T
    np.fill_diagonal(sym, np.iinfo(np.int64).max // 4 if sym.dtype.kind == "i" else np.inf)
    part = np.argpartition(sym, k - 1, axis=1)[:, :k]
    rows = np.arange(n)[:, None]
    ordered = part[rows, np.argsort(sym[rows, part], axis=1)]
    return ordered.tolist()


def client_neighbours(near: list[list[int]], n_depots: int = 1) -> dict[Activity, list[Activity]]:
    """PyVRP's neighbourhood from point neighbour lists (points ``n_depots..`` are the clients)."""
    out: dict[Activity, list[Activity]] = {}
    for p, row in enumerate(near):
        if p < n_depots:
            continue
        out[Activity(ActivityType.CLIENT, p - n_depots)] = [
            Activity(ActivityType.CLIENT, q - n_depots) for q in row if q >= n_depots
        ]
    return out


def run_pyvrp(
    data: ProblemData,
    deadline: Deadline,
    *,
    seed: int = 0,
    initial: Solution | None = None,
    neighbours: dict[Activity, list[Activity]] | None = None,
) -> Result:
    """Run PyVRP's iterated local search quietly, optionally with our own neighbour lists.

    PyVRP's warnings (penalty bounds) go to the log, not the user. PyVRP
    computes its granular neighbourhood in time quadratic in the clients
    with a large constant (1.6 s for 2,000); large tours pass lists from
    :func:`nearest_clients` instead, so the time limit holds.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if neighbours is None:
            result = pyvrp_solve(data, deadline, seed=seed, collect_stats=False, display=False,
                                 initial_solution=initial)
        else:
            result = _search(data, deadline, seed, initial, neighbours)
    for w in caught:
        logger.info("PyVRP: %s", " ".join(str(w.message).split()))
    return result


def _search(
    data: ProblemData,
    deadline: Deadline,
    seed: int,
    initial: Solution | None,
    neighbours: dict[Activity, list[Activity]],
) -> Result:
    """PyVRP's own solve loop with default parameters and the given neighbourhood."""
    params = SolveParams()
    rng = RandomNumberGenerator(seed=seed)
    ls = LocalSearch(data, rng, neighbours, PerturbationManager(params.perturbation))
    for op in params.operators:
        if op.supports(data):
            ls.add_operator(op(data))
    pm = PenaltyManager(params.penalty.midpoint_penalties(data), params.penalty)
    if initial is None:
        initial = ls(Solution.make_random(data, rng), pm.max_cost_evaluator(), exhaustive=True)
    algo = IteratedLocalSearch(data, pm, ls, initial, params.ils)
    return algo.run(deadline, False, False, params.display_interval)
