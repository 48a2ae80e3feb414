"""Targets rolled up the hierarchy, reports by territory, star performers and sales cycles.

Every function takes frames (territories, memberships, accounts, targets,
opportunities...) and returns a new DataFrame, one row per territory or per
user; filter the inputs through :class:`planner.access.AccessScope` first, so a
report shows only what its reader may see.

Conventions
-----------
* Territory figures are **subtree totals**: a district counts the distinct
  accounts of all territories below it, and an opportunity counts once in its
  account's territory and once in each territory above it.
* Opportunities reach territories through the accounts' *primary*
  memberships (all memberships when there is no ``is_primary`` column).
* A **period** is ``"2025"``, ``"2025-H1"``, ``"2025-Q3"`` or ``"2025-07"``.
  Targets are matched on the period text; opportunities count in a period when
  their ``closed_date`` falls inside it.
* **Attainment** is closed-won amount divided by the target (``NaN`` without a
  positive target).
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from planner import schema as s
from planner.access import AccessDeniedError, AccessScope, active_mask
from planner.errors import InputError, Problem, format_ids
from planner.models import Target
from planner.tree import TerritoryTree

__all__ = [
    "OPPORTUNITY_COLUMNS",
    "actuals_by_territory",
    "period_bounds",
    "read_opportunities",
    "sales_cycle",
    "set_targets",
    "star_performers",
    "target_rollup",
    "territory_report",
]

logger = logging.getLogger(__name__)

OPPORTUNITY_ID = "opportunity_id"
AMOUNT = "amount"
CREATED_DATE = "created_date"
CLOSED_DATE = "closed_date"
STAGE = "stage"
IS_CLOSED = "is_closed"
IS_WON = "is_won"
CYCLE_DAYS = "cycle_days"

#: Columns an opportunities file must have.
OPPORTUNITY_COLUMNS = (s.ACCOUNT_ID, s.OWNER_ID, AMOUNT, CREATED_DATE, CLOSED_DATE, STAGE)

_ALIASES = {
    "account": s.ACCOUNT_ID,
    "accountid": s.ACCOUNT_ID,
    "owner": s.OWNER_ID,
    "ownerid": s.OWNER_ID,
    "rep_id": s.OWNER_ID,
    "created": CREATED_DATE,
    "createddate": CREATED_DATE,
    "created_at": CREATED_DATE,
    "closed": CLOSED_DATE,
    "closedate": CLOSED_DATE,
    "close_date": CLOSED_DATE,
    "closed_at": CLOSED_DATE,
    "stagename": STAGE,
    "stage_name": STAGE,
    "id": OPPORTUNITY_ID,
    "opportunityid": OPPORTUNITY_ID,
}
_WON = {"closed won", "closedwon", "won", "closed_won"}
_LOST = {"closed lost", "closedlost", "lost", "closed_lost"}


# -- opportunities -----------------------------------------------------------------------


def _norm_column(name: object) -> str:
    text = re.sub(r"[\s\-]+", "_", str(name).strip().lower())
    return _ALIASES.get(text, _ALIASES.get(text.replace("_", ""), text))


def _rows(mask: pd.Series) -> tuple[int, ...]:
    """1-based file rows (the header is row 1) of the ``True`` entries of ``mask``."""
    return tuple(int(i) + 2 for i in np.flatnonzero(mask.to_numpy())[:50])


def read_opportunities(source: str | os.PathLike[str] | pd.DataFrame) -> pd.DataFrame:
    """Read and check an opportunities CSV (or frame).

    Column names are matched loosely (``Account ID``, ``CloseDate`` and
    ``StageName`` are recognised). A stage reading "Closed Won"/"Won" is won,
    "Closed Lost"/"Lost" is lost; any other stage is open.

    Parameters
    ----------
    source
        A CSV file or a frame with the columns of :data:`OPPORTUNITY_COLUMNS`
        (``opportunity_id`` optional).

    Returns
    -------
    pandas.DataFrame
        ``opportunity_id``, the input columns with ``amount`` as float and the
        dates as timestamps, plus ``is_closed``, ``is_won`` and ``cycle_days``
        (closed minus created, in days; ``NaN`` while open).

    Raises
    ------
    InputError
        Naming every bad row: missing columns or ids, amounts that are not
        non-negative numbers, unreadable dates, a close before the creation,
        a closed stage without a close date.
    """
    label = "opportunities"
    if isinstance(source, pd.DataFrame):
        raw = source.copy()
    else:
        path = Path(source)
        label = str(path)
        if not path.is_file():
            raise InputError(
                f"opportunities file {path} does not exist",
                [Problem("file not found", fix="check the path")],
                source=label,
            )
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    raw.columns = [_norm_column(c) for c in raw.columns]
    missing = [c for c in OPPORTUNITY_COLUMNS if c not in raw.columns]
    if missing:
        raise InputError(
            "the opportunities table lacks required columns",
            [
                Problem(f"required column '{c}' is missing", column=c, fix=f"add a '{c}' column")
                for c in missing
            ],
            source=label,
        )
    raw = raw.reset_index(drop=True)
    problems: list[Problem] = []

    def blank(col: str) -> pd.Series:
        v = raw[col]
        return v.isna() | (v.astype(str).str.strip() == "")

    for col in (s.ACCOUNT_ID, s.OWNER_ID, CREATED_DATE, STAGE):
        bad = blank(col)
        if bad.any():
            problems.append(
                Problem(f"'{col}' is empty", rows=_rows(bad), column=col, fix=f"fill in '{col}'")
            )
    amount = pd.to_numeric(raw[AMOUNT].where(~blank(AMOUNT), None), errors="coerce")
    bad = amount.isna() | (amount < 0) | ~np.isfinite(amount.fillna(0))
    if bad.any():
        problems.append(
            Problem(
                "'amount' is not a non-negative number",
                rows=_rows(bad),
                column=AMOUNT,
                fix="write amounts as plain numbers such as 12500.50",
            )
        )
    dates = {}
    for col in (CREATED_DATE, CLOSED_DATE):
        text = raw[col].where(~blank(col), None)
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert(None)
        unreadable = text.notna() & parsed.isna()
        if unreadable.any():
            problems.append(
                Problem(
                    f"'{col}' is not a date",
                    rows=_rows(unreadable),
                    column=col,
                    fix="write dates as YYYY-MM-DD",
                )
            )
        dates[col] = parsed.dt.normalize()
    stage = raw[STAGE].astype(str).str.strip()
    key = stage.str.lower()
    won = key.isin(_WON)
    closed = won | key.isin(_LOST)
    no_close = closed & dates[CLOSED_DATE].isna() & ~blank(STAGE)
    unreadable_close = ~blank(CLOSED_DATE) & dates[CLOSED_DATE].isna()
    no_close &= ~unreadable_close
    if no_close.any():
        problems.append(
            Problem(
                "a closed opportunity has no closed_date",
                rows=_rows(no_close),
                column=CLOSED_DATE,
                fix="add the date it was won or lost",
            )
        )
    backwards = dates[CLOSED_DATE] < dates[CREATED_DATE]
    if backwards.any():
        problems.append(
            Problem(
                "closed_date is before created_date",
                rows=_rows(backwards),
                column=CLOSED_DATE,
                fix="check both dates",
            )
        )
    if problems:
        raise InputError("the opportunities cannot be used", problems, source=label)

    if OPPORTUNITY_ID in raw.columns and not blank(OPPORTUNITY_ID).any():
        ids = raw[OPPORTUNITY_ID].astype(str).str.strip()
    else:
        ids = pd.Series([f"row{i + 2}" for i in range(len(raw))])
    out = pd.DataFrame(
        {
            OPPORTUNITY_ID: ids.to_numpy(),
            s.ACCOUNT_ID: raw[s.ACCOUNT_ID].astype(str).str.strip().to_numpy(),
            s.OWNER_ID: raw[s.OWNER_ID].astype(str).str.strip().to_numpy(),
            AMOUNT: amount.astype(float).to_numpy(),
            CREATED_DATE: dates[CREATED_DATE].to_numpy(),
            CLOSED_DATE: dates[CLOSED_DATE].where(closed).to_numpy(),
            STAGE: stage.to_numpy(),
            IS_CLOSED: closed.to_numpy(),
            IS_WON: won.to_numpy(),
        }
    )
    out[CYCLE_DAYS] = (out[CLOSED_DATE] - out[CREATED_DATE]).dt.days.astype(float)
    open_with_date = ~closed & dates[CLOSED_DATE].notna()
    if open_with_date.any():
        logger.info(
            "%d open opportunities carry a closed_date (an expected close?); it is ignored",
            int(open_with_date.sum()),
        )
    return out


# -- periods -----------------------------------------------------------------------------


def period_bounds(
    period: str, *, fiscal_year_start_month: int = 1
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return the first day of ``period`` and the first day after it.

    Parameters
    ----------
    period
        A calendar period, ``"2025"``, ``"2025-H1"``, ``"2025-Q3"`` or
        ``"2025-07"``, or a fiscal one, ``"FY2026"``, ``"FY2026-H2"`` or
        ``"FY2026-Q1"``.
    fiscal_year_start_month
        First month of the fiscal year. A fiscal year is named by the
        calendar year it ends in, so with ``2`` (February), ``FY2026`` runs
        from February 2025 to January 2026. With ``1`` (the default) fiscal
        and calendar years coincide.

    Raises
    ------
    InputError
        If the period is written otherwise.
    """
    text = str(period).strip().upper()
    m = re.fullmatch(r"(FY)?(\d{4})(?:-(?:(Q)([1-4])|(H)([12])|(\d{2})))?", text)
    bad = not m or (m.group(7) and (m.group(1) or not 1 <= int(m.group(7)) <= 12))
    if bad or not 1 <= fiscal_year_start_month <= 12:
        raise InputError(
            f"period '{period}' is not understood",
            [
                Problem(
                    f"unknown period '{period}'",
                    fix="write 2025, 2025-H1, 2025-Q3, 2025-07, FY2025 or FY2025-Q1",
                )
            ],
        )
    assert m is not None
    year = int(m.group(2))
    if m.group(3):
        first, months = 3 * (int(m.group(4)) - 1) + 1, 3
    elif m.group(5):
        first, months = 6 * (int(m.group(6)) - 1) + 1, 6
    elif m.group(7):
        first, months = int(m.group(7)), 1
    else:
        first, months = 1, 12
    start = pd.Timestamp(year=year, month=first, day=1)
    if m.group(1) and fiscal_year_start_month != 1:
        start = start + pd.DateOffset(months=fiscal_year_start_month - 1 - 12)
    return start, start + pd.DateOffset(months=months)


def _in_period(when: pd.Series, period: str | None) -> pd.Series:
    if period is None:
        return when.notna()
    start, end = period_bounds(period)
    return (when >= start) & (when < end)


# -- shared pieces -----------------------------------------------------------------------


def _str_ids(series: pd.Series) -> pd.Series:
    values = [None if pd.isna(v) else str(v) for v in series.astype(object)]
    return pd.Series(values, index=series.index, dtype=object)


def _skeleton(territories: pd.DataFrame, tree: TerritoryTree) -> pd.DataFrame:
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


def _primary(memberships: pd.DataFrame) -> pd.DataFrame:
    m = memberships
    if s.IS_PRIMARY in m.columns:
        m = m[m[s.IS_PRIMARY].fillna(False).astype(bool)]
    return pd.DataFrame(
        {s.ACCOUNT_ID: _str_ids(m[s.ACCOUNT_ID]), s.TERRITORY_ID: _str_ids(m[s.TERRITORY_ID])}
    )


def _rolled(pairs: pd.DataFrame, tree: TerritoryTree, key: str) -> pd.DataFrame:
    """Expand ``(key, territory_id)`` rows to every territory above; one row per pair."""
    up = tree.ancestor_pairs()
    out = pairs.merge(up, on=s.TERRITORY_ID, how="inner")
    out = out.drop(columns=[s.TERRITORY_ID]).rename(columns={"ancestor_id": s.TERRITORY_ID})
    return out.drop_duplicates([key, s.TERRITORY_ID])


def _pick_period(targets: pd.DataFrame, period: str | None, metric: str) -> str | None:
    if period is not None or targets.empty:
        return period
    periods = sorted(set(targets.loc[targets[s.METRIC] == metric, s.PERIOD].astype(str)))
    if len(periods) > 1:
        raise InputError(
            "targets cover several periods: say which one",
            [Problem(f"periods {format_ids(periods)}", column=s.PERIOD, fix="pass period=")],
        )
    return periods[0] if periods else None


def _targets_of(targets: pd.DataFrame, period: str | None, metric: str) -> pd.DataFrame:
    t = targets
    if s.METRIC in t.columns:
        t = t[t[s.METRIC].astype(str) == metric]
    if period is not None:
        t = t[t[s.PERIOD].astype(str) == str(period)]
    return pd.DataFrame(
        {
            s.TERRITORY_ID: _str_ids(t[s.TERRITORY_ID]),
            s.REP_ID: _str_ids(t[s.REP_ID]),
            s.VALUE: pd.to_numeric(t[s.VALUE], errors="coerce").astype(float),
        }
    )


# -- targets -----------------------------------------------------------------------------


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
    out = _skeleton(territories, tree)
    period = _pick_period(targets, period, metric)
    t = _targets_of(targets, period, metric)
    on_territory = t[t[s.TERRITORY_ID].notna()]
    own = on_territory[on_territory[s.REP_ID].isna()].groupby(s.TERRITORY_ID)[s.VALUE].sum()
    users = on_territory[on_territory[s.REP_ID].notna()].groupby(s.TERRITORY_ID)[s.VALUE].sum()
    out["target_set"] = out[s.TERRITORY_ID].map(own).astype(float)
    out["target_users"] = out[s.TERRITORY_ID].map(users).astype(float)
    out["target"] = out["target_set"].fillna(out["target_users"])
    target = dict(zip(out[s.TERRITORY_ID], out["target"], strict=True))
    effective: dict[str, float] = {}
    below: dict[str, float] = {}
    for tid in reversed(out[s.TERRITORY_ID].tolist()):
        kids = [effective[c] for c in tree.children(tid) if not math.isnan(effective[c])]
        below[tid] = float(sum(kids)) if kids else math.nan
        effective[tid] = target[tid] if not math.isnan(target[tid]) else below[tid]
    out["target_below"] = out[s.TERRITORY_ID].map(below).astype(float)
    out["target_effective"] = out[s.TERRITORY_ID].map(effective).astype(float)
    out["target_gap"] = out["target"] - out["target_below"]
    out.attrs["period"] = period
    return out


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
    if scope is not None:
        refused = [t for t in items if not scope.can_set_target(t.territory_id, t.rep_id)]
        if refused:
            names = [f"{t.territory_id or '-'}/{t.rep_id or '-'}" for t in refused]
            raise AccessDeniedError(
                f"user '{scope.user_id}' may not set the targets {format_ids(names)}"
            )
    rows = pd.DataFrame(
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
        columns=[s.SCENARIO_ID, s.TERRITORY_ID, s.REP_ID, s.PERIOD, s.METRIC, s.VALUE],
    )
    key = [s.SCENARIO_ID, s.TERRITORY_ID, s.REP_ID, s.PERIOD, s.METRIC]

    def keys(frame: pd.DataFrame) -> pd.Series:
        return (
            frame[key]
            .astype(object)
            .where(frame[key].notna(), "")
            .astype(str)
            .agg("\x1f".join, axis=1)
        )

    old = targets
    if len(old) and len(rows):
        old = old[~keys(old).isin(set(keys(rows)))]
    frames = [f for f in (old, rows) if len(f)]
    if not frames:
        return targets.iloc[0:0].copy()
    out = pd.concat(frames, ignore_index=True)
    return out.drop_duplicates(key, keep="last").reset_index(drop=True)


# -- actuals -----------------------------------------------------------------------------


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
    opp = _with_territories(opportunities, memberships, tree)
    closed = opp[opp[IS_CLOSED] & _in_period(opp[CLOSED_DATE], period)]
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


def _with_territories(
    opportunities: pd.DataFrame, memberships: pd.DataFrame, tree: TerritoryTree
) -> pd.DataFrame:
    """One row per (opportunity, territory at or above its account's primary territory)."""
    opp = opportunities.copy()
    opp[s.ACCOUNT_ID] = _str_ids(opp[s.ACCOUNT_ID])
    pairs = _primary(memberships)
    pairs = pairs[pairs[s.TERRITORY_ID].isin(tree.parent)]
    joined = opp.merge(pairs, on=s.ACCOUNT_ID, how="inner")
    if joined.empty:
        return joined.assign(**{s.TERRITORY_ID: pd.Series(dtype=object)})
    return _rolled(joined, tree, OPPORTUNITY_ID)


# -- the report by territory -------------------------------------------------------------


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
    out = _skeleton(territories, tree)
    pairs = _primary(memberships)
    pairs = pairs[pairs[s.TERRITORY_ID].isin(tree.parent)]
    rolled = _rolled(pairs, tree, s.ACCOUNT_ID)
    acc = pd.DataFrame({s.ACCOUNT_ID: _str_ids(accounts[s.ACCOUNT_ID])})
    revenue = accounts.get(s.ANNUAL_REVENUE)
    acc[s.ANNUAL_REVENUE] = (
        0.0 if revenue is None else pd.to_numeric(revenue, errors="coerce").fillna(0.0).to_numpy()
    )
    if workload_h is None:
        if s.VISITS_PER_MONTH in accounts.columns and s.VISIT_MINUTES in accounts.columns:
            visits = pd.to_numeric(accounts[s.VISITS_PER_MONTH], errors="coerce").fillna(0.0)
            minutes = pd.to_numeric(accounts[s.VISIT_MINUTES], errors="coerce").fillna(0.0)
            acc["workload_h"] = (visits * minutes / 60.0).to_numpy()
        else:
            acc["workload_h"] = 0.0
    else:
        acc["workload_h"] = acc[s.ACCOUNT_ID].map(workload_h).fillna(0.0).astype(float)
    acc = acc.drop_duplicates(s.ACCOUNT_ID)
    rolled = rolled.merge(acc, on=s.ACCOUNT_ID, how="left").fillna(
        {s.ANNUAL_REVENUE: 0.0, "workload_h": 0.0}
    )
    grouped = rolled.groupby(s.TERRITORY_ID)
    out["owners"] = _owners(out[s.TERRITORY_ID], associations, reps, as_of)
    out["accounts"] = out[s.TERRITORY_ID].map(grouped.size()).fillna(0).astype(int)
    out[s.ANNUAL_REVENUE] = out[s.TERRITORY_ID].map(grouped[s.ANNUAL_REVENUE].sum()).fillna(0.0)
    out["workload_h"] = out[s.TERRITORY_ID].map(grouped["workload_h"].sum()).fillna(0.0)
    if extra is not None and len(extra.columns) > 1:
        more = extra.copy()
        more[s.TERRITORY_ID] = _str_ids(more[s.TERRITORY_ID])
        taken = set(out.columns) - {s.TERRITORY_ID}
        more = more[[c for c in more.columns if c not in taken]]
        out = out.merge(more, on=s.TERRITORY_ID, how="left")
    if targets is not None:
        t = target_rollup(territories, targets, period=period, metric=metric)
        period = period or t.attrs.get("period")
        cols = ["target", "target_below", "target_effective", "target_gap"]
        out = out.merge(t[[s.TERRITORY_ID, *cols]], on=s.TERRITORY_ID, how="left")
    if opportunities is not None:
        a = actuals_by_territory(territories, memberships, opportunities, period=period)
        out = out.merge(a, on=s.TERRITORY_ID, how="left")
        if "target_effective" in out.columns:
            goal = out["target_effective"].where(out["target_effective"] > 0)
            out["attainment"] = (out["won_amount"] / goal).astype(float)
    out.attrs["period"] = period
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


# -- people ------------------------------------------------------------------------------


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
    period = _pick_period(targets, period, metric)
    t = _targets_of(targets, period, metric)
    t = t[t[s.REP_ID].notna()]
    alone = t[t[s.TERRITORY_ID].isna()].groupby(s.REP_ID)[s.VALUE].sum()
    within = t[t[s.TERRITORY_ID].notna()].groupby(s.REP_ID)[s.VALUE].sum()
    target = alone.combine_first(within)
    won = opportunities[
        opportunities[IS_WON] & _in_period(opportunities[CLOSED_DATE], period)
    ].copy()
    won[s.OWNER_ID] = _str_ids(won[s.OWNER_ID])
    amount = won.groupby(s.OWNER_ID)[AMOUNT].sum()
    count = won.groupby(s.OWNER_ID).size()
    ids = _str_ids(reps[s.REP_ID])
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
    out = out[out["target"].notna() | (out["won_count"] > 0)]
    out = out.sort_values(
        ["attainment", "won_amount", s.REP_ID], ascending=[False, False, True], na_position="last"
    ).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out.attrs["period"] = period
    return out.head(top) if top is not None else out


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


# -- sales cycle -------------------------------------------------------------------------


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
    out = _skeleton(territories, tree)[[s.TERRITORY_ID, s.NAME, "path", s.LEVEL]]
    opp = _with_territories(opportunities, memberships, tree)
    closed = opp[opp[IS_CLOSED] & _in_period(opp[CLOSED_DATE], period)] if len(opp) else opp
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
