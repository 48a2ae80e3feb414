"""What the store knows about workspace frames it has seen: their row keys and unique keys.

Workspace frames are replaced, never changed in place, so what was worked
out for a frame object once (its key strings; that no two of its rows
share a key) holds as long as the object lives. Entries are weak: a frame
nobody uses any more is forgotten with everything known about it.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import numpy as np
import pandas as pd

from planner.store.diff import row_keys

__all__ = ["FrameFacts"]


class FrameFacts:
    """Row keys and key uniqueness of frames, remembered per frame object."""

    def __init__(self) -> None:
        self._keys: dict[int, tuple[weakref.ref[pd.DataFrame], np.ndarray]] = {}
        self._unique: weakref.WeakValueDictionary[int, pd.DataFrame] = weakref.WeakValueDictionary()

    def keys(self, frame: pd.DataFrame, key: Sequence[str]) -> np.ndarray:
        """Return the row keys of ``frame`` (see :func:`planner.store.diff.row_keys`)."""
        hit = self._keys.get(id(frame))
        if hit is not None and hit[0]() is frame:
            return hit[1]
        found = row_keys(frame, key)
        ident = id(frame)
        self._keys[ident] = (weakref.ref(frame, lambda _r: self._keys.pop(ident, None)), found)
        return found

    def mark_unique(self, frame: pd.DataFrame) -> None:
        """Record that no two rows of ``frame`` share a key."""
        self._unique[id(frame)] = frame

    def is_unique(self, frame: pd.DataFrame) -> bool:
        """Tell whether ``frame`` is known to have unique keys."""
        return self._unique.get(id(frame)) is frame
