"""Reading an accounts CSV: our validated read_accounts beside a bare pandas + geopandas read.

Run: python benchmarks/bench_io.py [--rows 1000000] [--repeats 2]
The peer does no checking at all (no ids, ranges, swaps, ZIP codes or row numbers):
it is the floor, not a competitor. 30 % of the rows have no coordinates and are
placed by ZIP code; the peer cannot place them and leaves them empty.
"""

from __future__ import annotations

import argparse
import io
import time

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.geo.io import locate_postal_codes, read_accounts


def _make_csv(rows: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    zips = np.array(["30303", "02134", "10001", "94103", "60601", "73301", "98101"])
    frame = pd.DataFrame(
        {
            "Id": [f"001A{i:08d}" for i in range(rows)],
            "Name": [f"Account {i}" for i in range(rows)],
            "BillingLatitude": rng.uniform(30, 45, rows).round(6),
            "BillingLongitude": rng.uniform(-120, -75, rows).round(6),
            "BillingPostalCode": zips[rng.integers(0, len(zips), rows)],
            "AnnualRevenue": rng.integers(0, 10**7, rows),
            "Industry": "Retail",
            "OwnerId": "005U01",
        }
    )
    missing = rng.random(rows) < 0.3
    frame.loc[missing, ["BillingLatitude", "BillingLongitude"]] = np.nan
    return frame.to_csv(index=False).encode()


def _peer(data: bytes) -> gpd.GeoDataFrame:
    frame = pd.read_csv(io.BytesIO(data), dtype={"Id": str, "BillingPostalCode": str})
    points = gpd.points_from_xy(frame["BillingLongitude"], frame["BillingLatitude"])
    return gpd.GeoDataFrame(frame, geometry=points, crs="EPSG:4326")


def main() -> None:
    """Time both readers on the same bytes and print them side by side."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    data = _make_csv(args.rows, args.seed)
    locate_postal_codes(["30303"])  # load the ZIP table once, as a running app has
    print(f"{args.rows:,} rows, {len(data) / 1e6:.1f} MB (2 shared cores: timings are noisy)")
    for label, fn in (
        ("planner read_accounts (validated)", lambda: read_accounts(data, filename="a.csv")),
        ("pandas.read_csv + points_from_xy", lambda: _peer(data)),
    ):
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - t0)
        placed = int(result.geometry.x.notna().sum())  # NaN for missing and empty points
        print(f"  {label:36s} best {min(times):6.2f} s   rows placed {placed:,}")


if __name__ == "__main__":
    main()
