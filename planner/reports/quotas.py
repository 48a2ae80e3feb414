"""Quota proposals: a chosen total split over territories or reps by potential or history.

A proposal is a plain frame the user edits before saving it as targets:
one row per leaf territory (or per rep owning one), the basis value, its
share and the proposed target. The parts are whole ``step`` amounts that
sum exactly to the total (largest-remainder rounding).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from planner import schema as s
from planner.access import AccessScope
from planner.errors import InputError, Problem
from planner.models import Target
from planner.reports.periods import period_bounds, previous_periods
from planner.reports.quota_basis import BASES, basis_figures, quota_units
from planner.reports.stored import stored_opportunities
from planner.reports.targets import set_targets
from planner.workspace import Workspace

__all__ = ["BASES", "Basis", "Per", "allocate", "propose_quotas", "quota_targets", "save_quotas"]

Basis = Literal["revenue", "accounts", "history", "blend"]
Per = Literal["territory", "rep"]

#: The column of a proposal holding the (editable) target.
PROPOSED = "proposed"


def propose_quotas(
    ws: Workspace,
    scenario_id: str,
    *,
    total: float,
    period: str,
    basis: Basis = "revenue",
    weights: Mapping[str, float] | None = None,
    per: Per = "territory",
    step: float = 1.0,
    lookback: int = 1,
    opportunities: pd.DataFrame | None = None,
    as_of: date | None = None,
) -> pd.DataFrame:
    """Propose targets for ``period`` that split ``total`` by potential or history.

    Parameters
    ----------
    ws
        The workspace as the user may see it (a restricted copy splits the
        total over that user's territories only).
    scenario_id
        The scenario whose territories get the targets.
    total
        The amount to split, positive.
    period
        The target period (``"2026"``, ``"2026-H1"``, ``"2026-Q1"``...).
    basis
        ``"revenue"`` (the accounts' annual revenue), ``"accounts"`` (how many
        accounts), ``"history"`` (amounts won in the ``lookback`` periods of
        the same kind before ``period``) or ``"blend"`` (a weighted mix of the
        three shares).
    weights
        For ``"blend"``: weight per basis, e.g. ``{"revenue": 2, "history": 1}``;
        by default equal weights over the bases that have data.
    per
        ``"territory"``: one row per leaf territory; ``"rep"``: one per user
        owning a leaf territory today (a territory's accounts are shared
        evenly among its owners; history is what each user won).
    step
        Round every target to a multiple of ``step``; a part of the total that
        is no whole step goes to the largest target.
    lookback
        How many earlier periods count as history.
    opportunities
        As :func:`read_opportunities` gives them (default: the stored ones).
    as_of
        The day owners are judged on (today by default).

    Returns
    -------
    pandas.DataFrame
        ``territory_id``, ``name``, ``path`` (or ``rep_id``, ``name``,
        ``territories``), then ``basis_value``, ``share`` (0 to 1),
        ``proposed`` and ``last_actual`` (won in the period before, ``NaN``
        without opportunities). ``attrs`` keep the request.

    Raises
    ------
    InputError
        A total that is not positive, an unknown period, basis or ``per``, a
        step that is not positive, bad weights, or no basis data (no
        territory, no owner, no revenue, no won opportunity): every problem
        of the request at once.
    """
    _check_request(total, period, basis, per, step, lookback, weights)
    if opportunities is None:
        opportunities = stored_opportunities(ws)
    units = quota_units(ws, scenario_id, per, as_of=as_of)
    figures = basis_figures(ws, scenario_id, units, opportunities, period, lookback, per=per)
    values = _basis_values(figures, basis, weights, period, lookback)
    out = units.drop(columns=["leaves"]).copy()
    out["basis_value"] = values.to_numpy()
    out["share"] = (values / values.sum()).to_numpy()
    out[PROPOSED] = allocate(values.to_numpy(), total, step=step)
    out["last_actual"] = figures["last_actual"].to_numpy()
    out.attrs.update(
        {"period": period, "total": float(total), "basis": basis, "per": per, "step": step}
    )
    return out


def allocate(
    weights: Sequence[float] | np.ndarray, total: float, *, step: float = 1.0
) -> np.ndarray:
    """Split ``total`` in proportion to ``weights`` into multiples of ``step`` (largest remainder).

    Each part gets the whole steps of its exact share; the steps left go one
    each to the parts with the largest fractions (the first on a tie). A
    remainder of ``total`` smaller than one step goes to the largest part, so
    the parts always sum to ``total``; a zero weight always gets zero.

    Raises
    ------
    InputError
        If there is no weight, a weight is negative or not finite, the
        weights sum to zero, or ``total`` or ``step`` is not positive.
    """
    w = np.asarray(weights, dtype=float)
    _check_allocation(w, total, step)
    units = math.floor(total / step)
    if (units + 1) * step <= total:
        units += 1
    while units > 0 and units * step > total:
        units -= 1
    exact = w / w.sum() * units
    whole = np.floor(exact)
    left = round(float(units - whole.sum()))
    order = np.argsort(-(exact - whole), kind="stable")
    whole[order[:left]] += 1
    out = whole * step
    rest = total - float(out.sum())
    if rest:
        out[int(np.argmax(out)) if units else int(np.argmax(w))] += rest
    return out


def quota_targets(proposal: pd.DataFrame, *, period: str, metric: str = "revenue") -> list[Target]:
    """Targets from an (edited) proposal: territory targets, or user targets per ``rep_id``.

    Raises
    ------
    InputError
        Naming every row (1 = the first) whose ``proposed`` value is not a
        non-negative number.
    """
    key = s.REP_ID if s.REP_ID in proposal.columns else s.TERRITORY_ID
    values = pd.to_numeric(proposal[PROPOSED], errors="coerce").astype(float)
    bad = ~np.isfinite(values.to_numpy()) | (values.to_numpy() < 0)
    if bad.any():
        rows = tuple(int(i) + 1 for i in np.flatnonzero(bad)[:50])
        raise InputError(
            "the proposal has targets that are not numbers",
            [Problem("not a non-negative number", rows=rows, column=PROPOSED,
                     fix="write each target as a plain number such as 250000")],
        )  # fmt: skip
    ids = [str(v) for v in proposal[key]]
    return [
        Target(period=period, value=float(v), metric=metric,
               territory_id=None if key == s.REP_ID else i, rep_id=i if key == s.REP_ID else None)
        for i, v in zip(ids, values, strict=True)
    ]  # fmt: skip


def save_quotas(
    ws: Workspace,
    scenario_id: str,
    proposal: pd.DataFrame,
    *,
    period: str,
    metric: str = "revenue",
    scope: AccessScope | None = None,
    user: str | None = None,
) -> list[Target]:
    """Set an (edited) proposal's targets in ``ws`` and log it; commit with ``ws.commit``.

    Targets with the same territory or user, period and metric are replaced.

    Raises
    ------
    InputError
        A bad value (see :func:`quota_targets`) or period; nothing is changed.
    AccessDeniedError
        If the scope may not set targets, or one of these.
    """
    items = quota_targets(proposal, period=period, metric=metric)
    if scope is not None:
        scope.require("set_target")
    updated = set_targets(ws.rows("targets", scenario_id), items, scenario_id=scenario_id,
                          scope=scope)  # fmt: skip
    ws.set_rows("targets", scenario_id, updated)
    detail = {"period": period, "metric": metric, "targets": len(items),
              "total": float(sum(t.value for t in items)),
              "proposal": {str(k): v for k, v in proposal.attrs.items()}}  # fmt: skip
    ws.log("propose_quotas", detail, user=user, scenario_id=scenario_id)
    return items


# -- steps ------------------------------------------------------------------------------------


def _check_allocation(w: np.ndarray, total: float, step: float) -> None:
    """Every problem of an allocation at once."""
    problems = _number_problems(total, step, 1)
    if w.ndim != 1 or w.size == 0:
        problems.append(Problem("no weights", column="weights", fix="give one weight per part"))
    elif not np.isfinite(w).all() or (w < 0).any():
        rows = tuple(int(i) + 1 for i in np.flatnonzero(~np.isfinite(w) | (w < 0))[:50])
        problems.append(Problem("a weight is negative or not a number", rows=rows,
                                column="weights", fix="use non-negative numbers"))  # fmt: skip
    elif w.sum() <= 0:
        problems.append(Problem("every weight is 0", column="weights",
                                fix="give at least one part a positive weight"))  # fmt: skip
    if problems:
        raise InputError("the total cannot be split", problems)


def _check_request(
    total: float,
    period: str,
    basis: str,
    per: str,
    step: float,
    lookback: int,
    weights: Mapping[str, float] | None,
) -> None:
    """Every problem of the request at once."""
    problems = _number_problems(total, step, lookback)
    try:
        period_bounds(period)
    except InputError as exc:
        problems.extend(exc.problems)
    if basis not in ("revenue", "accounts", "history", "blend"):
        problems.append(Problem(f"unknown basis '{basis}'", column="basis",
                                fix="use revenue, accounts, history or blend"))  # fmt: skip
    if per not in ("territory", "rep"):
        problems.append(Problem(f"unknown per '{per}'", column="per", fix="use territory or rep"))
    if weights is not None:
        problems.extend(_weight_problems(weights, basis))
    if problems:
        raise InputError("no quotas can be proposed", problems)


def _number_problems(total: float, step: float, lookback: int) -> list[Problem]:
    problems = []
    if not _positive(total):
        problems.append(Problem(f"total {total} is not a positive number", column="total",
                                fix="give the amount to split, e.g. 1000000"))  # fmt: skip
    if not _positive(step):
        problems.append(Problem(f"step {step} is not a positive number", column="step",
                                fix="round to e.g. 1000 (or 1)"))  # fmt: skip
    if not isinstance(lookback, int) or lookback < 1:
        problems.append(Problem(f"lookback {lookback} is not a whole number from 1",
                                column="lookback", fix="look back 1 or more periods"))  # fmt: skip
    return problems


def _positive(value: object) -> bool:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return math.isfinite(number) and number > 0


def _weight_problems(weights: Mapping[str, float], basis: str) -> list[Problem]:
    problems = []
    if basis != "blend":
        problems.append(Problem("weights are given but the basis is not blend", column="weights",
                                fix="use basis blend, or leave the weights out"))  # fmt: skip
    unknown = sorted(str(k) for k in weights if k not in BASES)
    if unknown:
        problems.append(Problem(f"unknown weight {', '.join(unknown)}", column="weights",
                                fix=f"weigh {', '.join(BASES)}"))  # fmt: skip
    bad = sorted(str(k) for k, v in weights.items() if not _positive(v) and v != 0)
    if bad or not any(_positive(v) for v in weights.values()):
        problems.append(Problem("weights must be non-negative numbers, one above 0",
                                column="weights", fix="e.g. revenue=2, history=1"))  # fmt: skip
    return problems


def _basis_values(
    figures: pd.DataFrame,
    basis: str,
    weights: Mapping[str, float] | None,
    period: str,
    lookback: int,
) -> pd.Series:
    """The basis value of each row: one basis, or the weighted mix of the bases' shares."""
    if basis != "blend":
        _require_data(figures, [basis], period, lookback)
        return figures[basis].astype(float)
    chosen: dict[str, float]
    if weights is None:
        chosen = {b: 1.0 for b in BASES if _has_data(figures, b)}
        _require_data(figures, list(chosen) or ["revenue", "accounts"], period, lookback)
    else:
        chosen = {str(b): float(w) for b, w in weights.items() if float(w) > 0}
        _require_data(figures, list(chosen), period, lookback)
    weight_sum = sum(chosen.values())
    mixed = sum((w / weight_sum) * figures[b] / figures[b].sum() for b, w in chosen.items())
    return pd.Series(mixed, index=figures.index, dtype=float)


def _has_data(figures: pd.DataFrame, basis: str) -> bool:
    column = figures[basis]
    return bool(column.notna().any() and float(column.fillna(0).sum()) > 0)


def _require_data(figures: pd.DataFrame, bases: list[str], period: str, lookback: int) -> None:
    """Refuse a basis with nothing to split by (every such basis named)."""
    fixes = {
        "revenue": ("the accounts have no annual revenue",
                    "import accounts with annual_revenue, or choose another basis"),
        "accounts": ("the territories have no accounts", "assign accounts to the territories"),
        "history": (f"nothing was won in {', '.join(previous_periods(period, lookback))}",
                    "import opportunities (planner import opportunities FILE), look back "
                    "further, or choose another basis"),
    }  # fmt: skip
    if "history" in bases and figures["history"].isna().all():
        fixes["history"] = ("no opportunities are stored",
                            "import opportunities (planner import opportunities FILE)")  # fmt: skip
    problems = [
        Problem(fixes[b][0], column=b, fix=fixes[b][1]) for b in bases if not _has_data(figures, b)
    ]
    if problems:
        raise InputError("no basis data to split the total by", problems)
