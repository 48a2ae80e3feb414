"""The assignment recipe: check, locate, filter by rules and overrides, resolve, assemble."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pyproj import CRS

from planner import schema as s
from planner.assign.collect import collector_paused
from planner.assign.context import Context
from planner.assign.frames import membership_frame, unassigned_frame
from planner.assign.inputs import (
    check_account_ids,
    check_accounts,
    match_overrides,
    overrides_frame,
)
from planner.assign.layout import TerritoryLayout, cached_layout
from planner.assign.resolve import (
    Ranking,
    Resolution,
    apply_includes,
    resolve_primaries,
    type_order,
)
from planner.assign.results import Assignment
from planner.errors import InputError, PlannerWarning, Problem, format_ids
from planner.geo.locate import PolygonIndex, locate_points
from planner.geo.rules import Rule, parse_rules
from planner.hierarchy import type_priorities
from planner.progress import Progress, Stop, no_progress

__all__ = ["assign_accounts", "assign_points"]

logger = logging.getLogger(__name__)

I64 = NDArray[np.int64]
Pairs = tuple[I64, I64]


@dataclass
class _Run:
    """One call's inputs, checked."""

    accounts: pd.DataFrame
    account_ids: pd.Series
    layout: TerritoryLayout
    rules: dict[int, Rule]
    chain_rule: NDArray[np.bool_]
    overrides: pd.DataFrame
    acct_pos: dict[str, int] | None
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    notes: list[str]

    @property
    def n(self) -> int:
        return len(self.accounts)


def assign_accounts(
    accounts: gpd.GeoDataFrame,
    territories: gpd.GeoDataFrame | TerritoryLayout,
    *,
    rules: Mapping[str, str] | None = None,
    overrides: pd.DataFrame | Iterable[Any] | None = None,
    territory_types: pd.DataFrame | Mapping[str, int] | None = None,
    progress: Progress | None = None,
    stop: Stop | None = None,
) -> Assignment:
    """Assign every account to its territories (see :mod:`planner.assign` for the rules).

    Parameters
    ----------
    accounts
        Account points with ``account_id`` and the attribute columns rules
        read (the ``accounts`` table).
    territories
        ``territory_id`` and optional ``parent_id``, ``type_id``, ``rule``
        and polygon geometry (the ``territories`` table of one scenario), or
        a :class:`~planner.assign.TerritoryLayout` prepared from it. Shapes
        are repaired (with a warning naming the territory) and reprojected to
        the accounts' CRS; the prepared layout is kept for the next call with
        the same territories.
    rules
        Territory id to rule text; replaces the ``rule`` column for those
        territories.
    overrides
        Manual includes and excludes: a frame shaped like the ``overrides``
        table (``account_id``, ``territory_id``, ``action``, ``set_by``,
        ``set_at``, ``reason``) or :class:`~planner.models.Override` records.
        Overrides naming accounts or territories that no longer exist are
        ignored with a warning.
    territory_types
        The ``territory_types`` table or type id -> priority, for
        :meth:`Assignment.leads`; unknown types get priority 10.
    progress
        Receives (fraction done, message).
    stop
        Accepted for the common job signature; an assignment is one step
        and always runs to the end.

    Returns
    -------
    Assignment

    Raises
    ------
    InputError
        When accounts or territories cannot be used (duplicate ids, a point
        where a polygon was expected, a hierarchy cycle or missing parent, a
        CRS that cannot be settled) or a rule does not parse or names an
        unknown field; every problem is listed.
    """
    with collector_paused():
        run = _checked_run(accounts, territories, rules, overrides)
        return _assign_run(run, territory_types, progress or no_progress)


def _assign_run(
    run: _Run,
    territory_types: pd.DataFrame | Mapping[str, int] | None,
    report: Progress,
) -> Assignment:
    """Locate, filter, resolve and assemble, for checked inputs."""
    report(0.15, "locating accounts")
    index, located = _locate(run)
    report(0.6, "applying rules and overrides")
    cand, rule_failed, in_shape = _candidates(run, located)
    cand, excluded = _exclude(run, cand)
    report(0.75, "resolving overlaps")
    res = _resolve(run, cand, index)
    report(0.9, "building the result")
    result = _result(run, res, rule_failed, excluded, in_shape, territory_types)
    report(1.0, "done")
    return result


def assign_points(
    accounts: pd.DataFrame,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    territories: gpd.GeoDataFrame | TerritoryLayout,
    *,
    crs: Any = s.STORAGE_CRS,
    rules: Mapping[str, str] | None = None,
    overrides: pd.DataFrame | Iterable[Any] | None = None,
    territory_types: pd.DataFrame | Mapping[str, int] | None = None,
) -> Assignment:
    """:func:`assign_accounts` for an account table and its coordinates, without point objects.

    For tables of millions of rows read from files (a Dask partition):
    making a million shapely points only to read their coordinates back
    costs more than locating them.

    Parameters
    ----------
    accounts
        ``account_id`` and the attribute columns rules read.
    x, y
        Coordinates in ``crs`` per row (NaN: no location).
    territories, rules, overrides, territory_types
        As for :func:`assign_accounts`.
    crs
        The CRS of the coordinates.

    Returns
    -------
    Assignment
    """
    account_ids = check_account_ids(accounts)
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    table = accounts.reset_index(drop=True)
    with collector_paused():
        run = _complete_run(table, account_ids, (xs, ys, crs), territories, rules, overrides, [])
        return _assign_run(run, territory_types, no_progress)


# --------------------------------------------------------------------------- inputs


def _checked_run(
    accounts: gpd.GeoDataFrame,
    territories: gpd.GeoDataFrame | TerritoryLayout,
    rules: Mapping[str, str] | None,
    overrides: pd.DataFrame | Iterable[Any] | None,
) -> _Run:
    """Check the account points, then the rest (see :func:`_complete_run`)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PlannerWarning)
        accounts, account_ids, x, y = check_accounts(accounts)
    found = [
        (w.category if issubclass(w.category, Warning) else PlannerWarning, str(w.message))
        for w in caught
    ]
    return _complete_run(
        accounts, account_ids, (x, y, accounts.crs), territories, rules, overrides, found
    )


def _complete_run(
    accounts: pd.DataFrame,
    account_ids: pd.Series,
    points: tuple[NDArray[np.float64], NDArray[np.float64], Any],
    territories: gpd.GeoDataFrame | TerritoryLayout,
    rules: Mapping[str, str] | None,
    overrides: pd.DataFrame | Iterable[Any] | None,
    found: list[tuple[type[Warning], str]],
) -> _Run:
    """Prepare (or reuse) the territories, parse rules and overrides, repeat the warnings."""
    x, y, crs = points
    if isinstance(territories, TerritoryLayout):
        layout = territories
        _check_layout_crs(layout, crs)
    else:
        layout = cached_layout(territories, crs)
    found = found + list(layout.notes)
    notes = [text for category, text in found if issubclass(category, PlannerWarning)]
    for category, text in found:
        warnings.warn(text, category, stacklevel=4)
    parsed = _parse_rules(layout, rules, accounts)
    chain_rule = np.zeros(len(layout), dtype=bool)
    if parsed:
        chain_rule = np.array([any(a in parsed for a in c) for c in layout.chains], dtype=bool)
    ovr, more = match_overrides(overrides_frame(overrides), account_ids, layout.tids)
    notes += more
    for note in more:
        warnings.warn(note, PlannerWarning, stacklevel=4)
    notes += _bare_note(layout, chain_rule)
    acct_pos = {a: i for i, a in enumerate(account_ids.tolist())} if len(ovr) else None
    return _Run(accounts, account_ids, layout, parsed, chain_rule, ovr, acct_pos, x, y, notes)


def _check_layout_crs(layout: TerritoryLayout, crs: Any) -> None:
    if layout.crs is not None and crs is not None and CRS.from_user_input(crs) != layout.crs:
        raise InputError(
            "the territory layout was prepared for another CRS",
            [
                Problem(
                    f"the layout is in {layout.crs}, the accounts in {crs}",
                    column=s.GEOMETRY,
                    fix="prepare the territories with the accounts' CRS "
                    "(prepare_territories(territories, accounts.crs))",
                )
            ],
        )


def _parse_rules(
    layout: TerritoryLayout, rules: Mapping[str, str] | None, accounts: pd.DataFrame
) -> dict[int, Rule]:
    """Parse the rule column and the ``rules`` argument; position -> rule."""
    texts = {k: v for k, v in layout.rule_texts.items() if v is not None and str(v).strip()}
    if not texts and not rules:
        return {}
    pos = {t: i for i, t in enumerate(layout.tids.tolist())}
    if rules:
        unknown = sorted(set(map(str, rules)) - set(pos))
        if unknown:
            raise InputError(
                "rules for unknown territories",
                [
                    Problem(
                        f"rules are given for territories {format_ids(unknown)}, which do not "
                        "exist",
                        column=s.TERRITORY_ID,
                        fix="check the territory ids in the rules file",
                    )
                ],
            )
        texts.update({str(k): v for k, v in rules.items()})
    texts = {k: v for k, v in texts.items() if v is not None and str(v).strip()}
    parsed = parse_rules(texts, fields=accounts) if texts else {}
    return {pos[k]: r for k, r in parsed.items()}


def _bare_note(layout: TerritoryLayout, chain_rule: NDArray[np.bool_]) -> list[str]:
    leaves = layout.leaves
    bare = leaves[(layout.shape_of[leaves] < 0) & ~chain_rule[leaves]]
    if not len(bare) or len(layout) <= 1:
        return []
    note = (
        f"territories {format_ids(layout.tids[bare])} have neither a shape nor a rule (nor "
        "does any territory above them): they get accounts only by manual include"
    )
    logger.info(note)
    return [note]


# --------------------------------------------------------------------------- candidates


def _locate(run: _Run) -> tuple[PolygonIndex | None, Pairs]:
    """(account, shape) pairs for every shape a leaf or an ancestor check uses."""
    index = run.layout.index(run.n) if run.n else None
    if index is None:
        empty = np.empty(0, dtype=np.int64)
        return None, (empty, empty)
    accounts = run.accounts  # their points, if they have them, spare GEOS making new ones
    points = accounts.geometry.to_numpy() if isinstance(accounts, gpd.GeoDataFrame) else None
    located = locate_points(run.x, run.y, index, points=points)
    shape = (
        located.polygon_index if run.layout.direct else run.layout.shape_ids[located.polygon_index]
    )
    return index, (located.point_index, shape)


def _candidates(run: _Run, located: Pairs) -> tuple[Pairs, Pairs, NDArray[np.bool_]]:
    """(account, leaf) pairs that pass ancestor shapes and rules, plus rule-only leaves."""
    layout, n = run.layout, run.n
    lp, ls = located
    in_shape = np.zeros(n, dtype=bool)
    in_shape[lp] = True
    if layout.direct and not run.rules:  # every located pair is a candidate
        empty = np.empty(0, dtype=np.int64)
        return (lp, ls), (empty, empty), in_shape
    cand_p, cand_t = _expand_to_leaves(lp, ls, layout)
    keep = np.ones(len(cand_p), dtype=bool)
    for a, needing in layout.ancestor_checks.items():
        cov = np.zeros(n, dtype=bool)
        cov[lp[ls == a]] = True
        applies = np.zeros(len(layout), dtype=bool)
        applies[needing] = True
        keep &= ~applies[cand_t] | cov[cand_p]
    dropped = np.zeros(len(cand_p), dtype=bool)
    masks: dict[int, NDArray[np.bool_]] = {}
    for r in sorted(run.rules):
        applies = np.zeros(len(layout), dtype=bool)
        for t in layout.leaves:
            if layout.shape_of[t] >= 0 and r in layout.chains[t]:
                applies[t] = True
        if not applies.any():
            continue
        sub = applies[cand_t]
        fails = np.zeros(len(cand_p), dtype=bool)
        fails[sub] = ~_mask(run, r, masks)[cand_p[sub]]
        dropped |= fails & keep
        keep &= ~fails
    extra_p, extra_t = _rule_only(run, masks)
    if keep.all() and not len(extra_p):
        cand = (cand_p, cand_t)
    else:
        cand = (np.concatenate([cand_p[keep], extra_p]), np.concatenate([cand_t[keep], extra_t]))
    return cand, (cand_p[dropped], cand_t[dropped]), in_shape


def _mask(run: _Run, r: int, masks: dict[int, NDArray[np.bool_]]) -> NDArray[np.bool_]:
    if r not in masks:
        masks[r] = run.rules[r].evaluate(run.accounts)
    return masks[r]


def _rule_only(run: _Run, masks: dict[int, NDArray[np.bool_]]) -> Pairs:
    """Accounts matching every rule in the chain of each leaf that has no shape."""
    layout = run.layout
    ps, ts = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.int64)]
    leaves = layout.leaves
    for leaf in leaves[(layout.shape_of[leaves] < 0) & run.chain_rule[leaves]].tolist():
        ok = np.ones(run.n, dtype=bool)
        for a in layout.chains[leaf]:
            if a in run.rules:
                ok &= _mask(run, a, masks)
        matched = np.flatnonzero(ok)
        ps.append(matched)
        ts.append(np.full(len(matched), leaf, dtype=np.int64))
    return np.concatenate(ps), np.concatenate(ts)


def _expand_to_leaves(lp: I64, ls: I64, layout: TerritoryLayout) -> Pairs:
    """Turn (account, shape) pairs into (account, leaf) pairs for the leaves using each shape."""
    if layout.direct or not len(lp):
        return lp, ls
    ptr, flat = layout.leaves_of_shape()
    count = np.diff(ptr)
    if (count <= 1).all():
        leaf_of = np.full(len(layout), -1, dtype=np.int64)
        leaf_of[count == 1] = flat
        t = leaf_of[ls]
        ok = t >= 0
        return lp[ok], t[ok]
    reps = count[ls]
    p = np.repeat(lp, reps)
    start = np.repeat(ptr[:-1][ls], reps)
    within = np.arange(len(p)) - np.repeat(np.cumsum(reps) - reps, reps)
    return p, flat[start + within]


def _exclude(run: _Run, cand: Pairs) -> tuple[Pairs, Pairs]:
    """Drop pairs excluded manually (a territory and every leaf below it)."""
    cand_p, cand_t = cand
    empty = np.empty(0, dtype=np.int64)
    excl = run.overrides[run.overrides[s.ACTION] == "exclude"]
    if not len(excl) or not len(cand_p) or run.acct_pos is None:
        return cand, (empty, empty)
    T = len(run.layout)
    below = _subtrees(run.layout.parents, T)
    tpos = {t: i for i, t in enumerate(run.layout.tids.tolist())}
    keys = [
        run.acct_pos[a] * T + leaf
        for a, t in zip(excl[s.ACCOUNT_ID], excl[s.TERRITORY_ID], strict=True)
        for leaf in below[tpos[t]]
    ]
    removed = np.isin(cand_p * T + cand_t, np.array(keys, dtype=np.int64))
    return (cand_p[~removed], cand_t[~removed]), (cand_p[removed], cand_t[removed])


def _subtrees(parents: list[int], T: int) -> list[list[int]]:
    """Per territory, the leaves of its subtree (itself if it is a leaf)."""
    kids: list[list[int]] = [[] for _ in range(T)]
    for t, p in enumerate(parents):
        if p >= 0:
            kids[p].append(t)
    out: list[list[int]] = []
    for t in range(T):
        stack, found, seen = [t], [], set()
        while stack:
            u = stack.pop()
            if u in seen:
                continue
            seen.add(u)
            if not kids[u]:
                found.append(u)
            stack.extend(kids[u])
        out.append(found)
    return out


# --------------------------------------------------------------------------- result


def _resolve(run: _Run, cand: Pairs, index: PolygonIndex | None) -> Resolution:
    layout = run.layout
    ranking = Ranking(
        layout.tids, layout.types, layout.shape_of, run.chain_rule, layout.shape_ids,
        layout.area_m2, layout.memo("type order", lambda: type_order(layout.tids, layout.types)),
    )  # fmt: skip
    res = resolve_primaries(cand[0], cand[1], run.n, ranking, (run.x, run.y, index))
    includes = run.overrides[run.overrides[s.ACTION] == "include"]
    if len(includes) and run.acct_pos is not None:
        apply_includes(res, includes, run.acct_pos, layout.tids)
    return res


def _result(
    run: _Run,
    res: Resolution,
    rule_failed: Pairs,
    excluded: Pairs,
    in_shape: NDArray[np.bool_],
    territory_types: pd.DataFrame | Mapping[str, int] | None,
) -> Assignment:
    """Assemble the memberships, the unassigned accounts, the overlaps and the context."""
    layout = run.layout
    memberships = membership_frame(
        res.winners, res.manual_rows, run.account_ids, layout, run.rules, run.chain_rule, res.notes
    )
    won = res.winners >= 0
    assigned: NDArray[np.bool_] = won[0] if len(won) == 1 else np.any(won, axis=0)
    for p, _t, _prim, _d in res.manual_rows:
        assigned[p] = True
    unassigned = unassigned_frame(
        run.account_ids, assigned, (run.x, run.y), in_shape, rule_failed, excluded, layout.tids
    )
    overlaps = pd.DataFrame(
        res.conflicts, columns=[s.TYPE_ID, "winner", "loser", "reason", "accounts"]
    ).astype({"accounts": "int64"})
    ovr = run.overrides
    ctx = Context(
        accounts=run.accounts,
        x=run.x,
        y=run.y,
        account_pos=run.acct_pos,
        tids=layout.tids,
        types=layout.types,
        parents=layout.parents,
        is_leaf=layout.is_leaf,
        geoms=layout.geoms,
        area=layout.area_m2,
        shape_of=layout.shape_of,
        rules=run.rules,
        chain_rule=run.chain_rule,
        priorities=type_priorities(territory_types),
        includes=ovr[ovr[s.ACTION] == "include"].reset_index(drop=True),
        excludes=ovr[ovr[s.ACTION] == "exclude"].reset_index(drop=True),
    )
    logger.info(
        "assigned %d of %d accounts to %d territories (%d memberships)",
        int(assigned.sum()), run.n, len(layout), len(memberships),
    )  # fmt: skip
    return Assignment(memberships, unassigned, overlaps, tuple(dict.fromkeys(run.notes)), ctx)
