"""The report by territory: accounts, revenue, workload, owners, target against actual."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from planner import schema as s
from planner.access import active_mask
from planner.reports.actuals import actuals_by_territory
from planner.reports.frames import primary_pairs, skeleton, str_ids
from planner.reports.targets import target_rollup
from planner.tree import TerritoryTree

__all__ = ["territory_report"]

_WORKLOAD = "workload_h"
_TARGET_COLUMNS = ["target", "target_below", "target_effective", "target_gap"]


def territory_report(
    territories: pd.DataFrame,
    memberships: pd.DataFrame,
    accounts: pd.DataFrame,
    *,
    targets: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
    associations: pd.DataFrame | None = None,
    reps: pd.DataFrame | None = None,
    period: str | None = None,
    metric: str = "revenue",
    workload_h: pd.Series | None = None,
    extra: pd.DataFrame | None = None,
    as_of: date | None = None,
) -> pd.DataFrame:
    """One row per territory: accounts, revenue, workload, owners, target against actual.

    Parameters
    ----------
    territories, memberships, accounts
        The scenario's frames (filter them through an access scope first).
    targets
        The ``targets`` table; adds the columns of :func:`target_rollup`.
    opportunities
        From :func:`read_opportunities`; adds the columns of
        :func:`actuals_by_territory` and ``attainment``.
    associations, reps
        To name each territory's active owners.
    period
        Target period and opportunity close period.
    metric
        Which targets to compare with the won amounts.
    workload_h
        Workload hours per account, indexed by ``account_id``; by default
        ``visits_per_month * visit_minutes / 60`` (hours per month, missing
        values count 0).
    extra
        More per-territory figures keyed by ``territory_id`` (for example
        ``drive_time_h`` from the routing module), merged as they are.
    as_of
        The date owners are judged on (today by default).

    Returns
    -------
    pandas.DataFrame
        ``territory_id``, ``name``, ``parent_id``, ``level``, ``path``,
        ``owners``, ``accounts``, ``annual_revenue``, ``workload_h``, then the
        target, actual and extra columns when their inputs are given.
    """
    tree = TerritoryTree.of(territories)
    out = skeleton(territories, tree)
    totals = _account_totals(memberships, accounts, tree, workload_h)
    out["owners"] = _owners(out[s.TERRITORY_ID], associations, reps, as_of)
    for col in ("accounts", s.ANNUAL_REVENUE, _WORKLOAD):
        out[col] = totals[col].reindex(out[s.TERRITORY_ID]).to_numpy()
    out = _with_extra(out, extra)
    if targets is not None:
        out, period = _with_targets(out, territories, targets, period, metric)
    if opportunities is not None:
        out = _with_actuals(out, territories, memberships, opportunities, period)
    out.attrs["period"] = period
    return out


def _account_table(accounts: pd.DataFrame, workload_h: pd.Series | None) -> pd.DataFrame:
    """``account_id``, ``annual_revenue`` and ``workload_h`` of each account (missing: 0)."""
    acc = pd.DataFrame({s.ACCOUNT_ID: str_ids(accounts[s.ACCOUNT_ID])})
    revenue = accounts.get(s.ANNUAL_REVENUE)
    acc[s.ANNUAL_REVENUE] = (
        0.0 if revenue is None else pd.to_numeric(revenue, errors="coerce").fillna(0.0).to_numpy()
    )
    if workload_h is None:
        if s.VISITS_PER_MONTH in accounts.columns and s.VISIT_MINUTES in accounts.columns:
            visits = pd.to_numeric(accounts[s.VISITS_PER_MONTH], errors="coerce").fillna(0.0)
            minutes = pd.to_numeric(accounts[s.VISIT_MINUTES], errors="coerce").fillna(0.0)
            acc[_WORKLOAD] = (visits * minutes / 60.0).to_numpy()
        else:
            acc[_WORKLOAD] = 0.0
    else:
        acc[_WORKLOAD] = acc[s.ACCOUNT_ID].map(workload_h).fillna(0.0).astype(float)
    ids = acc[s.ACCOUNT_ID].to_numpy(dtype=object)
    try:
        distinct = len(ids) < 2 or bool(np.all(ids[1:] > ids[:-1]))  # increasing: no repeats
    except TypeError:  # a missing id
        distinct = False
    return acc if distinct else acc.drop_duplicates(s.ACCOUNT_ID)


def _account_totals(
    memberships: pd.DataFrame,
    accounts: pd.DataFrame,
    tree: TerritoryTree,
    workload_h: pd.Series | None,
) -> pd.DataFrame:
    """Accounts, revenue and workload at or below each territory (index), each account once.

    Every primary membership is spread to its territory and the territories
    above by integer codes (no frame of (account, territory) text rows);
    an account below one territory through several memberships counts once.
    """
    ids = pd.Index(tree.ids, dtype=object)
    pairs = primary_pairs(memberships)
    pairs = pairs[pairs[s.TERRITORY_ID].isin(tree.parent)]
    figures = _account_table(accounts, workload_h)
    at = _positions(figures[s.ACCOUNT_ID], pairs[s.ACCOUNT_ID])
    territory, row = _spread_up(pairs, at, tree, ids)
    at = at[row]  # -1 for an unknown account: counted, with no revenue or workload
    out = pd.DataFrame(index=ids)
    out["accounts"] = np.bincount(territory, minlength=len(ids)).astype(int)
    for col in (s.ANNUAL_REVENUE, _WORKLOAD):
        values = np.append(figures[col].to_numpy(dtype=float), 0.0)[at]
        out[col] = np.bincount(territory, weights=values, minlength=len(ids))
    return out


def _positions(known: pd.Series, wanted: pd.Series) -> np.ndarray:
    """Each wanted id's position among the (distinct) known ids, -1 when unknown."""
    k, w = known.to_numpy(dtype=object), wanted.to_numpy(dtype=object)
    if len(k) == len(w) and bool((k == w).all()):  # one membership per account, same order
        return np.arange(len(w))
    return pd.Index(k, dtype=object).get_indexer(pd.Index(w, dtype=object))


def _spread_up(
    pairs: pd.DataFrame, at: np.ndarray, tree: TerritoryTree, ids: pd.Index
) -> tuple[np.ndarray, np.ndarray]:
    """Each pair spread to its territory and those above, an (account, territory) once.

    Returns the territory's position in ``ids`` and the pair's row, one entry a spread.
    """
    up = tree.ancestor_pairs()
    below = ids.get_indexer(pd.Index(up[s.TERRITORY_ID], dtype=object))
    order = np.argsort(below, kind="stable")
    above = ids.get_indexer(pd.Index(up["ancestor_id"], dtype=object))[order]
    counts = np.bincount(below, minlength=len(ids))
    starts = np.cumsum(counts) - counts
    code = ids.get_indexer(pd.Index(pairs[s.TERRITORY_ID], dtype=object))
    reps = counts[code]
    row = np.repeat(np.arange(len(code)), reps)
    offset = np.arange(len(row)) - np.repeat(np.cumsum(reps) - reps, reps)
    territory = above[starts[code][row] + offset]
    account_code = (  # ``at`` (positions of distinct ids) when every account is known
        at if bool((at >= 0).all()) else pd.factorize(pairs[s.ACCOUNT_ID], use_na_sentinel=False)[0]
    )
    if not pd.Index(account_code).is_unique:  # an account in several territories
        key = account_code[row].astype(np.int64) * len(ids) + territory
        _, first = np.unique(key, return_index=True)
        first.sort()
        row, territory = row[first], territory[first]
    return territory, row


def _with_extra(out: pd.DataFrame, extra: pd.DataFrame | None) -> pd.DataFrame:
    """``out`` with the columns of ``extra`` it lacks, matched on ``territory_id``."""
    if extra is None or len(extra.columns) <= 1:
        return out
    more = extra.copy()
    more[s.TERRITORY_ID] = str_ids(more[s.TERRITORY_ID])
    taken = set(out.columns) - {s.TERRITORY_ID}
    more = more[[c for c in more.columns if c not in taken]]
    return out.merge(more, on=s.TERRITORY_ID, how="left")


def _with_targets(
    out: pd.DataFrame,
    territories: pd.DataFrame,
    targets: pd.DataFrame,
    period: str | None,
    metric: str,
) -> tuple[pd.DataFrame, str | None]:
    """``out`` with the rolled-up targets, and the period they are of."""
    t = target_rollup(territories, targets, period=period, metric=metric)
    period = period or t.attrs.get("period")
    out = out.merge(t[[s.TERRITORY_ID, *_TARGET_COLUMNS]], on=s.TERRITORY_ID, how="left")
    return out, period


def _with_actuals(
    out: pd.DataFrame,
    territories: pd.DataFrame,
    memberships: pd.DataFrame,
    opportunities: pd.DataFrame,
    period: str | None,
) -> pd.DataFrame:
    """``out`` with won amounts, pipeline and win rate, and attainment when targets are there."""
    a = actuals_by_territory(territories, memberships, opportunities, period=period)
    out = out.merge(a, on=s.TERRITORY_ID, how="left")
    if "target_effective" in out.columns:
        goal = out["target_effective"].where(out["target_effective"] > 0)
        out["attainment"] = (out["won_amount"] / goal).astype(float)
    return out


def _owners(
    territory_ids: pd.Series,
    associations: pd.DataFrame | None,
    reps: pd.DataFrame | None,
    as_of: date | None,
) -> list[str]:
    """Names of each territory's active owners, joined by ``", "``."""
    if associations is None or associations.empty:
        return [""] * len(territory_ids)
    active = associations[active_mask(associations, as_of or date.today())]
    active = active[active[s.ROLE].astype(str) == "owner"]
    names: dict[str, str] = {}
    if reps is not None and s.NAME in reps.columns:
        for rid, name in zip(reps[s.REP_ID].astype(str), reps[s.NAME], strict=True):
            names[rid] = rid if pd.isna(name) else str(name)
    by_territory: dict[str, list[str]] = {}
    for rid, tid in zip(
        active[s.REP_ID].astype(str), active[s.TERRITORY_ID].astype(str), strict=True
    ):
        by_territory.setdefault(tid, []).append(names.get(rid, rid))
    return [", ".join(sorted(by_territory.get(str(t), []))) for t in territory_ids]
