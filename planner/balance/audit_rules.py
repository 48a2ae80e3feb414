"""The rules a fairness audit's ensemble keeps: the audited plan's own, as far as they are known.

From the plan (its targets, locked units and territories, workload bounds
and drive limit as its parameters record them) or from the parameters and
reps the caller passes (which take precedence), :func:`audit_rules` builds
the :class:`~planner.balance.ensemble.ChainRules` of the chain and says which
rules are kept and which are not (and why), so the report can tell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.balance.drive import drive_costs
from planner.balance.ensemble import ChainRules
from planner.balance.params import BalanceParams
from planner.balance.plan import Locks, TerritoryPlan
from planner.balance.units import BalanceUnits
from planner.errors import InputError, Problem, format_ids
from planner.schema import CAPACITY_H_PER_WEEK, REP_ID

__all__ = ["AuditRules", "audit_rules", "plan_targets"]

PlanLike = TerritoryPlan | pd.Series | Mapping[str, str]


@dataclass(frozen=True, eq=False)
class AuditRules:
    """The chain's rules, each territory's target, and what they are (JSON-friendly).

    Parameters
    ----------
    chain
        What every sampled plan keeps.
    targets
        Target workload per territory (deviations are measured from it).
    described
        ``targets`` (``"equal"`` or ``"plan"``), ``min_workload``,
        ``max_workload``, ``locked_units``, ``locked_territories``,
        ``drive_limit_h`` (a hard limit kept, else ``None``), ``drive_note``
        (why a limit of the plan is not kept), ``contiguity``, ``bridges``.
    """

    chain: ChainRules
    targets: np.ndarray
    described: dict[str, Any]

    @staticmethod
    def sentences(described: Mapping[str, Any], tolerance: float) -> list[str]:
        """The rules as sentences: what every sampled plan keeps."""
        if not described:
            return [f"every territory within {tolerance:.2%} of its target; contiguous"]
        d = described
        target = ("its own target (the plan's: reps' capacities or set targets)"
                  if d.get("targets") == "plan" else "an equal share")
        out = [f"every territory within {tolerance:.2%} of {target}",
               f"contiguous by {d.get('contiguity', 'rook')} adjacency"
               + (f" ({d['bridges']} island bridges counted as touching)"
                  if d.get("bridges") else "")]
        if d.get("min_workload") is not None or d.get("max_workload") is not None:
            out.append(f"workload between {d.get('min_workload') or 0:g} and "
                       f"{d.get('max_workload') if d.get('max_workload') is not None else 'any'}")
        if d.get("locked_territories"):
            out.append(f"locked territories unchanged: {format_ids(d['locked_territories'])}")
        if d.get("locked_units"):
            out.append(f"{d['locked_units']} locked units kept in their territory")
        if d.get("drive_limit_h") is not None:
            out.append(f"no unit beyond the hard drive limit of {d['drive_limit_h']:g} h "
                       "from its rep's home")
        if d.get("drive_note"):
            out.append(str(d["drive_note"]))
        return out


def audit_rules(
    bu: BalanceUnits,
    plan: PlanLike,
    labels: np.ndarray,
    territories: Sequence[str],
    values: np.ndarray,
    tolerance: float,
    *,
    params: BalanceParams | None = None,
    reps: gpd.GeoDataFrame | None = None,
    drive_hours: pd.DataFrame | None = None,
) -> AuditRules:
    """The rules of the audited plan (``params`` and ``reps`` first, then what the plan records).

    Raises
    ------
    InputError
        If locks name units or territories the plan does not have.
    """
    recorded = plan.parameters if isinstance(plan, TerritoryPlan) else {}
    targets, kind = plan_targets(plan, territories, values, reps)
    locks = _locks(plan, params, recorded)
    movable, open_ = _lock_masks(bu, labels, territories, locks)
    lo = params.min_workload if params is not None else recorded.get("min_workload")
    hi = params.max_workload if params is not None else recorded.get("max_workload")
    reach, limit, note = _reach(bu, territories, params, recorded, reps, drive_hours)
    chain = ChainRules.around(labels, values, targets, tolerance, bounds=(lo, hi),
                              open_=open_, movable=movable, reach=reach)
    described = {
        "targets": kind,
        "min_workload": lo,
        "max_workload": hi,
        "locked_units": int((~movable).sum()),
        "locked_territories": sorted(locks.territories),
        "drive_limit_h": limit,
        "drive_note": note,
        "contiguity": bu.adjacency.contiguity,
        "bridges": len(bu.adjacency.bridges),
    }
    return AuditRules(chain, targets, described)


def plan_targets(
    plan: PlanLike,
    territories: Sequence[str],
    values: np.ndarray,
    reps: gpd.GeoDataFrame | None = None,
) -> tuple[np.ndarray, str]:
    """The plan's targets, else shares of the reps' capacities, else equal shares.

    A plan's targets count when it has one for every territory; reps' when
    every territory is a rep (``rep_id``) with a positive capacity.
    """
    equal = np.full(len(territories), float(values.sum()) / len(territories))
    got: list[float | None] = [None]
    if isinstance(plan, TerritoryPlan) and plan.targets:
        got = [plan.targets.get(t) for t in territories]
    elif reps is not None and CAPACITY_H_PER_WEEK in reps.columns and REP_ID in reps.columns:
        cap = dict(zip(reps[REP_ID].astype(str),
                       pd.to_numeric(reps[CAPACITY_H_PER_WEEK], errors="coerce"), strict=True))
        shares = [cap.get(t) for t in territories]
        if all(c is not None and np.isfinite(c) and c > 0 for c in shares):
            total = float(sum(c for c in shares if c is not None))
            got = [float(values.sum()) * float(c) / total for c in shares if c is not None]
    if any(v is None or not np.isfinite(v) or v <= 0 for v in got):
        return equal, "equal"
    targets = np.array(got, dtype=float)
    if np.allclose(targets, equal, rtol=1e-9):
        return equal, "equal"
    return targets, "plan"


def _locks(plan: PlanLike, params: BalanceParams | None, recorded: Mapping[str, Any]) -> Locks:
    """The locks of ``params``, else those the plan records (its locked units too)."""
    if params is not None:
        return params.locked
    saved = recorded.get("locks") or {}
    units = dict(saved.get("units") or {})
    if isinstance(plan, TerritoryPlan):
        assignment = plan.assignment.astype(str)
        units.update({str(u): assignment[u] for u in plan.locked_units if u in assignment.index})
    return Locks(units=units, territories=frozenset(saved.get("territories") or ()))


def _lock_masks(
    bu: BalanceUnits, labels: np.ndarray, territories: Sequence[str], locks: Locks
) -> tuple[np.ndarray, np.ndarray]:
    """Per unit whether it may move; per territory whether it may change."""
    index = bu.index_of()
    code = {t: i for i, t in enumerate(territories)}
    problems = []
    movable = np.ones(bu.n, bool)
    bad_units = sorted(u for u in locks.units if u not in index)
    wrong = sorted(u for u, t in locks.units.items()
                   if u in index and code.get(t) != labels[index[u]])
    if bad_units:
        problems.append(Problem(f"locked units {format_ids(bad_units)} are not in the units",
                                fix="lock units of the plan"))
    if wrong:
        problems.append(Problem(f"locked units {format_ids(wrong)} are not in the territory "
                                "the lock names", fix="lock units where the plan has them"))
    unknown = sorted(set(locks.territories) - set(code))
    if unknown:
        problems.append(Problem(f"locked territories {format_ids(unknown)} are not in the plan",
                                fix="lock territories of the plan"))
    if problems:
        raise InputError("the audit's locks do not match the plan", problems, source="audit")
    for u in locks.units:
        movable[index[u]] = False
    open_ = np.array([t not in locks.territories for t in territories], dtype=bool)
    movable &= open_[labels]
    return movable, open_


def _reach(
    bu: BalanceUnits,
    territories: Sequence[str],
    params: BalanceParams | None,
    recorded: Mapping[str, Any],
    reps: gpd.GeoDataFrame | None,
    drive_hours: pd.DataFrame | None,
) -> tuple[np.ndarray | None, float | None, str | None]:
    """The hard drive limit's reach mask, the limit, and why a recorded limit is not kept."""
    saved = recorded.get("drive") or {}
    p = params
    if p is None and saved.get("max_drive_h") is not None:
        p = BalanceParams(weight="w", max_drive_h=float(saved["max_drive_h"]),
                          drive_limit=saved.get("drive_limit", "hard"))
    if p is None or p.max_drive_h is None:
        return None, None, None
    if p.drive_limit != "hard":
        return None, None, (f"the soft drive limit of {p.max_drive_h:g} h is not kept "
                            "(it is a penalty, not a rule)")
    if reps is None and drive_hours is None:
        return None, None, (f"the drive limit of {p.max_drive_h:g} h is not kept: the audit "
                            "was given neither the reps' homes nor drive hours")
    drive = drive_costs(bu, list(territories), p.with_(compactness="shape"), reps=reps,
                        drive_hours=drive_hours)
    if drive is None:
        return None, None, None
    return drive.reach, float(p.max_drive_h), None
