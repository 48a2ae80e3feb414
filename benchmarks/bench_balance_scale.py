"""Balancing at national scale: 29,618 ZIP Voronoi units, k = 20, 50, 200, 500.

Units are the Voronoi cells of the distinct centroids of standard ZIP codes
of the 48 contiguous states (``zipcodes`` package, offline; 29,618 distinct
locations of ~33,000 ZIPs), in an Albers
equal-area projection (EPSG:5070), clipped to the hull of the points plus
20 km; each cell gets a seeded log-normal workload (sigma 0.5, seed 0).
Our ``design_territories`` (tolerance 2 %, one start) is timed beside
k-means-constrained on the same cells (one point per cell centroid weighted
by repetition is too large at this scale, so it clusters the centroids with
equal cluster sizes: the closest equal-count peer; it took 746 s at k = 20
here, so by default it runs at k = 20 only). Goal: every k under 2 minutes
and within 2 %.

Usage: ``python benchmarks/bench_balance_scale.py [--k 20 50 200 500] [--peer-k 20] [--no-peers]``
"""

from __future__ import annotations

import argparse
import time
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import zipcodes

from planner.balance import (
    BalanceParams,
    ToleranceNotMetError,
    compute_metrics,
    design_territories,
    prepare_units,
)

warnings.filterwarnings("ignore")

_OUTSIDE = {"AK", "HI", "PR", "VI", "GU", "AS", "MP", "FM", "MH", "PW", "AA", "AE", "AP"}


def zip_cells() -> gpd.GeoDataFrame:
    """Voronoi cells of the distinct standard ZIP centroids of the contiguous US."""
    rows = [z for z in zipcodes.list_all()
            if z["zip_code_type"] == "STANDARD" and z["state"] not in _OUTSIDE
            and z["lat"] and z["long"]]
    pts = gpd.GeoDataFrame(
        {"unit_id": [z["zip_code"] for z in rows]},
        geometry=gpd.points_from_xy([float(z["long"]) for z in rows],
                                    [float(z["lat"]) for z in rows]),
        crs=4326,
    ).to_crs(5070)
    pts = pts.loc[~pts.geometry.duplicated()].reset_index(drop=True)
    xy = np.column_stack([pts.geometry.x, pts.geometry.y])
    frame = shapely.buffer(shapely.convex_hull(shapely.multipoints(xy)), 20_000)
    cells = shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=frame)
    polys = [shapely.intersection(c, frame) for c in cells.geoms]
    owner = shapely.STRtree(polys).query(pts.geometry.values, predicate="within")
    geom: list[object] = [None] * len(pts)
    for p, c in zip(owner[0].tolist(), owner[1].tolist(), strict=True):
        geom[p] = polys[c]
    g = gpd.GeoDataFrame({"unit_id": pts["unit_id"].to_numpy()}, geometry=geom, crs=5070)
    g = g[g.geometry.notna()].reset_index(drop=True)
    g["w"] = np.random.default_rng(0).lognormal(0.0, 0.5, len(g))
    return g


def kmeans_equal(units: gpd.GeoDataFrame, k: int) -> pd.Series:
    """k-means-constrained with equal cluster sizes on the cell centroids."""
    from k_means_constrained import KMeansConstrained

    c = units.geometry.centroid
    xy = np.column_stack([c.x, c.y])
    size = len(xy) / k
    model = KMeansConstrained(n_clusters=k, size_min=int(np.floor(size)),
                              size_max=int(np.ceil(size)), n_init=1, random_state=0)
    return pd.Series(model.fit_predict(xy).astype(str), index=units["unit_id"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", nargs="*", type=int, default=[20, 50, 200, 500])
    parser.add_argument("--peer-k", nargs="*", type=int, default=[20],
                        help="k values at which the peer runs too (20)")
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()
    print(__doc__.splitlines()[0])
    began = time.perf_counter()
    units = zip_cells()
    bu = prepare_units(units, contiguity="queen")
    print(f"{bu.n} units prepared in {time.perf_counter() - began:.1f} s", flush=True)
    for k in args.k:
        began = time.perf_counter()
        try:
            plan = design_territories(bu, BalanceParams(weight="w", k=k, tolerance=0.02,
                                                        restarts=1, contiguity="queen"))
        except ToleranceNotMetError as exc:
            plan = exc.plan
        secs = time.perf_counter() - began
        m = plan.metrics
        line = (f"k={k}: ours {100 * m.max_abs_deviation:.2f} % in {secs:.1f} s, "
                f"contiguous {m.all_contiguous}")
        if not args.no_peers and k in args.peer_k:
            began = time.perf_counter()
            labels = kmeans_equal(units, k)
            peer = compute_metrics(bu, labels, weight="w")
            line += (f" | k-means-constrained {100 * peer.max_abs_deviation:.1f} % in "
                     f"{time.perf_counter() - began:.1f} s")
        print(line, flush=True)


if __name__ == "__main__":
    main()
