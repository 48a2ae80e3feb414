"""Pieces every territory report shares: the hierarchy skeleton, primary memberships, roll-ups."""

from __future__ import annotations

import math

import pandas as pd

from planner import schema as s
from planner.conform import as_text
from planner.errors import InputError, Problem, format_ids
from planner.tree import TerritoryTree

__all__ = ["pick_period", "primary_pairs", "rolled_up", "skeleton", "str_ids", "targets_of"]


def str_ids(series: pd.Series) -> pd.Series:
    """``series`` as text ids, missing values as ``None`` (the stored text form)."""
    return as_text(series)


def skeleton(territories: pd.DataFrame, tree: TerritoryTree) -> pd.DataFrame:
    """Territory columns every report starts with, in hierarchy order."""
    names = {}
    if s.NAME in territories.columns:
        for tid, name in zip(
            territories[s.TERRITORY_ID].astype(str), territories[s.NAME], strict=True
        ):
            names[tid] = (
                tid if name is None or (isinstance(name, float) and math.isnan(name)) else str(name)
            )
    order = tree.ordered()
    return pd.DataFrame(
        {
            s.TERRITORY_ID: order,
            s.NAME: [names.get(t, t) for t in order],
            s.PARENT_ID: [tree.parent[t] for t in order],
            s.LEVEL: [tree.depth(t) for t in order],
            "path": [tree.path_text(t, labels=names) for t in order],
        }
    )


def primary_pairs(memberships: pd.DataFrame) -> pd.DataFrame:
    """``(account_id, territory_id)`` of the primary memberships (all without ``is_primary``)."""
    m = memberships
    if s.IS_PRIMARY in m.columns:
        m = m[m[s.IS_PRIMARY].fillna(False).astype(bool)]
    return pd.DataFrame(
        {s.ACCOUNT_ID: str_ids(m[s.ACCOUNT_ID]), s.TERRITORY_ID: str_ids(m[s.TERRITORY_ID])}
    )


def rolled_up(pairs: pd.DataFrame, tree: TerritoryTree, key: str) -> pd.DataFrame:
    """Expand ``(key, territory_id)`` rows to every territory above; one row per pair."""
    up = tree.ancestor_pairs()
    out = pairs.merge(up, on=s.TERRITORY_ID, how="inner")
    out = out.drop(columns=[s.TERRITORY_ID]).rename(columns={"ancestor_id": s.TERRITORY_ID})
    return out.drop_duplicates([key, s.TERRITORY_ID])


def pick_period(targets: pd.DataFrame, period: str | None, metric: str) -> str | None:
    """``period``, else the one period the ``metric`` targets have (refused when several)."""
    if period is not None or targets.empty:
        return period
    periods = sorted(set(targets.loc[targets[s.METRIC] == metric, s.PERIOD].astype(str)))
    if len(periods) > 1:
        raise InputError(
            "targets cover several periods: say which one",
            [Problem(f"periods {format_ids(periods)}", column=s.PERIOD, fix="pass period=")],
        )
    return periods[0] if periods else None


def targets_of(targets: pd.DataFrame, period: str | None, metric: str) -> pd.DataFrame:
    """``territory_id``, ``rep_id`` and ``value`` of the targets of one metric and period."""
    t = targets
    if s.METRIC in t.columns:
        t = t[t[s.METRIC].astype(str) == metric]
    if period is not None:
        t = t[t[s.PERIOD].astype(str) == str(period)]
    return pd.DataFrame(
        {
            s.TERRITORY_ID: str_ids(t[s.TERRITORY_ID]),
            s.REP_ID: str_ids(t[s.REP_ID]),
            s.VALUE: pd.to_numeric(t[s.VALUE], errors="coerce").astype(float),
        }
    )
