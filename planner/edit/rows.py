"""Finding territories in a scenario's frame: rows, sources, labels and new ids."""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner import schema as s
from planner.edit.outcome import user_error
from planner.errors import format_ids
from planner.tree import TerritoryTree

__all__ = [
    "is_leaf",
    "level_name_for",
    "new_territory_id",
    "row_of",
    "source_of",
    "territory_label",
]


def row_of(territories: pd.DataFrame, territory_id: str) -> int:
    """Return the position of ``territory_id`` in ``territories``.

    Raises
    ------
    InputError
        If there is no such territory, listing the ones there are.
    """
    ids = territories[s.TERRITORY_ID].astype(str).to_numpy()
    hits = np.flatnonzero(ids == territory_id)
    if not len(hits):
        known = sorted(set(ids.tolist()))
        raise user_error(
            f"there is no territory '{territory_id}'",
            f"pick one of {format_ids(known)}",
            column=s.TERRITORY_ID,
        )
    return int(hits[0])


def is_leaf(territories: pd.DataFrame, territory_id: str) -> bool:
    """Tell whether the territory has no sub-territories."""
    return TerritoryTree.of(territories).is_leaf(territory_id)


def source_of(territories: pd.DataFrame, pos: int) -> str:
    """Return how the territory at row ``pos`` got its shape (``"drawn"``, ``"units"``...)."""
    value = territories.iloc[pos][s.SOURCE]
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def level_name_for(territories: pd.DataFrame, level: int) -> str | None:
    """Return the level name most territories at ``level`` use, or ``None``."""
    names = territories.loc[territories[s.LEVEL] == level, s.LEVEL_NAME].dropna().astype(str)
    names = names[names != ""]
    return str(names.mode().iloc[0]) if len(names) else None


def territory_label(territories: pd.DataFrame) -> dict[str, str]:
    """Return ``"Name (id)"`` by territory id, for pickers."""
    out = {}
    for tid, name in zip(
        territories[s.TERRITORY_ID].astype(str), territories[s.NAME].tolist(), strict=True
    ):
        out[tid] = f"{name} ({tid})" if isinstance(name, str) and name and name != tid else tid
    return out


def new_territory_id(territories: pd.DataFrame, *, prefix: str = "T-NEW") -> str:
    """Return an unused territory id: ``prefix``, then ``prefix-2``, ``prefix-3``..."""
    taken = set(territories[s.TERRITORY_ID].astype(str))
    if prefix not in taken:
        return prefix
    k = 2
    while f"{prefix}-{k}" in taken:
        k += 1
    return f"{prefix}-{k}"
