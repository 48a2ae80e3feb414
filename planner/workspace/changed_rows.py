"""Replacing a big table's rows when an edit changed only a few of them.

An edit usually takes a table (or one scenario's rows of it), changes a few
values and hands the whole frame back. Conforming and validating every row
again, and comparing every row at commit, would cost the table's size at
each click. :func:`replace_rows` finds the rows that differ position by
position (one vectorised comparison per column), conforms and validates only
those, and builds the new table from the old one's columns (a column with no
change is shared, not copied). It returns the positions it changed, so the
commit compares only those rows (:func:`planner.store.diff.diff_rows`).

It gives up (``None``) whenever the short way might not give exactly what
conforming and validating the whole frame gives: another number of rows,
other columns or column types, many changed rows, a changed row that breaks
the schema (the whole check then reports it with its row numbers), or a
changed key that another row has.

A new scenario's rows are all new: :func:`append_rows` puts them after the
table's own rows (every old row keeps its place), and :func:`diff_pending`
records them at commit as inserts straight away, without comparing the
table. Both hand on what is known per frame: the positions of each
scenario's rows and their digest (:func:`scenario_digest`).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner import schema as s
from planner.conform import conform
from planner.errors import InputError
from planner.store import Store
from planner.store.codec import row_images
from planner.store.diff import (
    RowChange,
    TableDiff,
    column_differs,
    identical,
    row_keys,
    rows_with_keys,
)

__all__ = [
    "MAX_CHANGED_SHARE",
    "RowEdit",
    "append_rows",
    "as_range",
    "diff_pending",
    "replace_rows",
    "same_scenario_column",
    "scenario_digest",
    "scenario_positions",
    "take_rows",
]

#: Past this share of changed rows the whole frame is conformed and compared instead.
MAX_CHANGED_SHARE = 0.1


@dataclass(frozen=True)
class RowEdit:
    """The new table and the positions of its rows that changed (every other row is the old)."""

    frame: pd.DataFrame
    rows: np.ndarray


@dataclass
class _Facts:
    """What is known of one frame object: per scenario its rows' positions and digest, and
    the frame it was made from by appending rows (with their positions)."""

    positions: dict[str, np.ndarray] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    appended_to: weakref.ref[pd.DataFrame] | None = None
    appended: np.ndarray | None = None


#: Per frame object (weakly), what is known of it.
_FACTS: dict[int, tuple[weakref.ref[pd.DataFrame], _Facts]] = {}


def scenario_positions(frame: pd.DataFrame, scenario_id: str) -> np.ndarray:
    """Return the positions of ``frame``'s rows that belong to ``scenario_id`` (read-only).

    Workspace tables are replaced, never changed in place, so the answer is
    kept per frame object while it lives (and handed on to a table made by
    :func:`replace_rows` that keeps the scenario column).
    """
    known = _known(frame)
    found = known.get(scenario_id)
    if found is None:
        found = np.flatnonzero(frame[s.SCENARIO_ID].to_numpy(dtype=object) == scenario_id)
        found.flags.writeable = False
        known[scenario_id] = found
    return found


def as_range(at: np.ndarray) -> slice | None:
    """The slice that ``at`` (increasing positions) spans when it has no gaps, else ``None``."""
    if not len(at) or int(at[-1]) - int(at[0]) + 1 != len(at):
        return None
    return slice(int(at[0]), int(at[-1]) + 1)


def take_rows(frame: pd.DataFrame, at: np.ndarray) -> pd.DataFrame:
    """The rows of ``frame`` at positions ``at`` (increasing), numbered from 0.

    A run of rows without gaps is a view (copy-on-write keeps the table as
    it is); other positions are copied.
    """
    span = as_range(at)
    if span is not None and span.stop - span.start == len(frame):
        return frame.reset_index(drop=True)
    part = frame.iloc[span] if span is not None else frame.take(at)
    return part.reset_index(drop=True)


def _facts(frame: pd.DataFrame) -> _Facts:
    ident = id(frame)
    entry = _FACTS.get(ident)
    if entry is not None and entry[0]() is frame:
        return entry[1]
    facts = _Facts()
    _FACTS[ident] = (weakref.ref(frame, lambda _r: _FACTS.pop(ident, None)), facts)
    return facts


def _known(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return _facts(frame).positions


def same_scenario_column(old: pd.DataFrame, new: pd.DataFrame, at: np.ndarray) -> bool:
    """Tell whether ``new``'s scenario ids are the very objects ``old`` holds at ``at``.

    True for rows taken from the table (see :func:`planner.store.diff.identical`).
    """
    if s.SCENARIO_ID not in new.columns:
        return False
    mine = _at(old[s.SCENARIO_ID].to_numpy(), at)
    same = identical(mine, new[s.SCENARIO_ID].to_numpy())
    return same is not None and bool(same.all())


def replace_rows(
    old: pd.DataFrame,
    new: pd.DataFrame,
    table: str,
    *,
    positions: np.ndarray | None = None,
    validate: bool = True,
) -> RowEdit | None:
    """Return ``old`` with its rows at ``positions`` replaced by ``new``'s, if few changed.

    Parameters
    ----------
    old
        The table as it is (conformed).
    new
        The replacement rows, in the order of the rows they replace.
    table
        The table's name.
    positions
        Where ``new``'s rows go in ``old``; ``None``: ``new`` is the whole table.
    validate
        Check the changed rows against the schema.

    Returns
    -------
    RowEdit or None
        ``None`` when the whole frame must be conformed and compared.
    """
    whole = positions is None
    at = np.arange(len(old)) if positions is None else positions
    if len(new) != len(at) or not _same_shape(old, new):
        return None
    differs = _differing_columns(old, new, at, whole)
    if differs is None:
        return None
    changed = np.flatnonzero(np.logical_or.reduce(list(differs.values())))
    if not len(changed):
        return RowEdit(old, changed)
    fresh = conform(new.iloc[changed], table)
    if not _same_shape(old, fresh) or not _valid(fresh, table, validate):
        return None
    places = at[changed]
    if not _keys_free(old, fresh, table, places):
        return None
    columns = [c for c, d in differs.items() if d.any()]
    return RowEdit(_patched(old, fresh, columns, places), places)


def _same_shape(old: pd.DataFrame, new: pd.DataFrame) -> bool:
    """Same columns in the same order with the same types (and the same geometry column)."""
    if list(old.columns) != list(new.columns) or not old.dtypes.equals(new.dtypes):
        return False
    if isinstance(old, gpd.GeoDataFrame):
        if not isinstance(new, gpd.GeoDataFrame) or new.geometry.name != old.geometry.name:
            return False
        return old.crs == new.crs
    return not isinstance(new, gpd.GeoDataFrame)


def _differing_columns(
    old: pd.DataFrame, new: pd.DataFrame, at: np.ndarray, whole: bool
) -> dict[str, np.ndarray] | None:
    """Per column, which of ``new``'s rows differ from ``old``'s at ``at``; ``None``: too many."""
    limit = max(1000, int(len(new) * MAX_CHANGED_SHARE))
    out: dict[str, np.ndarray] = {}
    seen = np.zeros(len(new), dtype=bool)
    for col in old.columns:
        before = old[col].to_numpy() if whole else _at(old[col].to_numpy(), at)
        after = new[col].to_numpy()
        found = column_differs(_series(before), _series(after), col == s.GEOMETRY)
        seen |= found
        if seen.sum() > limit:
            return None
        out[col] = found
    return out


def _at(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``values[at]``: a view when ``at`` has no gaps."""
    if len(at) == len(values):
        return values
    span = as_range(at)
    return values[span] if span is not None else values[at]


def _series(values: np.ndarray) -> pd.Series:
    """A Series over ``values`` as they are (object stays object: no text inference, no copy)."""
    return pd.Series(values, dtype=values.dtype, copy=False)


def _valid(fresh: pd.DataFrame, table: str, validate: bool) -> bool:
    """Tell whether the changed rows pass the schema's checks (or need none)."""
    if not validate:
        return True
    try:
        s.validate_frame(fresh, table)
    except InputError:
        return False  # the caller checks the whole frame and reports the rows as they are
    return True


def _keys_free(old: pd.DataFrame, fresh: pd.DataFrame, table: str, places: np.ndarray) -> bool:
    """Tell whether the changed rows' keys are distinct and taken by no unchanged row."""
    key = list(s.TABLES[table].key)
    if not key:
        return True
    new_keys = row_keys(fresh, key)
    if len(set(new_keys.tolist())) < len(new_keys):
        return False
    old_keys = row_keys(old.iloc[places], key)
    rekeyed = new_keys[np.asarray(new_keys != old_keys, dtype=bool)]
    if not len(rekeyed):
        return True
    holders = rows_with_keys(old, key, rekeyed)
    return bool(np.isin(holders, places).all())


def _patched(
    old: pd.DataFrame, fresh: pd.DataFrame, columns: list[str], places: np.ndarray
) -> pd.DataFrame:
    """``old`` with ``fresh``'s values of ``columns`` at ``places``; other columns shared."""
    data: dict[str, pd.Series] = {}
    for col in old.columns:
        if col not in columns:
            data[col] = old[col]
            continue
        values = old[col].to_numpy(copy=True)
        values[places] = fresh[col].to_numpy()
        if col == s.GEOMETRY:
            data[col] = gpd.GeoSeries(values, index=old.index, crs=old.crs)
        else:
            data[col] = pd.Series(values, index=old.index, dtype=old[col].dtype, copy=False)
    out = (
        gpd.GeoDataFrame(data, geometry=old.geometry.name, copy=False)
        if isinstance(old, gpd.GeoDataFrame)
        else pd.DataFrame(data, copy=False)
    )
    if s.SCENARIO_ID in old.columns and s.SCENARIO_ID not in columns:
        _hand_on(old, out, places)  # the rows of each scenario stay where they were
    return out


def _hand_on(old: pd.DataFrame, new: pd.DataFrame, changed: np.ndarray) -> None:
    """Give ``new`` (``old`` with the rows at ``changed`` changed or added, every scenario's
    rows in their places) the positions of ``old``'s scenarios, and the digests of those
    whose rows it did not change."""
    was, now = _facts(old), _facts(new)
    now.positions.update(was.positions)
    for sid, digest in was.digests.items():
        at = was.positions.get(sid)
        if at is not None and not np.isin(at, changed).any():
            now.digests[sid] = digest


# --- a scenario's rows: digest, appending, recording the new rows ------------------------
def scenario_digest(frame: pd.DataFrame, scenario_id: str) -> str:
    """Return a digest of the values of ``frame``'s rows of ``scenario_id``.

    Equal digests mean equal rows (barring a hash collision). It is worked
    out once per frame object and handed on to the tables made from it by
    :func:`replace_rows` and :func:`append_rows` that leave those rows as
    they are: saving another scenario costs no new digest.
    """
    facts = _facts(frame)
    found = facts.digests.get(scenario_id)
    if found is None:
        found = _digest(take_rows(frame, scenario_positions(frame, scenario_id)))
        facts.digests[scenario_id] = found
    return found


def _digest(rows: pd.DataFrame) -> str:
    """The rows' count, a hash of their plain values and one of their shapes."""
    plain = rows.drop(columns=[s.GEOMETRY], errors="ignore")
    values = int(pd.util.hash_pandas_object(plain, index=False).sum()) if len(plain) else 0
    shapes = 0
    if s.GEOMETRY in rows.columns and len(rows):
        wkb = shapely.to_wkb(np.asarray(rows[s.GEOMETRY], dtype=object), hex=True)
        shapes = int(pd.util.hash_pandas_object(pd.Series(wkb, dtype=object), index=False).sum())
    return f"{len(rows)}:{values}:{shapes}"


def append_rows(old: pd.DataFrame, fresh: pd.DataFrame, table: str) -> RowEdit:
    """Return ``old`` with ``fresh``'s rows after its own, and the positions they take.

    ``fresh`` holds conformed rows of the table (with their scenario ids).
    Every row of ``old`` keeps its place, so the positions and digests of
    its scenarios are handed on, and :func:`diff_pending` records the new
    rows as inserts without comparing the table.
    """
    if not len(old):
        frame = fresh
    else:
        frame = pd.concat([old, fresh], ignore_index=True)
        if isinstance(fresh, gpd.GeoDataFrame):
            frame = gpd.GeoDataFrame(frame, geometry=s.GEOMETRY, crs=s.STORAGE_CRS)
        if not _same_shape(old, fresh):
            frame = conform(frame, table)
    rows = np.arange(len(old), len(frame))
    rows.flags.writeable = False
    facts = _facts(frame)
    if frame is not fresh:
        _hand_on(old, frame, rows)
    if s.SCENARIO_ID in fresh.columns:  # the scenarios that got rows: where they are now
        ids = fresh[s.SCENARIO_ID].to_numpy(dtype=object)
        for sid in pd.unique(ids).tolist():
            at = np.concatenate([scenario_positions(old, str(sid)), rows[ids == sid]])
            at.flags.writeable = False
            facts.positions[str(sid)] = at
            facts.digests.pop(str(sid), None)
    facts.appended_to, facts.appended = weakref.ref(old), rows
    return RowEdit(frame, rows)


def diff_pending(
    store: Store,
    tables: Mapping[str, pd.DataFrame],
    baseline: Mapping[str, pd.DataFrame],
    scopes: Mapping[str, frozenset[str] | None],
    rows: Mapping[str, np.ndarray] | None = None,
) -> tuple[list[TableDiff], dict[str, dict[str, s.Kind]]]:
    """Return the row changes from ``baseline`` to ``tables``, as :meth:`Store.diff` does.

    A table that is its baseline with rows of new scenarios appended
    (:func:`append_rows`) gets those rows as inserts at once: their keys
    and images, nothing compared. The result is what the store's diff
    finds, in the same order; the other tables are compared by the store.
    """
    direct: dict[str, TableDiff] = {}
    rest: dict[str, frozenset[str] | None] = {}
    for name, scope in scopes.items():
        found = _appended_diff(store, name, tables[name], baseline[name])
        if found is None:
            rest[name] = scope
        else:
            direct[name] = found
    if not direct:
        return store.diff(tables, baseline, scopes, rows)
    diffs, extras = store.diff(tables, baseline, rest, rows) if rest else ([], {})
    found_by = {d.table: d for d in diffs} | {n: d for n, d in direct.items() if len(d)}
    return [found_by[n] for n in scopes if n in found_by], extras


def _appended_diff(
    store: Store, name: str, after: pd.DataFrame, before: pd.DataFrame
) -> TableDiff | None:
    """The inserts that turn ``before`` into ``after`` when ``after`` is ``before`` with rows of
    scenarios it lacks appended (``None``: compare them)."""
    spec = s.TABLES[name]
    facts = _facts(after)
    if facts.appended_to is None or facts.appended_to() is not before or facts.appended is None:
        return None
    columns = store.layout.columns(name)
    if spec.extra_columns or s.SCENARIO_ID not in spec.key or set(columns) - set(after.columns):
        return None
    new = take_rows(after, facts.appended)
    sids = set(new[s.SCENARIO_ID].tolist())
    if any(len(scenario_positions(before, str(sid))) for sid in sids):
        return None  # keys might be the old rows': the store compares them
    keys = row_keys(new, spec.key)
    if len(set(keys.tolist())) < len(keys):
        return None
    images = row_images(new, columns)
    changes = [RowChange(name, str(k), "insert", None, img)
               for k, img in zip(keys, images, strict=True)]  # fmt: skip
    if store.facts.is_unique(before):
        store.facts.mark_unique(after)  # new keys, unique, beside unique old ones
    return TableDiff(name, changes, unique_after=True)
