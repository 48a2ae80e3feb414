"""Build ``data/us_places.csv.gz`` and ``data/us_zips.csv.gz`` from the ``zipcodes`` package.

Each (city, state) of the package's 42,789 ZIP codes becomes one row with
the mean centre of its ZIP codes and their number (``weight``), which ranks
places for the map's offline label layer (:mod:`planner.geo.places`).
``us_zips.csv.gz`` holds each ZIP code's centre, which places accounts that
have a ZIP code but no coordinates (:func:`planner.io.values.locate_zip5`).
Reading these files takes milliseconds; building them from the package takes
seconds, so the app does not do that on every start.

Run: ``python scripts/build_places.py`` (writes the file; deterministic).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import zipcodes

OUT = Path(__file__).resolve().parents[1] / "data" / "us_places.csv.gz"
ZIPS = OUT.with_name("us_zips.csv.gz")


def us_zips() -> pd.DataFrame:
    """One row per ZIP code with a centre: ``zip``, ``lat``, ``lon`` (sorted by ZIP)."""
    rows = []
    for z in zipcodes.list_all():
        try:
            lat, lon = float(z["lat"]), float(z["long"])
        except (KeyError, TypeError, ValueError):
            continue
        if np.isfinite(lat) and np.isfinite(lon):
            rows.append((str(z["zip_code"]), lat, lon))
    return pd.DataFrame(rows, columns=["zip", "lat", "lon"]).sort_values("zip")


def us_cities() -> pd.DataFrame:
    """One row per (city, state): mean ZIP centre and number of ZIP codes, biggest first."""
    rows = []
    for z in zipcodes.list_all():
        try:
            lat, lon = float(z["lat"]), float(z["long"])
        except (KeyError, TypeError, ValueError):
            continue
        city = str(z.get("city") or "").strip()
        if city and np.isfinite(lat) and np.isfinite(lon) and (lat, lon) != (0.0, 0.0):
            rows.append((city, str(z.get("state") or ""), lat, lon))
    frame = pd.DataFrame(rows, columns=["city", "state", "lat", "lon"])
    table = (
        frame.groupby(["city", "state"])
        .agg(lat=("lat", "mean"), lon=("lon", "mean"), weight=("lat", "size"))
        .reset_index()
    )
    table["lat"] = table["lat"].round(5)
    table["lon"] = table["lon"].round(5)
    return table.sort_values(["weight", "state", "city"], ascending=[False, True, True])


def main() -> int:
    table = us_cities()
    table.to_csv(OUT, index=False, compression={"method": "gzip", "mtime": 0})
    print(f"wrote {len(table):,} places to {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")
    zips = us_zips()
    zips.to_csv(ZIPS, index=False, compression={"method": "gzip", "mtime": 0})
    print(f"wrote {len(zips):,} ZIP codes to {ZIPS} ({ZIPS.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
