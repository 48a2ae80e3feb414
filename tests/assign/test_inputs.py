"""Account checks: the coordinates memo gives exactly the coordinates read afresh."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.assign import assign_accounts, inputs

coordinate = st.floats(-50, 50, allow_nan=False)
point = st.one_of(
    st.tuples(coordinate, coordinate).map(lambda xy: shapely.Point(*xy)),
    st.just(None),
    st.just(shapely.Point()),
)


def _fresh(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.full(len(geoms), np.nan)
    y = np.full(len(geoms), np.nan)
    for i, g in enumerate(geoms):
        if g is not None and not g.is_empty:
            x[i], y[i] = g.x, g.y
    return x, y


@settings(max_examples=60, deadline=None)
@given(
    st.lists(point, min_size=1, max_size=30),
    st.lists(st.tuples(st.integers(0, 29), point), max_size=4),
)
def test_memo_matches_fresh_coordinates_after_in_place_edits(
    points: list[shapely.Point | None], edits: list[tuple[int, shapely.Point | None]]
) -> None:
    """Same objects: the same coordinates; an array edited in place is read again."""
    values = gpd.GeoSeries(points).values
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(inputs, "_MEMO_MIN", 1)
        first = inputs._remembered_coordinates(values)
        np.testing.assert_array_equal(first[:2], _fresh(np.asarray(values)))
        np.testing.assert_array_equal(first[2], np.flatnonzero(np.isnan(first[0])))
        again = inputs._remembered_coordinates(values)
        assert again[0] is first[0] and again[1] is first[1]  # reused, not read again
        for i, g in edits:
            values[i % len(points)] = g
        after = inputs._remembered_coordinates(values)
        np.testing.assert_array_equal(after[:2], _fresh(np.asarray(values)))
        np.testing.assert_array_equal(after[2], np.flatnonzero(np.isnan(after[0])))


def test_memo_arrays_are_read_only_and_other_arrays_miss() -> None:
    values = gpd.GeoSeries(shapely.points(np.arange(5.0), np.arange(5.0))).values
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(inputs, "_MEMO_MIN", 1)
        x, _, _ = inputs._remembered_coordinates(values)
        with pytest.raises(ValueError):
            x[0] = 1.0
        copy = values.copy()  # the same point objects, another array
        x2, _, _ = inputs._remembered_coordinates(copy)
        assert x2 is not x
        np.testing.assert_array_equal(x2, x)


def test_assignment_is_the_same_with_the_memo() -> None:
    """Assigning the same accounts twice, then after moving one, matches fresh frames."""
    rng = np.random.default_rng(3)
    squares = gpd.GeoDataFrame(
        {"territory_id": ["A", "B"]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)],
        crs=4326,
    )
    accounts = gpd.GeoDataFrame(
        {"account_id": [f"a{i}" for i in range(200)]},
        geometry=gpd.points_from_xy(rng.random(200) * 2, rng.random(200)),
        crs=4326,
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(inputs, "_MEMO_MIN", 1)
        first = assign_accounts(accounts, squares).memberships
        again = assign_accounts(accounts, squares).memberships
        accounts.loc[0, "geometry"] = shapely.Point(1.5, 0.5)  # into B
        moved = assign_accounts(accounts, squares).memberships
    fresh = assign_accounts(accounts.copy(), squares).memberships
    assert first.equals(again)
    assert moved.equals(fresh)
    assert moved.set_index("account_id").loc["a0", "territory_id"] == "B"


def test_unique_ids_are_not_compared_again_until_edited() -> None:
    """The very pyarrow array found unique is trusted; an edit (a new array) is checked."""
    ids = inputs.id_series(pd.Series([f"A{i:03d}" for i in range(50)], dtype="string[pyarrow]"))
    calls: list[int] = []
    real = inputs.pc.less

    def counting(*args: object) -> object:
        calls.append(1)
        return real(*args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(inputs, "_MEMO_MIN", 1)
        mp.setattr(inputs.pc, "less", counting)
        assert inputs._all_unique(ids) and len(calls) == 1
        assert inputs._all_unique(ids) and len(calls) == 1  # remembered
        ids[7] = "A000"  # a repeated id: a new array
        assert not inputs._all_unique(ids)
        assert len(calls) == 2
