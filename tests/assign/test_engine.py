"""Assignment against its peer and a brute force: sjoin off the borders, the ranking on overlaps."""

from __future__ import annotations

import gc
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import schema as s
from planner.assign import assign_accounts, prepare_territories
from planner.assign.collect import collector_paused
from planner.errors import InputError

CRS = "EPSG:32616"  # metres: a shape's area is its planar area, as the ranking sees it


def _cells(n: int, seed: int) -> gpd.GeoDataFrame:
    """``n`` Voronoi cells clipped to a 10 km square, ids in shuffled order."""
    rng = np.random.default_rng(seed)
    frame = shapely.box(0, 0, 10_000, 10_000)
    seeds = shapely.multipoints(rng.random((n, 2)) * 10_000)
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame))
    polys = shapely.intersection(cells, frame)
    ids = [f"T{k:03d}" for k in rng.permutation(len(polys))]
    return gpd.GeoDataFrame({s.TERRITORY_ID: ids}, geometry=polys, crs=CRS)


def _points(n: int, seed: int, *, missing: int = 0) -> gpd.GeoDataFrame:
    """``n`` accounts over (and a little beyond) the square, the first ``missing`` unlocated."""
    rng = np.random.default_rng(seed + 1)
    xy = rng.random((n, 2)) * 11_000 - 500
    geoms = list(shapely.points(xy))
    for k in range(min(missing, n)):
        geoms[k] = None if k % 2 else shapely.Point()
    ids = [f"A{k:04d}" for k in rng.permutation(n)]
    return gpd.GeoDataFrame({s.ACCOUNT_ID: ids}, geometry=geoms, crs=CRS)


def _territory_of(memberships: pd.DataFrame) -> dict[str, str]:
    return dict(
        zip(
            memberships[s.ACCOUNT_ID].astype(str),
            memberships[s.TERRITORY_ID].astype(str),
            strict=True,
        )
    )


@settings(derandomize=True, deadline=None, max_examples=20)
@given(
    cells=st.integers(1, 60),
    points=st.integers(0, 400),
    missing=st.integers(0, 3),
    seed=st.integers(0, 10_000),
    grid=st.booleans(),
)
def test_off_the_borders_every_account_gets_the_territory_sjoin_gives(
    cells: int, points: int, missing: int, seed: int, grid: bool
) -> None:
    """Cold (a frame) or warm (a prepared layout, with or without its cell grid), each located
    account off every border is in exactly sjoin(within)'s territory, the others unassigned."""
    layout = _cells(cells, seed)
    accounts = _points(points, seed, missing=missing)
    prepared = prepare_territories(layout, CRS)
    if grid:
        prepared.index(10**9)  # the grid, as a layout builds it after many accounts
    peer = gpd.sjoin(accounts, layout, predicate="within")
    theirs = dict(zip(peer[s.ACCOUNT_ID], peer[s.TERRITORY_ID], strict=True))
    borders = shapely.union_all(shapely.boundary(layout.geometry.to_numpy()))
    on_border = shapely.intersects(borders, accounts.geometry.to_numpy())
    for result in (assign_accounts(accounts, layout), assign_accounts(accounts, prepared)):
        ours = _territory_of(result.memberships)
        assert len(ours) == len(result.memberships)  # one membership per account
        unassigned = set(result.unassigned[s.ACCOUNT_ID].astype(str))
        for account, border in zip(accounts[s.ACCOUNT_ID], on_border, strict=True):
            assert (account in ours) != (account in unassigned)
            if not border:
                assert ours.get(account) == theirs.get(account)


def _boxes(spec: list[tuple[int, int, int, int]]) -> gpd.GeoDataFrame:
    """Boxes on a 100 m lattice (corners and edges shared often), ids B00, B01, ..."""
    polys = [shapely.box(x * 100, y * 100, (x + w) * 100, (y + h) * 100) for x, y, w, h in spec]
    ids = [f"B{k:02d}" for k in range(len(polys))]
    return gpd.GeoDataFrame({s.TERRITORY_ID: ids}, geometry=polys, crs=CRS)


def _expected(layout: gpd.GeoDataFrame, point: shapely.Point) -> str | None:
    """The documented ranking by brute force: inside beats border, then the smaller shape,
    then the lowest id."""
    best: tuple[int, float, str] | None = None
    for tid, shape in zip(layout[s.TERRITORY_ID], layout.geometry, strict=True):
        if not shape.covers(point):
            continue
        border = 0 if shape.contains_properly(point) else 1
        key = (border, 0.0 if border else shape.area, tid)
        best = key if best is None or key < best else best
    return None if best is None else best[2]


_BOX = st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(1, 4), st.integers(1, 4))


@settings(derandomize=True, deadline=None, max_examples=30)
@given(
    boxes=st.lists(_BOX, min_size=1, max_size=12),
    lattice=st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), max_size=60),
)
def test_overlaps_and_borders_follow_the_ranking(
    boxes: list[tuple[int, int, int, int]], lattice: list[tuple[int, int]]
) -> None:
    """Overlapping boxes of one type, accounts on a 50 m lattice (many on edges and corners):
    each account's one primary territory is the brute-force ranking's first."""
    layout = _boxes(boxes)
    points = [shapely.Point(i * 50, j * 50) for i, j in lattice]
    accounts = gpd.GeoDataFrame(
        {s.ACCOUNT_ID: [f"A{k:03d}" for k in range(len(points))]}, geometry=points, crs=CRS
    )
    result = assign_accounts(accounts, layout)
    mem = result.memberships
    assert mem[s.IS_PRIMARY].all()
    ours = _territory_of(mem)
    assert len(ours) == len(mem)
    for account, point in zip(accounts[s.ACCOUNT_ID], points, strict=True):
        assert ours.get(account) == _expected(layout, point)
    assert list(mem[s.ACCOUNT_ID]) == sorted(mem[s.ACCOUNT_ID])  # rows follow the accounts


def test_empty_and_missing_points_are_unlocated_and_a_line_is_refused() -> None:
    """An empty point (GEOS has no coordinates for it) and a missing one are accounts without a
    location; a line among the points is an error naming its account and row."""
    layout = _cells(5, 3)
    accounts = gpd.GeoDataFrame(
        {s.ACCOUNT_ID: ["in", "empty", "none"]},
        geometry=[shapely.Point(5_000, 5_000), shapely.Point(), None],
        crs=CRS,
    )
    result = assign_accounts(accounts, layout)
    assert set(result.memberships[s.ACCOUNT_ID]) == {"in"}
    reasons = dict(zip(result.unassigned[s.ACCOUNT_ID], result.unassigned[s.REASON], strict=True))
    assert reasons == {
        "empty": "no location, and no rule-only territory matches it",
        "none": "no location, and no rule-only territory matches it",
    }
    bad = accounts.copy()
    bad.loc[1, "geometry"] = shapely.LineString([(0, 0), (1, 1)])
    with pytest.raises(InputError, match="accounts empty have a LineString") as info:
        assign_accounts(bad, layout)
    assert info.value.problems[0].rows == (2,)


def test_the_result_frames_keep_their_dtypes() -> None:
    """Ids stay text, the repeated texts are categorical, reasons are plain text (object)."""
    layout = _cells(8, 4)
    accounts = _points(200, 4, missing=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = assign_accounts(accounts, layout)
    mem, un = result.memberships, result.unassigned
    assert list(mem.columns) == [s.ACCOUNT_ID, s.TERRITORY_ID, s.CAUSE, s.DETAIL, s.IS_PRIMARY]
    for column in (s.TERRITORY_ID, s.CAUSE, s.DETAIL):
        assert isinstance(mem[column].dtype, pd.CategoricalDtype)
    assert list(mem[s.CAUSE].cat.categories) == ["spatial", "rule", "manual"]
    assert mem[s.IS_PRIMARY].dtype == bool
    assert un[s.REASON].dtype == object
    assert pd.api.types.is_string_dtype(mem[s.ACCOUNT_ID])
    assert mem.index.equals(pd.RangeIndex(len(mem)))
    assert un.index.equals(pd.RangeIndex(len(un)))


def test_the_cycle_collector_is_held_back_during_a_run_and_restored_after() -> None:
    """Nested pauses restore the collector once at the end, and leave it off if it was off."""
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    assign_accounts(_points(10, 1), _cells(3, 1))
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
