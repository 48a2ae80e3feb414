"""Tiny unit layouts for the balance tests: square grids and grids with islands."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from planner.balance import design_territories, prepare_units
from planner.balance.metrics import encode_assignment
from planner.balance.search import SearchState
from planner.balance.units import BalanceUnits

GridFactory = Callable[..., gpd.GeoDataFrame]

#: A projected CRS (UTM 16N), so grids are measured in metres as they are.
GRID_CRS = "EPSG:32616"


def make_grid(
    nx: int,
    ny: int,
    weights: Sequence[float] | None = None,
    *,
    size_m: float = 1000.0,
    origin: tuple[float, float] = (500_000.0, 3_700_000.0),
    prefix: str = "u",
) -> gpd.GeoDataFrame:
    """Return an ``nx`` by ``ny`` grid of square units ``u0..`` (row by row) with a ``w`` column."""
    x0, y0 = origin
    boxes = [
        shapely.box(x0 + i * size_m, y0 + j * size_m, x0 + (i + 1) * size_m, y0 + (j + 1) * size_m)
        for j in range(ny)
        for i in range(nx)
    ]
    w = np.ones(nx * ny) if weights is None else np.asarray(weights, dtype=float)
    return gpd.GeoDataFrame(
        {"unit_id": [f"{prefix}{i}" for i in range(nx * ny)], "w": w},
        geometry=boxes,
        crs=GRID_CRS,
    )


def grid_neighbours(nx: int, ny: int) -> dict[str, set[str]]:
    """Rook neighbours of ``make_grid(nx, ny)`` computed from grid positions (independent check)."""
    out: dict[str, set[str]] = {}
    for j in range(ny):
        for i in range(nx):
            me = j * nx + i
            nbrs = set()
            for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                a, b = i + di, j + dj
                if 0 <= a < nx and 0 <= b < ny:
                    nbrs.add(f"u{b * nx + a}")
            out[f"u{me}"] = nbrs
    return out


def is_connected(members: set[str], neighbours: dict[str, set[str]]) -> bool:
    """Whether ``members`` form one piece under ``neighbours``."""
    if not members:
        return False
    start = next(iter(members))
    seen = {start}
    stack = [start]
    while stack:
        x = stack.pop()
        for y in neighbours[x] & members:
            if y not in seen:
                seen.add(y)
                stack.append(y)
    return seen == members


@pytest.fixture(scope="session")
def grid() -> GridFactory:
    """Factory of square grids (see :func:`make_grid`)."""
    return make_grid


@pytest.fixture(scope="session")
def connected() -> Callable[[set[str], int, int], bool]:
    """Check, independently of the library, that unit ids form one piece of an nx by ny grid."""

    def check(members: set[str], nx: int, ny: int) -> bool:
        return is_connected(members, grid_neighbours(nx, ny))

    return check


@pytest.fixture
def grid_4x4_units() -> gpd.GeoDataFrame:
    """A 4 by 4 grid of 1 km squares with unit weights."""
    return make_grid(4, 4)


@pytest.fixture
def two_islands_units() -> gpd.GeoDataFrame:
    """A 4x3 mainland, a 2x1 island 2.5 km east of it and a lone square island far north."""
    main = make_grid(4, 3)
    east = make_grid(2, 1, origin=(500_000.0 + 6_500.0, 3_700_000.0), prefix="e")
    north = make_grid(1, 1, origin=(500_000.0, 3_700_000.0 + 9_000.0), prefix="n")
    return gpd.GeoDataFrame(
        pd.concat([main, east, north], ignore_index=True), crs=GRID_CRS
    )


def grid_plan_state(seed: int, pinned: int = 0) -> tuple[SearchState, BalanceUnits, list[str]]:
    """A 4-territory design of an 8 x 6 grid within 5 %, not rounded off, as a search state.

    ``pinned`` random units are locked. Returns the state, the prepared units
    and the territory names in label order.
    """
    units = make_grid(8, 6, np.random.default_rng(seed).uniform(1, 4, 48).tolist())
    plan = design_territories(units, weight="w", k=4, tolerance=0.05, seed=seed, restarts=1,
                              compactness_sweeps=0)
    bu = prepare_units(units)
    labels, territories = encode_assignment(bu, plan.assignment)
    values = units["w"].to_numpy(float)
    movable = np.ones(bu.n, bool)
    movable[np.random.default_rng(seed).choice(bu.n, pinned, replace=False)] = False
    targets = np.full(4, values.sum() / 4)
    state = SearchState(bu, values, labels, targets, movable, np.ones(4, bool))
    return state, bu, list(territories)
