"""Benchmark: 10M accounts from partitioned Parquet into ~37,000 ZIP-like cells on a Dask cluster.

Both paths run on a fresh 2-worker local cluster each (one thread and 2 GB per
worker), on the same files, in the same run:

- ours: :func:`planner.assign.cluster.assign_partitioned`, end to end (the
  territories prepared in the client, sent once; workers read their Parquet
  partitions, assign, write the memberships, send back counts);
- the peer: dask-geopandas' own path, ``dask_geopandas.sjoin(points,
  cells, predicate="within")`` on ``dask.dataframe.read_parquet`` partitions,
  then the count per cell, computed on the cluster.

Peak memory is sampled every 0.2 s over the client and every worker process.
Then the first partition (1M accounts) is assigned in-process and compared
with what the workers wrote for it: the memberships must be identical.

The accounts (around the real ZIP centroids, 0.05 degree jitter, as in
``bench_assign.py``) are written once to ``--data`` and reused.

Run: ``python benchmarks/bench_dask.py [--n 10000000] [--partitions 10] [--data DIR]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import dask_geopandas
import geopandas as gpd
import numpy as np
import pandas as pd
import psutil
from distributed import Client, LocalCluster

from planner.assign import assign_accounts
from planner.assign.cluster import assign_partitioned
from planner.assign.partitions import read_partition

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_assign import zip_layout

SEED = 0


def write_accounts(folder: Path, centres: np.ndarray, n: int, parts: int) -> list[Path]:
    """Write ``n`` accounts around the centres in ``parts`` Parquet files (once)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"accounts-{k:03d}.parquet" for k in range(parts)]
    if all(p.exists() for p in paths):
        return paths
    rng = np.random.default_rng(SEED)
    start = 0
    for k, size in enumerate(np.diff(np.linspace(0, n, parts + 1).astype(np.int64))):
        pick = rng.integers(0, len(centres), size)
        frame = pd.DataFrame(
            {
                "account_id": [f"A{i:08d}" for i in range(start, start + size)],
                "longitude": centres[pick, 0] + rng.normal(0, 0.05, size),
                "latitude": centres[pick, 1] + rng.normal(0, 0.05, size),
            }
        )
        frame.to_parquet(paths[k], index=False)
        start += size
    return paths


class MemoryWatch:
    """Peak RSS of this process and its children (the workers), sampled in a thread.

    Also the CPU seconds they used (``cpu_s``): on a machine shared with other
    work the wall time stretches, the CPU time much less.
    """

    def __init__(self) -> None:
        self.peak_total = 0.0
        self.peak_process = 0.0
        self.cpu_s = 0.0
        self._cpu: dict[int, float] = {}
        self._cpu_start = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        me = psutil.Process()
        self._cpu_now([me, *me.children(recursive=True)])
        self.cpu_s = sum(self._cpu.values()) - self._cpu_start

    def _cpu_now(self, processes: list[psutil.Process]) -> None:
        for p in processes:
            try:
                t = p.cpu_times()
                self._cpu[p.pid] = t.user + t.system
            except psutil.Error:
                continue

    def _run(self) -> None:
        me = psutil.Process()
        self._cpu_now([me, *me.children(recursive=True)])
        self._cpu_start = sum(self._cpu.values())
        while not self._stop.is_set():
            rss = []
            processes = [me, *me.children(recursive=True)]
            self._cpu_now(processes)
            for p in processes:
                try:
                    rss.append(p.memory_info().rss / 2**20)
                except psutil.Error:
                    continue
            self.peak_total = max(self.peak_total, sum(rss))
            self.peak_process = max(self.peak_process, max(rss))
            time.sleep(0.2)


def run_ours(client: Client, folder: Path, cells: gpd.GeoDataFrame, out: Path) -> dict[str, Any]:
    """Our Dask path, end to end."""
    with MemoryWatch() as watch:
        t0 = time.perf_counter()
        result = assign_partitioned(folder, cells, scheduler=client.scheduler.address, out=out)
        seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "cpu_s": watch.cpu_s,
        "peak_total_mb": watch.peak_total,
        "peak_process_mb": watch.peak_process,
        "accounts": result.accounts,
        "unassigned": result.unassigned,
        "failures": len(result.failures),
    }


def run_peer(client: Client, folder: Path, cells: gpd.GeoDataFrame) -> dict[str, Any]:
    """dask-geopandas' own path: read, points, sjoin(within), count per cell."""
    with MemoryWatch() as watch:
        t0 = time.perf_counter()
        frame = dd.read_parquet(str(folder))
        points = dask_geopandas.from_dask_dataframe(
            frame,
            geometry=dask_geopandas.points_from_xy(frame, "longitude", "latitude", crs=4326),
        ).set_crs(4326)
        right = dask_geopandas.from_geopandas(cells, npartitions=1)
        joined = dask_geopandas.sjoin(points, right, predicate="within")
        counts = joined.groupby("territory_id").size().compute()
        seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "cpu_s": watch.cpu_s,
        "peak_total_mb": watch.peak_total,
        "peak_process_mb": watch.peak_process,
        "accounts": int(counts.sum()),
    }


def check_sample(path: Path, cells: gpd.GeoDataFrame, out: Path) -> tuple[int, int]:
    """Memberships of the first partition: in-process vs. what the workers wrote."""
    accounts = read_partition(str(path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = assign_accounts(accounts, cells)
    written = pd.read_parquet(out / "part-00000.parquet")
    mem = ours.memberships
    a = set(zip(mem["account_id"], mem["territory_id"].astype(str), strict=True))
    b = set(zip(written["account_id"], written["territory_id"].astype(str), strict=True))
    return len(accounts), len(a ^ b)


def main(argv: list[str] | None = None) -> int:
    """Run both paths, each on a fresh 2-worker cluster, and print the figures side by side."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--partitions", type=int, default=10)
    parser.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "planner-bench-10m"))
    args = parser.parse_args(argv)
    cells, centres = zip_layout()
    folder = Path(args.data) / f"n{args.n}-p{args.partitions}"
    paths = write_accounts(folder, centres, args.n, args.partitions)
    out = Path(args.data) / "memberships"
    print(f"{args.n:,} accounts in {len(paths)} Parquet files; {len(cells):,} cells; 2 workers")
    head = (
        f"{'path':<28}{'wall s':>8}{'CPU s':>8}{'accounts':>13}{'peak all MB':>13}"
        f"{'peak proc MB':>14}"
    )
    print(head)
    print("-" * len(head))
    figures = {}
    for name, run in (
        ("ours (assign_partitioned)", lambda c: run_ours(c, folder, cells, out)),
        ("dask-geopandas sjoin", lambda c: run_peer(c, folder, cells)),
    ):
        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, memory_limit="2GB", dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            r = figures[name] = run(client)
        print(
            f"{name:<28}{r['seconds']:>8.1f}{r['cpu_s']:>8.1f}{r['accounts']:>13,}"
            f"{r['peak_total_mb']:>13,.0f}{r['peak_process_mb']:>14,.0f}",
            flush=True,
        )
    ours, peer = figures["ours (assign_partitioned)"], figures["dask-geopandas sjoin"]
    n_sample, differ = check_sample(paths[0], cells, out)
    print(
        f"\nCPU s = CPU seconds of the client and the workers (the run's own work; wall time "
        f"stretches when other jobs share the 2 cores, load average now {os.getloadavg()[0]:.1f})."
    )
    print(
        f"ours: {ours['unassigned']:,} accounts outside every cell (kept, with a reason; sjoin "
        f"drops them), {ours['failures']} failed partitions.\nsample of {n_sample:,} accounts "
        f"(first partition): {differ} memberships differ from the in-process run."
    )
    ok = ours["seconds"] < 60 and ours["peak_process_mb"] < 2048 and differ == 0
    print(
        f"targets (< 60 s, no process over 2 GB, identical sample, at least as fast as the "
        f"peer): {'met' if ok and ours['seconds'] <= peer['seconds'] else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
