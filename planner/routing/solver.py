"""The adapter to PyVRP: integer matrices, and a stopping rule that keeps the caller's deadline."""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any, Literal

import numpy as np
from pyvrp import ProblemData, Result, Solution
from pyvrp import solve as pyvrp_solve

from planner.errors import InputError
from planner.progress import Stop

__all__ = ["UNREACHABLE", "Deadline", "matrices", "run_pyvrp", "to_solver_units"]

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
    if np.isnan(arr).any() or (arr < 0).any():
        raise InputError("travel times must be non-negative numbers (found NaN or < 0)")
    finite = np.isfinite(arr)
    top = float(arr[finite].max()) if finite.any() else 0.0
    if resolution is None:
        whole = bool(np.all(arr[finite] == np.round(arr[finite])))
        resolution = 1.0 if (whole and top <= 1e7) else max(top / 1e6, 1e-9)
    if resolution <= 0:
        raise InputError(f"resolution must be positive, got {resolution}")
    scaled = arr / resolution if resolution != 1.0 else arr.copy()
    scaled = np.ceil(scaled - 1e-9) if rounding == "up" else np.rint(scaled)
    scaled[~finite] = UNREACHABLE
    out = np.minimum(scaled, UNREACHABLE).astype(np.int64)
    if out.ndim == 2 and out.shape[0] == out.shape[1]:
        np.fill_diagonal(out, 0)
    return out, float(resolution)


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


def run_pyvrp(
    data: ProblemData, deadline: Deadline, *, seed: int = 0, initial: Solution | None = None
) -> Result:
    """Run PyVRP's solver quietly: its warnings (penalty bounds) go to the log, not the user."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = pyvrp_solve(data, deadline, seed=seed, collect_stats=False, display=False,
                             initial_solution=initial)
    for w in caught:
        logger.info("PyVRP: %s", " ".join(str(w.message).split()))
    return result
