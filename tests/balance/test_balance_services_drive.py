"""Drive hours from reps' homes for a drive limit: on roads, estimated, in a workspace."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from planner.balance import BalanceParams, prepare_units
from planner.errors import InputError
from planner.routing import estimate_matrix
from planner.routing.network import build_network
from planner.samples import sample_path
from planner.services.balance_inputs import balance_inputs, home_drive_hours
from planner.services.balance_runs import BalanceRequest, run_balance
from planner.workspace import open_workspace

MONACO_OSM = Path(__file__).resolve().parents[1] / "data" / "osm" / "monaco_monte_carlo.osm.gz"
MONACO_HOME = (43.7390, 7.4240)


def _monaco_cells() -> gpd.GeoDataFrame:
    """A 4 x 3 grid of cells over Monte Carlo, in degrees."""
    lats = np.linspace(43.7360, 43.7440, 4)
    lons = np.linspace(7.4180, 7.4285, 5)
    boxes = [shapely.box(lons[i], lats[j], lons[i + 1], lats[j + 1])
             for j in range(3) for i in range(4)]
    return gpd.GeoDataFrame({"unit_id": [f"c{i}" for i in range(12)], "w": 1.0},
                            geometry=boxes, crs="EPSG:4326")


def test_without_roads_the_hours_are_routings_estimate() -> None:
    """No network: each home-to-unit figure is planner.routing's estimate for the same points."""
    bu = prepare_units(_monaco_cells())
    hours, method = home_drive_hours(bu, {"R1": MONACO_HOME})
    centre = bu.geometry.centroid.to_crs("EPSG:4326")
    lat = np.concatenate([[MONACO_HOME[0]], centre.y.to_numpy()])
    lon = np.concatenate([[MONACO_HOME[1]], centre.x.to_numpy()])
    expected = estimate_matrix(lat, lon).duration_s[0, 1:] / 3600.0
    np.testing.assert_allclose(hours.loc["R1"].to_numpy(), expected, rtol=1e-9)
    assert method.startswith("estimate")


@pytest.mark.slow
def test_on_roads_the_hours_follow_the_network() -> None:
    """With Monte Carlo's roads: finite fastest-path hours, not the estimate, said so."""
    network = build_network(MONACO_OSM)
    bu = prepare_units(_monaco_cells())
    roads, method = home_drive_hours(bu, {"R1": MONACO_HOME}, network=network)
    estimate, _ = home_drive_hours(bu, {"R1": MONACO_HOME})
    assert method.startswith("roads")
    values = roads.loc["R1"].to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all()
    assert not np.allclose(values, estimate.loc["R1"].to_numpy())


def test_a_workspace_rebalance_keeps_a_drive_limit_from_the_owners_homes() -> None:
    """Helsinki: rebalancing under a 1 h limit measures from each territory's owner; it is kept."""
    ws = open_workspace(sample_path("helsinki"))
    inputs = balance_inputs(ws, "2026-plan")
    params = BalanceParams(weight="workload_h", tolerance=0.05, max_drive_h=1.0)
    result = run_balance(ws, "2026-plan", inputs, BalanceRequest(mode="rebalance", params=params))
    drive = result.plan.parameters["drive"]
    assert drive["met"] and drive["drive_max_h"] <= 1.0
    assert "drive_max_h" in result.plan.metrics.territories.columns


def test_a_workspace_design_with_a_drive_limit_needs_reps() -> None:
    """Without reps a design has no homes to drive from: the request says so."""
    with pytest.raises(InputError, match="needs the reps"):
        BalanceRequest(mode="design", params=BalanceParams(weight="w", k=4, max_drive_h=1.0))
