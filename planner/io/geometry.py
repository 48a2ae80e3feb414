"""Checks of imported shapes' coordinates: not a number, infinite, or off the globe.

GEOS refuses to work on NaN or infinite coordinates (it raises from deep
inside ``make_valid``), and a longitude/latitude outside -180..180 / -90..90
is either a typo or a projected CRS read as degrees. These checks find such
shapes so the readers can name them instead of crashing or placing them
somewhere wrong.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["CoordinateTrouble", "coordinate_trouble", "looks_projected"]


class CoordinateTrouble:
    """Which shapes of a series have coordinates that cannot be used.

    Parameters
    ----------
    nonfinite
        Shapes with a NaN or infinite coordinate.
    off_globe
        Shapes (with finite coordinates) outside longitude -180..180 or
        latitude -90..90.
    example
        One offending coordinate per shape, as ``"x, y"`` text.
    """

    def __init__(self, nonfinite: pd.Series, off_globe: pd.Series, example: pd.Series) -> None:
        self.nonfinite = nonfinite
        self.off_globe = off_globe
        self.example = example

    @property
    def any(self) -> bool:
        """Whether any shape is in trouble."""
        return bool(self.nonfinite.any() or self.off_globe.any())


_BLOCK = 50_000  # shapes whose coordinates are looked at a time (a copy of each block's)


def coordinate_trouble(geom: gpd.GeoSeries) -> CoordinateTrouble:
    """Find shapes with NaN/infinite coordinates or coordinates off the globe.

    The coordinates are looked at a block of shapes at a time, so a large
    file's shapes are never copied whole.

    Parameters
    ----------
    geom
        Shapes in longitude/latitude (EPSG:4326).
    """
    n = len(geom)
    values = geom.to_numpy()
    nonfinite = np.zeros(n, dtype=bool)
    off = np.zeros(n, dtype=bool)
    example = np.full(n, None, dtype=object)
    for start in range(0, n, _BLOCK):
        _block_trouble(values[start : start + _BLOCK], start, nonfinite, off, example)
    off &= ~nonfinite
    index = geom.index
    return CoordinateTrouble(
        pd.Series(nonfinite, index=index),
        pd.Series(off, index=index),
        pd.Series(example, index=index, dtype=object),
    )


def _block_trouble(
    values: np.ndarray, start: int, nonfinite: np.ndarray, off: np.ndarray, example: np.ndarray
) -> None:
    """Mark the shapes of one block (the ``start``-th onwards) in the arrays of all shapes."""
    coords, owner = shapely.get_coordinates(values, include_z=False, return_index=True)
    owner = owner + start
    finite = np.isfinite(coords).all(axis=1)
    in_range = finite & (np.abs(coords[:, 0]) <= 180) & (np.abs(coords[:, 1]) <= 90)
    nonfinite[owner[~finite]] = True
    off[owner[~in_range & finite]] = True
    bad = ~in_range
    for idx, (x, y) in zip(owner[bad][::-1], coords[bad][::-1], strict=True):
        example[idx] = f"{x:g}, {y:g}"  # reversed: the first offending point wins


def looks_projected(geom: gpd.GeoSeries) -> bool:
    """Whether most shapes lie far outside longitude/latitude, as metres or feet would.

    Projected coordinates are usually in the thousands or millions; a shape a
    little over the antimeridian or a single typo does not make a file projected.
    """
    present = geom.dropna()
    present = present[~present.is_empty]
    if present.empty:
        return False
    values = present.to_numpy()
    shapes_far = 0
    for start in range(0, len(values), _BLOCK):
        coords, owner = shapely.get_coordinates(values[start : start + _BLOCK], return_index=True)
        finite = np.isfinite(coords).all(axis=1)
        far = finite & ((np.abs(coords[:, 0]) > 360) | (np.abs(coords[:, 1]) > 360))
        shapes_far += np.unique(owner[far]).size
    return shapes_far > len(present) / 2
