"""Plan metrics: deviation, contiguity, compactness, disruption and distance to rep homes."""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import pytest

from planner.balance import compute_metrics
from planner.errors import InputError


def _quadrants() -> pd.Series:
    """The 4x4 grid split into four 2x2 quadrants A (bottom left), B, C, D."""
    out = {}
    for j in range(4):
        for i in range(4):
            out[f"u{j * 4 + i}"] = "AB"[i >= 2] if j < 2 else "CD"[i >= 2]
    return pd.Series(out)


def test_square_quadrants_are_balanced_contiguous_and_compact(grid_4x4_units) -> None:
    """Four 2x2 quadrants: zero deviation, one piece each, Polsby-Popper pi/4."""
    m = compute_metrics(grid_4x4_units, _quadrants(), weight="w")
    assert m.max_abs_deviation == pytest.approx(0.0)
    assert m.all_contiguous
    assert m.polsby_popper_mean == pytest.approx(math.pi / 4)
    assert m.territories["area_km2"].tolist() == pytest.approx([4.0] * 4)
    assert m.territories["dispersion_km"].tolist() == pytest.approx([math.sqrt(0.5)] * 4)


def test_deviation_follows_targets(grid_4x4_units) -> None:
    """Deviation is measured against given targets; the summary ignores locked territories."""
    targets = {"A": 2.0, "B": 4.0, "C": 4.0, "D": 8.0}
    m = compute_metrics(grid_4x4_units, _quadrants(), weight="w", targets=targets,
                        locked_territories=["A"])
    assert m.territories["deviation"].tolist() == pytest.approx([1.0, 0.0, 0.0, -0.5])
    assert m.max_abs_deviation == pytest.approx(0.5)


def test_a_territory_in_two_pieces_is_flagged(grid_4x4_units) -> None:
    """Swapping two far corners leaves two territories in two pieces each."""
    plan = _quadrants()
    plan["u0"], plan["u15"] = "D", "A"
    m = compute_metrics(grid_4x4_units, plan, weight="w")
    assert not m.all_contiguous
    assert m.noncontiguous == ("A", "D")
    assert m.territories.set_index("territory_id")["pieces"].to_dict() == {
        "A": 2, "B": 1, "C": 1, "D": 2}


def test_disruption_counts_units_accounts_workload_and_revenue(grid_4x4_units) -> None:
    """Moving one unit moves its accounts, workload and revenue."""
    units = grid_4x4_units.assign(account_count=range(16), annual_revenue=10.0)
    after = _quadrants()
    after["u2"] = "A"
    m = compute_metrics(units, after, weight="w", baseline=_quadrants())
    d = m.disruption
    assert d is not None
    assert (d.moved_units, d.moved_accounts, d.moved_workload, d.moved_revenue) == (1, 2, 1.0, 10.0)
    assert d.moved_account_share == pytest.approx(2 / sum(range(16)))
    assert m.to_dict()["moved_units"] == 1


def test_home_distance_from_unit_centroids(grid_4x4_units) -> None:
    """A rep living at the centre of a quadrant is on average 0.707 km from its units."""
    centres = {"A": (1000, 1000), "B": (3000, 1000), "C": (1000, 3000), "D": (3000, 3000)}
    reps = gpd.GeoDataFrame(
        {"rep_id": list(centres)},
        geometry=gpd.points_from_xy([500_000 + x for x, _ in centres.values()],
                                    [3_700_000 + y for _, y in centres.values()]),
        crs=grid_4x4_units.crs,
    )
    m = compute_metrics(grid_4x4_units, _quadrants(), weight="w", reps=reps)
    assert m.home_distance_mean_km == pytest.approx(math.sqrt(0.5))
    assert m.territories["home_distance_km"].tolist() == pytest.approx([math.sqrt(0.5)] * 4)


def test_home_distance_from_account_points(grid_4x4_units) -> None:
    """Account points are placed in units and measured to their territory's rep home."""
    reps = gpd.GeoDataFrame(
        {"rep_id": ["A", "B", "C", "D"]},
        geometry=gpd.points_from_xy([500_000.0] * 4, [3_700_000.0] * 4),
        crs=grid_4x4_units.crs,
    )
    accounts = gpd.GeoDataFrame(
        {"account_id": ["x", "y"]},
        geometry=gpd.points_from_xy([503_000.0, 500_300.0], [3_704_000.0 - 1.0, 3_700_400.0]),
        crs=grid_4x4_units.crs,
    ).to_crs("EPSG:4326")
    m = compute_metrics(grid_4x4_units, _quadrants(), weight="w", reps=reps, accounts=accounts)
    assert m.home_distance_max_km == pytest.approx(5.0, abs=1e-3)
    assert m.home_distance_mean_km == pytest.approx((5.0 + 0.5) / 2, abs=1e-3)


def test_unassigned_and_unknown_units_are_named(grid_4x4_units) -> None:
    """A plan missing a unit, or naming a unit that does not exist, is rejected."""
    plan = _quadrants().drop("u5")
    plan["zz"] = "A"
    with pytest.raises(InputError, match=r"units u5 have no territory[\s\S]*units zz"):
        compute_metrics(grid_4x4_units, plan, weight="w")


def test_metrics_to_dict_is_json_ready(grid_4x4_units) -> None:
    """to_dict holds only JSON types."""
    import json

    m = compute_metrics(grid_4x4_units, _quadrants(), weight="w")
    data = json.loads(json.dumps(m.to_dict()))
    assert data["n_territories"] == 4
    assert data["territories"][0]["territory_id"] == "A"


def test_invalid_polygons_are_repaired_with_a_warning(grid_4x4_units) -> None:
    """A self-crossing unit polygon is repaired (and said so) before measuring."""
    import shapely

    from planner.errors import GeometryRepairWarning

    units = grid_4x4_units.copy()
    x0, y0 = 500_000.0, 3_700_000.0
    units.loc[0, "geometry"] = shapely.Polygon(
        [(x0, y0), (x0 + 1000, y0 + 1000), (x0 + 1000, y0), (x0, y0 + 1000)])
    with pytest.warns(GeometryRepairWarning, match="units u0"):
        m = compute_metrics(units, _quadrants(), weight="w")
    assert m.territories["area_km2"][0] == pytest.approx(3.5)
