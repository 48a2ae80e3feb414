"""Exports of a large plan (CSV, GeoPackage) beside plain pandas/geopandas writes.

Run: python benchmarks/bench_export.py [--accounts 1000000] [--formats csv,gpkg]

The plan is the Helsinki sample with its accounts copied (jittered) up to
``--accounts``, every account a member of one territory (see
``bench_store.big_workspace``). For each format it prints our whole export
(the tables built, every text cell made safe, written atomically; CSV in
chunks) and, measured in the same run, the peer: the plain write of the
same frame with no safety pass (``DataFrame.to_csv`` of the membership
table; ``GeoDataFrame.to_file`` of the accounts layer).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import big_workspace

from planner.export import export_plan, plan_from_workspace
from planner.export.files import (
    accounts_layer,
    membership_table,
    territory_layer,
    write_csv,
    write_gpkg,
)

_CPU: list[float] = [0.0]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall seconds of ``fn()`` and its result; its CPU seconds are kept for :func:`row`."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    _CPU[0] = time.process_time() - c
    return time.perf_counter() - t, out


def row(label: str, seconds: float, note: str = "") -> None:
    """One figure: wall seconds, CPU seconds (all threads) and the load when it ended."""
    load = os.getloadavg()[0]
    print(f"{label:<52}{seconds:>7.1f} s {_CPU[0]:>6.1f} CPU-s  load {load:>4.1f}  {note}")


def csv_part(plan: Any, folder: Path) -> None:
    n = len(plan.memberships)
    print(f"== CSV export, {n:,} memberships ==")
    took, result = timed(lambda: export_plan(plan, folder / "csv", "csv"))
    size = sum(p.stat().st_size for p in result.files) / 1e6
    row("ours: export_plan(csv), all five files", took, f"({size:,.0f} MB)")
    took, frame = timed(lambda: membership_table(plan.memberships, plan.territories, plan.accounts))
    row("  of which: the membership table built", took)
    took, _ = timed(lambda: write_csv(frame, folder / "ours-membership.csv"))
    row("  of which: membership.csv written (safe, chunked)", took)
    took, _ = timed(lambda: frame.to_csv(folder / "peer-membership.csv", index=False))
    row("peer: the same frame .to_csv (no safety pass)", took)
    took, _ = timed(lambda: pacsv.write_csv(pa.Table.from_pandas(frame), folder / "peer-pa.csv"))
    row("peer: the same frame, pyarrow.csv.write_csv", took, "(quotes every text)")


def export_gpkg_layer(layer: Any, path: Path) -> None:
    """Our write of one layer (as export_plan writes it), without the rest of the export."""
    write_gpkg({"accounts": layer}, path)


def gpkg_part(plan: Any, folder: Path) -> None:
    n = len(plan.accounts)
    print(f"\n== GeoPackage export, {n:,} accounts ==")
    took, _ = timed(lambda: export_plan(plan, folder / "gpkg", "gpkg"))
    row("ours: export_plan(gpkg), both layers", took)
    took, _ = timed(lambda: territory_layer(plan))
    row("  of which: territory layer (report metrics)", took)
    took, layer = timed(lambda: accounts_layer(plan))
    row("  of which: accounts layer built", took)
    took, _ = timed(lambda: export_gpkg_layer(layer, folder / "ours-accounts.gpkg"))
    row("  of which: accounts layer written (write_gpkg)", took)
    took, _ = timed(lambda: layer.to_file(folder / "peer.gpkg", layer="accounts", driver="GPKG"))
    row("peer: the accounts layer .to_file(GPKG)", took)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,gpkg")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-export-"))
    plan = plan_from_workspace(big_workspace(args.accounts))
    load = os.getloadavg()[0]
    print(f"2 shared cores, load {load:.1f} at the start; single runs, noisy under load")
    print("figures: wall time, CPU time of this process (GDAL's threads included), load\n")
    formats = set(args.formats.split(","))
    if "csv" in formats:
        csv_part(plan, folder)
    if "gpkg" in formats:
        gpkg_part(plan, folder)


if __name__ == "__main__":
    main()
