"""Targets: setting them (checked, scoped) and rolling them up the territory hierarchy."""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd

from planner import schema as s
from planner.access import AccessDeniedError, AccessScope
from planner.errors import InputError, Problem, format_ids
from planner.models import Target
from planner.reports.frames import pick_period, skeleton, targets_of
from planner.reports.periods import period_bounds
from planner.tree import TerritoryTree

__all__ = ["set_targets", "target_rollup"]

_KEY = [s.SCENARIO_ID, s.TERRITORY_ID, s.REP_ID, s.PERIOD, s.METRIC]


def target_rollup(
    territories: pd.DataFrame,
    targets: pd.DataFrame,
    *,
    period: str | None = None,
    metric: str = "revenue",
) -> pd.DataFrame:
    """Roll targets up the territory hierarchy.

    Parameters
    ----------
    territories
        ``territory_id`` and ``parent_id`` (``name`` optional).
    targets
        The ``targets`` table: rows per territory (no user), per user within
        a territory, or per user alone (ignored here).
    period
        The period to report; may be omitted when the targets have one.
    metric
        Which metric's targets (``"revenue"`` by default).

    Returns
    -------
    pandas.DataFrame
        One row per territory, parents before children: ``territory_id``,
        ``name``, ``parent_id``, ``level``, ``path``, ``target_set`` (the
        territory's own target), ``target_users`` (the sum of its users'
        targets in it), ``target`` (``target_set``, else ``target_users``),
        ``target_below`` (the sum of the children's effective targets),
        ``target_effective`` (``target``, else ``target_below``) and
        ``target_gap`` (``target - target_below``: positive when a manager's
        target is not fully handed down, negative when over-assigned).
    """
    tree = TerritoryTree.of(territories)
    out = skeleton(territories, tree)
    period = pick_period(targets, period, metric)
    t = targets_of(targets, period, metric)
    on_territory = t[t[s.TERRITORY_ID].notna()]
    own = on_territory[on_territory[s.REP_ID].isna()].groupby(s.TERRITORY_ID)[s.VALUE].sum()
    users = on_territory[on_territory[s.REP_ID].notna()].groupby(s.TERRITORY_ID)[s.VALUE].sum()
    out["target_set"] = out[s.TERRITORY_ID].map(own).astype(float)
    out["target_users"] = out[s.TERRITORY_ID].map(users).astype(float)
    out["target"] = out["target_set"].fillna(out["target_users"])
    below, effective = _handed_down(out, tree)
    out["target_below"] = out[s.TERRITORY_ID].map(below).astype(float)
    out["target_effective"] = out[s.TERRITORY_ID].map(effective).astype(float)
    out["target_gap"] = out["target"] - out["target_below"]
    out.attrs["period"] = period
    return out


def _handed_down(
    out: pd.DataFrame, tree: TerritoryTree
) -> tuple[dict[str, float], dict[str, float]]:
    """Per territory: the sum of its children's effective targets, and its effective target."""
    target = dict(zip(out[s.TERRITORY_ID], out["target"], strict=True))
    effective: dict[str, float] = {}
    below: dict[str, float] = {}
    for tid in reversed(out[s.TERRITORY_ID].tolist()):
        kids = [effective[c] for c in tree.children(tid) if not math.isnan(effective[c])]
        below[tid] = float(sum(kids)) if kids else math.nan
        effective[tid] = target[tid] if not math.isnan(target[tid]) else below[tid]
    return below, effective


def set_targets(
    targets: pd.DataFrame,
    new: Iterable[Target],
    *,
    scenario_id: str,
    scope: AccessScope | None = None,
) -> pd.DataFrame:
    """Return ``targets`` with ``new`` targets added or replaced (same key: replaced).

    Parameters
    ----------
    targets
        The ``targets`` table.
    new
        The targets to set.
    scenario_id
        The scenario they belong to.
    scope
        When given, every target must be one the user may set.

    Raises
    ------
    InputError
        If a value is negative or not finite (every bad target listed).
    AccessDeniedError
        If the scope does not allow one of them (all refused ones listed).
    """
    items = list(new)
    _check_values(items)
    if scope is not None:
        _check_scope(items, scope)
    return _merged(targets, _target_rows(items, scenario_id))


def _check_values(items: list[Target]) -> None:
    """Refuse negative or non-finite values and unknown periods, every one listed."""
    problems = [
        Problem(
            f"target {t.territory_id or '-'}/{t.rep_id or '-'}/{t.period} is {t.value}",
            column=s.VALUE,
            fix="use a non-negative number",
        )
        for t in items
        if not math.isfinite(t.value) or t.value < 0
    ]
    for t in items:
        try:
            period_bounds(t.period)
        except InputError:
            problems.append(
                Problem(f"unknown period '{t.period}'", column=s.PERIOD, fix="write e.g. 2025-Q3")
            )
    if problems:
        raise InputError("targets not accepted", problems)


def _check_scope(items: list[Target], scope: AccessScope) -> None:
    refused = [t for t in items if not scope.can_set_target(t.territory_id, t.rep_id)]
    if refused:
        names = [f"{t.territory_id or '-'}/{t.rep_id or '-'}" for t in refused]
        raise AccessDeniedError(
            f"user '{scope.user_id}' may not set the targets {format_ids(names)}"
        )


def _target_rows(items: list[Target], scenario_id: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                s.SCENARIO_ID: scenario_id,
                s.TERRITORY_ID: t.territory_id,
                s.REP_ID: t.rep_id,
                s.PERIOD: t.period,
                s.METRIC: t.metric,
                s.VALUE: float(t.value),
            }
            for t in items
        ],
        columns=[*_KEY, s.VALUE],
    )


def _keys(frame: pd.DataFrame) -> pd.Series:
    return (
        frame[_KEY]
        .astype(object)
        .where(frame[_KEY].notna(), "")
        .astype(str)
        .agg("\x1f".join, axis=1)
    )


def _merged(targets: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """``targets`` with ``rows`` added; a row with the key of an old one replaces it."""
    old = targets
    if len(old) and len(rows):
        old = old[~_keys(old).isin(set(_keys(rows)))]
    frames = [f for f in (old, rows) if len(f)]
    if not frames:
        return targets.iloc[0:0].copy()
    out = pd.concat(frames, ignore_index=True)
    return out.drop_duplicates(_KEY, keep="last").reset_index(drop=True)
