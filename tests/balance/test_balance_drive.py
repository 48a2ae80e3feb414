"""Drive time from the rep's home: a hard or soft limit, drive compactness, its report."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.balance import (
    BalanceParams,
    design_territories,
    prepare_units,
    rebalance,
    tradeoff_curve,
)
from planner.balance.drive import ESTIMATE_CIRCUITY, ESTIMATE_SPEED_KPH
from planner.errors import InfeasibleError, InputError, ToleranceNotMetError
from planner.routing import EstimateParams
from tests.balance.conftest import make_grid

SIZE_M = 5000.0
ORIGIN = (500_000.0, 3_700_000.0)


def _reps(cells: list[tuple[int, int]], crs: object) -> gpd.GeoDataFrame:
    """Reps ``A, B, ...`` living at the centre of grid cells ``(column, row)``."""
    points = [shapely.Point(ORIGIN[0] + SIZE_M * (x + 0.5), ORIGIN[1] + SIZE_M * (y + 0.5))
              for x, y in cells]
    return gpd.GeoDataFrame({"rep_id": [chr(65 + i) for i in range(len(cells))]},
                            geometry=points, crs=crs)


@pytest.fixture
def county_grid() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """12 x 12 counties of 5 km with uneven workload, four reps in the four quarters."""
    units = make_grid(12, 12, np.random.default_rng(0).lognormal(0, 0.3, 144), size_m=SIZE_M)
    return units, _reps([(2, 2), (9, 2), (2, 9), (9, 9)], units.crs)


def _hours(units: gpd.GeoDataFrame, reps: gpd.GeoDataFrame, plan) -> pd.Series:  # type: ignore[no-untyped-def]
    """Each unit's estimated drive from its territory's rep, computed here from coordinates."""
    home = {r: (g.x, g.y) for r, g in zip(reps["rep_id"], reps.geometry, strict=True)}
    cent = units.set_index("unit_id").geometry.centroid
    out = {}
    for u, t in plan.assignment.items():
        hx, hy = home[t]
        metres = np.hypot(cent[u].x - hx, cent[u].y - hy)
        out[u] = metres * 1.3 / 40_000.0
    return pd.Series(out)


def test_the_estimate_is_the_routing_estimate() -> None:
    """Balancing repeats routing's straight-line estimate (they stay independent): same figures."""
    assert EstimateParams().circuity == ESTIMATE_CIRCUITY
    assert EstimateParams().speed_kph == ESTIMATE_SPEED_KPH


def test_bad_drive_parameters_are_listed_together() -> None:
    """Every bad drive field is one problem of one InputError."""
    with pytest.raises(InputError, match="balance parameters are invalid") as info:
        BalanceParams(weight="w", max_drive_h=0, drive_limit="firm", drive_penalty=-1,
                      compactness="round")
    columns = {p.column for p in info.value.problems}
    assert columns == {"max_drive_h", "drive_limit", "drive_penalty", "compactness"}


def test_a_hard_limit_keeps_every_unit_within_reach(county_grid) -> None:
    """Without a limit a rep drives 0.81 h; a 0.75 h limit is kept by every unit and binds."""
    units, reps = county_grid
    free = design_territories(units, BalanceParams(weight="w"), reps=reps)
    assert _hours(units, reps, free).max() > 0.75
    plan = design_territories(units, BalanceParams(weight="w", max_drive_h=0.75), reps=reps)
    drive = plan.parameters["drive"]
    assert drive["met"] and drive["units_beyond"] == 0 and drive["drive_limit"] == "hard"
    assert _hours(units, reps, plan).max() <= 0.75 + 1e-9
    assert plan.metrics.max_abs_deviation <= 0.02
    table = plan.metrics.territories
    assert (table["drive_max_h"] <= 0.75 + 1e-9).all()
    assert drive["binds"] and set(drive["binds"]) <= set(table["territory_id"])
    assert drive["method"].startswith("estimate")


def test_a_limit_no_rep_can_keep_names_the_units_out_of_reach(county_grid) -> None:
    """0.3 h leaves the middle of the map to nobody: refused, naming units and the limit needed."""
    units, reps = county_grid
    with pytest.raises(InfeasibleError, match=r"out of reach of every rep within 0\.3 h") as info:
        design_territories(units, BalanceParams(weight="w", max_drive_h=0.3), reps=reps)
    text = str(info.value)
    assert "u65" in text and "raise the drive limit to 0.69 h" in text
    assert "make the limit soft" in text


def test_a_soft_limit_is_a_penalty_not_a_refusal(county_grid) -> None:
    """A light soft 0.3 h limit returns an even plan, reporting the units beyond it."""
    units, reps = county_grid
    plan = design_territories(units, BalanceParams(weight="w", max_drive_h=0.3,
                                                   drive_limit="soft", drive_penalty=0.01),
                              reps=reps)
    drive = plan.parameters["drive"]
    assert drive["drive_limit"] == "soft" and not drive["met"]
    assert drive["units_beyond"] == int((_hours(units, reps, plan) > 0.3 + 1e-9).sum()) > 0
    assert plan.metrics.max_abs_deviation <= 0.02


def test_a_heavy_soft_limit_is_named_when_it_costs_the_tolerance(county_grid) -> None:
    """At the default weight the 0.3 h limit outweighs balance: the message says it binds."""
    units, reps = county_grid
    with pytest.raises(ToleranceNotMetError, match=r"the drive limit of 0\.3 h binds") as info:
        design_territories(units, BalanceParams(weight="w", max_drive_h=0.3,
                                                drive_limit="soft"), reps=reps)
    light = info.value.plan
    assert light.parameters["drive"]["binds"]


def test_a_limit_needs_reps(county_grid) -> None:
    """Without reps there is no home to drive from: a clear input error."""
    units, _ = county_grid
    with pytest.raises(InputError, match="needs the reps' homes"):
        design_territories(units, BalanceParams(weight="w", k=4, max_drive_h=1.0))


def test_given_drive_hours_are_used_and_checked(county_grid) -> None:
    """A drive table (e.g. on roads) replaces the estimate; a unit no road reaches is refused."""
    units, reps = county_grid
    bu = prepare_units(units)
    est = _hours(units, reps, design_territories(bu, BalanceParams(weight="w"), reps=reps))
    table = pd.DataFrame(1.0, index=list("ABCD"), columns=list(bu.ids))
    table.loc[:, "u143"] = np.inf
    with pytest.raises(InfeasibleError, match="units u143 are out of reach"):
        design_territories(bu, BalanceParams(weight="w", max_drive_h=2.0), reps=reps,
                           drive_hours=table)
    with pytest.raises(InputError, match="no row for territories D"):
        design_territories(bu, BalanceParams(weight="w", max_drive_h=2.0), reps=reps,
                           drive_hours=table.drop(index="D"))
    assert est.max() > 0


def test_drive_compactness_shortens_drives(county_grid) -> None:
    """Compactness by drive time gives a total drive from home no longer than by shape."""
    units, reps = county_grid
    shape = design_territories(units, BalanceParams(weight="w"), reps=reps)
    drive = design_territories(units, BalanceParams(weight="w", compactness="drive"), reps=reps)
    assert drive.parameters["drive"]["compactness"] == "drive"
    assert drive.metrics.max_abs_deviation <= 0.02
    assert _hours(units, reps, drive).sum() <= _hours(units, reps, shape).sum() + 1e-9


def test_rebalance_keeps_the_limit_and_reports_what_the_budget_leaves(county_grid) -> None:
    """An unlimited rebalance brings every unit within reach; a zero budget reports the rest."""
    units, reps = county_grid
    base = design_territories(units, BalanceParams(weight="w"), reps=reps)
    beyond = int((_hours(units, reps, base) > 0.75 + 1e-9).sum())
    assert beyond > 0
    fixed = rebalance(units, base, BalanceParams(weight="w", max_drive_h=0.75), reps=reps)
    assert fixed.parameters["drive"]["met"]
    assert _hours(units, reps, fixed).max() <= 0.75 + 1e-9
    stuck = rebalance(units, base, BalanceParams(weight="w", max_drive_h=0.75,
                                                 max_moved_accounts=0), reps=reps)
    assert stuck.parameters["drive"]["units_beyond"] == beyond
    assert not stuck.parameters["drive"]["met"]


@pytest.mark.parametrize("limit", ["hard", "soft"])
def test_the_tradeoff_curve_keeps_the_plans_drive_limit(county_grid, limit: str) -> None:
    """The curve's runs are the plan's runs: no point puts a unit beyond a hard limit that
    the baseline had within it, the unlimited point brings every unit within reach, and each
    plan rebalanced with a point's budget lies on the curve or above it."""
    units, reps = county_grid
    base = design_territories(units, BalanceParams(weight="w"), reps=reps)
    was_beyond = set(_hours(units, reps, base).index[_hours(units, reps, base) > 0.75 + 1e-9])
    params = BalanceParams(weight="w", max_drive_h=0.75, drive_limit=limit, tolerance=0.0)
    budgets = [0, 3, 10, None]
    curve = tradeoff_curve(units, base, params, reps=reps, budgets=budgets)
    for budget, point, drawn in zip(budgets, curve.points.to_dict(orient="records"),
                                    curve.plans, strict=True):
        assert drawn.parameters["drive"]["max_drive_h"] == 0.75
        assert drawn.parameters["drive"]["drive_limit"] == limit
        if limit == "hard":
            hours = _hours(units, reps, drawn)
            assert set(hours.index[hours > 0.75 + 1e-9]) <= was_beyond
        plan = rebalance(units, base, params.with_(max_moved_accounts=budget), reps=reps)
        # ranked as the rules rank plans: fewer units beyond a hard limit, then deviation
        rank = (drawn.parameters["drive"]["units_beyond"] if limit == "hard" else 0,
                point["max_abs_deviation"] - 1e-12)
        assert rank <= (plan.parameters["drive"]["units_beyond"] if limit == "hard" else 0,
                        plan.metrics.max_abs_deviation)
        assert point["moved_accounts"] <= (budget if budget is not None else np.inf)
    if limit == "hard":
        assert curve.plans[-1].parameters["drive"]["met"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), limit=st.floats(0.3, 0.9))
def test_a_plan_that_says_the_hard_limit_is_met_meets_it(seed: int, limit: float) -> None:
    """Property: whatever the workload and limit, a plan reported within the limit is within it."""
    units = make_grid(7, 7, np.random.default_rng(seed).lognormal(0, 0.4, 49), size_m=SIZE_M)
    reps = _reps([(1, 1), (5, 1), (3, 5)], units.crs)
    params = BalanceParams(weight="w", max_drive_h=limit, tolerance=0.05, seed=seed, restarts=1)
    try:
        plan = design_territories(units, params, reps=reps)
    except ToleranceNotMetError as exc:
        plan = exc.plan
    except InfeasibleError as exc:
        assert "out of reach" in str(exc) or "weigh more" in str(exc)
        return
    drive = plan.parameters["drive"]
    hours = _hours(units, reps, plan)
    assert drive["met"] == bool((hours <= limit + 1e-9).all())
    assert drive["units_beyond"] == int((hours > limit + 1e-9).sum())
    assert plan.metrics.all_contiguous
