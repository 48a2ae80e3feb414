"""What was sold per territory: won amounts, pipeline, win rates and sales cycles."""

from __future__ import annotations

import pandas as pd

from planner import schema as s
from planner.reports.frames import primary_pairs, rolled_up, skeleton, str_ids
from planner.reports.opportunities import (
    AMOUNT,
    CLOSED_DATE,
    CYCLE_DAYS,
    IS_CLOSED,
    IS_WON,
    OPPORTUNITY_ID,
)
from planner.reports.periods import in_period
from planner.tree import TerritoryTree

__all__ = ["actuals_by_territory", "sales_cycle", "with_territories"]


def actuals_by_territory(
    territories: pd.DataFrame,
    memberships: pd.DataFrame,
    opportunities: pd.DataFrame,
    *,
    period: str | None = None,
) -> pd.DataFrame:
    """Closed-won amounts, pipeline and win rate per territory (subtree totals).

    Parameters
    ----------
    territories
        The scenario's territories.
    memberships
        The scenario's account memberships.
    opportunities
        From :func:`read_opportunities`.
    period
        Count closed opportunities closed in this period (all when omitted);
        open pipeline is always today's.

    Returns
    -------
    pandas.DataFrame
        ``territory_id``, ``won_amount``, ``won_count``, ``lost_count``,
        ``win_rate`` (won / closed), ``pipeline_amount`` (open),
        ``open_count``.
    """
    tree = TerritoryTree.of(territories)
    opp = with_territories(opportunities, memberships, tree)
    closed = opp[opp[IS_CLOSED] & in_period(opp[CLOSED_DATE], period)]
    won = closed[closed[IS_WON]]
    lost = closed[~closed[IS_WON]]
    open_ = opp[~opp[IS_CLOSED]]
    ids = pd.Index(tree.ids, name=s.TERRITORY_ID)
    out = pd.DataFrame(index=ids)
    out["won_amount"] = won.groupby(s.TERRITORY_ID)[AMOUNT].sum().reindex(ids).fillna(0.0)
    out["won_count"] = won.groupby(s.TERRITORY_ID).size().reindex(ids).fillna(0).astype(int)
    out["lost_count"] = lost.groupby(s.TERRITORY_ID).size().reindex(ids).fillna(0).astype(int)
    closed_n = out["won_count"] + out["lost_count"]
    out["win_rate"] = (out["won_count"] / closed_n.where(closed_n > 0)).astype(float)
    out["pipeline_amount"] = open_.groupby(s.TERRITORY_ID)[AMOUNT].sum().reindex(ids).fillna(0.0)
    out["open_count"] = open_.groupby(s.TERRITORY_ID).size().reindex(ids).fillna(0).astype(int)
    return out.reset_index()


def with_territories(
    opportunities: pd.DataFrame, memberships: pd.DataFrame, tree: TerritoryTree
) -> pd.DataFrame:
    """One row per (opportunity, territory at or above its account's primary territory)."""
    opp = opportunities.copy()
    opp[s.ACCOUNT_ID] = str_ids(opp[s.ACCOUNT_ID])
    pairs = primary_pairs(memberships)
    pairs = pairs[pairs[s.TERRITORY_ID].isin(tree.parent)]
    joined = opp.merge(pairs, on=s.ACCOUNT_ID, how="inner")
    if joined.empty:
        return joined.assign(**{s.TERRITORY_ID: pd.Series(dtype=object)})
    return rolled_up(joined, tree, OPPORTUNITY_ID)


def sales_cycle(
    territories: pd.DataFrame,
    memberships: pd.DataFrame,
    opportunities: pd.DataFrame,
    *,
    period: str | None = None,
    won_only: bool = False,
) -> pd.DataFrame:
    """Sales-cycle length (created to closed, in days) per territory, subtree totals.

    Parameters
    ----------
    territories, memberships
        The scenario's frames.
    opportunities
        From :func:`read_opportunities`.
    period
        Count opportunities closed in this period (all when omitted).
    won_only
        Measure won opportunities only (lost ones are included by default).

    Returns
    -------
    pandas.DataFrame
        One row per territory, parents before children: ``territory_id``,
        ``name``, ``path``, ``level``, ``closed_count``, ``won_count``,
        ``win_rate``, ``cycle_days_median``, ``cycle_days_mean``,
        ``cycle_days_p90`` (``NaN`` where nothing closed).
    """
    tree = TerritoryTree.of(territories)
    out = skeleton(territories, tree)[[s.TERRITORY_ID, s.NAME, "path", s.LEVEL]]
    opp = with_territories(opportunities, memberships, tree)
    closed = opp[opp[IS_CLOSED] & in_period(opp[CLOSED_DATE], period)] if len(opp) else opp
    measured = closed[closed[IS_WON]] if won_only and len(closed) else closed
    if len(closed):
        counts = closed.groupby(s.TERRITORY_ID).agg(
            closed_count=(OPPORTUNITY_ID, "size"), won_count=(IS_WON, "sum")
        )
    else:
        counts = pd.DataFrame(columns=["closed_count", "won_count"], dtype=float)
    if len(measured):
        days = measured.groupby(s.TERRITORY_ID)[CYCLE_DAYS]
        stats = pd.DataFrame(
            {
                "cycle_days_median": days.median(),
                "cycle_days_mean": days.mean(),
                "cycle_days_p90": days.quantile(0.9),
            }
        )
    else:
        stats = pd.DataFrame(columns=["cycle_days_median", "cycle_days_mean", "cycle_days_p90"])
    tid = out[s.TERRITORY_ID]
    out["closed_count"] = tid.map(counts["closed_count"]).fillna(0).astype(int)
    out["won_count"] = tid.map(counts["won_count"]).fillna(0).astype(int)
    out["win_rate"] = out["won_count"] / out["closed_count"].where(out["closed_count"] > 0)
    for col in stats.columns:
        out[col] = tid.map(stats[col]).astype(float)
    return out
