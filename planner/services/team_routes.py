"""A team's week from a workspace: the reps a user may plan, a pool of accounts, one joint plan.

The workflow of the Routes page's *Team plan* tab::

    reps = team_reps(ws, scenario_id, scope, on=monday)           # homes, shifts, days
    request = TeamRequest(rep_ids=("hel-rep-1", "hel-rep-2"), pool="territory",
                          territory_ids=("HEL-1",), first_monday=monday)
    team = plan_team_routes(ws, scenario_id, scope, request, network=network)
    team_visits(team)                                              # who visits what when

Everything is limited to the user's access scope: a manager sees and plans
only the reps and accounts below them. A rep's shift and working days come
from the reps table's optional ``day_start``, ``day_end`` and ``weekdays``
columns (``Mo,Tu,We``), else 08:00-17:00 Monday to Friday; a weekly capacity
(``capacity_h_per_week``) caps each working day at its share of the week.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from planner import schema as s
from planner.access import AccessScope
from planner.errors import InputError, Problem, format_ids
from planner.progress import Progress, Stop
from planner.routing import RoadNetwork, RouteParams
from planner.routing.hours import DAY_NAMES
from planner.routing.plans import clock
from planner.routing.team import TeamPlan, plan_team, read_reps
from planner.services.rep_accounts import located_accounts, owned_territories, rep_home
from planner.services.rep_routes import day_date, week_start
from planner.tree import TerritoryTree
from planner.workspace import Workspace

__all__ = [
    "POOLS",
    "PoolKind",
    "TeamRequest",
    "TeamRoutes",
    "plan_team_routes",
    "pool_accounts",
    "pool_territories",
    "team_reps",
    "team_summary",
    "team_visits",
]

#: ``territory``: accounts of chosen territories; ``vacant``: of territories nobody owns;
#: ``unassigned``: accounts in no territory of the scenario.
PoolKind = Literal["territory", "vacant", "unassigned"]
POOLS: tuple[PoolKind, ...] = ("territory", "vacant", "unassigned")

_DEFAULT_DAYS = "Mo,Tu,We,Th,Fr"
_REP_COLUMNS = [
    s.REP_ID,
    s.NAME,
    "home_latitude",
    "home_longitude",
    "day_start",
    "day_end",
    "weekdays",
    "max_hours",
    "territories",
]


# -- who can be planned ---------------------------------------------------------------------


def _cell(row: pd.Series, column: str) -> str | None:
    return s.text_or_none(row.get(column)) if column in row.index else None


def _max_hours(row: pd.Series, weekdays: str) -> float:
    """A day's share of the weekly capacity (NaN: the whole shift)."""
    try:
        week_h = float(row.get(s.CAPACITY_H_PER_WEEK))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    days = len([d for d in weekdays.split(",") if d.strip()])
    return week_h / days if np.isfinite(week_h) and week_h > 0 and days else float("nan")


def team_reps(
    ws: Workspace, scenario_id: str, scope: AccessScope | None, *, on: date
) -> pd.DataFrame:
    """Return the reps the user may plan together: in scope and with a home location.

    A manager gets the users below them (and themself, if they have a home),
    planners and admins everyone with a home, a rep only themself, nobody
    signed in nobody.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``name``, ``home_latitude``, ``home_longitude``,
        ``day_start``, ``day_end``, ``weekdays``, ``max_hours`` and the
        ``territories`` each owns on ``on``; ordered by name.
    """
    if scope is None:
        return pd.DataFrame(columns=_REP_COLUMNS)
    owned = owned_territories(ws, scenario_id, on)
    rows = []
    for _, row in ws.reps.iterrows():
        rep_id = str(row[s.REP_ID])
        home = rep_home(ws, rep_id) if scope.can_view_rep(rep_id) else None
        if home is None:
            continue
        weekdays = _cell(row, "weekdays") or _DEFAULT_DAYS
        rows.append(
            {
                s.REP_ID: rep_id,
                s.NAME: s.text_or_none(row[s.NAME]) or rep_id,
                "home_latitude": home[0],
                "home_longitude": home[1],
                "day_start": _cell(row, "day_start") or "08:00",
                "day_end": _cell(row, "day_end") or "17:00",
                "weekdays": weekdays,
                "max_hours": _max_hours(row, weekdays),
                "territories": ", ".join(owned.get(rep_id, [])),
            }
        )
    out = pd.DataFrame(rows, columns=_REP_COLUMNS)
    return out.sort_values([s.NAME, s.REP_ID], kind="stable").reset_index(drop=True)


def pool_territories(
    ws: Workspace, scenario_id: str, scope: AccessScope | None, *, on: date
) -> pd.DataFrame:
    """Return the leaf territories whose accounts the user may pool, and whether they are vacant.

    Returns
    -------
    pandas.DataFrame
        ``territory_id``, ``name``, ``owners`` (comma-separated rep ids) and
        ``vacant`` (nobody owns it on ``on``); ordered by id.
    """
    columns = [s.TERRITORY_ID, s.NAME, "owners", "vacant"]
    if scope is None:
        return pd.DataFrame(columns=columns)
    terr = ws.territories(scenario_id)
    leaves = set(TerritoryTree.of(terr).leaves())
    owners: dict[str, list[str]] = {}
    for rep, tids in owned_territories(ws, scenario_id, on).items():
        for tid in tids:
            owners.setdefault(tid, []).append(rep)
    rows = [
        {
            s.TERRITORY_ID: tid,
            s.NAME: s.text_or_none(name) or tid,
            "owners": ", ".join(sorted(owners.get(tid, []))),
            "vacant": tid not in owners,
        }
        for tid, name in zip(terr[s.TERRITORY_ID].astype(str), terr[s.NAME], strict=True)
        if tid in leaves and scope.can_view_territory(tid)
    ]
    return pd.DataFrame(rows, columns=columns).sort_values(s.TERRITORY_ID).reset_index(drop=True)


def pool_accounts(
    ws: Workspace,
    scenario_id: str,
    scope: AccessScope | None,
    kind: PoolKind,
    territory_ids: tuple[str, ...] = (),
    *,
    on: date,
) -> pd.DataFrame:
    """Return the located accounts of a pool that the user may see, one row each.

    ``territory``: the accounts of ``territory_ids``; ``vacant``: of those of
    ``territory_ids`` nobody owns on ``on`` (every vacant one when empty);
    ``unassigned``: accounts in no territory of the scenario.
    """
    if scope is None:
        return located_accounts(ws, scenario_id, set())
    if kind == "unassigned":
        pool = _unassigned(ws, scenario_id)
    else:
        terr = pool_territories(ws, scenario_id, scope, on=on)
        if kind == "vacant":
            terr = terr[terr["vacant"].astype(bool)]
        chosen = set(terr[s.TERRITORY_ID])
        if territory_ids or kind == "territory":
            chosen &= set(map(str, territory_ids))
        pool = located_accounts(ws, scenario_id, chosen)
    return scope.filter_accounts(pool).reset_index(drop=True)


def _unassigned(ws: Workspace, scenario_id: str) -> pd.DataFrame:
    """Located accounts in no territory of the scenario (``territory_id`` empty)."""
    members = set(ws.memberships(scenario_id)[s.ACCOUNT_ID].astype(str))
    accounts = ws.accounts[~ws.accounts[s.ACCOUNT_ID].astype(str).isin(members)]
    if accounts.crs is not None and not accounts.crs.equals(s.STORAGE_CRS):
        accounts = accounts.to_crs(s.STORAGE_CRS)
    points = accounts.geometry
    ok = (points.notna() & ~points.is_empty).to_numpy()
    out = pd.DataFrame(accounts.drop(columns=accounts.geometry.name))[ok]
    out[s.LATITUDE] = points[ok].y.to_numpy(float)
    out[s.LONGITUDE] = points[ok].x.to_numpy(float)
    out[s.TERRITORY_ID] = None
    return out.reset_index(drop=True)


# -- the plan -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamRequest:
    """What a team plan covers: which reps, which pool, which week(s), which visits.

    Parameters
    ----------
    rep_ids
        The reps planned together (at least one).
    pool, territory_ids
        The pool of accounts (see :func:`pool_accounts`).
    first_monday
        The Monday the plan starts (any date: its week's Monday is taken).
    weeks
        Weeks planned (1 to 4).
    use_frequencies
        ``True``: visits as often as each account's ``visits_per_month``
        makes due over the weeks; ``False``: each account once.
    route
        Search time, estimate settings and seed (shifts come from the reps).
    shifts
        ``(rep_id, day_start, day_end, weekdays)`` replacing a rep's shift
        from the reps table for this plan (``weekdays`` as ``Mo,Tu,We``).
    """

    rep_ids: tuple[str, ...]
    pool: PoolKind
    territory_ids: tuple[str, ...] = ()
    first_monday: date = field(default_factory=date.today)
    weeks: int = 1
    use_frequencies: bool = True
    route: RouteParams = field(default_factory=RouteParams)
    shifts: tuple[tuple[str, str, str, str], ...] = ()

    def __post_init__(self) -> None:
        problems = []
        if not self.rep_ids:
            problems.append(Problem("no rep chosen", column=s.REP_ID, fix="pick at least one rep"))
        if self.pool not in POOLS:
            problems.append(Problem(f"unknown pool {self.pool!r}", fix=f"use one of {POOLS}"))
        if self.pool == "territory" and not self.territory_ids:
            problems.append(
                Problem(
                    "no territory chosen",
                    column=s.TERRITORY_ID,
                    fix="pick the territories whose accounts to plan",
                )
            )
        if not 1 <= self.weeks <= 4:
            problems.append(Problem(f"weeks must be 1 to 4, got {self.weeks}"))
        if problems:
            raise InputError(f"invalid team plan request ({len(problems)} problems)", problems)


@dataclass(frozen=True, eq=False)
class TeamRoutes:
    """A team plan with what it was made from: the reps (as planned) and the pool."""

    request: TeamRequest
    reps: pd.DataFrame
    pool: pd.DataFrame
    plan: TeamPlan

    @property
    def monday(self) -> date:
        """The Monday of the plan's first week."""
        return week_start(self.request.first_monday)


def plan_team_routes(
    ws: Workspace,
    scenario_id: str,
    scope: AccessScope | None,
    request: TeamRequest,
    *,
    network: RoadNetwork | None = None,
    progress: Progress | None = None,
    stop: Stop | None = None,
) -> TeamRoutes:
    """Plan the chosen reps' week(s) over the pool at once (:func:`planner.routing.plan_team`).

    Raises
    ------
    InputError
        A rep outside the user's scope or without a home, an empty pool, or
        a shift the reps table states badly (naming the rep's row).
    """
    monday = week_start(request.first_monday)
    reps = _chosen_reps(ws, scenario_id, scope, request, monday)
    pool = pool_accounts(ws, scenario_id, scope, request.pool, request.territory_ids, on=monday)
    if pool.empty:
        raise InputError(
            "the pool has no account with a location",
            [
                Problem(
                    f"no located account you may see in the {request.pool} pool"
                    + (f" of {', '.join(request.territory_ids)}" if request.territory_ids else ""),
                    fix="choose other territories or another pool",
                )
            ],
        )
    params = replace(
        request.route,
        weeks=request.weeks,
        use_frequencies=request.use_frequencies,
        first_monday=monday,
    )
    team = read_reps(reps, params)
    plan = plan_team(pool, team, network=network, params=params, progress=progress, stop=stop)
    return TeamRoutes(request=request, reps=reps, pool=pool, plan=plan)


def _chosen_reps(
    ws: Workspace, scenario_id: str, scope: AccessScope | None, request: TeamRequest, on: date
) -> pd.DataFrame:
    known = team_reps(ws, scenario_id, scope, on=on)
    ids = known[s.REP_ID].astype(str)
    missing = [r for r in request.rep_ids if r not in set(ids)]
    if missing:
        raise InputError(
            f"{len(missing)} reps cannot be planned",
            [
                Problem(
                    f"reps {format_ids(missing)} are not yours to plan or have no home location",
                    column=s.REP_ID,
                    fix=f"choose among {format_ids(list(ids))}",
                )
            ],
        )
    order = {r: i for i, r in enumerate(request.rep_ids)}
    chosen = known[ids.isin(order)].copy()
    for rep_id, start, end, weekdays in request.shifts:
        row = chosen[s.REP_ID].astype(str) == str(rep_id)
        chosen.loc[row, ["day_start", "day_end", "weekdays"]] = [start, end, weekdays]
    return chosen.sort_values(s.REP_ID, key=lambda c: c.map(order)).reset_index(drop=True)


# -- tables for people ----------------------------------------------------------------------


def team_visits(team: TeamRoutes) -> pd.DataFrame:
    """Return every visit of the plan for people: rep, date, order, account and times."""
    rows = []
    for rep, plan in zip(team.plan.reps, team.plan.plans, strict=True):
        for day in plan.days:
            when = day_date(team.monday, day.weekday, day.week)
            for stop in day.stops:
                rows.append(
                    {
                        "rep": rep.name,
                        s.REP_ID: rep.rep_id,
                        "date": f"{DAY_NAMES[day.weekday]} {when:%Y-%m-%d}",
                        "#": stop.sequence,
                        "account": stop.name or stop.stop_id,
                        "account id": stop.stop_id,
                        "arrive": clock(stop.arrival_s),
                        "leave": clock(stop.departure_s),
                        "drive from previous (min)": round(stop.drive_s / 60, 1),
                    }
                )
    columns = [
        "rep",
        s.REP_ID,
        "date",
        "#",
        "account",
        "account id",
        "arrive",
        "leave",
        "drive from previous (min)",
    ]
    return pd.DataFrame(rows, columns=columns)


def team_summary(team: TeamRoutes) -> pd.DataFrame:
    """Return one row per rep: days with visits, visits, drive and working hours."""
    rows = []
    for rep, plan in zip(team.plan.reps, team.plan.plans, strict=True):
        totals = plan.totals()
        days = ",".join(DAY_NAMES[d] for d in rep.weekdays)
        rows.append(
            {
                "rep": rep.name,
                s.REP_ID: rep.rep_id,
                "shift": f"{rep.day_start}-{rep.day_end} {days}",
                "days with visits": sum(1 for d in plan.days if d.stops),
                "visits": totals["visits"],
                "drive h": round(totals["drive_h"], 2),
                "drive km": round(totals["drive_km"], 1),
                "working h": round(totals["work_h"], 2),
            }
        )
    return pd.DataFrame(rows)
