"""Why an account is in its territories and not in others."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from planner import schema as s
from planner.assign.context import Context, km2, optional_text
from planner.errors import InputError, Problem, format_ids
from planner.models import DEFAULT_TYPE

__all__ = ["Explanation", "Verdict", "explain_account"]


@dataclass(frozen=True)
class Verdict:
    """Whether one account is in one territory, and why.

    Parameters
    ----------
    territory_id
        The territory.
    type_id
        Its type.
    member
        Whether the account is a member.
    is_primary
        Whether it is the account's primary territory of that type.
    cause
        ``spatial``, ``rule`` or ``manual`` for a member, else ``None``.
    reasons
        Why it is (or is not) a member, in words.
    """

    territory_id: str
    type_id: str
    member: bool
    is_primary: bool
    cause: str | None
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the verdict as a JSON-friendly dictionary."""
        return {
            "territory_id": self.territory_id,
            "type_id": self.type_id,
            "member": self.member,
            "is_primary": self.is_primary,
            "cause": self.cause,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class Explanation:
    """Why an account is in its territories and not in others.

    Parameters
    ----------
    account_id
        The account.
    verdicts
        Its memberships first, then the territories asked about or that
        nearly took it (eligible but lost, or inside their shape but failing
        a rule or excluded).
    lead
        Its lead territory (primary of the highest-priority type), if any.
    unassigned_reason
        Why it is in no territory, when it is in none.
    """

    account_id: str
    verdicts: tuple[Verdict, ...]
    lead: str | None = None
    unassigned_reason: str | None = None

    @property
    def territories(self) -> list[str]:
        """The territories the account is a member of."""
        return [v.territory_id for v in self.verdicts if v.member]

    def verdict(self, territory_id: str) -> Verdict:
        """Return the verdict about ``territory_id``.

        Raises
        ------
        KeyError
            If the explanation does not cover that territory.
        """
        for v in self.verdicts:
            if v.territory_id == territory_id:
                return v
        raise KeyError(territory_id)

    @property
    def text(self) -> str:
        """The explanation in a few lines of plain text."""
        lines = [f"Account {self.account_id}"]
        if self.unassigned_reason:
            lines.append(f"  unassigned: {self.unassigned_reason}")
        for v in self.verdicts:
            if v.member:
                head = f"  in {v.territory_id} ({v.type_id}{', primary' if v.is_primary else ''})"
                head += f" by {v.cause}"
            else:
                head = f"  not in {v.territory_id} ({v.type_id})"
            lines.append(f"{head}: {'; '.join(v.reasons)}")
        if self.lead and len([v for v in self.verdicts if v.member]) > 1:
            lines.append(f"  lead territory: {self.lead} (its type has the highest priority)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Return the explanation as a JSON-friendly dictionary."""
        return {
            "account_id": self.account_id,
            "territories": self.territories,
            "lead": self.lead,
            "unassigned_reason": self.unassigned_reason,
            "verdicts": [v.to_dict() for v in self.verdicts],
        }


@dataclass(frozen=True, eq=False)
class _Case:
    """One account as the explanation sees it."""

    ctx: Context
    tpos: dict[str, int]
    values: dict[str, Any]
    has_point: bool
    inside: NDArray[np.bool_]
    border: NDArray[np.bool_]
    excluded_by: dict[int, str]
    members: dict[str, tuple[str, str, bool]]


def explain_account(
    ctx: Context,
    memberships: pd.DataFrame,
    unassigned: pd.DataFrame,
    account_id: str,
    territory_id: str | None,
) -> Explanation:
    """Reason about one account from scratch, the way :func:`assign_accounts` decides."""
    case = _case(ctx, memberships, account_id, territory_id)
    verdicts = _member_verdicts(case)
    shown = {case.tpos[v.territory_id] for v in verdicts}
    asked = [case.tpos[territory_id]] if territory_id is not None else []
    for t in dict.fromkeys([*asked, *_plausible(case)]):
        if t not in shown:
            shown.add(t)
            verdicts.append(_other_verdict(case, t, t in asked))
    hit = unassigned[unassigned[s.ACCOUNT_ID] == account_id]
    reason = str(hit.iloc[0][s.REASON]) if len(hit) else None
    return Explanation(account_id, tuple(verdicts), _lead(case), reason)


def _case(
    ctx: Context, memberships: pd.DataFrame, account_id: str, territory_id: str | None
) -> _Case:
    """Locate the account in every shape and collect its memberships and exclusions."""
    p = ctx.position(account_id)
    tpos = {t: i for i, t in enumerate(ctx.tids.tolist())}
    if territory_id is not None and territory_id not in tpos:
        raise InputError(
            f"unknown territory '{territory_id}'",
            [Problem(f"there is no territory '{territory_id}'", fix="check the territory id")],
        )
    row = ctx.accounts.iloc[p]
    geometry = ctx.accounts.geometry.name if isinstance(ctx.accounts, gpd.GeoDataFrame) else None
    values = {str(k): v for k, v in row.items() if k != geometry}
    has_point = bool(np.isfinite(ctx.x[p]) and np.isfinite(ctx.y[p]))
    point = shapely.Point(ctx.x[p], ctx.y[p])
    mem = memberships[memberships[s.ACCOUNT_ID] == account_id]
    members = {
        str(r[s.TERRITORY_ID]): (str(r[s.CAUSE]), str(r[s.DETAIL]), bool(r[s.IS_PRIMARY]))
        for r in mem.to_dict("records")
    }
    T = len(ctx.tids)
    inside = np.zeros(T, dtype=bool)
    border = np.zeros(T, dtype=bool)
    if has_point:
        usable = np.flatnonzero(~(shapely.is_missing(ctx.geoms) | shapely.is_empty(ctx.geoms)))
        inside[usable] = shapely.intersects(ctx.geoms[usable], point)
        border[usable] = inside[usable] & ~shapely.contains_properly(ctx.geoms[usable], point)
    excluded_by = _exclusions_for(ctx, account_id)
    return _Case(ctx, tpos, values, has_point, inside, border, excluded_by, members)


def _member_verdicts(case: _Case) -> list[Verdict]:
    out = []
    for tid, (cause, detail, primary) in sorted(case.members.items()):
        t = case.tpos[tid]
        out.append(Verdict(tid, str(case.ctx.types[t]), True, primary, cause, (detail,)))
    return out


def _plausible(case: _Case) -> list[int]:
    """The leaves worth a word: inside their shape, or rule-only."""
    ctx = case.ctx
    return [
        t
        for t in range(len(ctx.tids))
        if ctx.is_leaf[t]
        and (
            (ctx.shape_of[t] >= 0 and case.inside[ctx.shape_of[t]])
            or (ctx.shape_of[t] < 0 and ctx.chain_rule[t])
        )
    ]


def _other_verdict(case: _Case, t: int, asked: bool) -> Verdict:
    """Why territory ``t`` does not have the account."""
    ctx = case.ctx
    tid, ttype = str(ctx.tids[t]), str(ctx.types[t])
    reasons: list[str] = []
    if not ctx.is_leaf[t]:
        below = sorted(str(ctx.tids[c]) for c in range(len(ctx.tids)) if ctx.parents[c] == t)
        reasons.append(
            f"{tid} has territories below it ({format_ids(below)}); accounts go to those "
            "and roll up to it"
        )
    else:
        reasons.extend(_eligibility(case, t))
    if ctx.is_leaf[t] and not reasons:
        reasons.extend(_lost_to(case, t))
    if asked and case.members:
        member_types = {str(ctx.types[case.tpos[m]]) for m in case.members}
        if ttype not in member_types:
            reasons.append(
                f"{tid} is of type '{ttype}' and the account's territories of type "
                f"{format_ids(sorted(member_types))}; types do not compete"
            )
    return Verdict(tid, ttype, False, False, None, tuple(reasons))


def _lost_to(case: _Case, t: int) -> list[str]:
    """An eligible leaf's rivals of its type, and what made each win."""
    ctx = case.ctx
    tid, ttype = str(ctx.tids[t]), str(ctx.types[t])
    rivals = [
        m
        for m, (_c, _d, prim) in case.members.items()
        if prim and str(ctx.types[case.tpos[m]]) == ttype
    ]
    out = []
    for m in rivals:
        if case.members[m][0] == "manual":
            out.append(f"lost to {m}, {case.members[m][1]}")
        else:
            why = _rank_reason(_rank(case, case.tpos[m]), _rank(case, t), m, tid)
            out.append(f"lost to {m}: {why}")
    return out or ["eligible, but not chosen"]


def _eligibility(case: _Case, t: int) -> list[str]:
    """Reasons leaf ``t`` cannot take the account (empty when it can)."""
    ctx = case.ctx
    why: list[str] = []
    chain = ctx.chain(t)
    why.extend(case.excluded_by[a] for a in chain if a in case.excluded_by)
    sh = int(ctx.shape_of[t])
    if sh < 0 and not ctx.chain_rule[t]:
        why.append(f"{ctx.tids[t]} has neither a shape nor a rule: only manual includes")
    if sh >= 0:
        for a in chain[chain.index(sh) :]:
            if ctx.shape_of[a] == a and not case.inside[a]:
                if not case.has_point:
                    why.append("the account has no location")
                    break
                what = "the shape of " + (
                    str(ctx.tids[a]) if a == t else f"{ctx.tids[a]} (above it)"
                )
                if a == sh and sh != t:
                    what = f"the shape of {ctx.tids[a]} (inherited)"
                why.append(f"not inside {what}")
                break  # the closest shape that misses is the reason
    for a in chain:
        rule = ctx.rules.get(a)
        failed = rule.explain(case.values) if rule is not None else None
        if failed:
            owner = "its rule" if a == t else f"the rule of {ctx.tids[a]} (above it)"
            why.append(f"{owner} fails: {failed}")
    return why


def _rank(case: _Case, t: int) -> tuple[int, int, float, str]:
    ctx = case.ctx
    sh = int(ctx.shape_of[t])
    return (
        0 if ctx.chain_rule[t] else 1,
        1 if sh >= 0 and case.border[sh] else 0,
        float(ctx.area_m2[t]),
        str(ctx.tids[t]),
    )


def _lead(case: _Case) -> str | None:
    """The primary territory of the highest-priority type."""
    ctx = case.ctx
    primaries = [m for m, (_c, _d, prim) in case.members.items() if prim]
    if not primaries:
        return None
    return min(
        primaries,
        key=lambda m: (
            ctx.priorities.get(str(ctx.types[case.tpos[m]]), DEFAULT_TYPE.priority),
            str(ctx.types[case.tpos[m]]),
            m,
        ),
    )


def _rank_reason(
    w: tuple[int, int, float, str], k: tuple[int, int, float, str], wid: str, kid: str
) -> str:
    if w[0] < k[0]:
        return f"{wid} has a rule and {kid} has none (the more specific wins)"
    if w[1] < k[1]:
        return f"the account lies strictly inside {wid} and on the border of {kid}"
    if w[1] == k[1] == 1:
        return f"it lies on the border of both; {wid} comes first by territory id"
    if w[2] < k[2]:
        return f"{wid} is smaller ({km2(w[2])} vs {km2(k[2])})"
    return f"a tie; {wid} comes first by territory id"


def _exclusions_for(ctx: Context, account_id: str) -> dict[int, str]:
    tpos = {t: i for i, t in enumerate(ctx.tids.tolist())}
    out: dict[int, str] = {}
    ex = ctx.excludes[ctx.excludes[s.ACCOUNT_ID] == account_id]
    for r in ex.itertuples(index=False):
        who = optional_text(r, s.SET_BY) or "someone"
        when = optional_text(r, s.SET_AT) or "an unknown time"
        why = optional_text(r, s.REASON)
        t = tpos[str(getattr(r, s.TERRITORY_ID))]
        out[t] = f"excluded manually from {ctx.tids[t]} by {who} at {when}" + (
            f": {why}" if why else ""
        )
    return out
