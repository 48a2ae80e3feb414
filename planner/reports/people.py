"""People: users ranked by target attainment across their territories."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from planner import schema as s
from planner.access import active_mask
from planner.reports.frames import pick_period, str_ids, targets_of
from planner.reports.opportunities import AMOUNT, CLOSED_DATE, IS_WON
from planner.reports.periods import in_period

__all__ = ["star_performers"]


def star_performers(
    reps: pd.DataFrame,
    targets: pd.DataFrame,
    opportunities: pd.DataFrame,
    *,
    associations: pd.DataFrame | None = None,
    territories: pd.DataFrame | None = None,
    period: str | None = None,
    metric: str = "revenue",
    top: int | None = None,
    as_of: date | None = None,
) -> pd.DataFrame:
    """Rank users by attainment across all their territories.

    A user's target is their user-level target (a ``targets`` row with no
    territory) when there is one, else the sum of their targets in each of
    their territories. Their actual is the closed-won amount of the
    opportunities they own, closed in the period.

    Parameters
    ----------
    reps
        The users (filter through a scope first).
    targets
        The ``targets`` table.
    opportunities
        From :func:`read_opportunities`.
    associations, territories
        To list each user's active territories by name.
    period
        The period (may be omitted when the targets have one).
    metric
        Which targets.
    top
        Keep only the first ``top`` rows.
    as_of
        The date associations are judged on.

    Returns
    -------
    pandas.DataFrame
        ``rank``, ``rep_id``, ``name``, ``territories``, ``target``,
        ``won_amount``, ``won_count``, ``attainment``; best first, users
        without a target after those with one (ranked by amount).
    """
    period = pick_period(targets, period, metric)
    target = _user_targets(targets, period, metric)
    amount, count = _won_by_owner(opportunities, period)
    ids = str_ids(reps[s.REP_ID])
    out = pd.DataFrame({s.REP_ID: ids.to_numpy()})
    out[s.NAME] = (
        reps[s.NAME].astype(object).where(reps[s.NAME].notna(), "").to_numpy()
        if s.NAME in reps.columns
        else ""
    )
    out["territories"] = _territories_of(ids, associations, territories, as_of)
    out["target"] = out[s.REP_ID].map(target).astype(float)
    out["won_amount"] = out[s.REP_ID].map(amount).fillna(0.0).astype(float)
    out["won_count"] = out[s.REP_ID].map(count).fillna(0).astype(int)
    out["attainment"] = (out["won_amount"] / out["target"].where(out["target"] > 0)).astype(float)
    out = _ranked(out[out["target"].notna() | (out["won_count"] > 0)])
    out.attrs["period"] = period
    return out.head(top) if top is not None else out


def _user_targets(targets: pd.DataFrame, period: str | None, metric: str) -> pd.Series:
    """Each user's own target, else the sum of their targets in their territories."""
    t = targets_of(targets, period, metric)
    t = t[t[s.REP_ID].notna()]
    alone = t[t[s.TERRITORY_ID].isna()].groupby(s.REP_ID)[s.VALUE].sum()
    within = t[t[s.TERRITORY_ID].notna()].groupby(s.REP_ID)[s.VALUE].sum()
    return alone.combine_first(within)


def _won_by_owner(opportunities: pd.DataFrame, period: str | None) -> tuple[pd.Series, pd.Series]:
    """Won amount and count per owner, of opportunities closed in ``period``."""
    won = opportunities[
        opportunities[IS_WON] & in_period(opportunities[CLOSED_DATE], period)
    ].copy()
    won[s.OWNER_ID] = str_ids(won[s.OWNER_ID])
    return won.groupby(s.OWNER_ID)[AMOUNT].sum(), won.groupby(s.OWNER_ID).size()


def _ranked(out: pd.DataFrame) -> pd.DataFrame:
    """Best attainment first (then amount, then id); ``rank`` from 1."""
    out = out.sort_values(
        ["attainment", "won_amount", s.REP_ID], ascending=[False, False, True], na_position="last"
    ).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def _territories_of(
    rep_ids: pd.Series,
    associations: pd.DataFrame | None,
    territories: pd.DataFrame | None,
    as_of: date | None,
) -> list[str]:
    if associations is None or associations.empty:
        return [""] * len(rep_ids)
    active = associations[active_mask(associations, as_of or date.today())]
    names: dict[str, str] = {}
    if territories is not None and s.NAME in territories.columns:
        for tid, name in zip(
            territories[s.TERRITORY_ID].astype(str), territories[s.NAME], strict=True
        ):
            names[tid] = tid if pd.isna(name) else str(name)
    by_rep: dict[str, list[str]] = {}
    for rid, tid in zip(
        active[s.REP_ID].astype(str), active[s.TERRITORY_ID].astype(str), strict=True
    ):
        by_rep.setdefault(rid, []).append(names.get(tid, tid))
    return [", ".join(sorted(set(by_rep.get(str(r), [])))) for r in rep_ids]
