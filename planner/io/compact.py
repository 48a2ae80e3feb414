"""Large tables in bounded memory: repeated text as categories, chunks joined, repeats found.

A chunked read keeps each chunk's text columns as pandas categoricals when
their values repeat (an industry, an owner, a postal code: a few distinct
values over millions of rows), which holds one small integer per row instead
of one string; the cells are kept exactly as read. The chunks are joined one
column at a time, each column's pieces released as soon as it is joined, so
the whole table is never held twice. Repeated ids are found by sorting and
comparing neighbours a block at a time (pandas' ``duplicated`` on Arrow text
holds several times the column while hashing it).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from pandas.api.types import union_categoricals

from planner.repeats import duplicated_cells

__all__ = ["ColumnPieces", "duplicated_cells", "repeats"]

#: A text column is held as categories when its distinct values are at most this share of rows.
_REPEATED_SHARE = 0.5


def repeats(col: pd.Series) -> bool:
    """Whether a text column's values repeat enough to be held as categories."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return True
    if not pd.api.types.is_string_dtype(col.dtype) or len(col) == 0:
        return False
    return col.nunique(dropna=False) <= _REPEATED_SHARE * len(col)


class ColumnPieces:
    """The chunks of a table, kept column by column and joined one column at a time.

    Parameters
    ----------
    names
        The table's columns, in order.
    """

    def __init__(self, names: Iterable[str]) -> None:
        self.names = list(names)
        self._pieces: dict[str, list[pd.Series]] = {n: [] for n in self.names}
        self._category: set[str] | None = None  # decided on the first chunk

    def add(self, chunk: pd.DataFrame) -> None:
        """Keep a chunk; repeated text columns (as the first chunk shows) become categories."""
        if self._category is None:
            self._category = {str(c) for c in chunk.columns if repeats(chunk[c])}
        for name in self.names:
            col = chunk[name]
            if name in self._category and pd.api.types.is_string_dtype(col.dtype):
                col = col.astype("category")
            self._pieces[name].append(col)

    def kinds(self, name: str) -> set[bool]:
        """Whether each piece of a column holds numbers (``True``) or not (``False``)."""
        return {pd.api.types.is_numeric_dtype(p.dtype) for p in self._pieces[name]}

    def join(self) -> pd.DataFrame:
        """Return the whole table, releasing each column's pieces once it is joined."""
        columns: dict[str, pd.Series] = {}
        for name in self.names:
            pieces = self._pieces.pop(name)
            columns[name] = _join(pieces) if pieces else pd.Series([], dtype="str")
            del pieces
        if not columns or not len(next(iter(columns.values()))):
            return pd.DataFrame(columns=self.names)
        return pd.DataFrame(columns, copy=False)


def _join(pieces: list[pd.Series]) -> pd.Series:
    """Concatenate a column's pieces; categories are united, not turned into text."""
    if all(isinstance(p.dtype, pd.CategoricalDtype) for p in pieces):
        joined = union_categoricals([p.array for p in pieces], ignore_order=True)
        index = pieces[0].index.append([p.index for p in pieces[1:]])
        return pd.Series(joined, index=index, name=pieces[0].name, copy=False)
    return pd.concat(pieces)
