"""What changed in a table: the rows inserted, updated and deleted, with their images.

A change is found by comparing the table (or one scenario's share of it)
before and after an edit, row by row on the table's key: a 64-bit hash per
row finds the candidates cheaply, and the plain images of the candidates
decide (so a column that only changed dtype is not a change).
"""

from __future__ import annotations

import ctypes
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from planner import schema as s
from planner.store.codec import row_images

__all__ = [
    "RowChange",
    "TableDiff",
    "column_differs",
    "diff_aligned",
    "diff_rows",
    "diff_table",
    "identical",
    "row_keys",
    "rows_with_keys",
]

_SEP = "\x1f"
#: Up to this many rows, an edit's own rows are compared as plain images (no frame work).
_FEW_ROWS = 2000
_NULL = "\x00"


@dataclass(frozen=True)
class RowChange:
    """One row's change: ``op`` is insert, update or delete; images are plain dicts."""

    table: str
    key: str
    op: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass
class TableDiff:
    """Every row change of one table.

    ``unique_after`` tells whether the rows compared after the change had
    unique keys (``None``: not known).
    """

    table: str
    changes: list[RowChange] = field(default_factory=list)
    unique_after: bool | None = None

    def __len__(self) -> int:
        return len(self.changes)


def row_keys(frame: pd.DataFrame, key: Sequence[str]) -> np.ndarray:
    """Return each row's key as one string (key columns joined; missing shown as NUL)."""
    if not len(frame):
        return np.array([], dtype=object)
    parts = [_key_text(frame[c].to_numpy(dtype=object)) for c in key]
    if len(parts) == 1:
        return parts[0]
    return np.array([_SEP.join(row) for row in zip(*parts, strict=True)], dtype=object)


def _key_text(values: np.ndarray) -> np.ndarray:
    """One key column as text, missing values as NUL."""
    if pd.api.types.infer_dtype(values, skipna=False) == "string":  # all text: as it is
        return values
    missing = pd.isna(values)
    text = np.array([_NULL if m else str(v) for v, m in zip(values, missing, strict=True)],
                    dtype=object)  # fmt: skip
    return text


def key_values(key: str, columns: Sequence[str]) -> dict[str, str | None]:
    """Split a key string back into its column values."""
    values = key.split(_SEP)
    return {c: (None if v == _NULL else v) for c, v in zip(columns, values, strict=True)}


def column_differs(old: pd.Series, new: pd.Series, geometry: bool) -> np.ndarray:
    """Return, per aligned row, whether two columns hold different values (vectorised).

    Typed columns compare in numpy; text columns (Python strings and
    ``None``, as stored) compare element by element, and only the rows that
    look different there get the careful check of missing values.
    """
    if geometry:
        return _objects_differ(old.to_numpy(dtype=object), new.to_numpy(dtype=object), True)
    a, b = old.to_numpy(), new.to_numpy()
    if a.dtype.kind == "f" and b.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            return np.asarray((a != b) & ~(np.isnan(a) & np.isnan(b)), dtype=bool)
    if a.dtype.kind in "biu" and a.dtype == b.dtype:
        return np.asarray(a != b, dtype=bool)
    if a.dtype == object and b.dtype == object:
        return _objects_differ(a, b, False)
    return _careful_differs(a.astype(object), b.astype(object), False)


def _objects_differ(a: np.ndarray, b: np.ndarray, geometry: bool) -> np.ndarray:
    """Per row, whether two object columns differ; rows holding the very same object do not.

    A copied frame holds the same objects as the frame it was copied from,
    so comparing the object addresses first (one integer comparison per row)
    leaves only the rows an edit replaced to be compared by value.
    """
    same = identical(a, b)
    if same is None:
        return _values_differ(a, b, geometry)
    out = np.zeros(len(a), dtype=bool)
    rows = np.flatnonzero(~same)
    if len(rows):
        out[rows] = _values_differ(a[rows], b[rows], geometry)
    return out


def identical(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """Per row, whether two object arrays hold the very same object (``None``: cannot tell)."""
    if a.dtype != object or b.dtype != object or len(a) != len(b):
        return None
    if not (a.flags.c_contiguous and b.flags.c_contiguous):
        return None
    if not len(a):
        return np.zeros(0, dtype=bool)
    return np.asarray(_addresses(a) == _addresses(b), dtype=bool)


def _addresses(values: np.ndarray) -> np.ndarray:
    """The object pointers of a contiguous object array, as integers (read while it lives)."""
    raw = (ctypes.c_size_t * len(values)).from_address(values.ctypes.data)
    return np.frombuffer(memoryview(raw), dtype=np.uintp)


def _values_differ(a: np.ndarray, b: np.ndarray, geometry: bool) -> np.ndarray:
    """Per row, whether two object columns hold different values (missing equals missing)."""
    if geometry:
        return _careful_differs(a, b, True)
    try:
        looks = np.asarray(a != b, dtype=bool)
    except (TypeError, ValueError):  # pd.NA compares to NA, which has no truth value
        return _careful_differs(a, b, False)
    rows = np.flatnonzero(looks)
    if len(rows):  # NaN != NaN, None != NaN: look again at these few
        looks[rows] = _careful_differs(a[rows], b[rows], False)
    return looks


def _careful_differs(a: np.ndarray, b: np.ndarray, geometry: bool) -> np.ndarray:
    """Per row, whether ``a`` and ``b`` differ; any two missing values are equal."""
    am, bm = pd.isna(a), pd.isna(b)
    both = ~am & ~bm
    differs = am != bm
    if not both.any():
        return differs
    if geometry:
        same = np.fromiter((x is y for x, y in zip(a, b, strict=True)), bool, len(a))
        check = both & ~same
        if check.any():
            equal = shapely.equals_exact(a[check], b[check], tolerance=0.0)
            differs[check] = ~np.asarray(equal, dtype=bool)
        return differs
    with np.errstate(invalid="ignore"):
        unequal = np.asarray(a[both] != b[both], dtype=bool)
    differs[both] = unequal
    return differs


def diff_aligned(
    table: str,
    before: pd.DataFrame,
    after: pd.DataFrame,
    columns: Sequence[str],
    key: Sequence[str],
) -> TableDiff | None:
    """Return the row changes when ``after`` keeps ``before``'s rows in the same places.

    The usual edit changes values and keeps every row where it was (moving
    an account changes its membership's territory, a key column, in place).
    Then rows compare position by position, and key strings and images are
    made only for the rows that differ. ``before``'s keys must be unique
    (the caller knows: rows read from a store are). The result is what
    :func:`diff_table` finds, in the same order: updates, then deletes, then
    inserts. ``None`` when the rows do not line up (other lengths, many
    re-keyed rows, or a new key that some other row had or has): then
    :func:`diff_table` must compare by key.
    """
    if len(before) != len(after) or not key:
        return None
    before = _with_columns(before, columns)
    after = _with_columns(after, columns)
    rekeyed = np.zeros(len(before), dtype=bool)
    for c in key:
        rekeyed |= column_differs(before[c], after[c], False)
    if rekeyed.sum() > max(1000, len(before) // 10):
        return None
    differ = rekeyed.copy()
    for c in columns:
        if c not in key:
            differ |= column_differs(before[c], after[c], c == s.GEOMETRY)
    moved = np.flatnonzero(rekeyed)
    old_keys = row_keys(before.iloc[moved], key)
    new_keys = row_keys(after.iloc[moved], key)
    if len(set(new_keys.tolist())) < len(new_keys):
        return None
    if _anywhere(before, key, new_keys) or _anywhere(after, key, old_keys):
        return None
    changes = _updates(table, before, after, np.flatnonzero(differ & ~rekeyed), columns, key)
    rows_before, rows_after = before.iloc[moved], after.iloc[moved]
    for k, img in zip(old_keys, row_images(rows_before, columns), strict=True):
        changes.append(RowChange(table, str(k), "delete", img, None))
    for k, img in zip(new_keys, row_images(rows_after, columns), strict=True):
        changes.append(RowChange(table, str(k), "insert", None, img))
    return TableDiff(table, changes, unique_after=True)


def diff_rows(
    table: str,
    before: pd.DataFrame,
    after: pd.DataFrame,
    columns: Sequence[str],
    key: Sequence[str],
    rows: np.ndarray,
) -> TableDiff:
    """Return the row changes of an edit that knows the rows it changed.

    ``before`` and ``after`` have the same length and unique keys; every
    row of ``after`` outside the positions ``rows`` is ``before``'s row at
    the same place, and no row at ``rows`` takes the key of a row outside
    them. Only the rows at ``rows`` are compared (the cost follows the
    edit, not the table); the result is what :func:`diff_table` finds.
    """
    b = _with_columns(before.iloc[rows], columns)
    a = _with_columns(after.iloc[rows], columns)
    if len(rows) <= _FEW_ROWS:
        return _diff_images(table, b, a, columns, key)
    found = diff_aligned(table, b, a, columns, key)
    return found if found is not None else diff_table(table, b, a, columns, key)


def _diff_images(
    table: str,
    before: pd.DataFrame,
    after: pd.DataFrame,
    columns: Sequence[str],
    key: Sequence[str],
) -> TableDiff:
    """:func:`diff_table` for a few rows with unique keys: their plain images compared by key."""
    olds = dict(zip(row_keys(before, key).tolist(), row_images(before, columns), strict=True))
    news = dict(zip(row_keys(after, key).tolist(), row_images(after, columns), strict=True))
    changes = [
        RowChange(table, str(k), "update", olds[k], img)
        for k, img in news.items()
        if k in olds and olds[k] != img
    ]
    changes += [
        RowChange(table, str(k), "delete", img, None) for k, img in olds.items() if k not in news
    ]
    changes += [
        RowChange(table, str(k), "insert", None, img) for k, img in news.items() if k not in olds
    ]
    return TableDiff(table, changes, unique_after=len(news) == len(after))


def _anywhere(frame: pd.DataFrame, key: Sequence[str], keys: np.ndarray) -> bool:
    """Tell whether any row of ``frame`` has one of ``keys`` (few keys, a large frame)."""
    return bool(len(rows_with_keys(frame, key, keys)))


def rows_with_keys(frame: pd.DataFrame, key: Sequence[str], keys: np.ndarray) -> np.ndarray:
    """Return the positions of the rows of ``frame`` whose key is one of ``keys``.

    Made for few keys and a large frame: one key column (the one with the
    most distinct wanted values) is looked up over the whole frame; only its
    matches are keyed and compared.
    """
    if not len(keys):
        return np.array([], dtype=np.intp)
    parts = [k.split(_SEP) for k in keys.tolist()] if len(key) > 1 else [[k] for k in keys]
    wanted = [{p[i] for p in parts} for i in range(len(key))]
    best = max(range(len(key)), key=lambda i: len(wanted[i]))
    values = frame[key[best]].to_numpy(dtype=object)
    maybe = np.array(pd.Series(values, dtype=object).isin(wanted[best] - {_NULL}), dtype=bool)
    if _NULL in wanted[best]:
        maybe |= pd.isna(values)
    rows = np.flatnonzero(maybe)
    if not len(rows):
        return rows
    found = row_keys(frame.iloc[rows], key)
    return rows[pd.Series(found, dtype=object).isin(set(keys.tolist())).to_numpy(dtype=bool)]


def _updates(
    table: str,
    before: pd.DataFrame,
    after: pd.DataFrame,
    rows: np.ndarray,
    columns: Sequence[str],
    key: Sequence[str],
) -> list[RowChange]:
    changes: list[RowChange] = []
    if not len(rows):
        return changes
    a, b = before.iloc[rows], after.iloc[rows]
    for k, x, y in zip(
        row_keys(b, key), row_images(a, columns), row_images(b, columns), strict=True
    ):
        if x != y:
            changes.append(RowChange(table, str(k), "update", x, y))
    return changes


def diff_table(
    table: str,
    before: pd.DataFrame,
    after: pd.DataFrame,
    columns: Sequence[str],
    key: Sequence[str],
    keys: tuple[np.ndarray, np.ndarray] | None = None,
) -> TableDiff:
    """Return the row changes that turn ``before`` into ``after``.

    Parameters
    ----------
    table
        The table's name (carried into each change).
    before, after
        The rows before and after (the same columns; ``after`` may have
        columns ``before`` lacks, which then count as missing before).
    columns
        The stored columns to compare and record.
    key
        The key columns; empty for an append-only table (the audit log),
        where rows absent before are inserts and nothing is ever deleted.
    keys
        The rows' keys before and after, when the caller has them already.
    """
    before = _with_columns(before, columns)
    after = _with_columns(after, columns)
    if not key:
        return _append_only(table, before, after, columns)
    old_keys, new_keys = keys if keys is not None else (row_keys(before, key), row_keys(after, key))
    old_index = pd.Index(old_keys, dtype=object)
    new_index = pd.Index(new_keys, dtype=object)
    old_last = ~old_index.duplicated(keep="last")
    new_last = ~new_index.duplicated(keep="last")
    unique_after = bool(new_last.all())
    old_index, new_index = old_index[old_last], new_index[new_last]
    old_pos, new_pos = np.flatnonzero(old_last), np.flatnonzero(new_last)
    at = old_index.get_indexer(new_index)
    common = at >= 0
    changes: list[RowChange] = []
    if common.any():
        o, n = old_pos[at[common]], new_pos[common]
        a, b = before.iloc[o], after.iloc[n]
        differ = np.zeros(len(o), dtype=bool)
        for c in columns:
            differ |= column_differs(a[c], b[c], c == s.GEOMETRY)
        if differ.any():
            keys = new_index[common][differ]
            olds = row_images(a.iloc[np.flatnonzero(differ)], columns)
            news = row_images(b.iloc[np.flatnonzero(differ)], columns)
            for k, x, y in zip(keys, olds, news, strict=True):
                if x != y:
                    changes.append(RowChange(table, str(k), "update", x, y))
    deleted = np.ones(len(old_index), dtype=bool)
    deleted[at[common]] = False
    if deleted.any():
        rows = before.iloc[old_pos[deleted]]
        for k, img in zip(old_index[deleted], row_images(rows, columns), strict=True):
            changes.append(RowChange(table, str(k), "delete", img, None))
    inserted = ~common
    if inserted.any():
        rows = after.iloc[new_pos[inserted]]
        for k, img in zip(new_index[inserted], row_images(rows, columns), strict=True):
            changes.append(RowChange(table, str(k), "insert", None, img))
    return TableDiff(table, changes, unique_after=unique_after)


def _with_columns(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if not missing:
        return frame
    out = frame.copy()
    for c in missing:
        out[c] = None
    return out


def _hashes(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    data = {}
    for c in columns:
        if c == s.GEOMETRY:
            geoms = np.asarray(frame[c], dtype=object)
            data[c] = pd.Series(shapely.to_wkb(geoms, hex=True), dtype=object)
        else:
            data[c] = frame[c].reset_index(drop=True).astype(object)
    table = pd.DataFrame(data)
    if table.empty:
        return np.array([], dtype=np.uint64)
    return pd.util.hash_pandas_object(table, index=False).to_numpy()


def _append_only(
    table: str, before: pd.DataFrame, after: pd.DataFrame, columns: Sequence[str]
) -> TableDiff:
    n = len(before)
    if len(after) >= n:
        head = after.iloc[:n]
        same = not any(column_differs(before[c], head[c], c == s.GEOMETRY).any() for c in columns)
        if same:  # the usual case: rows were appended at the end
            images = row_images(after.iloc[n:], columns)
            return TableDiff(
                table, [RowChange(table, uuid.uuid4().hex, "insert", None, i) for i in images]
            )
    old = pd.Series(_hashes(before, columns)).value_counts()
    new_hashes = _hashes(after, columns)
    seen: dict[int, int] = {}
    fresh: list[int] = []
    for i, h in enumerate(new_hashes.tolist()):
        seen[h] = seen.get(h, 0) + 1
        if seen[h] > int(old.get(h, 0)):
            fresh.append(i)
    if not fresh:
        return TableDiff(table)
    images = row_images(after.iloc[fresh], columns)
    return TableDiff(
        table, [RowChange(table, uuid.uuid4().hex, "insert", None, img) for img in images]
    )
