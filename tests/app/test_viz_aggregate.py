"""Accounts counted per map cell at every zoom, and the accounts of a view (viz.aggregate)."""

from __future__ import annotations

import base64

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import schema as s
from planner import viz
from planner.errors import InputError
from planner.viz.aggregate import (
    CELL_PX,
    MAX_ZOOM,
    MIXED,
    account_points,
    cells_at,
    mercator,
    overview,
    view_chunk,
)
from tests.app.conftest import build_small_workspace


def _array(payload: dict[str, object], key: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(str(payload[key])), dtype=dtype)


def _points(n: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(24.80, 25.10, n), rng.uniform(60.10, 60.30, n)
    return gpd.GeoDataFrame(
        {s.ACCOUNT_ID: [f"A{i}" for i in range(n)], s.NAME: [f"Shop {i}" for i in range(n)]},
        geometry=gpd.points_from_xy(lon, lat),
        crs=s.STORAGE_CRS,
    )


def _small() -> tuple[object, object]:
    ws = build_small_workspace(60, seed=3)
    owner = viz.primary_territory(ws.memberships("base"), ws.territories("base"))
    colors = {"T1": "#111111", "T2": "#222222", "T3": "#333333"}
    return ws, account_points(ws.accounts, territory_of=owner, colors=colors)


def test_every_level_counts_every_account_once_with_its_territory() -> None:
    """Each zoom's cells sum to the accounts; a cell of one territory says which, else MIXED."""
    ws, points = _small()
    summary = overview(points)
    assert summary["n"] == len(ws.accounts) == 60
    assert summary["territories"][-1] == "(none)" and summary["colors"][:3] == [
        "#111111", "#222222", "#333333"]  # fmt: skip
    levels = summary["levels"]
    assert [lv["z"] for lv in levels] == list(range(len(levels))) and len(levels) == MAX_ZOOM + 1
    for lv in levels:
        counts = _array(lv, "c", "<u4")
        assert counts.sum() == 60 and len(counts) == lv["n"]
    top = levels[0]
    assert _array(top, "t", "<u2").tolist() == [MIXED]  # the whole world: every territory
    deepest = levels[-1]
    ts = _array(deepest, "t", "<u2")
    alone = _array(deepest, "c", "<u4") == 1
    assert (ts[alone] < len(summary["colors"])).all()  # a cell of one account has its colour


def test_cells_sit_at_the_mean_place_of_their_accounts() -> None:
    """A cell's position is the mean Web Mercator position of the accounts in its 64 px box."""
    frame = _points(500, seed=1)
    points = account_points(frame, territory_of={}, colors={})
    level = cells_at(points, 12)
    x, y = _array(level, "x", "<f4"), _array(level, "y", "<f4")
    side = (256 << 12) // CELL_PX
    mx, my = mercator(frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy())
    cell = np.floor(mx * side).astype(int) * 10**6 + np.floor(my * side).astype(int)
    for j in range(level["n"]):
        key = int(np.floor(x[j] * side)) * 10**6 + int(np.floor(y[j] * side))
        inside = cell == key
        assert inside.any()
        assert abs(float(mx[inside].mean()) - float(x[j])) < 1e-6


def test_the_budget_keeps_the_overview_small() -> None:
    """Levels stop at the deepest one with at most ``budget`` cells."""
    points = account_points(_points(5000, seed=2), territory_of={}, colors={})
    summary = overview(points, budget=300)
    assert all(lv["n"] <= 300 for lv in summary["levels"])
    assert len(summary["levels"]) < MAX_ZOOM + 1
    assert cells_at(points, len(summary["levels"]))["n"] > 300  # the next level is over it


def test_a_view_with_few_accounts_sends_them_all_with_names_and_ids() -> None:
    ws, points = _small()
    west, south, east, north = ws.accounts.total_bounds
    chunk = view_chunk(points, (south, west, north, east), 14, limit=100)
    assert chunk["kind"] == "points" and chunk["n"] == 60
    ids = str(chunk["ids"]).split("\u001f")
    assert sorted(ids) == sorted(ws.accounts[s.ACCOUNT_ID].astype(str))
    xy = _array(chunk, "xy", "<i4").reshape(-1, 2) / 1e5
    by_id = ws.accounts.set_index(ws.accounts[s.ACCOUNT_ID].astype(str)).geometry
    assert np.abs(xy[:, 0] - by_id[ids].y.to_numpy()).max() <= 0.5e-5
    box = chunk["box"]
    assert box[0] <= south and box[1] <= west and box[2] >= north and box[3] >= east


def test_a_view_with_too_many_accounts_sends_cells_of_its_zoom() -> None:
    frame = _points(3000, seed=4)
    points = account_points(frame, territory_of={}, colors={})
    view = (60.15, 24.85, 60.25, 25.05)
    chunk = view_chunk(points, view, 13, limit=100)
    assert chunk["kind"] == "cells" and chunk["z"] == 13
    south, west, north, east = chunk["box"]
    lon, lat = frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()
    inside = (lat >= south) & (lat <= north) & (lon >= west) & (lon <= east)
    assert _array(chunk, "c", "<u4").sum() == inside.sum()


@pytest.mark.parametrize(
    ("view", "zoom"),
    [((60.2, 24.9, 60.1, 25.0), 10), (("x", 1, 2, 3), 10), ((60.1, 24.9, 60.2, 25.0), 40)],
)
def test_a_bad_view_is_a_clear_error(view: tuple, zoom: int) -> None:
    _, points = _small()
    with pytest.raises(InputError) as info:
        view_chunk(points, view, zoom, limit=10)
    assert info.value.problems and info.value.problems[0].fix


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=300),
    seed=st.integers(min_value=0, max_value=10_000),
    zoom=st.integers(min_value=0, max_value=MAX_ZOOM),
    limit=st.integers(min_value=0, max_value=400),
)
def test_a_chunk_holds_exactly_the_accounts_of_its_box(
    n: int, seed: int, zoom: int, limit: int
) -> None:
    """Points or cells, a chunk accounts for every account inside its box, and no other."""
    frame = _points(n, seed)
    points = account_points(frame, territory_of={}, colors={})
    chunk = view_chunk(points, (60.15, 24.9, 60.2, 25.0), zoom, limit=limit)
    south, west, north, east = chunk["box"]
    lon, lat = frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()
    inside = int(((lat >= south) & (lat <= north) & (lon >= west) & (lon <= east)).sum())
    if chunk["kind"] == "points":
        assert chunk["n"] == inside <= limit
    else:
        assert int(_array(chunk, "c", "<u4").sum()) == inside > limit
    assert sum(int(_array(lv, "c", "<u4").sum()) for lv in overview(points)["levels"][:1]) == n
