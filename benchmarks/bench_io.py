"""Reading input files: our validated readers beside bare pandas / geopandas reads.

Run: python benchmarks/bench_io.py [--rows 1000000] [--repeats 2] [--corpus]

Speed: an accounts CSV read by read_accounts and by pandas.read_csv +
points_from_xy (time, and peak Python memory by tracemalloc on a fifth of the
rows). The peer does no checking at all (no ids, ranges, swaps, ZIP codes or
row numbers): it is the floor, not a competitor. 30 % of the rows have no
coordinates and are placed by ZIP code; the peer cannot place them.

Large file (--big-mb 200): an accounts CSV of that size written to disk, read
from its path in fresh processes (the same run): the raw table read whole (as
before chunks) and in chunks, read_accounts with every check, and
pandas.read_csv (with and without points) and pyogrio (what geopandas.read_file
uses) building the points itself; time, peak resident memory added (VmHWM) and
the memory the result still holds once the freed memory is returned (its own
size, GEOS points included). CSV files past ``ReadLimits.stream_above_bytes``
are read in chunks of ``chunk_rows`` rows.

Bad input (--corpus): every file of tests/data/bad/ through validate_file and
through the bare reader of its format (pandas.read_csv, read_excel,
read_parquet, geopandas.read_file): how many each refuses clearly, repairs
with a warning, crashes on (an exception other than the planner's own), or
accepts without a word.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.errors import PlannerError
from planner.geo.io import locate_postal_codes, read_accounts, validate_file
from planner.geo.sources import open_input, read_table
from planner.io import ReadLimits

BAD = Path(__file__).resolve().parents[1] / "tests" / "data" / "bad"


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


# VmHWM (peak resident set of this process image): unlike ru_maxrss it is not
# inherited from the parent across exec.
_CHILD = """
import re, sys
sys.path.insert(0, {here!r})
import bench_io
from pathlib import Path
def hwm():
    return int(re.search(r"VmHWM:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1))
data = Path({path!r}).read_bytes()
bench_io.locate_postal_codes(["30303"])
before = hwm()
{call}
print((hwm() - before) / 1024)
"""


def _added_rss_mb(call: str, data: bytes) -> float:
    """Peak resident memory a read adds, measured in a fresh process (Linux VmHWM)."""
    with tempfile.NamedTemporaryFile(suffix=".csv") as f:
        f.write(data)
        f.flush()
        code = _CHILD.format(here=str(Path(__file__).parent), path=f.name, call=call)
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
    return float(out.stdout.strip().splitlines()[-1])


_BIG_CHILD = """
import ctypes, gc, re, sys, time
sys.path.insert(0, {here!r})
import bench_io
import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyogrio
from pathlib import Path
def status(key):
    return int(re.search(key + r":\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1))
bench_io.locate_postal_codes(["30303"])
path = {path!r}
gc.collect()
before = status("VmRSS")
t0 = time.perf_counter()
result = {call}
elapsed = time.perf_counter() - t0
peak = status("VmHWM") - before
gc.collect()
pa.default_memory_pool().release_unused()
ctypes.CDLL("libc.so.6").malloc_trim(0)
held = status("VmRSS") - before
print(len(result), elapsed, peak / 1024, held / 1024)
"""


#: Each large-file read: label, and the call run in a fresh process (``path`` is the file).
_BIG_READS = (
    ("planner raw table, whole (before)", "bench_io.raw_table(path, chunked=False)"),
    ("planner raw table, in chunks", "bench_io.raw_table(path, chunked=True)"),
    ("planner read_accounts (validated)", "bench_io.read_accounts(path)"),
    ("pandas.read_csv (no checks)", "pd.read_csv(path, dtype={'Id': str})"),
    ("pandas.read_csv + points_from_xy", "bench_io.peer_points(path)"),
    (
        "pyogrio (geopandas.read_file), X/Y",
        "pyogrio.read_dataframe(path, X_POSSIBLE_NAMES='BillingLongitude', "
        "Y_POSSIBLE_NAMES='BillingLatitude', use_arrow=True)",
    ),
)


def peer_points(path: Path) -> gpd.GeoDataFrame:
    """What a script would do: pandas.read_csv and points from the coordinate columns."""
    frame = pd.read_csv(path, dtype={"Id": str, "BillingPostalCode": str})
    points = gpd.points_from_xy(frame["BillingLongitude"], frame["BillingLatitude"])
    return gpd.GeoDataFrame(frame, geometry=points, crs="EPSG:4326")


def _write_big_csv(path: Path, megabytes: int, seed: int) -> int:
    """Append 500,000-row blocks of accounts until the file reaches ``megabytes``."""
    rows = 0
    with path.open("wb") as out:
        block = 0
        while out.tell() < megabytes * 1_000_000:
            data = _make_csv(500_000, seed + block)
            if block:
                data = data[data.index(b"\n") + 1 :]  # one header only
                data = data.replace(b"001A", b"%03dA" % (block + 1))  # ids stay unique
            out.write(data)
            rows += 500_000
            block += 1
    return rows


def raw_table(path: Path, *, chunked: bool) -> pd.DataFrame:
    """The file layer alone (what reads chunks): the raw table, before any check."""
    limits = ReadLimits() if chunked else ReadLimits(stream_above_bytes=1 << 40)
    table = read_table(
        open_input(path, None, limits=limits),
        kinds=("accounts",),
        columns=None,
        sheet=None,
        layer=None,
        encoding=None,
        crs=None,
        limits=limits,
    )
    return table.frame


def big_file(megabytes: int, seed: int) -> None:
    """Read a large CSV from disk with read_accounts and pandas.read_csv; print time and memory."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        rows = _write_big_csv(path, megabytes, seed)
        size = path.stat().st_size / 1e6
        print(f"large file: {rows:,} rows, {size:,.0f} MB on disk, read from its path")
        print(
            "  (peak: resident memory added at the peak of the read; result holds: what the "
            "result still holds once freed memory is returned, its own size)"
        )
        for label, call in _BIG_READS:
            code = _BIG_CHILD.format(here=str(Path(__file__).parent), path=str(path), call=call)
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            )
            n, elapsed, peak, held = out.stdout.strip().splitlines()[-1].split()
            print(
                f"  {label:36s} {float(elapsed):6.1f} s   rows {int(n):,}   "
                f"peak memory added {float(peak):,.0f} MB   result holds {float(held):,.0f} MB"
            )


def _bare_read(path: Path) -> object:
    """What a script without the planner would do with the file."""
    name = path.name.lower()
    if name.endswith((".csv", ".tsv", ".csv.gz")):
        return pd.read_csv(path, sep=None if name.endswith(".tsv") else ",")
    if name.endswith((".xlsx", ".xls")):
        return pd.read_excel(path)
    if name.endswith(".parquet"):
        return pd.read_parquet(path)
    return gpd.read_file(path)


def corpus() -> None:
    """Run the bad-input corpus through our reader and the bare readers; print the counts."""
    cases = json.loads((BAD / "cases.json").read_text())
    ours = {"refused clearly": 0, "repaired with a warning": 0, "crashed": 0, "accepted": 0}
    peer = {"raised an exception": 0, "accepted without a word": 0}
    t0 = time.perf_counter()
    for case in cases:
        path = BAD / case["file"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                report = validate_file(path, kind=case["kind"])
                if report.errors:
                    ours["refused clearly"] += 1
                elif report.warnings:
                    ours["repaired with a warning"] += 1
                else:
                    ours["accepted"] += 1
            except PlannerError:
                ours["refused clearly"] += 1
            except Exception:
                ours["crashed"] += 1
            try:
                _bare_read(path)
                peer["accepted without a word"] += 1
            except Exception:
                peer["raised an exception"] += 1
    elapsed = time.perf_counter() - t0
    print(f"bad-input corpus: {len(cases)} files (tests/data/bad), {elapsed:.1f} s for both")
    print("  planner validate_file: " + ", ".join(f"{k} {v}" for k, v in ours.items()))
    print("  bare pandas/geopandas: " + ", ".join(f"{k} {v}" for k, v in peer.items()))


def main() -> None:
    """Time both readers on the same bytes and print them side by side."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--corpus", action="store_true", help="also run the bad-input corpus")
    parser.add_argument(
        "--big-mb", type=int, default=0, help="also read a CSV of this many MB from disk"
    )
    parser.add_argument("--only-big", action="store_true", help="run the large file only")
    args = parser.parse_args()
    if args.big_mb and args.only_big:
        big_file(args.big_mb, args.seed)
        return

    data = _make_csv(args.rows, args.seed)
    locate_postal_codes(["30303"])  # load the ZIP table once, as a running app has
    print(f"{args.rows:,} rows, {len(data) / 1e6:.1f} MB (2 shared cores: timings are noisy)")
    for label, fn, call in (
        (
            "planner read_accounts (validated)",
            lambda: read_accounts(data, filename="a.csv"),
            "bench_io.read_accounts(data, filename='a.csv')",
        ),
        ("pandas.read_csv + points_from_xy", lambda: _peer(data), "bench_io._peer(data)"),
    ):
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - t0)
        placed = int(result.geometry.x.notna().sum())  # NaN for missing and empty points
        added = _added_rss_mb(call, data)
        print(
            f"  {label:36s} best {min(times):6.2f} s   rows placed {placed:,}   "
            f"peak memory added {added:,.0f} MB"
        )
    if args.big_mb:
        big_file(args.big_mb, args.seed)
    if args.corpus:
        corpus()


if __name__ == "__main__":
    main()
