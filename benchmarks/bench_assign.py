"""Benchmark: assigning 1M accounts to territories, against geopandas.sjoin(predicate="within").

Two layouts, as in the issue: 3,000 Voronoi territories over Georgia's
extent (EPSG:4326), and Georgia's 159 counties (libpysal's G_utm.shp,
EPSG:32616). For each, the same random points go through

- the peer, ``geopandas.sjoin(points, polygons, predicate="within")``;
- ``planner.geo.locate`` (build the grid index + locate: the spatial core);
- ``planner.geo.assign.assign_accounts`` (everything: input checks, shape
  repair, the spatial join, per-type resolution, the memberships frame).

Timings are the best of ``--repeats`` runs, peer and ours interleaved in the
same process, so a busy machine slows both alike. The results are compared
with sjoin's for every point that is not on a border, and the peak memory of
``assign_accounts`` on the full input is measured in a fresh subprocess.

Run: ``python benchmarks/bench_assign.py [--n 1000000] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

SEED = 0


def voronoi_layout(n: int = 3000, *, seed: int = SEED) -> gpd.GeoDataFrame:
    """``n`` Voronoi territories over Georgia's bounding box, in longitude/latitude."""
    rng = np.random.default_rng(seed)
    frame = shapely.box(-85.6, 30.4, -80.8, 35.0)
    xmin, ymin, xmax, ymax = frame.bounds
    seeds = np.column_stack(
        [xmin + rng.random(n) * (xmax - xmin), ymin + rng.random(n) * (ymax - ymin)]
    )
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame)
    polys = shapely.intersection(shapely.get_parts(cells), frame)
    return gpd.GeoDataFrame(
        {"territory_id": [f"T{i:04d}" for i in range(len(polys))]}, geometry=polys, crs=4326
    )


def georgia_counties() -> gpd.GeoDataFrame:
    """The 159 Georgia counties shipped with libpysal (no download), EPSG:32616."""
    import libpysal

    path = os.path.join(os.path.dirname(libpysal.__file__), "examples", "georgia", "G_utm.shp")
    counties = gpd.read_file(path).set_crs(32616, allow_override=True)
    return gpd.GeoDataFrame(
        {"territory_id": [f"C{int(v):03d}" for v in counties["AreaKey"] % 1000]},
        geometry=counties.geometry.to_numpy(),
        crs=counties.crs,
    )


def random_accounts(layout: gpd.GeoDataFrame, n: int, *, seed: int = SEED) -> gpd.GeoDataFrame:
    """``n`` uniform random account points over the layout's bounding box."""
    rng = np.random.default_rng(seed + 1)
    xmin, ymin, xmax, ymax = layout.total_bounds
    x = xmin + rng.random(n) * (xmax - xmin)
    y = ymin + rng.random(n) * (ymax - ymin)
    ids = np.array([f"A{i:07d}" for i in range(n)], dtype=object)
    return gpd.GeoDataFrame({"account_id": ids}, geometry=gpd.points_from_xy(x, y), crs=layout.crs)


def best_of(repeats: int, runs: dict[str, Callable[[], Any]]) -> dict[str, tuple[float, Any]]:
    """Run each callable ``repeats`` times, interleaved; keep the best time and last result."""
    best: dict[str, tuple[float, Any]] = {k: (float("inf"), None) for k in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            out = fn()
            dt = time.perf_counter() - t0
            best[name] = (min(best[name][0], dt), out)
    return best


def compare_with_sjoin(
    accounts: gpd.GeoDataFrame, layout: gpd.GeoDataFrame, peer: gpd.GeoDataFrame, ours: Any
) -> tuple[int, int]:
    """Count points off every border where our territory differs from sjoin's."""
    from planner.geo.locate import build_index, locate_points, on_boundary

    n = len(accounts)
    theirs = np.full(n, -1)
    theirs[peer.index.to_numpy()] = peer["index_right"].to_numpy()
    pos = {t: i for i, t in enumerate(layout["territory_id"])}
    mine = np.full(n, -1)
    mem = ours.memberships
    acc_pos = np.fromiter((int(a[1:]) for a in mem["account_id"]), dtype=np.int64, count=len(mem))
    mine[acc_pos] = mem["territory_id"].map(pos).to_numpy(dtype=np.int64)
    x = accounts.geometry.x.to_numpy()
    y = accounts.geometry.y.to_numpy()
    index = build_index(layout.geometry.to_numpy(), expected_points=n)
    located = locate_points(x, y, index)
    border_pairs = on_boundary(x, y, index, located)
    on_border = np.zeros(n, dtype=bool)
    on_border[located.point_index[border_pairs]] = True
    differ = (mine != theirs) & ~on_border
    return int(differ.sum()), int(on_border.sum())


def measure_memory(layout_name: str, n: int) -> tuple[float, float]:
    """RSS (MB) of a fresh process holding ``n`` accounts; its peak after ``assign_accounts``."""
    code = (
        "import resource, warnings, sys\n"
        f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n"
        "import bench_assign as b\n"
        "from planner.geo.assign import assign_accounts\n"
        "warnings.simplefilter('ignore')\n"
        f"layout = b.voronoi_layout() if {layout_name!r} == 'voronoi' else b.georgia_counties()\n"
        f"acc = b.random_accounts(layout, {n})\n"
        "import gc; gc.collect()\n"
        "status = open('/proc/self/status').read().split('VmRSS:')[1].split()[0]\n"
        "before = int(status)\n"
        "result = assign_accounts(acc, layout)\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(before / 1024, after / 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.split()
    return float(out[0]), float(out[1])


def run_layout(name: str, layout: gpd.GeoDataFrame, n: int, repeats: int) -> dict[str, Any]:
    """Time the peer and ours on one layout; check results; return the figures."""
    from planner.geo.assign import assign_accounts
    from planner.geo.locate import build_index, locate_points

    accounts = random_accounts(layout, n)
    x = accounts.geometry.x.to_numpy()
    y = accounts.geometry.y.to_numpy()
    polys = layout.geometry.to_numpy()

    def core() -> Any:
        return locate_points(x, y, build_index(polys, expected_points=n))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        best = best_of(
            repeats,
            {
                "sjoin": lambda: gpd.sjoin(accounts, layout, predicate="within"),
                "core": core,
                "assign": lambda: assign_accounts(accounts, layout),
            },
        )
    mismatches, border = compare_with_sjoin(accounts, layout, best["sjoin"][1], best["assign"][1])
    before_mb, after_mb = measure_memory(name, n)
    t_peer, t_core, t_assign = best["sjoin"][0], best["core"][0], best["assign"][0]
    return {
        "layout": name,
        "polygons": len(layout),
        "points": n,
        "sjoin_s": t_peer,
        "core_s": t_core,
        "assign_s": t_assign,
        "mismatches_off_border": mismatches,
        "border_points": border,
        "peak_rss_mb": after_mb,
        "rss_before_mb": before_mb,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print our figures beside the peer's."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="accounts (default 1,000,000)")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    args = parser.parse_args(argv)
    print(f"accounts: {args.n:,}; best of {args.repeats} interleaved runs; cores: {os.cpu_count()}")
    print("note: the machine may be shared; peer and ours run in turn in one process\n")
    rows = [
        run_layout("voronoi", voronoi_layout(), args.n, args.repeats),
        run_layout("georgia", georgia_counties(), args.n, args.repeats),
    ]
    head = (
        f"{'layout':<10}{'polygons':>9}{'sjoin pts/s':>14}{'core pts/s':>14}{'x':>6}"
        f"{'assign pts/s':>15}{'x':>6}{'off-border diffs':>18}{'peak MB':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        n = r["points"]
        print(
            f"{r['layout']:<10}{r['polygons']:>9}{n / r['sjoin_s']:>14,.0f}"
            f"{n / r['core_s']:>14,.0f}{r['sjoin_s'] / r['core_s']:>6.1f}"
            f"{n / r['assign_s']:>15,.0f}{r['sjoin_s'] / r['assign_s']:>6.1f}"
            f"{r['mismatches_off_border']:>18}{r['peak_rss_mb']:>9.0f}"
        )
    print(
        "\nx = our throughput / sjoin's. core = build_index + locate_points; assign = the whole "
        "assign_accounts.\npeak MB = peak RSS of a fresh process holding the accounts and "
        "running assign_accounts (holding the input alone: "
        + ", ".join(f"{r['layout']} {r['rss_before_mb']:.0f} MB" for r in rows)
        + ")."
    )
    ok = all(
        r["sjoin_s"] / r["assign_s"] >= 2.5
        and r["mismatches_off_border"] == 0
        and r["peak_rss_mb"] < 2048
        for r in rows
    )
    print(
        "targets (assign >= 2.5x sjoin, identical off borders, < 2 GB):", "met" if ok else "NOT met"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
