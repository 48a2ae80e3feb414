"""What a planner keeps in place when balancing a scenario: whole territories and single units.

The Balance page's "keep these territories" and "keep these units" become
one :class:`~planner.balance.Locks`::

    locks = scenario_locks(ws, "2026-plan", keep=["HEL-1"], units=["8a1126d..."])
    params = BalanceParams(weight="workload_h", k=4, locked=locks)

A kept territory keeps exactly its units and nothing joins it; a kept unit
stays in the territory it has in the scenario (others may join or leave
that territory). A design centred on reps names territories by rep id, so
there the locks follow each territory's owner.
"""

from __future__ import annotations

from collections.abc import Collection

from planner.balance import Locks
from planner.balance.scenario import scenario_assignment, territory_owners
from planner.errors import InputError, Problem, format_ids
from planner.workspace import Workspace

__all__ = ["scenario_locks"]


def scenario_locks(
    ws: Workspace,
    scenario_id: str,
    *,
    keep: Collection[str] = (),
    units: Collection[str] = (),
    around_reps: bool = False,
) -> Locks:
    """Return locks keeping ``keep`` whole and ``units`` in their territory of ``scenario_id``.

    Parameters
    ----------
    ws
        The workspace.
    scenario_id
        The scenario whose territories the locks refer to.
    keep
        Territories kept exactly as they are.
    units
        Units kept in their current territory.
    around_reps
        Whether the plan is a design centred on reps (its territories are
        named by rep id): the locks then name each territory's owner.

    Raises
    ------
    InputError
        If a territory or unit is not in the scenario, or (around reps) a
        locked territory has no owner rep; every problem at once.
    """
    if not keep and not units:
        return Locks()
    baseline = scenario_assignment(ws, scenario_id)
    locks = Locks.keep_territories(baseline, keep, units=units)
    if not around_reps:
        return locks
    owners = territory_owners(ws, scenario_id)
    ownerless = sorted({t for t in locks.units.values() if t not in owners})
    if ownerless:
        raise InputError(
            "kept territories and units must belong to a rep when territories follow the reps",
            [
                Problem(
                    f"territories {format_ids(ownerless)} have no owner rep",
                    column="locked",
                    fix="give them an owner, keep other units, or do not centre on the reps",
                )
            ],
            source="locked",
        )
    return Locks(
        units={u: owners[t] for u, t in locks.units.items()},
        territories=frozenset(owners[t] for t in locks.territories),
    )
