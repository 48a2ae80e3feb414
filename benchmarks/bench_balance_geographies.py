"""Balancing on geographies the search was not tuned on, beside k-means-constrained and spopt.

Every case runs our ``design_territories`` (tolerance +/-2 %, queen adjacency)
for k = 10, 20 and 50 and seeds 0, 1, 2, and the peers once (seed 0). Each
plan is measured by the same code (``planner.balance.compute_metrics``);
contiguity is also checked independently of our code with libpysal's Queen
weights and no bridges ("queen pieces"), and the island bridges a territory
relies on are listed by unit id.

Cases (all offline, from libpysal's bundled examples or the ``zipcodes`` package)
------------------------------------------------------------------------------------
georgia    Georgia's 159 counties, 1990 population ``TotPop90`` (``georgia/G_utm.shp``).
nc         North Carolina's 100 counties, births 1974 ``BIR74`` (``sids2/sids2.shp``).
stl        78 counties around St. Louis (Missouri and Illinois), population
           1988-93 ``PO8893`` (``stl/stl_hom.shp``).
abq        Albuquerque's 195 census tracts 2000 (``10740/10740.shp``): the file
           has no population, so each tract gets a seeded log-normal workload
           (sigma 0.5, seed 0; largest tract 1.24 %); one tract is an island.
portland   Voronoi cells of the 173 distinct ZIP centroids (``zipcodes``,
           standard ZIPs within 60 km of downtown Portland, Oregon), clipped
           to their hull plus 3 km; seeded log-normal workload (sigma 0.5, seed 1).

A case is infeasible at a tolerance when its heaviest unit alone exceeds the
target by more than the tolerance (shown as the granularity bound). Other
structural bounds are found by our exact step on small maps: when the search
misses the tolerance, every connected set of units within it is listed and a
set-partitioning programme proves that no plan exists ("proved_infeasible");
abq k = 50 with this workload has no contiguous plan within 2 % (nor 8 %).

Usage: ``python benchmarks/bench_balance_geographies.py [--cases abq nc] [--k 10 20 50]
[--seeds 3] [--no-peers]``
"""

from __future__ import annotations

import argparse
import time
import warnings

import geopandas as gpd
import libpysal.examples as lpe
import numpy as np
import pandas as pd
import shapely
import zipcodes
from bench_balance import kmeans_constrained, spopt_regionkmeans
from libpysal.weights import Queen

from planner.balance import (
    BalanceParams,
    ToleranceNotMetError,
    compute_metrics,
    design_territories,
    prepare_units,
)

warnings.filterwarnings("ignore")

TOLERANCE = 0.02


def _libpysal(name: str, crs: int | None) -> gpd.GeoDataFrame:
    g = gpd.read_file(lpe.get_path(name))
    return g.set_crs(crs) if crs is not None and g.crs is None else g


def georgia() -> tuple[gpd.GeoDataFrame, str]:
    g = _libpysal("G_utm.shp", 32616)
    g["unit_id"] = g["AreaKey"].astype(str)
    return g, "TotPop90"


def nc() -> tuple[gpd.GeoDataFrame, str]:
    g = _libpysal("sids2.shp", 4267)
    g["unit_id"] = g["FIPS"].astype(str)
    return g, "BIR74"


def stl() -> tuple[gpd.GeoDataFrame, str]:
    g = _libpysal("stl_hom.shp", 4326)
    g["unit_id"] = g["FIPS"].astype(str)
    return g, "PO8893"


def abq() -> tuple[gpd.GeoDataFrame, str]:
    g = _libpysal("10740.shp", 4326)
    g["unit_id"] = g.index.astype(str)
    g["w"] = np.random.default_rng(0).lognormal(0.0, 0.5, len(g))
    return g, "w"


def portland(radius_km: float = 60.0) -> tuple[gpd.GeoDataFrame, str]:
    rows = [z for z in zipcodes.filter_by(state="OR") + zipcodes.filter_by(state="WA")
            if z["zip_code_type"] == "STANDARD"]
    pts = gpd.GeoDataFrame(
        {"unit_id": [z["zip_code"] for z in rows]},
        geometry=gpd.points_from_xy([float(z["long"]) for z in rows],
                                    [float(z["lat"]) for z in rows]),
        crs=4326,
    ).to_crs(32610)
    centre = gpd.GeoSeries(gpd.points_from_xy([-122.68], [45.52]), crs=4326).to_crs(32610)[0]
    pts = pts[pts.distance(centre) <= radius_km * 1000]
    pts = pts.loc[~pts.geometry.duplicated()].reset_index(drop=True)
    hull = shapely.convex_hull(shapely.multipoints(np.column_stack([pts.geometry.x,
                                                                    pts.geometry.y])))
    frame = shapely.buffer(hull, 3000)
    cells = shapely.voronoi_polygons(shapely.multipoints(
        np.column_stack([pts.geometry.x, pts.geometry.y])), extend_to=frame)
    # voronoi_polygons does not keep the input order: match cells to points
    polys = [shapely.intersection(c, frame) for c in cells.geoms]
    tree = shapely.STRtree(polys)
    owner = tree.query(pts.geometry.values, predicate="within")
    geom = [None] * len(pts)
    for p, c in zip(owner[0].tolist(), owner[1].tolist(), strict=True):
        geom[p] = polys[c]
    g = gpd.GeoDataFrame({"unit_id": pts["unit_id"].to_numpy()}, geometry=geom, crs=32610)
    g["w"] = np.random.default_rng(1).lognormal(0.0, 0.5, len(g))
    return g, "w"


CASES = {"georgia": georgia, "nc": nc, "stl": stl, "abq": abq, "portland": portland}


def queen_pieces(units: gpd.GeoDataFrame, labels: pd.Series) -> int:
    """Territories in more than one piece by libpysal's Queen weights (no bridges)."""
    w = Queen.from_dataframe(units, use_index=False, silence_warnings=True)
    lab = labels.reindex(units["unit_id"].astype(str)).to_numpy()
    split = 0
    for t in np.unique(lab):
        members = set(np.flatnonzero(lab == t).tolist())
        start = next(iter(members))
        seen, stack = {start}, [start]
        while stack:
            x = stack.pop()
            for y in w.neighbors[x]:
                if y in members and y not in seen:
                    seen.add(y)
                    stack.append(y)
        split += seen != members
    return split


def bridges_used(bu, labels: pd.Series) -> str:
    used = [f"{b.unit_a}-{b.unit_b}" for b in bu.adjacency.bridges
            if labels[b.unit_a] == labels[b.unit_b]]
    return ",".join(used)


def row(method: str, units: gpd.GeoDataFrame, bu, labels: pd.Series, weight: str,
        secs: float) -> dict[str, object]:
    labels = labels.astype(str)
    labels.index = labels.index.astype(str)
    m = compute_metrics(bu, labels, weight=weight)
    return {
        "method": method,
        "max_dev_%": round(100 * m.max_abs_deviation, 2),
        "queen_split": queen_pieces(units, labels),
        "bridges_used": bridges_used(bu, labels),
        "pp_mean": round(m.polsby_popper_mean, 3),
        "time_s": round(secs, 2),
    }


def run(case: str, ks: list[int], seeds: int, peers: bool) -> list[dict[str, object]]:
    units, weight = CASES[case]()
    bu = prepare_units(units, contiguity="queen")
    w = units[weight].to_numpy(float)
    out = []
    for k in ks:
        bound = max(0.0, w.max() / (w.sum() / k) - 1)
        if k > len(units) // 2 or bound > TOLERANCE:
            print(f"{case} k={k}: infeasible at {TOLERANCE:.0%} (granularity bound "
                  f"{100 * bound:.1f} %, {len(units)} units)")
            continue
        for seed in range(seeds):
            start = time.perf_counter()
            try:
                plan = design_territories(bu, BalanceParams(weight=weight, k=k,
                                                            tolerance=TOLERANCE, seed=seed,
                                                            contiguity="queen"))
            except ToleranceNotMetError as exc:
                plan = exc.plan
            out.append({"case": case, "k": k, **row(f"ours seed {seed}", units, bu,
                                                    plan.assignment, weight,
                                                    time.perf_counter() - start),
                        "proved_infeasible": plan.parameters.get("proved_infeasible", False)})
        if peers:
            for name, fn in (("k-means-constrained",
                              lambda k=k: kmeans_constrained(units, k, weight, 20 * len(units),
                                                             n_init=3)),
                             ("spopt RegionKMeans",
                              lambda k=k: spopt_regionkmeans(units, k, weight))):
                start = time.perf_counter()
                try:
                    labels = fn()
                    out.append({"case": case, "k": k, **row(name, units, bu, labels, weight,
                                                            time.perf_counter() - start)})
                except Exception as exc:  # a failing peer is reported, not fatal
                    out.append({"case": case, "k": k, "method": name,
                                "bridges_used": f"failed: {type(exc).__name__}"})
        print(pd.DataFrame([r for r in out if r["k"] == k]).fillna("").to_string(index=False),
              flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    parser.add_argument("--k", nargs="*", type=int, default=[10, 20, 50])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()
    print(__doc__.splitlines()[0])
    print(f"tolerance {TOLERANCE:.0%}; timings wall-clock on a shared 2-core machine: noisy")
    rows: list[dict[str, object]] = []
    for case in args.cases:
        rows += run(case, args.k, args.seeds, not args.no_peers)
    ours = pd.DataFrame([r for r in rows if str(r["method"]).startswith("ours")])
    if len(ours):
        worst = ours.groupby(["case", "k"])["max_dev_%"].agg(["median", "max"])
        worst["all seeds <= 2 %"] = worst["max"] <= 100 * TOLERANCE + 1e-9
        print("\nours, per case and k (median and worst of the seeds):")
        print(worst.to_string())
        print(f"cases within {TOLERANCE:.0%} on every seed: "
              f"{int(worst['all seeds <= 2 %'].sum())}/{len(worst)}; "
              f"max time {ours['time_s'].max():.1f} s; "
              f"territories split by queen adjacency: {int(ours['queen_split'].sum())}")


if __name__ == "__main__":
    main()
