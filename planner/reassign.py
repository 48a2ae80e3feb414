"""Bulk reassignment: move every account of a rep, a territory or a set of units in one step.

A move is written as manual overrides (an *include* into the target and an
*exclude* from each territory the account leaves), each with who, when and
why, so the next assignment run keeps it and :meth:`Assignment.explain`
can say who moved the account. Moving units also moves the units
themselves in ``unit_assignment`` and redraws the shapes of the territories
built from units. One audit entry records the whole move.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from planner import schema as s
from planner.access import AccessScope
from planner.edit import require_edit_rights
from planner.errors import InputError, Problem, format_ids
from planner.geo.assign import Assignment, assign_workspace
from planner.geo.locate import locate_points
from planner.geo.shapes import dissolve_units, point_xy
from planner.hierarchy import descendants
from planner.models import now_iso
from planner.workspace import Workspace

__all__ = ["ReassignSummary", "reassign"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReassignSummary:
    """What a bulk reassignment did.

    Parameters
    ----------
    scenario_id
        The scenario changed.
    to_territory
        Where the accounts went.
    account_ids
        The accounts moved (sorted).
    from_territories
        Territory id -> how many of the moved accounts left it.
    overrides_written
        Manual include and exclude rows written.
    units_moved
        Units whose ``unit_assignment`` now names the target.
    assignment
        The recomputed assignment (``None`` when not recomputed).
    """

    scenario_id: str
    to_territory: str
    account_ids: tuple[str, ...]
    from_territories: dict[str, int]
    overrides_written: int
    units_moved: tuple[str, ...] = ()
    assignment: Assignment | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as a JSON-friendly dictionary."""
        return {
            "scenario_id": self.scenario_id,
            "to_territory": self.to_territory,
            "accounts_moved": len(self.account_ids),
            "account_ids": list(self.account_ids),
            "from_territories": dict(self.from_territories),
            "overrides_written": self.overrides_written,
            "units_moved": list(self.units_moved),
        }


def _problem(message: str, fix: str) -> InputError:
    return InputError(message, [Problem(message, fix=fix)])


def _rep_territories(workspace: Workspace, scenario_id: str, rep_id: str) -> list[str]:
    """Territories ``rep_id`` currently owns in the scenario."""
    assoc = workspace.rows("associations", scenario_id)
    if assoc.empty:
        return []
    today = date.today().isoformat()
    end = assoc[s.END_DATE].astype(object)
    current = end.isna() | (end.astype(str) >= today)
    mine = (assoc[s.REP_ID].astype(str) == rep_id) & (assoc[s.ROLE] == "owner") & current
    return sorted(set(assoc.loc[mine, s.TERRITORY_ID].astype(str)))


def reassign(
    workspace: Workspace,
    scenario_id: str | None = None,
    *,
    to_territory: str,
    from_rep: str | None = None,
    from_territory: str | None = None,
    units: list[str] | None = None,
    user: str | None = None,
    reason: str = "",
    recompute: bool = True,
    effective_date: str | date | None = None,
    scope: AccessScope | None = None,
) -> ReassignSummary:
    """Move every account of a rep, a territory or a set of units to ``to_territory``.

    Exactly one of ``from_rep``, ``from_territory`` and ``units`` is given:

    ``from_rep`` moves the accounts of the territories the rep owns and those
    whose ``owner_id`` is the rep; ``from_territory`` its accounts and those
    below it; ``units`` the accounts inside them, the units moving too (and
    unit-built shapes redrawn).

    Parameters
    ----------
    workspace, scenario_id
        The workspace, changed in memory (commit it to write it), and the
        scenario (the active one by default).
    to_territory, from_rep, from_territory, units
        The territory receiving the accounts, and what to move (one of the three).
    user, reason
        Who moves them and why (``"Ann left"``); kept on the overrides and in the log.
    recompute
        Recompute and store the scenario's memberships afterwards.
    effective_date
        From when the move applies (today by default). With ``from_rep``
        the rep's associations end the day before, and the ``owner_id`` of
        the rep's account records passes to the target's owner (or is
        cleared). Commit with the same effective date so the history answers
        "who covered account X on date D".
    scope
        The rights of the user moving them: every territory the accounts
        leave or join must be one they may edit (``None``: no check).

    Returns a :class:`ReassignSummary`. Raises :class:`InputError` if not
    exactly one source is given, a territory, rep or unit does not exist, or
    the target is the source, and :class:`~planner.access.AccessDeniedError`
    (nothing changed) when ``scope`` may not edit them.
    """
    sid = scenario_id or workspace.active_scenario_id()
    when = _effective(effective_date)
    territories = _check_request(workspace, sid, to_territory, (from_rep, from_territory, units))
    mem = assign_workspace(workspace, sid).memberships
    moved_units: list[str] = []
    if from_territory is not None:
        rows, selector = _territory_rows(territories, mem, from_territory, to_territory, sid)
    elif from_rep is not None:
        rows, selector = _rep_rows(workspace, sid, territories, mem, from_rep, to_territory)
    else:
        assert units is not None
        rows, moved_units = _unit_rows(workspace, territories, mem, units, to_territory)
        holders = _holders(workspace, sid, moved_units)
        selector = {"units": moved_units, "from_unit_holders": holders}
    rows = rows[rows[s.TERRITORY_ID].astype(object).ne(to_territory).to_numpy()]
    _require_rights(scope, to_territory, rows, selector)
    if moved_units:
        _move_units(workspace, sid, moved_units, to_territory)
    new_rows, from_counts = _override_rows(rows, to_territory, user, reason)
    moved = tuple(sorted(set(rows[s.ACCOUNT_ID].astype(str))))
    _store_overrides(workspace, sid, new_rows)
    details = {**selector, "to_territory": to_territory, "reason": reason}
    _log_move(workspace, sid, details, moved, from_counts, when, user)
    if from_rep is not None:
        _end_rep(workspace, sid, from_rep, moved, to_territory, when)
    after = assign_workspace(workspace, sid, store=True, user=user) if recompute else None
    logger.info("moved %d accounts to %s", len(moved), to_territory)
    counts = dict(sorted(from_counts.items()))
    return ReassignSummary(
        sid, to_territory, moved, counts, len(new_rows), tuple(moved_units), after
    )


def _log_move(
    workspace: Workspace,
    sid: str,
    details: dict[str, Any],
    moved: tuple[str, ...],
    from_counts: dict[str, int],
    when: date,
    user: str | None,
) -> None:
    """Record the move in the audit log."""
    workspace.log(
        "reassign",
        {
            **details,
            "accounts": len(moved),
            "account_ids": list(moved),
            "from_territories": from_counts,
            "effective_date": when.isoformat(),
        },
        user=user,
        scenario_id=sid,
    )


def _require_rights(
    scope: AccessScope | None, target: str, rows: pd.DataFrame, selector: dict[str, Any]
) -> None:
    """Refuse, before anything changes, a move touching a territory ``scope`` may not edit."""
    if scope is None:
        return
    left = [str(t) for t in rows[s.TERRITORY_ID] if not s.is_missing(t)]
    named = [
        selector.get("from_territory"),
        *selector.get("territories", []),
        *selector.get("from_unit_holders", []),
    ]
    require_edit_rights(scope, target, *left, *named)


def _check_request(
    workspace: Workspace, sid: str, to_territory: str, sources: tuple[object, ...]
) -> pd.DataFrame:
    """Refuse anything but exactly one source and a known target; return the territories."""
    if sum(x is not None for x in sources) != 1:
        raise _problem(
            "say what to move: exactly one of from_rep, from_territory or units",
            "pass one of them",
        )
    territories = workspace.territories(sid)
    known = set(territories[s.TERRITORY_ID].astype(str))
    if to_territory not in known:
        raise _problem(
            f"there is no territory '{to_territory}' in scenario '{sid}'",
            f"move to one of {format_ids(sorted(known))}",
        )
    return territories


def _territory_rows(
    territories: pd.DataFrame, mem: pd.DataFrame, source: str, target: str, sid: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The memberships of ``source`` and every territory below it."""
    known = set(territories[s.TERRITORY_ID].astype(str))
    if source not in known:
        raise _problem(
            f"there is no territory '{source}' in scenario '{sid}'",
            f"move from one of {format_ids(sorted(known))}",
        )
    if source == target:
        raise _problem("the source and target territory are the same", "pick another target")
    sources = {source, *descendants(territories, source)}
    if target in sources:
        raise _problem(
            f"{target} is below {source}; its accounts would not leave",
            "pick a target outside the source's subtree",
        )
    rows = mem[mem[s.TERRITORY_ID].astype(str).isin(sources).to_numpy()]
    return rows, {"from_territory": source}


def _rep_rows(
    workspace: Workspace,
    sid: str,
    territories: pd.DataFrame,
    mem: pd.DataFrame,
    rep: str,
    target: str,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The memberships of the rep's territories (and below) and of the accounts the rep owns."""
    owned = _rep_territories(workspace, sid, rep)
    reps = set(workspace.reps[s.REP_ID].astype(str)) if len(workspace.reps) else set()
    accounts = workspace.accounts
    owner_accounts: set[str] = set()
    if s.OWNER_ID in accounts.columns:
        owner_accounts = set(
            accounts.loc[accounts[s.OWNER_ID].astype(str) == rep, s.ACCOUNT_ID].astype(str)
        )
    if not owned and not owner_accounts and rep not in reps:
        raise _problem(
            f"there is no rep '{rep}'",
            "check the rep id (the reps table, or the accounts' owner_id)",
        )
    sources = set(owned)
    for t in owned:
        sources.update(descendants(territories, t))
    if target in sources:
        raise _problem(
            f"{target} is owned by {rep}; the accounts would not leave",
            "pick a territory the rep does not own",
        )
    pick = mem[s.TERRITORY_ID].astype(str).isin(sources) | mem[s.ACCOUNT_ID].astype(str).isin(
        owner_accounts
    )
    rows = _with_unplaced(mem[pick.to_numpy()], owner_accounts)
    return rows, {"from_rep": rep, "territories": sorted(owned)}


def _unit_rows(
    workspace: Workspace,
    territories: pd.DataFrame,
    mem: pd.DataFrame,
    units: list[str],
    target: str,
) -> tuple[pd.DataFrame, list[str]]:
    """The primary memberships (of the target's type) of the accounts inside ``units``."""
    wanted = [str(u) for u in units]
    unit_frame = workspace.units
    unit_ids = unit_frame[s.UNIT_ID].astype(str)
    unknown = sorted(set(wanted) - set(unit_ids))
    if unknown or not wanted:
        raise _problem(
            f"unknown units {format_ids(unknown)}" if unknown else "no units given",
            "pick units from the workspace's units",
        )
    chosen = unit_frame[unit_ids.isin(wanted).to_numpy()]
    accounts = workspace.accounts
    x, y = point_xy(accounts.to_crs(chosen.crs) if accounts.crs != chosen.crs else accounts)
    located = locate_points(x, y, np.asarray(chosen.geometry.values, dtype=object))
    inside = set(accounts[s.ACCOUNT_ID].astype(str).to_numpy()[located.point_index])
    target_type = _type_of(territories, target)
    same_type = (
        mem[s.TERRITORY_ID]
        .astype(str)
        .map(lambda t: _type_of(territories, t) == target_type)
        .astype(bool)  # an empty membership table maps to text, not booleans
    )
    in_units = mem[s.ACCOUNT_ID].astype(str).isin(inside)
    primary = mem[s.IS_PRIMARY].fillna(False).astype(bool)
    rows = _with_unplaced(mem[(in_units & same_type & primary).to_numpy()], inside)
    return rows, sorted(set(wanted))


def _with_unplaced(rows: pd.DataFrame, accounts: set[str]) -> pd.DataFrame:
    """Add a row without territory for each of ``accounts`` that sits in none yet."""
    missing = accounts - set(rows[s.ACCOUNT_ID].astype(str))
    if not missing:
        return rows
    extra = pd.DataFrame({s.ACCOUNT_ID: sorted(missing), s.TERRITORY_ID: None})
    return pd.concat([rows, extra], ignore_index=True)


def _override_rows(
    rows: pd.DataFrame, target: str, user: str | None, reason: str
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """An include into ``target`` per account, an exclude from each territory it leaves."""
    stamp = now_iso()
    new_rows = [
        _override(account_id, target, "include", user, stamp, reason)
        for account_id in sorted(set(rows[s.ACCOUNT_ID].astype(str)))
    ]
    from_counts: dict[str, int] = {}
    for account_id, territory_id in zip(
        rows[s.ACCOUNT_ID].astype(str), rows[s.TERRITORY_ID].astype(object), strict=True
    ):
        if territory_id is None or pd.isna(territory_id):
            continue
        new_rows.append(_override(account_id, str(territory_id), "exclude", user, stamp, reason))
        from_counts[str(territory_id)] = from_counts.get(str(territory_id), 0) + 1
    return new_rows, from_counts


def _store_overrides(workspace: Workspace, sid: str, new_rows: list[dict[str, Any]]) -> None:
    """Put ``new_rows`` in the scenario's overrides, replacing those on the same pairs."""
    if not new_rows:
        return
    old = workspace.rows("overrides", sid)
    fresh = pd.DataFrame(new_rows)
    keys = set(zip(fresh[s.ACCOUNT_ID], fresh[s.TERRITORY_ID], strict=True))
    keep = [
        (a, t) not in keys
        for a, t in zip(old[s.ACCOUNT_ID].astype(str), old[s.TERRITORY_ID].astype(str), strict=True)
    ]
    merged = pd.concat([old[keep], fresh], ignore_index=True) if len(old) else fresh
    workspace.set_rows("overrides", sid, merged)


def _effective(value: str | date | None) -> date:
    if value is None:
        return date.today()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise _problem(f"effective date {value!r} is not a date", "write it as YYYY-MM-DD") from exc


def _end_rep(
    workspace: Workspace,
    scenario_id: str,
    rep_id: str,
    moved: tuple[str, ...],
    to_territory: str,
    when: date,
) -> None:
    """End the departing rep's associations the day before ``when``; hand over their records."""
    last_day = (when - timedelta(days=1)).isoformat()
    assoc = workspace.rows("associations", scenario_id)
    if len(assoc):
        mine = assoc[s.REP_ID].astype(str) == rep_id
        end = assoc[s.END_DATE].astype(object)
        open_after = end.isna() | (end.astype(str) > last_day)
        change = (mine & open_after).to_numpy()
        if change.any():
            assoc = assoc.copy()
            assoc.loc[change, s.END_DATE] = last_day
            workspace.set_rows("associations", scenario_id, assoc)
    accounts = workspace.accounts
    if s.OWNER_ID not in accounts.columns or not moved:
        return
    owned = (accounts[s.OWNER_ID].astype(str) == rep_id) & accounts[s.ACCOUNT_ID].astype(str).isin(
        moved
    )
    if not owned.any():
        return
    new_owner = _territory_owner(assoc, to_territory, when)
    frame = accounts.copy()
    frame.loc[owned.to_numpy(), s.OWNER_ID] = new_owner
    workspace.set_table("accounts", frame, validate=False)


def _territory_owner(assoc: pd.DataFrame, territory_id: str, when: date) -> str | None:
    """The one current owner of ``territory_id`` on ``when``, if there is exactly one."""
    if assoc.empty:
        return None
    day = when.isoformat()
    rows = assoc[(assoc[s.TERRITORY_ID].astype(str) == territory_id) & (assoc[s.ROLE] == "owner")]
    owners = [
        str(r[s.REP_ID])
        for r in rows.to_dict("records")
        if (s.is_missing(r[s.START_DATE]) or str(r[s.START_DATE])[:10] <= day)
        and (s.is_missing(r[s.END_DATE]) or str(r[s.END_DATE])[:10] >= day)
    ]
    return owners[0] if len(owners) == 1 else None


def _type_of(territories: pd.DataFrame, territory_id: str) -> str:
    row = territories[territories[s.TERRITORY_ID].astype(str) == territory_id]
    if row.empty or s.TYPE_ID not in row.columns or pd.isna(row.iloc[0][s.TYPE_ID]):
        return "geographic"
    return str(row.iloc[0][s.TYPE_ID])


def _override(
    account_id: str, territory_id: str, action: str, user: str | None, stamp: str, reason: str
) -> dict[str, Any]:
    return {
        s.ACCOUNT_ID: account_id,
        s.TERRITORY_ID: territory_id,
        s.ACTION: action,
        s.SET_BY: user,
        s.SET_AT: stamp,
        s.REASON: reason or None,
    }


def _holders(workspace: Workspace, scenario_id: str, units: list[str]) -> list[str]:
    """The territories holding ``units`` now (they lose them even when no account lies inside)."""
    ua = workspace.rows("unit_assignment", scenario_id)
    held = ua[ua[s.UNIT_ID].astype(str).isin(units).to_numpy()]
    return sorted(set(held[s.TERRITORY_ID].astype(str)))


def _move_units(workspace: Workspace, scenario_id: str, units: list[str], target: str) -> None:
    """Point the units at ``target`` and redraw the unit-built territories they touch."""
    ua = workspace.rows("unit_assignment", scenario_id)
    ids = ua[s.UNIT_ID].astype(str) if len(ua) else pd.Series([], dtype=object)
    touched = set(ua.loc[ids.isin(units).to_numpy(), s.TERRITORY_ID].astype(str)) | {target}
    rest = ua[~ids.isin(units).to_numpy()]
    new = pd.DataFrame({s.UNIT_ID: units, s.TERRITORY_ID: target, s.LOCKED: False})
    merged = pd.concat([rest, new], ignore_index=True) if len(rest) else new
    workspace.set_rows("unit_assignment", scenario_id, merged)
    territories = workspace.territories(scenario_id)
    from_units = territories[s.SOURCE].astype(str) == "units"
    redraw = from_units & territories[s.TERRITORY_ID].astype(str).isin(touched)
    if not redraw.any():
        return
    shapes = dissolve_units(workspace.units, merged)
    by_id = dict(zip(shapes[s.TERRITORY_ID].astype(str), shapes.geometry, strict=True))
    new_terr = territories.copy()
    for i in np.flatnonzero(redraw.to_numpy()):
        tid = str(new_terr.iloc[i][s.TERRITORY_ID])
        new_terr.iloc[i, new_terr.columns.get_loc(new_terr.geometry.name)] = by_id.get(tid)
    workspace.set_rows("territories", scenario_id, new_terr)
