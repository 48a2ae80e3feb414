"""Parameters of a balancing run (design or rebalance), validated once with every problem listed."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from planner.balance.plan import Locks
from planner.balance.workload import ACCOUNT_COUNT, BalanceWeight
from planner.errors import InputError, Problem
from planner.geo.adjacency import Contiguity
from planner.schema import CAPACITY_H_PER_WEEK

__all__ = ["BalanceParams", "CompactnessMeasure", "DriveLimitKind", "LocksLike"]

#: Locks as :class:`Locks`, a mapping unit id -> territory id, or nothing.
LocksLike = Locks | Mapping[str, str] | pd.Series | None

_CONTIGUITIES = ("rook", "queen")

#: ``"hard"``: no unit beyond the limit; ``"soft"``: a penalty in the objective.
DriveLimitKind = Literal["hard", "soft"]
_DRIVE_LIMITS = ("hard", "soft")

#: ``"shape"``: Polsby-Popper of the outline; ``"drive"``: drive time from the rep's home.
CompactnessMeasure = Literal["shape", "drive"]
_COMPACTNESS = ("shape", "drive")


@dataclass(frozen=True)
class BalanceParams:
    """What to balance and how hard: one object for a design and for a rebalance.

    Built with wrong values it raises one :class:`~planner.errors.InputError`
    listing every problem (argument, rule, fix), as the app and the CLI show it.

    Parameters
    ----------
    weight
        Column to balance, or a mapping of column name to relative weight.
    k
        Number of territories of a design (with reps: one per rep, may be left out).
    tolerance
        Largest accepted relative deviation of a territory from its target
        (0.02 is +/-2 %).
    locked
        Units pinned to territories, and frozen territories (:class:`Locks`;
        a mapping unit id -> territory id pins units).
    contiguity
        ``"rook"`` (shared border) or ``"queen"`` (corners count) adjacency.
    seed
        Seed of every random choice; the same inputs and seed give the same plan.
    restarts
        Independent starts of a design (``None``: as many as fit a small
        work budget).
    compactness_sweeps
        Passes of the compactness search (0 skips it).
    capacity_column
        Reps' capacity column; targets follow it when every rep has one.
    account_count
        Units' column counting accounts (the unit of a rebalance's move budget).
    max_moved_accounts, max_moved_share
        Move budget of a rebalance, in accounts or as a share of all accounts
        (``None``: no limit).
    min_workload, max_workload
        Smallest and largest workload any territory may have, in the units
        of the ``weight`` column (one column only). Where they are tighter
        than the tolerance around a target they tighten it for the design
        (the plan's ``parameters["tolerance"]`` says by how much); a minimum
        above, or a maximum below, the mean target cannot be met.
    max_drive_h
        Longest drive, in hours, from a territory's rep home to any of its
        units (needs reps with homes; ``None``: no limit). Drive times come
        from the road network when the caller passes them (the CLI and the
        app do when a network is saved), else from the straight-line
        estimate (distance x 1.3 at 40 km/h, as :mod:`planner.routing`).
    drive_limit
        ``"hard"``: no unit may lie beyond ``max_drive_h`` (a request that
        leaves a unit out of every rep's reach is refused, naming it);
        ``"soft"``: a unit beyond it costs a penalty in the objective.
    drive_penalty
        Weight of the soft limit: a unit x % beyond the limit costs as much as
        ``drive_penalty`` times x % of deviation from a target (squared, as
        the deviation is).
    compactness
        What the compactness search raises: ``"shape"`` (Polsby-Popper of
        the outlines) or ``"drive"`` (less drive time from the rep's home to
        the units; needs reps).
    """

    weight: BalanceWeight
    k: int | None = None
    tolerance: float = 0.02
    locked: Locks = field(default_factory=Locks)
    contiguity: Contiguity = "rook"
    seed: int = 0
    restarts: int | None = None
    compactness_sweeps: int = 6
    capacity_column: str = CAPACITY_H_PER_WEEK
    account_count: str = ACCOUNT_COUNT
    max_moved_accounts: int | None = None
    max_moved_share: float | None = None
    min_workload: float | None = None
    max_workload: float | None = None
    max_drive_h: float | None = None
    drive_limit: DriveLimitKind = "hard"
    drive_penalty: float = 1.0
    compactness: CompactnessMeasure = "shape"

    def __post_init__(self) -> None:
        if not isinstance(self.locked, Locks):
            object.__setattr__(self, "locked", Locks.coerce(self.locked))
        problems = [
            *_weight_problems(self.weight),
            *_count_problems(self),
            *_range_problems(self),
            *_bound_problems(self),
            *_drive_problems(self),
        ]
        if problems:
            raise InputError("the balance parameters are invalid", problems, source="params")

    def with_(self, **changes: Any) -> BalanceParams:
        """Return a copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as a JSON-friendly dictionary."""
        return {
            "weight": self.weight if isinstance(self.weight, str) else dict(self.weight),
            "k": self.k,
            "tolerance": self.tolerance,
            "locks": self.locked.to_dict(),
            "contiguity": self.contiguity,
            "seed": self.seed,
            "restarts": self.restarts,
            "compactness_sweeps": self.compactness_sweeps,
            "capacity_column": self.capacity_column,
            "account_count": self.account_count,
            "max_moved_accounts": self.max_moved_accounts,
            "max_moved_share": self.max_moved_share,
            "min_workload": self.min_workload,
            "max_workload": self.max_workload,
            "max_drive_h": self.max_drive_h,
            "drive_limit": self.drive_limit,
            "drive_penalty": self.drive_penalty,
            "compactness": self.compactness,
        }


def _is_whole(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _weight_problems(weight: object) -> list[Problem]:
    if isinstance(weight, str):
        return [] if weight.strip() else [Problem(
            "weight is an empty column name", column="weight",
            fix="name the column to balance, e.g. weight='workload_h'")]
    if not isinstance(weight, Mapping) or not weight:
        return [Problem(f"weight must be a column name or a mapping of columns to weights, "
                        f"not {weight!r}", column="weight",
                        fix="pass weight='workload_h' or weight={'workload_h': 2, 'revenue': 1}")]
    bad = [str(c) for c, w in weight.items()
           if not isinstance(w, int | float) or not math.isfinite(w) or w <= 0]
    return [Problem(f"weights of columns {', '.join(bad)} are not positive numbers",
                    column="weight", fix="give every column a weight above 0")] if bad else []


def _count_problems(p: BalanceParams) -> list[Problem]:
    out: list[Problem] = []
    if p.k is not None and (not _is_whole(p.k) or p.k < 1):
        out.append(Problem(f"k must be a positive whole number, not {p.k!r}", column="k",
                           fix="pass the number of territories, e.g. k=10"))
    if not _is_whole(p.seed):
        out.append(Problem(f"seed must be a whole number, not {p.seed!r}", column="seed",
                           fix="pass seed=0"))
    if p.restarts is not None and (not _is_whole(p.restarts) or p.restarts < 1):
        out.append(Problem(f"restarts must be at least 1, not {p.restarts!r}", column="restarts",
                           fix="leave restarts out or pass a number from 1"))
    if not _is_whole(p.compactness_sweeps) or p.compactness_sweeps < 0:
        out.append(Problem(f"compactness_sweeps must be 0 or more, not {p.compactness_sweeps!r}",
                           column="compactness_sweeps", fix="pass 0 to skip compactness"))
    if p.max_moved_accounts is not None and (
        not _is_whole(p.max_moved_accounts) or p.max_moved_accounts < 0
    ):
        out.append(Problem(f"max_moved_accounts must be 0 or more, not {p.max_moved_accounts!r}",
                           column="max_moved_accounts", fix="pass a number of accounts"))
    return out


def _range_problems(p: BalanceParams) -> list[Problem]:
    out: list[Problem] = []
    if not isinstance(p.tolerance, int | float) or not 0 <= p.tolerance < 1:
        out.append(Problem(f"tolerance must be in [0, 1), not {p.tolerance!r}",
                           column="tolerance", fix="pass 0.02 for +/-2 %"))
    if p.contiguity not in _CONTIGUITIES:
        out.append(Problem(f"contiguity must be 'rook' or 'queen', not {p.contiguity!r}",
                           column="contiguity", fix="pass contiguity='queen' to count corners"))
    share = p.max_moved_share
    if share is not None and (not isinstance(share, int | float) or not 0 <= share <= 1):
        out.append(Problem(f"max_moved_share must be in [0, 1], not {share!r}",
                           column="max_moved_share", fix="pass 0.05 for 5 % of accounts"))
    return out


def _bound_problems(p: BalanceParams) -> list[Problem]:
    out: list[Problem] = []
    lo, hi = p.min_workload, p.max_workload
    for name, v in (("min_workload", lo), ("max_workload", hi)):
        if v is not None and (not isinstance(v, int | float) or not math.isfinite(v) or v < 0):
            out.append(Problem(f"{name} must be a number of 0 or more, not {v!r}", column=name,
                               fix=f"pass {name} in the units of the weight column"))
    if out:
        return out
    if lo is not None and hi is not None and lo > hi:
        out.append(Problem(f"min_workload {lo} is above max_workload {hi}",
                           column="min_workload", fix="swap them or widen the range"))
    if (lo is not None or hi is not None) and not isinstance(p.weight, str):
        out.append(Problem("min_workload and max_workload need a single weight column",
                           column="weight",
                           fix="balance one column, or leave the workload bounds out"))
    return out


def _positive(value: object) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


def _drive_problems(p: BalanceParams) -> list[Problem]:
    out: list[Problem] = []
    if p.max_drive_h is not None and not _positive(p.max_drive_h):
        out.append(Problem(f"max_drive_h must be a positive number of hours, not "
                           f"{p.max_drive_h!r}", column="max_drive_h",
                           fix="pass e.g. max_drive_h=1.5, or leave it out for no limit"))
    if p.drive_limit not in _DRIVE_LIMITS:
        out.append(Problem(f"drive_limit must be 'hard' or 'soft', not {p.drive_limit!r}",
                           column="drive_limit",
                           fix="pass 'hard' (never beyond) or 'soft' (a penalty)"))
    if not _positive(p.drive_penalty):
        out.append(Problem(f"drive_penalty must be a positive number, not {p.drive_penalty!r}",
                           column="drive_penalty", fix="pass 1.0, or more to keep closer"))
    if p.compactness not in _COMPACTNESS:
        out.append(Problem(f"compactness must be 'shape' or 'drive', not {p.compactness!r}",
                           column="compactness",
                           fix="pass 'shape' (outlines) or 'drive' (drive time from home)"))
    return out
