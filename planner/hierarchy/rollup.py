"""Rolling a metric up the territory hierarchy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import pandas as pd

from planner import schema as s
from planner.errors import InputError, Problem, format_ids
from planner.hierarchy.navigation import cycles_of, parent_map
from planner.tree import TerritoryTree

__all__ = ["Aggregation", "rollup"]

Aggregation = Literal["sum", "mean", "min", "max", "count", "median"]


def rollup(
    values: pd.Series | pd.DataFrame | Mapping[str, float],
    territories: pd.DataFrame,
    *,
    how: Aggregation = "sum",
) -> pd.Series | pd.DataFrame:
    """Aggregate a metric up the tree: each territory gets the aggregate over itself and below.

    Parameters
    ----------
    values
        The metric by territory id (usually the leaves'); a DataFrame rolls
        up every column.
    territories
        The hierarchy.
    how
        ``sum``, ``mean``, ``min``, ``max``, ``count`` or ``median``; a mean
        is over the valued territories of the subtree, not a mean of means.

    Returns
    -------
    pandas.Series or pandas.DataFrame
        Indexed by every territory id (sorted); territories with no value
        below them get 0 for ``sum``/``count`` and NaN otherwise.

    Raises
    ------
    InputError
        If the hierarchy has a cycle, or ``values`` names unknown territories.
    """
    parents = parent_map(territories)
    cycles = cycles_of(parents)
    if cycles:
        raise InputError(
            "cannot roll up over a cyclic hierarchy",
            [
                Problem(
                    f"territories {format_ids(c)} form a cycle",
                    column=s.PARENT_ID,
                    fix="fix the parents first",
                )
                for c in cycles
            ],
        )
    data = pd.Series(values) if isinstance(values, Mapping) else values
    data = data.copy()
    data.index = data.index.map(str)
    unknown = sorted(set(data.index) - set(parents))
    if unknown:
        raise InputError(
            "values for unknown territories",
            [
                Problem(
                    f"values are given for territories {format_ids(unknown)}, which are not in "
                    "the hierarchy",
                    fix="drop them or add the territories",
                )
            ],
        )
    tree = TerritoryTree(parents)
    owners: list[str] = []
    members: list[str] = []
    for t in data.index:
        for a in [t, *tree.ancestors(t)]:
            owners.append(a)
            members.append(t)
    pairs = pd.DataFrame({"owner": owners, "member": members})
    expanded = data.reindex(pairs["member"].to_numpy())
    expanded.index = pd.Index(pairs["owner"].to_numpy(), name=s.TERRITORY_ID)
    result = expanded.groupby(level=0).agg(how)
    everyone = pd.Index(sorted(parents), name=s.TERRITORY_ID)
    result = result.reindex(everyone)
    if how in ("sum", "count"):
        result = result.fillna(0)
    return result
