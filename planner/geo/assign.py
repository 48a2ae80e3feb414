"""Account assignment: every account's territories, each with a cause and a reason.

How an account lands in a territory (the rules :func:`assign_accounts`
applies, in order):

1. **Who takes accounts.** Leaf territories (those without children) take
   accounts; regions and districts get theirs by roll-up
   (:func:`planner.hierarchy.rollup`). A manual *include* may name any
   territory.
2. **Eligibility.** A leaf is eligible for an account when the account lies
   inside the leaf's shape (interior or border) *and* inside the shape of
   every ancestor that has one, and when the account matches the leaf's rule
   *and* every ancestor's rule (rules are inherited down the hierarchy: a
   child only gets accounts that match its parent). A leaf without a shape
   uses its nearest ancestor's shape; a leaf with neither a shape nor a rule
   anywhere in its chain takes accounts only by manual include.
3. **Exclusions.** A manual *exclude* of an account from a territory removes
   it from that territory and from everything below it.
4. **One territory per type.** Territories of different types (say a
   geographic team and a healthcare overlay) may share an account; within
   one type the account gets one primary territory, chosen by, in order:
   a manual include (the most recent one, then the lowest id); a territory
   whose chain has a rule over one without (the more specific criteria
   win, so an "enterprise accounts" territory takes accounts from the
   geographic ones it overlaps); a territory containing the point strictly
   inside over one whose border it lies on; between territories containing
   it strictly inside (an overlap), the smaller shape; then the lowest
   territory id. **Border rule:** a point exactly on the shared border of
   territories of one type goes to the lowest ``territory_id`` among them
   (string order), unless it lies strictly inside another territory of that
   type. Several manual includes in one type are all kept; the extra ones
   are not primary.
5. **Priority between types.** Each account's *lead* territory (the one
   whose owner gets new business, like Salesforce's opportunity territory)
   is its primary territory of the type with the lowest priority number
   (:class:`~planner.models.TerritoryType`); see :meth:`Assignment.leads`.
6. **Unassigned accounts** are listed with a reason, never dropped.

Each membership carries ``cause`` (``manual`` for includes, ``rule`` when a
rule in the territory's chain was applied, else ``spatial``) and a
``detail``; :meth:`Assignment.explain` says why an account is in one
territory and not in another.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from planner import schema as s
from planner.errors import InputError, PlannerWarning, Problem, format_ids
from planner.geo.locate import Located, PolygonIndex, build_index, locate_points, on_boundary
from planner.geo.rules import Rule, parse_rules
from planner.geo.shapes import local_crs, prepare_polygons
from planner.hierarchy import type_priorities, validate_hierarchy
from planner.models import DEFAULT_TYPE

__all__ = [
    "MEMBERSHIP_COLUMNS",
    "Assignment",
    "Explanation",
    "Verdict",
    "assign_accounts",
    "assign_workspace",
]

logger = logging.getLogger(__name__)

#: Columns of :attr:`Assignment.memberships` (the ``memberships`` table without the scenario).
MEMBERSHIP_COLUMNS = [s.ACCOUNT_ID, s.TERRITORY_ID, s.CAUSE, s.DETAIL, s.IS_PRIMARY]

Progress = Callable[[float, str], None]


# --------------------------------------------------------------------------- results


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
class _Context:
    """Everything :meth:`Assignment.explain` needs to reason about one account."""

    accounts: gpd.GeoDataFrame
    account_pos: dict[str, int] | None
    tids: NDArray[np.object_]
    types: NDArray[np.object_]
    parents: list[int]  # parent position or -1
    is_leaf: NDArray[np.bool_]
    geoms: NDArray[np.object_]  # in the accounts' CRS
    area_m2: NDArray[np.float64]
    shape_of: NDArray[np.int64]  # territory whose shape a leaf uses, or -1
    rules: dict[int, Rule]
    chain_rule: NDArray[np.bool_]
    priorities: dict[str, int]
    includes: pd.DataFrame
    excludes: pd.DataFrame

    def chain(self, t: int) -> list[int]:
        out = [t]
        seen = {t}
        p = self.parents[t]
        while p >= 0 and p not in seen:
            out.append(p)
            seen.add(p)
            p = self.parents[p]
        return out

    def position(self, account_id: str) -> int:
        if self.account_pos is None:
            ids = self.accounts[s.ACCOUNT_ID].astype(str).to_numpy()
            object.__setattr__(self, "account_pos", {a: i for i, a in enumerate(ids)})
        assert self.account_pos is not None
        if account_id not in self.account_pos:
            raise InputError(
                f"unknown account '{account_id}'",
                [Problem(f"there is no account '{account_id}'", fix="check the account id")],
            )
        return self.account_pos[account_id]


@dataclass(frozen=True, eq=False)
class Assignment:
    """Every account's memberships for one scenario.

    Parameters
    ----------
    memberships
        One row per (account, territory): ``account_id``, ``territory_id``,
        ``cause``, ``detail``, ``is_primary``; rows follow the accounts'
        order, then the territory id. Their content does not depend on the
        order of the input rows.
    unassigned
        ``account_id`` and ``reason`` of every account in no territory.
    overlaps
        Conflicts resolved within a type: ``type_id``, ``winner``,
        ``loser``, ``reason`` and ``accounts`` (how many accounts).
    warnings
        What was repaired or ignored (repaired shapes, stale overrides...).
    """

    memberships: pd.DataFrame
    unassigned: pd.DataFrame
    overlaps: pd.DataFrame
    warnings: tuple[str, ...]
    _context: _Context = field(repr=False)

    def counts(self) -> pd.Series:
        """Number of primary member accounts per territory (every territory, zeros included)."""
        primary = self.memberships[self.memberships[s.IS_PRIMARY]]
        counts = primary[s.TERRITORY_ID].value_counts()
        index = pd.Index(sorted(str(t) for t in self._context.tids), name=s.TERRITORY_ID)
        return counts.reindex(index, fill_value=0).astype("int64").rename("accounts")

    def leads(self) -> pd.Series:
        """Each assigned account's lead territory: its primary of the highest-priority type."""
        ctx = self._context
        frame = self.memberships[self.memberships[s.IS_PRIMARY]]
        if len(set(ctx.types.tolist())) == 1:  # one type: every primary is the lead
            return pd.Series(
                frame[s.TERRITORY_ID].astype(object).to_numpy(),
                index=pd.Index(frame[s.ACCOUNT_ID].to_numpy(), name=s.ACCOUNT_ID),
                name="lead",
            )
        type_of = dict(zip(ctx.tids.tolist(), ctx.types.tolist(), strict=True))
        types = frame[s.TERRITORY_ID].map(type_of)
        prio = types.map(lambda t: ctx.priorities.get(t, DEFAULT_TYPE.priority))
        ordered = frame.assign(_p=prio.to_numpy(), _t=types.to_numpy()).sort_values(
            [s.ACCOUNT_ID, "_p", "_t", s.TERRITORY_ID], kind="stable"
        )
        first = ordered.drop_duplicates(s.ACCOUNT_ID)
        return pd.Series(
            first[s.TERRITORY_ID].to_numpy(),
            index=pd.Index(first[s.ACCOUNT_ID].to_numpy(), name=s.ACCOUNT_ID),
            name="lead",
        )

    def summary(self) -> dict[str, Any]:
        """Counts for a report: accounts, memberships, unassigned, per territory."""
        counts = self.counts()
        return {
            "accounts": len(self._context.accounts),
            "memberships": len(self.memberships),
            "assigned": int(self.memberships[s.ACCOUNT_ID].nunique()),
            "unassigned": len(self.unassigned),
            "territories": {str(k): int(v) for k, v in counts.items()},
            "overlaps": self.overlaps.to_dict("records"),
            "warnings": list(self.warnings),
        }

    def explain(self, account_id: str, territory_id: str | None = None) -> Explanation:
        """Say why an account is in its territories and, optionally, not in ``territory_id``.

        Parameters
        ----------
        account_id
            The account.
        territory_id
            A territory to explain as well ("why not in Z?").

        Returns
        -------
        Explanation

        Raises
        ------
        InputError
            If the account or the territory does not exist.
        """
        return _explain(self, str(account_id), None if territory_id is None else str(territory_id))


# --------------------------------------------------------------------------- inputs


def _text_array(values: pd.Series) -> NDArray[np.object_]:
    """The values as an object array of ``str`` (``None`` for missing)."""
    arr = np.array(values.astype(object).to_numpy(), dtype=object)
    arr[pd.isna(arr)] = None
    if pd.api.types.infer_dtype(arr, skipna=True) in ("string", "empty"):
        return arr
    return np.array([None if s.is_missing(v) else str(v) for v in arr], dtype=object)


def _id_series(column: pd.Series) -> pd.Series:
    """The ids as a Series of text (kept in its string dtype: no copy for a million rows)."""
    ids = column.reset_index(drop=True)
    if pd.api.types.is_string_dtype(ids.dtype) and not pd.api.types.is_object_dtype(ids.dtype):
        return ids
    if pd.api.types.infer_dtype(ids, skipna=True) in ("string", "empty"):
        return ids
    return pd.Series(_text_array(ids), dtype=object)


def _all_unique(ids: pd.Series) -> bool:
    """Whether the (non-missing) ids are unique; sorted ids skip the hashing."""
    if len(ids) > 1 and not ids.hasnans:
        if getattr(ids.dtype, "storage", None) == "pyarrow":
            import pyarrow as pa
            import pyarrow.compute as pc

            arr = pa.array(ids.array)
            if pc.all(pc.less(arr[:-1], arr[1:])).as_py():
                return True
        elif pd.api.types.is_object_dtype(ids.dtype):
            values = ids.to_numpy()
            try:
                if bool(np.all(values[1:] > values[:-1])):
                    return True
            except TypeError:
                pass
    codes, uniques = pd.factorize(ids)
    return len(uniques) == int((codes >= 0).sum())


def _check_accounts(
    accounts: gpd.GeoDataFrame,
) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """Check the accounts; return them (with a CRS) and their ids as text."""
    problems: list[Problem] = []
    if not isinstance(accounts, gpd.GeoDataFrame):
        raise InputError(
            "accounts need locations",
            [Problem("the accounts have no geometry column", fix="read them with read_accounts")],
        )
    if s.ACCOUNT_ID not in accounts.columns:
        raise InputError(
            "accounts need ids",
            [
                Problem(
                    "the accounts have no 'account_id' column",
                    column=s.ACCOUNT_ID,
                    fix="add an account_id column",
                )
            ],
        )
    ids = _id_series(accounts[s.ACCOUNT_ID])
    missing = ids.isna().to_numpy()
    if missing.any():
        problems.append(
            Problem(
                f"{int(missing.sum())} accounts have no id",
                rows=tuple(int(i) + 1 for i in np.flatnonzero(missing)[:50]),
                column=s.ACCOUNT_ID,
                fix="give every account an id",
            )
        )
    if not _all_unique(ids):
        dup = ids.duplicated(keep=False).to_numpy() & ~missing
        problems.append(
            Problem(
                f"account ids {format_ids(sorted(set(ids[dup].tolist())))} appear more than once",
                rows=tuple(int(i) + 1 for i in np.flatnonzero(dup)[:50]),
                column=s.ACCOUNT_ID,
                fix="give every account its own id",
            )
        )
    geoms = np.asarray(accounts.geometry.values, dtype=object)
    type_ids = shapely.get_type_id(geoms)
    wrong = (type_ids > 0) & ~shapely.is_empty(geoms)
    if wrong.any():
        bad_ids = ids[wrong].tolist()
        problems.append(
            Problem(
                f"accounts {format_ids(bad_ids)} have a {geoms[wrong][0].geom_type} where a point "
                "was expected",
                rows=tuple(int(i) + 1 for i in np.flatnonzero(wrong)[:50]),
                column=s.GEOMETRY,
                fix="give accounts point locations (latitude/longitude)",
            )
        )
    if problems:
        raise InputError(f"{len(problems)} problem(s) with the accounts", problems)
    if accounts.crs is None:
        usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        bounds = shapely.total_bounds(geoms[usable]) if usable.any() else np.zeros(4)
        lonlat = -180 <= bounds[0] <= bounds[2] <= 180 and -90 <= bounds[1] <= bounds[3] <= 90
        if not lonlat:
            raise InputError(
                "the accounts have no CRS",
                [
                    Problem(
                        "the account points have no coordinate reference system and are not "
                        "longitude/latitude",
                        column=s.GEOMETRY,
                        fix="set their CRS (e.g. accounts.set_crs(...)) or read them with "
                        "read_accounts",
                    )
                ],
            )
        warnings.warn(
            "the accounts have no CRS; their coordinates look like longitude/latitude, so "
            "EPSG:4326 is assumed",
            PlannerWarning,
            stacklevel=3,
        )
        accounts = accounts.set_crs(s.STORAGE_CRS)
    return accounts, ids


def _overrides_frame(overrides: pd.DataFrame | Iterable[Any] | None) -> pd.DataFrame:
    columns = [s.ACCOUNT_ID, s.TERRITORY_ID, s.ACTION, s.SET_BY, s.SET_AT, s.REASON]
    if overrides is None:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    if not isinstance(overrides, pd.DataFrame):
        rows = []
        for o in overrides:
            rows.append({c: getattr(o, c, None) for c in columns})
        overrides = pd.DataFrame(rows, columns=columns)
    missing = [c for c in (s.ACCOUNT_ID, s.TERRITORY_ID, s.ACTION) if c not in overrides.columns]
    if missing:
        raise InputError(
            "overrides are missing columns",
            [
                Problem(f"the overrides have no '{c}' column", column=c, fix=f"add '{c}'")
                for c in missing
            ],
        )
    out = pd.DataFrame(index=range(len(overrides)))
    for c in columns:
        out[c] = (
            _text_array(overrides[c].reset_index(drop=True))
            if c in overrides.columns
            else np.full(len(overrides), None, dtype=object)
        )
    bad = ~out[s.ACTION].isin(s.OVERRIDE_ACTIONS)
    if bad.any():
        raise InputError(
            "unknown override actions",
            [
                Problem(
                    f"override actions {format_ids(sorted(set(map(str, out[s.ACTION][bad]))))} "
                    "are unknown",
                    rows=tuple(int(i) + 1 for i in np.flatnonzero(bad.to_numpy())),
                    column=s.ACTION,
                    fix="use include or exclude",
                )
            ],
        )
    return out


@dataclass
class _Prepared:
    """Territory arrays in input order, and what was noted while preparing them."""

    frame: gpd.GeoDataFrame
    tids: NDArray[np.object_]
    types: NDArray[np.object_]
    parents: list[int]
    is_leaf: NDArray[np.bool_]
    geoms: NDArray[np.object_]
    area_m2: NDArray[np.float64]
    rules: dict[int, Rule]


def _prepare_territories(
    territories: gpd.GeoDataFrame,
    accounts: gpd.GeoDataFrame,
    rules: Mapping[str, str] | None,
) -> _Prepared:
    if s.TERRITORY_ID not in territories.columns:
        raise InputError(
            "territories need ids",
            [
                Problem(
                    "the territories have no 'territory_id' column",
                    column=s.TERRITORY_ID,
                    fix="add a territory_id column",
                )
            ],
        )
    frame = territories.reset_index(drop=True)
    if not isinstance(frame, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame)))
    frame = frame.copy()
    frame[s.TERRITORY_ID] = _text_array(frame[s.TERRITORY_ID])
    problems = [p for p in validate_hierarchy(frame, check_geometry=False) if p.severity == "error"]
    if problems:
        raise InputError(f"the territory hierarchy has {len(problems)} problem(s)", problems)
    if frame.crs is None and not frame.geometry.notna().any():
        frame = frame.set_crs(accounts.crs)
    frame = prepare_polygons(
        frame, crs=accounts.crs, reference_crs=accounts.crs, allow_empty=True, orient=False
    )
    tids = frame[s.TERRITORY_ID].to_numpy(dtype=object)
    pos = {t: i for i, t in enumerate(tids)}
    parent_col = (
        _text_array(frame[s.PARENT_ID])
        if s.PARENT_ID in frame.columns
        else np.full(len(frame), None, dtype=object)
    )
    parents = [pos[p] if p not in (None, "") and p in pos else -1 for p in parent_col]
    is_leaf = np.ones(len(frame), dtype=bool)
    for p in parents:
        if p >= 0:
            is_leaf[p] = False
    types = (
        _text_array(frame[s.TYPE_ID])
        if s.TYPE_ID in frame.columns
        else np.full(len(frame), None, dtype=object)
    )
    types = np.array([t if t else DEFAULT_TYPE.type_id for t in types], dtype=object)
    texts: dict[str, str | None] = {}
    if s.RULE in frame.columns:
        texts.update(zip(tids.tolist(), _text_array(frame[s.RULE]).tolist(), strict=True))
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
    parsed = parse_rules(texts, fields=accounts) if texts else {}
    geoms = np.asarray(frame.geometry.values, dtype=object)
    area = np.full(len(frame), np.inf)
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if usable.any():
        series = gpd.GeoSeries(geoms[usable], crs=frame.crs)
        area[usable] = shapely.area(series.to_crs(local_crs(series)).values)
    return _Prepared(
        frame,
        tids,
        types,
        parents,
        is_leaf,
        geoms,
        area,
        {pos[k]: r for k, r in parsed.items()},
    )


# --------------------------------------------------------------------------- assignment


def assign_accounts(
    accounts: gpd.GeoDataFrame,
    territories: gpd.GeoDataFrame,
    *,
    rules: Mapping[str, str] | None = None,
    overrides: pd.DataFrame | Iterable[Any] | None = None,
    territory_types: pd.DataFrame | Mapping[str, int] | None = None,
    progress: Progress | None = None,
) -> Assignment:
    """Assign every account to its territories (see the module docstring for the rules).

    Parameters
    ----------
    accounts
        Account points with ``account_id`` and the attribute columns rules
        read (the ``accounts`` table).
    territories
        ``territory_id`` and optional ``parent_id``, ``type_id``, ``rule``
        and polygon geometry (the ``territories`` table of one scenario).
        Shapes are repaired (with a warning naming the territory) and
        reprojected to the accounts' CRS.
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
        Called with (fraction done, message).

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
    report = progress or (lambda _f, _m: None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PlannerWarning)
        accounts, account_ids = _check_accounts(accounts)
        report(0.05, "preparing territories")
        prep = _prepare_territories(territories, accounts, rules)
    notes = [str(w.message) for w in caught if issubclass(w.category, PlannerWarning)]
    for w in caught:
        category = w.category if issubclass(w.category, Warning) else PlannerWarning
        warnings.warn(str(w.message), category, stacklevel=2)
    ovr = _overrides_frame(overrides)
    n = len(accounts)
    T = len(prep.tids)
    ovr, more_notes = _match_overrides(ovr, account_ids, prep.tids)
    notes.extend(more_notes)
    for note in more_notes:
        warnings.warn(note, PlannerWarning, stacklevel=2)
    acct_pos = None
    if len(ovr):
        acct_pos = {a: i for i, a in enumerate(account_ids.tolist())}

    geoms_pts = np.asarray(accounts.geometry.values, dtype=object)
    x = np.asarray(shapely.get_x(geoms_pts), dtype=float)
    y = np.asarray(shapely.get_y(geoms_pts), dtype=float)

    chains = [_chain(prep.parents, t) for t in range(T)]
    has_shape = ~(shapely.is_missing(prep.geoms) | shapely.is_empty(prep.geoms))
    shape_of = np.array(
        [next((a for a in chains[t] if has_shape[a]), -1) for t in range(T)], dtype=np.int64
    )
    # the area that ranks a territory: that of the shape it uses (inf without one)
    eff_area = np.where(shape_of >= 0, prep.area_m2[np.maximum(shape_of, 0)], np.inf)
    covers_cache: dict[tuple[int, int], bool] = {}

    def _covers(a: int, b: int) -> bool:
        if (a, b) not in covers_cache:
            covers_cache[(a, b)] = bool(shapely.covers(prep.geoms[a], prep.geoms[b]))
        return covers_cache[(a, b)]

    chain_rule = np.array([any(a in prep.rules for a in chains[t]) for t in range(T)], dtype=bool)
    leaves = np.flatnonzero(prep.is_leaf)
    bare = [int(t) for t in leaves if shape_of[t] < 0 and not chain_rule[t]]
    if bare and T > 1:
        note = (
            f"territories {format_ids(prep.tids[bare])} have neither a shape nor a rule (nor "
            "does any territory above them): they get accounts only by manual include"
        )
        notes.append(note)
        logger.info(note)

    # -- spatial: locate every account in every shape used by a leaf or an ancestor check
    report(0.15, "locating accounts")
    used_shapes = np.unique(shape_of[leaves][shape_of[leaves] >= 0])
    ancestor_checks: dict[int, list[int]] = {}  # ancestor shape -> leaves needing a point test
    for t in leaves:
        own = shape_of[t]
        if own < 0:
            continue
        for a in chains[t][chains[t].index(own) + 1 :]:
            if has_shape[a] and not _covers(a, own):
                ancestor_checks.setdefault(a, []).append(int(t))
    shape_ids = np.union1d(used_shapes, np.array(sorted(ancestor_checks), dtype=np.int64))
    index: PolygonIndex | None = None
    if len(shape_ids) and n:
        index = build_index(prep.geoms[shape_ids], expected_points=n)
        located = locate_points(x, y, index)
        lp = located.point_index
        ls = shape_ids[located.polygon_index]
    else:
        lp = np.empty(0, dtype=np.int64)
        ls = np.empty(0, dtype=np.int64)
    report(0.6, "applying rules and overrides")

    # -- candidate pairs (account, leaf)
    cand_p, cand_t = _expand_to_leaves(lp, ls, shape_of, leaves, T)
    rule_only = [int(t) for t in leaves if shape_of[t] < 0 and chain_rule[t]]
    masks: dict[int, NDArray[np.bool_]] = {}
    acc_frame = accounts

    def mask_of(r: int) -> NDArray[np.bool_]:
        if r not in masks:
            masks[r] = prep.rules[r].evaluate(acc_frame)
        return masks[r]

    extra_p = [np.empty(0, dtype=np.int64)]
    extra_t = [np.empty(0, dtype=np.int64)]
    for leaf in rule_only:
        ok = np.ones(n, dtype=bool)
        for a in chains[leaf]:
            if a in prep.rules:
                ok &= mask_of(a)
        matched = np.flatnonzero(ok)
        extra_p.append(matched)
        extra_t.append(np.full(len(matched), leaf, dtype=np.int64))
    # filters on spatial candidates: ancestor shapes, rules
    keep = np.ones(len(cand_p), dtype=bool)
    dropped_rule = np.zeros(len(cand_p), dtype=bool)
    if ancestor_checks:
        covered_by: dict[int, NDArray[np.bool_]] = {}
        for a, needing in ancestor_checks.items():
            cov = np.zeros(n, dtype=bool)
            cov[lp[ls == a]] = True
            covered_by[a] = cov
            applies = np.zeros(T, dtype=bool)
            applies[needing] = True
            keep &= ~applies[cand_t] | cov[cand_p]
    rule_owners = sorted(prep.rules)
    for r in rule_owners:
        applies = np.zeros(T, dtype=bool)
        for t in leaves:
            if shape_of[t] >= 0 and r in chains[t]:
                applies[t] = True
        if not applies.any():
            continue
        sub = applies[cand_t]
        fails = np.zeros(len(cand_p), dtype=bool)
        fails[sub] = ~mask_of(r)[cand_p[sub]]
        dropped_rule |= fails & keep
        keep &= ~fails
    spatial_in_shape = np.zeros(n, dtype=bool)
    spatial_in_shape[lp] = True
    rule_failed = (cand_p[dropped_rule], cand_t[dropped_rule])
    cand_p = np.concatenate([cand_p[keep], *extra_p])
    cand_t = np.concatenate([cand_t[keep], *extra_t])

    # -- exclusions (a territory and everything below it)
    excluded = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    excl = ovr[ovr[s.ACTION] == "exclude"]
    if len(excl) and len(cand_p):
        assert acct_pos is not None
        below = _subtrees(prep.parents, T)
        tpos = {t: i for i, t in enumerate(prep.tids.tolist())}
        keys = []
        for a, t in zip(excl[s.ACCOUNT_ID], excl[s.TERRITORY_ID], strict=True):
            for leaf in below[tpos[t]]:
                keys.append(acct_pos[a] * T + leaf)
        pair_keys = cand_p * T + cand_t
        removed = np.isin(pair_keys, np.array(keys, dtype=np.int64))
        excluded = (cand_p[removed], cand_t[removed])
        cand_p, cand_t = cand_p[~removed], cand_t[~removed]

    # -- one primary per (account, type)
    report(0.75, "resolving overlaps")
    type_names = sorted(set(prep.types.tolist()))
    type_code = np.array([type_names.index(t) for t in prep.types], dtype=np.int64)
    K = len(type_names)
    tid_rank = np.empty(T, dtype=np.int64)
    tid_rank[np.argsort(prep.tids.astype(str), kind="stable")] = np.arange(T)
    winners = np.full((K, n), -1, dtype=np.int64)
    conflicts: list[tuple[str, str, str, str, int]] = []
    border_note: dict[tuple[int, int], str] = {}
    if len(cand_p):
        group = cand_p * K + type_code[cand_t]
        counts = np.bincount(group, minlength=n * K)
        multi = counts[group] > 1
        single = ~multi
        winners[type_code[cand_t[single]], cand_p[single]] = cand_t[single]
        if multi.any():
            mp, mt = cand_p[multi], cand_t[multi]
            border = np.zeros(len(mp), dtype=bool)
            spatial = shape_of[mt] >= 0
            if spatial.any() and index is not None:
                sp_idx = np.flatnonzero(spatial)
                shape_local = np.searchsorted(shape_ids, shape_of[mt[sp_idx]])
                border[sp_idx] = on_boundary(
                    x, y, index, Located(mp[sp_idx], shape_local.astype(np.int64))
                )
            # on the border of both: the territory id decides; inside both: the area
            order = np.lexsort(
                (
                    tid_rank[mt],
                    np.where(border, 0.0, eff_area[mt]),
                    border.astype(np.int8),
                    (~chain_rule[mt]).astype(np.int8),
                    type_code[mt],
                    mp,
                )
            )
            mp, mt, border = mp[order], mt[order], border[order]
            mg = mp * K + type_code[mt]
            first = np.ones(len(mg), dtype=bool)
            first[1:] = mg[1:] != mg[:-1]
            winners[type_code[mt[first]], mp[first]] = mt[first]
            # record who lost to whom and why
            win_of = np.maximum.accumulate(np.where(first, np.arange(len(mg)), 0))
            lost = np.flatnonzero(~first)
            tally: dict[tuple[str, str, str, str], int] = {}
            for k in lost:
                w = win_of[k]
                why = _why_wins(
                    int(mt[w]),
                    int(mt[k]),
                    bool(border[w]),
                    bool(border[k]),
                    chain_rule,
                    eff_area,
                    prep.tids,
                )
                key = (str(prep.types[mt[w]]), str(prep.tids[mt[w]]), str(prep.tids[mt[k]]), why)
                tally[key] = tally.get(key, 0) + 1
                border_note[(int(mp[w]), int(mt[w]))] = (
                    f"chosen over {prep.tids[mt[k]]}: {why}"
                    if (int(mp[w]), int(mt[w])) not in border_note
                    else border_note[(int(mp[w]), int(mt[w]))] + f", over {prep.tids[mt[k]]}"
                )
            conflicts = [(*key, v) for key, v in sorted(tally.items())]

    # -- manual includes
    incl = ovr[ovr[s.ACTION] == "include"]
    manual_rows: list[tuple[int, int, bool, str]] = []
    if len(incl):
        assert acct_pos is not None
        tpos = {t: i for i, t in enumerate(prep.tids.tolist())}
        inc = incl.assign(
            pos_p=[acct_pos[a] for a in incl[s.ACCOUNT_ID]],
            pos_t=[tpos[t] for t in incl[s.TERRITORY_ID]],
            at=incl[s.SET_AT].fillna(""),
        )
        inc = inc.assign(
            pos_k=type_code[inc["pos_t"].to_numpy()], rank=tid_rank[inc["pos_t"].to_numpy()]
        ).sort_values(["pos_p", "pos_k", "at", "rank"], ascending=[True, True, False, True])
        first_in_group = ~inc.duplicated(["pos_p", "pos_k"])
        tally2: dict[tuple[str, str, str, str], int] = {}
        rows = zip(
            inc.itertuples(index=False),
            inc["pos_p"].to_numpy(dtype=np.int64).tolist(),
            inc["pos_t"].to_numpy(dtype=np.int64).tolist(),
            inc["pos_k"].to_numpy(dtype=np.int64).tolist(),
            first_in_group.to_numpy(dtype=bool).tolist(),
            strict=True,
        )
        for row, ip, it, ik, primary in rows:
            manual_rows.append((ip, it, primary, _manual_detail(row)))
            if primary:
                prev = int(winners[ik, ip])
                if prev >= 0 and prev != it:
                    key = (
                        type_names[ik],
                        str(prep.tids[it]),
                        str(prep.tids[prev]),
                        "manual include",
                    )
                    tally2[key] = tally2.get(key, 0) + 1
                winners[ik, ip] = -1  # the manual row replaces the computed winner
        conflicts += [(*key, v) for key, v in sorted(tally2.items())]

    report(0.9, "building the result")
    memberships = _membership_frame(
        winners, manual_rows, account_ids, prep, chains, shape_of, chain_rule, border_note
    )
    assigned = np.zeros(n, dtype=bool)
    assigned[(winners >= 0).any(axis=0)] = True
    for p, _t, _prim, _d in manual_rows:
        assigned[p] = True
    unassigned = _unassigned_frame(
        account_ids,
        assigned,
        np.isfinite(x) & np.isfinite(y),
        spatial_in_shape,
        rule_failed,
        excluded,
        prep.tids,
    )
    overlaps = pd.DataFrame(
        conflicts, columns=[s.TYPE_ID, "winner", "loser", "reason", "accounts"]
    ).astype({"accounts": "int64"})
    ctx = _Context(
        accounts=accounts,
        account_pos=acct_pos,
        tids=prep.tids,
        types=prep.types,
        parents=prep.parents,
        is_leaf=prep.is_leaf,
        geoms=prep.geoms,
        area_m2=eff_area,
        shape_of=shape_of,
        rules=prep.rules,
        chain_rule=chain_rule,
        priorities=type_priorities(territory_types),
        includes=incl.reset_index(drop=True),
        excludes=excl.reset_index(drop=True),
    )
    report(1.0, "done")
    logger.info(
        "assigned %d of %d accounts to %d territories (%d memberships)",
        int(assigned.sum()),
        n,
        T,
        len(memberships),
    )
    return Assignment(memberships, unassigned, overlaps, tuple(dict.fromkeys(notes)), ctx)


def _chain(parents: list[int], t: int) -> list[int]:
    out = [t]
    seen = {t}
    p = parents[t]
    while p >= 0 and p not in seen:
        out.append(p)
        seen.add(p)
        p = parents[p]
    return out


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


def _expand_to_leaves(
    lp: NDArray[np.int64],
    ls: NDArray[np.int64],
    shape_of: NDArray[np.int64],
    leaves: NDArray[np.int64],
    T: int,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Turn (account, shape) pairs into (account, leaf) pairs for the leaves using each shape."""
    users: list[list[int]] = [[] for _ in range(T)]
    for t in leaves:
        if shape_of[t] >= 0:
            users[int(shape_of[t])].append(int(t))
    count = np.array([len(u) for u in users], dtype=np.int64)
    if not len(lp):
        return lp, ls
    if (count <= 1).all():
        leaf_of = np.array([u[0] if u else -1 for u in users], dtype=np.int64)
        t = leaf_of[ls]
        ok = t >= 0
        return lp[ok], t[ok]
    offsets = np.concatenate([[0], np.cumsum(count)])
    flat = np.array([t for u in users for t in u], dtype=np.int64)
    reps = count[ls]
    p = np.repeat(lp, reps)
    start = np.repeat(offsets[ls], reps)
    within = np.arange(len(p)) - np.repeat(np.cumsum(reps) - reps, reps)
    return p, flat[start + within]


def _why_wins(
    w: int,
    k: int,
    border_w: bool,
    border_k: bool,
    chain_rule: NDArray[np.bool_],
    area: NDArray[np.float64],
    tids: NDArray[np.object_],
) -> str:
    """The first ranking criterion that put territory ``w`` before ``k``."""
    if chain_rule[w] and not chain_rule[k]:
        return "it has a rule and the other has none (more specific)"
    if border_k and not border_w:
        return "the account lies strictly inside it and on the other's border"
    if border_k and border_w:
        return f"on the border of both; {tids[w]} comes first by territory id"
    if area[w] < area[k]:
        return f"it is smaller ({_km2(area[w])} vs {_km2(area[k])})"
    return f"tie; {tids[w]} comes first by territory id"


def _km2(a: float) -> str:
    return "no shape" if not math.isfinite(a) else f"{a / 1e6:,.2f} km²"


def _opt(row: Any, name: str) -> str | None:
    """A text field of an override row, ``None`` when missing or blank."""
    v = getattr(row, name, None)
    return None if s.is_missing(v) or str(v) == "" else str(v)


def _manual_detail(row: Any) -> str:
    who = _opt(row, s.SET_BY) or "someone"
    when = _opt(row, s.SET_AT) or "an unknown time"
    reason = _opt(row, s.REASON)
    return f"included manually by {who} at {when}" + (f": {reason}" if reason else "")


def _match_overrides(
    ovr: pd.DataFrame, account_ids: pd.Series, tids: NDArray[np.object_]
) -> tuple[pd.DataFrame, list[str]]:
    """Drop overrides of accounts or territories that do not exist, with a note."""
    notes: list[str] = []
    if not len(ovr):
        return ovr, notes
    known_a = set(account_ids.tolist())
    known_t = set(tids.tolist())
    stale_a = ~ovr[s.ACCOUNT_ID].isin(known_a)
    stale_t = ~ovr[s.TERRITORY_ID].isin(known_t)
    if stale_a.any():
        notes.append(
            f"{int(stale_a.sum())} overrides name accounts that do not exist and were ignored: "
            f"{format_ids(sorted(set(ovr[s.ACCOUNT_ID][stale_a].astype(str))))}"
        )
    if (stale_t & ~stale_a).any():
        notes.append(
            f"{int((stale_t & ~stale_a).sum())} overrides name territories that do not exist and "
            f"were ignored: {format_ids(sorted(set(ovr[s.TERRITORY_ID][stale_t].astype(str))))}"
        )
    ovr = ovr[~stale_a & ~stale_t]
    dup = ovr.duplicated([s.ACCOUNT_ID, s.TERRITORY_ID], keep="last")
    if dup.any():
        notes.append(
            f"{int(dup.sum())} overrides repeat an account and territory; the last one counts"
        )
        ovr = ovr[~dup]
    return ovr.reset_index(drop=True), notes


def _base_details(
    prep: _Prepared, chains: list[list[int]], shape_of: NDArray[np.int64]
) -> NDArray[np.object_]:
    """Per territory, the detail of a computed membership."""
    out = []
    for t in range(len(prep.tids)):
        parts = []
        sh = shape_of[t]
        if sh >= 0:
            parts.append(
                f"inside the shape of {prep.tids[sh]}"
                if sh == t
                else f"inside the shape of {prep.tids[sh]} (inherited)"
            )
        for a in chains[t]:
            if a in prep.rules:
                owner = "" if a == t else f" (inherited from {prep.tids[a]})"
                parts.append(f"matches rule {prep.rules[a]}{owner}")
        out.append("; ".join(parts))
    return np.array(out, dtype=object)


def _membership_frame(
    winners: NDArray[np.int64],
    manual_rows: list[tuple[int, int, bool, str]],
    account_ids: pd.Series,
    prep: _Prepared,
    chains: list[list[int]],
    shape_of: NDArray[np.int64],
    chain_rule: NDArray[np.bool_],
    notes: Mapping[tuple[int, int], str],
) -> pd.DataFrame:
    """Assemble the memberships; text columns are categorical (cheap for a million rows)."""
    T = len(prep.tids)
    details: dict[str, int] = {}

    def code(text: str) -> int:
        return details.setdefault(text, len(details))

    detail_code_of = np.array(
        [code(d) for d in _base_details(prep, chains, shape_of)], dtype=np.int64
    )
    cause_code_of = np.where(chain_rule, 1, 0).astype(np.int64)  # spatial, rule, manual
    ps = [np.flatnonzero(winners[k] >= 0) for k in range(winners.shape[0])]
    ts = [winners[k, p] for k, p in enumerate(ps)]
    p_all = np.concatenate(ps) if ps else np.empty(0, dtype=np.int64)
    t_all = np.concatenate(ts) if ts else np.empty(0, dtype=np.int64)
    cause = cause_code_of[t_all]
    detail = detail_code_of[t_all]
    primary = np.ones(len(p_all), dtype=bool)
    if notes:
        wanted = {p * T + t: v for (p, t), v in notes.items()}
        keys = p_all * T + t_all
        hit = np.flatnonzero(np.isin(keys, np.fromiter(wanted, dtype=np.int64)))
        base = list(details)
        for i in hit:
            detail[i] = code(f"{base[detail[i]]}; {wanted[int(keys[i])]}")
    if manual_rows:
        p_all = np.concatenate([p_all, np.array([r[0] for r in manual_rows], dtype=np.int64)])
        t_all = np.concatenate([t_all, np.array([r[1] for r in manual_rows], dtype=np.int64)])
        cause = np.concatenate([cause, np.full(len(manual_rows), 2, dtype=np.int64)])
        detail = np.concatenate([detail, np.array([code(r[3]) for r in manual_rows])])
        primary = np.concatenate([primary, np.array([r[2] for r in manual_rows], dtype=bool)])
    if winners.shape[0] > 1 or manual_rows:
        tid_rank = np.empty(T, dtype=np.int64)
        tid_rank[np.argsort(prep.tids.astype(str), kind="stable")] = np.arange(T)
        order = np.lexsort((tid_rank[t_all], p_all))
        p_all, t_all, cause, detail, primary = (
            p_all[order],
            t_all[order],
            cause[order],
            detail[order],
            primary[order],
        )
    return pd.DataFrame(
        {
            s.ACCOUNT_ID: account_ids.take(p_all).reset_index(drop=True),
            s.TERRITORY_ID: _categorical(t_all, list(prep.tids)),
            s.CAUSE: _categorical(cause, ["spatial", "rule", "manual"]),
            s.DETAIL: _categorical(detail, list(details)),
            s.IS_PRIMARY: primary,
        }
    )


def _categorical(codes: NDArray[np.int64], categories: list[Any]) -> pd.Categorical:
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=categories)  # type: ignore[call-overload]


def _names_by_account(
    pairs: tuple[NDArray[np.int64], NDArray[np.int64]],
    wanted: NDArray[np.bool_],
    tids: NDArray[np.object_],
) -> dict[int, str]:
    """For the wanted accounts among (account, territory) pairs, their territory ids as text."""
    p, t = pairs
    sel = wanted[p]
    if not sel.any():
        return {}
    frame = pd.DataFrame({"p": p[sel], "t": tids[t[sel]].astype(object)})
    frame = frame.drop_duplicates().sort_values(["p", "t"])
    grouped = frame.groupby("p", sort=False)["t"].agg(lambda v: format_ids(v, limit=3))
    keys = grouped.index.to_numpy(dtype=np.int64).tolist()
    return dict(zip(keys, map(str, grouped.tolist()), strict=True))


def _unassigned_frame(
    account_ids: pd.Series,
    assigned: NDArray[np.bool_],
    located: NDArray[np.bool_],
    in_shape: NDArray[np.bool_],
    rule_failed: tuple[NDArray[np.int64], NDArray[np.int64]],
    excluded: tuple[NDArray[np.int64], NDArray[np.int64]],
    tids: NDArray[np.object_],
) -> pd.DataFrame:
    """The accounts in no territory, each with the most telling reason."""
    idx = np.flatnonzero(~assigned)
    reason = np.full(len(idx), "outside every territory", dtype=object)
    reason[in_shape[idx]] = "inside a territory shape, but no territory there takes it"
    for pairs, template in (
        (rule_failed, "fails the rules of {}"),
        (excluded, "excluded manually from {}"),
    ):
        names = _names_by_account(pairs, ~assigned, tids)
        if names:
            where = np.searchsorted(idx, np.fromiter(names, dtype=np.int64, count=len(names)))
            reason[where] = [template.format(v) for v in names.values()]
    reason[~located[idx]] = "no location, and no rule-only territory matches it"
    return pd.DataFrame(
        {
            s.ACCOUNT_ID: account_ids.take(idx).reset_index(drop=True),
            s.REASON: pd.Series(reason, dtype=object),
        }
    )


# --------------------------------------------------------------------------- explain


def _explain(assignment: Assignment, account_id: str, territory_id: str | None) -> Explanation:
    """Reason about one account from scratch, the way :func:`assign_accounts` decides."""
    ctx = assignment._context
    p = ctx.position(account_id)
    tpos = {t: i for i, t in enumerate(ctx.tids.tolist())}
    if territory_id is not None and territory_id not in tpos:
        raise InputError(
            f"unknown territory '{territory_id}'",
            [Problem(f"there is no territory '{territory_id}'", fix="check the territory id")],
        )
    row = ctx.accounts.iloc[p]
    values = {k: v for k, v in row.items() if k != ctx.accounts.geometry.name}
    point = row[ctx.accounts.geometry.name]
    has_point = point is not None and not point.is_empty
    mem = assignment.memberships[assignment.memberships[s.ACCOUNT_ID] == account_id]
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

    def eligibility(t: int) -> list[str]:
        """Reasons leaf ``t`` cannot take the account (empty when it can)."""
        why: list[str] = []
        chain = ctx.chain(t)
        why.extend(excluded_by[a] for a in chain if a in excluded_by)
        sh = int(ctx.shape_of[t])
        if sh < 0 and not ctx.chain_rule[t]:
            why.append(f"{ctx.tids[t]} has neither a shape nor a rule: only manual includes")
        if sh >= 0:
            for a in chain[chain.index(sh) :]:
                if ctx.shape_of[a] == a and not inside[a]:
                    if not has_point:
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
            if rule is None:
                continue
            failed = rule.explain(values)
            if failed:
                owner = "its rule" if a == t else f"the rule of {ctx.tids[a]} (above it)"
                why.append(f"{owner} fails: {failed}")
        return why

    def rank(t: int) -> tuple[int, int, float, str]:
        sh = int(ctx.shape_of[t])
        return (
            0 if ctx.chain_rule[t] else 1,
            1 if sh >= 0 and border[sh] else 0,
            float(ctx.area_m2[t]),
            str(ctx.tids[t]),
        )

    verdicts: list[Verdict] = []
    shown: set[int] = set()
    for tid, (cause, detail, primary) in sorted(members.items()):
        t = tpos[tid]
        verdicts.append(Verdict(tid, str(ctx.types[t]), True, primary, cause, (detail,)))
        shown.add(t)
    # the territories worth a word: the one asked about, and leaves that could take it
    plausible = [
        t
        for t in range(T)
        if ctx.is_leaf[t]
        and (
            (ctx.shape_of[t] >= 0 and inside[ctx.shape_of[t]])
            or (ctx.shape_of[t] < 0 and ctx.chain_rule[t])
        )
    ]
    asked = [tpos[territory_id]] if territory_id is not None else []
    for t in dict.fromkeys([*asked, *plausible]):
        if t in shown:
            continue
        shown.add(t)
        tid = str(ctx.tids[t])
        ttype = str(ctx.types[t])
        reasons: list[str] = []
        if not ctx.is_leaf[t]:
            below = sorted(str(ctx.tids[c]) for c in range(T) if ctx.parents[c] == t)
            reasons.append(
                f"{tid} has territories below it ({format_ids(below)}); accounts go to those "
                "and roll up to it"
            )
        else:
            reasons.extend(eligibility(t))
        if ctx.is_leaf[t] and not reasons:
            rivals = [
                m
                for m, (_c, _d, prim) in members.items()
                if prim and str(ctx.types[tpos[m]]) == ttype
            ]
            for m in rivals:
                if members[m][0] == "manual":
                    reasons.append(f"lost to {m}, {members[m][1]}")
                else:
                    reasons.append(f"lost to {m}: {_rank_reason(rank(tpos[m]), rank(t), m, tid)}")
            if not rivals:
                reasons.append("eligible, but not chosen")
        if t in asked and members:
            member_types = {str(ctx.types[tpos[m]]) for m in members}
            if ttype not in member_types:
                reasons.append(
                    f"{tid} is of type '{ttype}' and the account's territories of type "
                    f"{format_ids(sorted(member_types))}; types do not compete"
                )
        verdicts.append(Verdict(tid, ttype, False, False, None, tuple(reasons)))
    lead = None
    primaries = [m for m, (_c, _d, prim) in members.items() if prim]
    if primaries:
        lead = min(
            primaries,
            key=lambda m: (
                ctx.priorities.get(str(ctx.types[tpos[m]]), DEFAULT_TYPE.priority),
                str(ctx.types[tpos[m]]),
                m,
            ),
        )
    reason = None
    un = assignment.unassigned
    hit = un[un[s.ACCOUNT_ID] == account_id]
    if len(hit):
        reason = str(hit.iloc[0][s.REASON])
    return Explanation(account_id, tuple(verdicts), lead, reason)


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
        return f"{wid} is smaller ({_km2(w[2])} vs {_km2(k[2])})"
    return f"a tie; {wid} comes first by territory id"


def _exclusions_for(ctx: _Context, account_id: str) -> dict[int, str]:
    tpos = {t: i for i, t in enumerate(ctx.tids.tolist())}
    out: dict[int, str] = {}
    ex = ctx.excludes[ctx.excludes[s.ACCOUNT_ID] == account_id]
    for r in ex.itertuples(index=False):
        who = _opt(r, s.SET_BY) or "someone"
        when = _opt(r, s.SET_AT) or "an unknown time"
        why = _opt(r, s.REASON)
        t = tpos[str(getattr(r, s.TERRITORY_ID))]
        out[t] = f"excluded manually from {ctx.tids[t]} by {who} at {when}" + (
            f": {why}" if why else ""
        )
    return out


# --------------------------------------------------------------------------- workspace


def assign_workspace(
    workspace: Any,
    scenario_id: str | None = None,
    *,
    store: bool = False,
    user: str | None = None,
    progress: Progress | None = None,
) -> Assignment:
    """Assign the workspace's accounts for a scenario; optionally store the memberships.

    Parameters
    ----------
    workspace
        A :class:`~planner.workspace.Workspace`.
    scenario_id
        The scenario (the active one by default).
    store
        Replace the scenario's ``memberships`` rows with the result and
        write an audit entry.
    user
        Who ran it, for the audit log.
    progress
        Called with (fraction done, message).

    Returns
    -------
    Assignment
    """
    sid = scenario_id or workspace.active_scenario_id()
    territories = workspace.territories(sid)
    overrides = workspace.rows("overrides", sid)
    result = assign_accounts(
        workspace.accounts,
        territories,
        overrides=overrides,
        territory_types=workspace.territory_types,
        progress=progress,
    )
    if store:
        workspace.set_rows("memberships", sid, result.memberships)
        workspace.log(
            "assignment.run",
            {
                "memberships": len(result.memberships),
                "unassigned": len(result.unassigned),
            },
            user=user,
            scenario_id=sid,
        )
    return result
