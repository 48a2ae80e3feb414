"""What quotas are split by: each territory's or rep's revenue, accounts and won history."""

from __future__ import annotations

from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from planner import schema as s
from planner.access import active_mask
from planner.errors import InputError, Problem
from planner.reports.actuals import with_territories
from planner.reports.frames import primary_pairs, skeleton, str_ids
from planner.reports.opportunities import AMOUNT, CLOSED_DATE, IS_WON
from planner.reports.periods import in_period, previous_periods
from planner.tree import TerritoryTree
from planner.workspace import Workspace

__all__ = ["BASES", "BasisName", "basis_figures", "quota_units"]

BasisName = Literal["revenue", "accounts", "history"]

#: The bases a proposal can split by (``blend`` mixes them).
BASES: tuple[BasisName, ...] = ("revenue", "accounts", "history")

#: Column of :func:`quota_units`: leaf territory id -> the part of it a row stands for.
LEAVES = "leaves"


def quota_units(
    ws: Workspace, scenario_id: str, per: str, *, as_of: date | None = None
) -> pd.DataFrame:
    """The rows a proposal has: leaf territories, or users owning a leaf territory.

    Returns
    -------
    pandas.DataFrame
        ``territory_id``, ``name``, ``path`` (or ``rep_id``, ``name``,
        ``territories``) and ``leaves``: a dict of leaf territory id to the
        part of it the row stands for (1, or 1/n for one of n owners).

    Raises
    ------
    InputError
        If the scenario has no territory (or, per rep, no owner of one).
    """
    terr = ws.territories(scenario_id)
    if terr.empty:
        raise InputError(
            f"scenario {scenario_id} has no territories to give targets to",
            [Problem("no territories", fix="draw, import or balance territories first")],
        )
    tree = TerritoryTree.of(terr)
    frame = skeleton(terr, tree)
    frame = frame[frame[s.TERRITORY_ID].isin(set(tree.leaves()))].reset_index(drop=True)
    if per != "rep":
        out = frame[[s.TERRITORY_ID, s.NAME, "path"]].copy()
        out[LEAVES] = pd.Series([{t: 1.0} for t in out[s.TERRITORY_ID]], index=out.index)
        return out
    return _rep_units(ws, scenario_id, frame, as_of or date.today())


def _rep_units(ws: Workspace, scenario_id: str, leaves: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """One row per user owning a leaf territory on ``as_of``, their share of each."""
    assoc = ws.associations(scenario_id)
    if len(assoc):
        assoc = assoc[active_mask(assoc, as_of) & (assoc[s.ROLE].astype(str) == "owner")]
    pairs = pd.DataFrame(
        {s.REP_ID: str_ids(assoc[s.REP_ID]), s.TERRITORY_ID: str_ids(assoc[s.TERRITORY_ID])}
    ).drop_duplicates()
    pairs = pairs[pairs[s.TERRITORY_ID].isin(set(leaves[s.TERRITORY_ID]))]
    if pairs.empty:
        raise InputError(
            f"no user owns a territory of scenario {scenario_id} today",
            [Problem("no owners", fix="staff the territories first, or propose per territory")],
        )
    owners = pairs.groupby(s.TERRITORY_ID)[s.REP_ID].transform("size")
    names = dict(zip(leaves[s.TERRITORY_ID], leaves[s.NAME], strict=True))
    rep_names = dict(zip(ws.reps[s.REP_ID].astype(str), ws.reps[s.NAME], strict=True))
    rows = []
    for rep, part in pairs.assign(part=1.0 / owners).groupby(s.REP_ID, sort=True):
        name = rep_names.get(str(rep))
        rows.append({
            s.REP_ID: str(rep),
            s.NAME: str(rep) if name is None or pd.isna(name) else str(name),
            "territories": ", ".join(sorted(str(names[t]) for t in part[s.TERRITORY_ID])),
            LEAVES: dict(zip(part[s.TERRITORY_ID], part["part"], strict=True)),
        })  # fmt: skip
    return pd.DataFrame(rows)


def basis_figures(
    ws: Workspace,
    scenario_id: str,
    units: pd.DataFrame,
    opportunities: pd.DataFrame | None,
    period: str,
    lookback: int,
    *,
    per: str,
) -> pd.DataFrame:
    """Each row's ``revenue``, ``accounts``, ``history`` and ``last_actual``.

    ``history`` is the amount won in the ``lookback`` periods before
    ``period``, ``last_actual`` in the one just before; both ``NaN`` without
    opportunities. Per territory, an opportunity counts in its account's
    primary territory; per user, for its owner.
    """
    leaf_ids = sorted({t for parts in units[LEAVES] for t in parts})
    per_leaf = _account_figures(ws, scenario_id, leaf_ids)
    out = pd.DataFrame(index=units.index)
    for col in ("revenue", "accounts"):
        out[col] = _spread(units, per_leaf[col])
    windows = {
        "history": previous_periods(period, lookback),
        "last_actual": previous_periods(period),
    }
    for col, periods in windows.items():
        if opportunities is None:
            out[col] = np.nan
        elif per == "rep":
            won = _won(opportunities, periods)
            amounts = won.groupby(str_ids(won[s.OWNER_ID]))[AMOUNT].sum()
            out[col] = units[s.REP_ID].map(amounts).fillna(0.0).astype(float).to_numpy()
        else:
            by_leaf = _won_in_territories(ws, scenario_id, opportunities, periods)
            out[col] = _spread(units, by_leaf.reindex(leaf_ids).fillna(0.0))
    return out


def _account_figures(ws: Workspace, scenario_id: str, leaf_ids: list[str]) -> pd.DataFrame:
    """``revenue`` (sum of annual revenue, missing or negative as 0) and ``accounts`` per leaf."""
    pairs = primary_pairs(ws.memberships(scenario_id))
    pairs = pairs[pairs[s.TERRITORY_ID].isin(set(leaf_ids))].drop_duplicates(s.ACCOUNT_ID)
    accounts = ws.accounts
    revenue = pd.Series(0.0, index=str_ids(accounts[s.ACCOUNT_ID]))
    if s.ANNUAL_REVENUE in accounts.columns:
        values = pd.to_numeric(accounts[s.ANNUAL_REVENUE], errors="coerce").fillna(0.0)
        revenue = pd.Series(values.clip(lower=0.0).to_numpy(), index=revenue.index)
    revenue = revenue[~revenue.index.duplicated()]
    pairs = pairs.assign(revenue=pairs[s.ACCOUNT_ID].map(revenue).fillna(0.0).astype(float))
    grouped = pairs.groupby(s.TERRITORY_ID)
    index = pd.Index(leaf_ids)
    return pd.DataFrame(
        {
            "revenue": grouped["revenue"].sum().reindex(index).fillna(0.0),
            "accounts": grouped.size().reindex(index).fillna(0).astype(float),
        }
    )


def _spread(units: pd.DataFrame, per_leaf: pd.Series) -> np.ndarray:
    """Each row's part of the per-leaf figures."""
    return np.array(
        [sum(part * float(per_leaf.get(t, 0.0)) for t, part in parts.items())
         for parts in units[LEAVES]],
        dtype=float,
    )  # fmt: skip


def _won(opportunities: pd.DataFrame, periods: list[str]) -> pd.DataFrame:
    """The won opportunities closed in any of ``periods``."""
    when = opportunities[CLOSED_DATE]
    inside = pd.Series(False, index=opportunities.index)
    for period in periods:
        inside |= in_period(when, period)
    return opportunities[opportunities[IS_WON].astype(bool) & inside]


def _won_in_territories(
    ws: Workspace, scenario_id: str, opportunities: pd.DataFrame, periods: list[str]
) -> pd.Series:
    """Won amount per territory (its own accounts and those below), in ``periods``."""
    tree = TerritoryTree.of(ws.territories(scenario_id))
    won = _won(opportunities, periods)
    placed = with_territories(won, ws.memberships(scenario_id), tree)
    if placed.empty:
        return pd.Series(dtype=float)
    return placed.groupby(s.TERRITORY_ID)[AMOUNT].sum().astype(float)
