"""Many small tracts, k = 50 (about four tracts a territory): the Albuquerque-like case.

Albuquerque's 195 tracts with the benchmark's random workload have no
contiguous plan within 2 % at k = 50 (proved by the exact step), so the
test needs data of that shape where 2 % exists. The map here: 195 tract-like
Voronoi cells, dense in a core and sparse in a ring (like city tracts), one
island tract off the edge; the workload is planted: a contiguous partition
into 50 parts is drawn first (a loose design on equal weights), then each
part's workload (100 +/- 1 %) is split among its tracts at random
(Dirichlet, so tracts differ by a factor of ten). A plan within 2 % exists
by construction; the search is not told which.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from planner.balance import BalanceParams, compute_metrics, design_territories, prepare_units

K = 50


def tract_shapes(n: int = 194, *, seed: int = 0) -> gpd.GeoDataFrame:
    """``n`` Voronoi tracts (70 % in a 4 km core, the rest in a 6-18 km ring) and one island."""
    rng = np.random.default_rng(seed)
    core = rng.normal(0.0, 4000.0, size=(int(n * 0.7), 2))
    angle = rng.uniform(0, 2 * np.pi, n - len(core))
    radius = rng.uniform(6000.0, 18000.0, n - len(core))
    ring = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    pts = np.vstack([core, ring]) + np.array([350_000.0, 3_880_000.0])
    frame = shapely.buffer(shapely.convex_hull(shapely.multipoints(pts)), 1500.0)
    cells = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=frame)
    polys = [shapely.intersection(c, frame) for c in cells.geoms]
    owner = shapely.STRtree(polys).query(shapely.points(pts), predicate="within")
    geom: list[shapely.Geometry] = [shapely.Point()] * len(pts)
    for p, c in zip(owner[0].tolist(), owner[1].tolist(), strict=True):
        geom[p] = polys[c]
    _minx, miny, maxx, maxy = shapely.bounds(frame)
    middle = (miny + maxy) / 2
    geom.append(shapely.box(maxx + 2000.0, middle - 700.0, maxx + 3400.0, middle + 700.0))
    return gpd.GeoDataFrame({"unit_id": [f"t{i:03d}" for i in range(len(geom))]},
                            geometry=geom, crs="EPSG:32613")


def planted_tracts(*, seed: int = 0) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """The tracts with a planted workload ``w``, and the planted part of each tract."""
    g = tract_shapes(seed=seed)
    g["one"] = 1.0
    plant = design_territories(g, BalanceParams(weight="one", k=K, tolerance=0.5, seed=seed,
                                                contiguity="queen", compactness_sweeps=0,
                                                restarts=1))
    parts = plant.assignment.reindex(g["unit_id"]).to_numpy()
    rng = np.random.default_rng(seed + 1)
    w = np.zeros(len(g))
    for t in np.unique(parts):
        idx = np.flatnonzero(parts == t)
        w[idx] = rng.dirichlet(np.full(len(idx), 4.0)) * 100.0 * (1 + rng.uniform(-0.01, 0.01))
    g["w"] = w
    return g.drop(columns="one"), parts


@pytest.fixture(scope="module")
def tracts() -> tuple[gpd.GeoDataFrame, np.ndarray]:
    return planted_tracts(seed=0)


def test_the_tracts_have_the_albuquerque_shape(tracts) -> None:
    """195 tracts, about four a territory, one island, uneven tracts none near a target."""
    units, parts = tracts
    bu = prepare_units(units, contiguity="queen")
    assert bu.n == 195 and len(np.unique(parts)) == K
    assert [b.unit_a for b in bu.adjacency.bridges] == ["t194"]  # the island
    w = units["w"].to_numpy()
    assert w.max() / w.min() > 10 and w.max() < 0.7 * w.sum() / K


def test_a_plan_within_2_percent_exists(tracts) -> None:
    """The planted parts are contiguous and each within 1 % of the target: 2 % is feasible."""
    units, parts = tracts
    bu = prepare_units(units, contiguity="queen")
    w = units["w"].to_numpy()
    target = w.sum() / K
    loads = np.array([w[parts == t].sum() for t in np.unique(parts)])
    assert np.abs(loads / target - 1).max() <= 0.02
    m = compute_metrics(bu, units.set_index("unit_id").assign(t=parts)["t"], weight="w")
    assert m.all_contiguous and m.max_abs_deviation <= 0.02


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_design_reaches_2_percent_on_every_seed(tracts, seed: int) -> None:
    """k = 50 on 195 tracts: within 2 %, contiguous (queen; only the island's bridge used)."""
    units, _ = tracts
    plan = design_territories(units, BalanceParams(weight="w", k=K, tolerance=0.02, seed=seed,
                                                   contiguity="queen"))
    m = plan.metrics
    assert m.max_abs_deviation <= 0.02
    assert m.all_contiguous
    assert {b.unit_a for b in m.bridges} <= {"t194"}
