"""Checking a territory hierarchy: ids, parents, cycles, types, levels and shapes."""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner import schema as s
from planner.errors import InputError, Problem, format_ids
from planner.geo.shapes import local_crs
from planner.hierarchy.navigation import (
    compute_levels,
    cycles_of,
    ids_of,
    parent_map,
    type_priorities,
)

__all__ = ["DEFAULT_TOLERANCE_M", "check_hierarchy", "validate_hierarchy"]

#: How far (metres) a child's shape may stick out of its parent's.
DEFAULT_TOLERANCE_M = 50.0


def validate_hierarchy(
    territories: pd.DataFrame,
    *,
    territory_types: pd.DataFrame | Mapping[str, int] | None = None,
    check_geometry: bool = True,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> list[Problem]:
    """Find every problem of a hierarchy.

    Errors: an empty or repeated id, a parent that does not exist, a cycle
    (including a territory that is its own parent), an unknown territory
    type (when ``territory_types`` is given), and a child whose shape sticks
    out of its parent's shape by more than ``tolerance_m``. Warning: a
    ``level`` that is not the depth below the root.

    Parameters
    ----------
    territories
        The territories frame.
    territory_types
        The ``territory_types`` table (or type id -> priority); ``None``
        skips the type check.
    check_geometry
        Check that children with a shape lie inside their parent's shape.
    tolerance_m
        How far a child may stick out of its parent, in metres.

    Returns
    -------
    list of Problem
        Empty when the hierarchy is sound. ``rows`` are 1-based positions in
        ``territories``.
    """
    ids = ids_of(territories)
    rows_of: dict[str, list[int]] = {}
    for i, t in enumerate(ids):
        rows_of.setdefault(t, []).append(i + 1)
    parents = parent_map(territories)
    problems = [*_id_problems(rows_of), *_parent_problems(parents, rows_of)]
    if territory_types is not None and s.TYPE_ID in territories.columns:
        problems.extend(_type_problems(territories, territory_types))
    if s.LEVEL in territories.columns and not cycles_of(parents):
        problems.extend(_level_problems(territories, ids, rows_of))
    if check_geometry and isinstance(territories, gpd.GeoDataFrame):
        problems.extend(_outside_parent(territories, parents, rows_of, tolerance_m))
    return problems


def _id_problems(rows_of: Mapping[str, list[int]]) -> list[Problem]:
    """Empty and repeated territory ids."""
    problems = []
    empty = [r for t, r in rows_of.items() if t in ("", "None", "nan")]
    if empty:
        problems.append(
            Problem(
                "territories without an id",
                rows=tuple(r for rs in empty for r in rs),
                column=s.TERRITORY_ID,
                fix="give every territory an id",
            )
        )
    dupes = sorted(t for t, r in rows_of.items() if len(r) > 1)
    if dupes:
        problems.append(
            Problem(
                f"territory ids {format_ids(dupes)} appear more than once",
                rows=tuple(r for t in dupes for r in rows_of[t]),
                column=s.TERRITORY_ID,
                fix="give every territory its own id",
            )
        )
    return problems


def _parent_problems(
    parents: Mapping[str, str | None], rows_of: Mapping[str, list[int]]
) -> list[Problem]:
    """Parents that do not exist, and cycles (a territory its own parent included)."""
    problems = []
    missing = sorted(t for t, p in parents.items() if p is not None and p not in parents)
    for t in missing:
        problems.append(
            Problem(
                f"territory {t} names parent {parents[t]}, which does not exist",
                rows=tuple(rows_of[t]),
                column=s.PARENT_ID,
                fix=f"create territory {parents[t]} first, or clear the parent of {t}",
            )
        )
    for cycle in cycles_of(parents):
        down = cycle[:1] + cycle[1:][::-1]  # parent > child order
        text = " > ".join([*down, down[0]])
        what = "is its own parent" if len(cycle) == 1 else f"form a cycle: {text}"
        problems.append(
            Problem(
                f"territor{'y' if len(cycle) == 1 else 'ies'} {format_ids(cycle)} {what}",
                rows=tuple(r for t in cycle for r in rows_of[t]),
                column=s.PARENT_ID,
                fix="give one of them a parent outside the cycle (or none)",
            )
        )
    return problems


def _type_problems(
    territories: pd.DataFrame, territory_types: pd.DataFrame | Mapping[str, int]
) -> list[Problem]:
    """Territory types that are not in ``territory_types``."""
    known = type_priorities(territory_types)
    types = territories[s.TYPE_ID].tolist()
    unknown = sorted({str(v) for v in types if not s.is_missing(v) and str(v) not in known})
    if not unknown:
        return []
    return [
        Problem(
            f"unknown territory types {format_ids(unknown)}",
            rows=tuple(
                i + 1 for i, v in enumerate(types) if not s.is_missing(v) and str(v) in unknown
            ),
            column=s.TYPE_ID,
            fix=f"use one of {format_ids(sorted(known))}, or add the type first",
        )
    ]


def _level_problems(
    territories: pd.DataFrame, ids: list[str], rows_of: Mapping[str, list[int]]
) -> list[Problem]:
    """A warning for levels that are not the depth below the root."""
    depth = compute_levels(territories)
    levels = pd.to_numeric(territories[s.LEVEL], errors="coerce").tolist()
    wrong = [
        t
        for t, lv in zip(ids, levels, strict=True)
        if t in depth.index and not s.is_missing(lv) and int(lv) != int(depth[t])
    ]
    if not wrong:
        return []
    return [
        Problem(
            f"the level of {format_ids(wrong)} is not their depth below the root",
            rows=tuple(r for t in wrong for r in rows_of[t]),
            column=s.LEVEL,
            fix="recompute levels (compute_levels) or move the territories",
            severity="warning",
        )
    ]


def _outside_parent(
    territories: gpd.GeoDataFrame,
    parents: Mapping[str, str | None],
    rows_of: Mapping[str, list[int]],
    tolerance_m: float,
) -> list[Problem]:
    geoms = territories.geometry
    usable = ~(geoms.isna() | geoms.is_empty)
    if not usable.any():
        return []
    ids = ids_of(territories)
    present = territories[usable.to_numpy()]
    # test in the territories' own CRS: assignment places points in that CRS too
    shape = dict(
        zip([ids[i] for i in np.flatnonzero(usable.to_numpy())], present.geometry, strict=True)
    )
    pairs = [
        (c, p) for c, p in parents.items() if p is not None and c in shape and p in shape and c != p
    ]
    if not pairs:
        return []
    tolerance = tolerance_m
    crs = present.crs
    if crs is not None and crs.is_geographic:
        lat = float(np.clip(np.mean(present.total_bounds[[1, 3]]), -80, 80))
        tolerance = tolerance_m / (111_320.0 * np.cos(np.radians(lat)))
    child = np.array([shape[c] for c, _ in pairs], dtype=object)
    parent = np.array([shape[p] for _, p in pairs], dtype=object)
    grown = shapely.buffer(parent, tolerance) if tolerance > 0 else parent
    inside = shapely.covers(grown, child)
    out: list[Problem] = []
    bad = np.flatnonzero(~inside)
    if not len(bad):
        return out
    outside = gpd.GeoSeries(shapely.difference(child[bad], parent[bad]), crs=crs)
    whole = gpd.GeoSeries(child[bad], crs=crs)
    if crs is not None:
        metric = local_crs(whole)
        outside, whole = outside.to_crs(metric), whole.to_crs(metric)
    for k, outside_m2, total_m2 in zip(bad, outside.area, whole.area, strict=True):
        c, p = pairs[k]
        share = float(outside_m2) / max(float(total_m2), 1e-9)
        out.append(
            Problem(
                f"territory {c} sticks out of its parent {p} by {outside_m2 / 1e6:.3f} km² "
                f"({share:.1%} of its area)",
                rows=tuple(rows_of[c]),
                column=s.GEOMETRY,
                fix=f"redraw {c} inside {p}, or move it under another parent",
            )
        )
    return out


def check_hierarchy(
    territories: pd.DataFrame,
    *,
    territory_types: pd.DataFrame | Mapping[str, int] | None = None,
    check_geometry: bool = True,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> None:
    """Raise an :class:`InputError` listing every error :func:`validate_hierarchy` finds.

    Warnings (levels that are not depths) do not raise.
    """
    problems = validate_hierarchy(
        territories,
        territory_types=territory_types,
        check_geometry=check_geometry,
        tolerance_m=tolerance_m,
    )
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(f"the territory hierarchy has {len(errors)} problem(s)", errors)
