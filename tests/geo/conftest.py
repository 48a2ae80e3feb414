"""Helpers shared by the point-location tests."""

from __future__ import annotations

import numpy as np
import shapely


def border_points(
    polys: np.ndarray, seed: int, n: int, *, missing_every: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Random points, every vertex, and midpoints of edges (exactly on borders).

    With ``missing_every`` > 0, every such point's coordinates are NaN (a row
    without a location).
    """
    rng = np.random.default_rng(seed)
    coords = shapely.get_coordinates(polys)
    mids = (coords[1:] + coords[:-1]) / 2
    pick = rng.integers(0, len(mids), min(len(mids), n // 4))
    xy = np.vstack([rng.random((n, 2)) * 12 - 1, coords, mids[pick]])
    if missing_every:
        xy[::missing_every] = np.nan
    return xy[:, 0].copy(), xy[:, 1].copy()
