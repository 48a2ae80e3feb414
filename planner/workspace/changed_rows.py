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
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from planner import schema as s
from planner.conform import conform
from planner.errors import InputError
from planner.store.diff import column_differs, identical, row_keys, rows_with_keys

__all__ = [
    "MAX_CHANGED_SHARE",
    "RowEdit",
    "as_range",
    "replace_rows",
    "same_scenario_column",
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


#: Per frame object (weakly), the positions of each scenario's rows found so far.
_POSITIONS: dict[int, tuple[weakref.ref[pd.DataFrame], dict[str, np.ndarray]]] = {}


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


def _known(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    ident = id(frame)
    entry = _POSITIONS.get(ident)
    if entry is not None and entry[0]() is frame:
        return entry[1]
    known: dict[str, np.ndarray] = {}
    _POSITIONS[ident] = (weakref.ref(frame, lambda _r: _POSITIONS.pop(ident, None)), known)
    return known


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
        _known(out).update(_known(old))  # the rows of each scenario stay where they were
    return out
