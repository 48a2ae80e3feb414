"""A territory plan: units assigned to territories, with the run's parameters and metrics."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from planner.balance.metrics import PlanMetrics
from planner.errors import InputError, Problem, ToleranceNotMetError, format_ids
from planner.schema import LOCKED, TERRITORY_ID, UNIT_ID

__all__ = [
    "Locks",
    "TerritoryPlan",
    "ToleranceNotMetError",
]


@dataclass(frozen=True, eq=False)
class TerritoryPlan:
    """The result of a balancing run.

    Parameters
    ----------
    assignment
        Territory id per unit id (index ``unit_id``, name ``territory_id``).
    parameters
        The run's parameters, JSON-friendly (stored with a scenario).
    metrics
        The plan's measures.
    locked_units
        Units that were pinned to their territory.
    targets
        Target workload per territory.
    rep_of
        Rep id per territory id, when territories were made for reps.
    """

    assignment: pd.Series
    parameters: dict[str, Any]
    metrics: PlanMetrics
    locked_units: frozenset[str] = frozenset()
    targets: dict[str, float] = field(default_factory=dict)
    rep_of: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.assignment.index.has_duplicates:
            raise ValueError("assignment has a unit more than once")
        if self.assignment.isna().any():
            raise ValueError("assignment leaves units without a territory")

    @property
    def territories(self) -> tuple[str, ...]:
        """Territory ids, sorted."""
        return tuple(sorted(set(self.assignment.astype(str))))

    def to_frame(self) -> pd.DataFrame:
        """Return the plan as rows of ``unit_id``, ``territory_id``, ``locked``."""
        return pd.DataFrame(
            {
                UNIT_ID: self.assignment.index.astype(str),
                TERRITORY_ID: self.assignment.astype(str).to_numpy(),
                LOCKED: [u in self.locked_units for u in self.assignment.index],
            }
        )

    def units_of(self, territory: str) -> list[str]:
        """Return the unit ids of one territory."""
        return [str(u) for u in self.assignment.index[self.assignment == territory]]


@dataclass(frozen=True)
class Locks:
    """Units pinned to territories, and territories frozen as they are.

    Parameters
    ----------
    units
        Territory id per pinned unit id: the unit stays in that territory.
    territories
        Frozen territories: exactly their pinned units, nothing joins or leaves.
    """

    units: Mapping[str, str] = field(default_factory=dict)
    territories: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", {str(u): str(t) for u, t in self.units.items()})
        object.__setattr__(self, "territories", frozenset(str(t) for t in self.territories))
        empty = sorted(set(self.territories) - set(self.units.values()))
        if empty:
            raise InputError(
                "locked territories have no units",
                [Problem(f"territories {format_ids(empty)} are locked but have no pinned unit",
                         fix="pin the territory's units too (Locks.keep_territories does this)")],
                source="locked",
            )

    @classmethod
    def coerce(cls, locked: Locks | Mapping[str, str] | pd.Series | None) -> Locks:
        """Return ``locked`` as :class:`Locks` (a mapping pins units; ``None`` is no lock)."""
        if locked is None:
            return cls()
        if isinstance(locked, Locks):
            return locked
        return cls(units={str(u): str(t) for u, t in locked.items()})

    @classmethod
    def keep_territories(
        cls,
        plan: TerritoryPlan | pd.Series | Mapping[str, str],
        territories: Collection[str],
        *,
        units: Collection[str] = (),
    ) -> Locks:
        """Freeze ``territories`` of ``plan`` and pin further ``units`` where ``plan`` has them.

        Parameters
        ----------
        plan
            A plan or an assignment (unit id -> territory id).
        territories
            Territories to keep exactly as they are (e.g. "keep Anna's").
        units
            Further units to pin to their current territory.
        """
        assignment = plan.assignment if isinstance(plan, TerritoryPlan) else pd.Series(plan)
        assignment = assignment.astype(str)
        assignment.index = assignment.index.astype(str)
        wanted = {str(t) for t in territories}
        unknown = sorted(wanted - set(assignment))
        bad_units = sorted({str(u) for u in units} - set(assignment.index))
        problems = []
        if unknown:
            problems.append(Problem(f"territories {format_ids(unknown)} are not in the plan",
                                    fix="name territories of the plan"))
        if bad_units:
            problems.append(Problem(f"units {format_ids(bad_units)} are not in the plan",
                                    fix="name units of the plan"))
        if problems:
            raise InputError("locks do not match the plan", problems, source="locked")
        pins = {str(u): str(t) for u, t in assignment.items() if t in wanted}
        pins.update({str(u): assignment[str(u)] for u in units})
        return cls(units=pins, territories=frozenset(wanted))

    def to_dict(self) -> dict[str, Any]:
        """Return the locks as a JSON-friendly dictionary."""
        return {"units": dict(sorted(self.units.items())), "territories": sorted(self.territories)}
