"""What changed in a table: the rows inserted, updated and deleted, with their images.

A change is found by comparing the table (or one scenario's share of it)
before and after an edit, row by row on the table's key: a 64-bit hash per
row finds the candidates cheaply, and the plain images of the candidates
decide (so a column that only changed dtype is not a change).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from planner import schema as s
from planner.store.codec import row_images

__all__ = ["RowChange", "TableDiff", "diff_table", "row_keys"]

_SEP = "\x1f"
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
    """Every row change of one table."""

    table: str
    changes: list[RowChange] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.changes)


def row_keys(frame: pd.DataFrame, key: Sequence[str]) -> np.ndarray:
    """Return each row's key as one string (key columns joined; missing shown as NUL)."""
    if not len(frame):
        return np.array([], dtype=object)
    parts = [
        np.array([_NULL if s.is_missing(v) else str(v) for v in frame[c].tolist()], dtype=object)
        for c in key
    ]
    out = parts[0]
    for part in parts[1:]:
        out = out + _SEP + part
    return np.asarray(out, dtype=object)


def key_values(key: str, columns: Sequence[str]) -> dict[str, str | None]:
    """Split a key string back into its column values."""
    values = key.split(_SEP)
    return {c: (None if v == _NULL else v) for c, v in zip(columns, values, strict=True)}


def _hashes(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    data = {}
    for c in columns:
        if c == s.GEOMETRY:
            geoms = np.asarray(frame[c], dtype=object)
            data[c] = pd.Series(shapely.to_wkb(geoms, hex=True), dtype=object)
        else:
            col = frame[c].reset_index(drop=True)
            data[c] = col.astype(object) if col.dtype == object else col
    table = pd.DataFrame(data)
    if table.empty:
        return np.array([], dtype=np.uint64)
    return pd.util.hash_pandas_object(table, index=False).to_numpy()


def diff_table(
    table: str,
    before: pd.DataFrame,
    after: pd.DataFrame,
    columns: Sequence[str],
    key: Sequence[str],
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
    """
    before = _with_columns(before, columns)
    after = _with_columns(after, columns)
    if not key:
        return _append_only(table, before, after, columns)
    old_keys, new_keys = row_keys(before, key), row_keys(after, key)
    old_pos = pd.Series(np.arange(len(old_keys)), index=pd.Index(old_keys))
    new_pos = pd.Series(np.arange(len(new_keys)), index=pd.Index(new_keys))
    old_pos = old_pos[~old_pos.index.duplicated(keep="last")]
    new_pos = new_pos[~new_pos.index.duplicated(keep="last")]
    common = old_pos.index.intersection(new_pos.index)
    deleted = old_pos.index.difference(new_pos.index)
    inserted = new_pos.index.difference(old_pos.index)
    changes: list[RowChange] = []
    if len(common):
        o, n = old_pos[common].to_numpy(), new_pos[common].to_numpy()
        differ = _hashes(before.iloc[o], columns) != _hashes(after.iloc[n], columns)
        if differ.any():
            o, n, keys = o[differ], n[differ], common[differ]
            olds = row_images(before.iloc[o], columns)
            news = row_images(after.iloc[n], columns)
            for k, a, b in zip(keys, olds, news, strict=True):
                if a != b:
                    changes.append(RowChange(table, str(k), "update", a, b))
    if len(deleted):
        for k, img in zip(
            deleted, row_images(before.iloc[old_pos[deleted].to_numpy()], columns), strict=True
        ):
            changes.append(RowChange(table, str(k), "delete", img, None))
    if len(inserted):
        for k, img in zip(
            inserted, row_images(after.iloc[new_pos[inserted].to_numpy()], columns), strict=True
        ):
            changes.append(RowChange(table, str(k), "insert", None, img))
    return TableDiff(table, changes)


def _with_columns(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if not missing:
        return frame
    out = frame.copy()
    for c in missing:
        out[c] = None
    return out


def _append_only(
    table: str, before: pd.DataFrame, after: pd.DataFrame, columns: Sequence[str]
) -> TableDiff:
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
