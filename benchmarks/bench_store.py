"""The workspace store: one edit, opening, races and kills, beside the old whole-file save.

Run: python benchmarks/bench_store.py [--accounts 100000] [--open-accounts 1000000]
     [--edits 200] [--kills 100] [--url postgresql://...] [--parts edit,open,race,kill]
     [--keep /tmp/huge.gpkg]   (writing the 1M-account file takes minutes: keep it)
     [--parts sidecar --sidecar-accounts 1000000 --ten-million]

The ``sidecar`` part measures a large workspace whose accounts live in a
GeoParquet file beside the .gpkg (planner.store.overlay) against the same
workspace with every account in the GeoPackage: open time and peak memory
(each open in a fresh process), saving a 50-account change, compaction,
and reading only the columns a plan needs; beside geopandas' own
``read_parquet`` of the same file and ``read_file`` of the same accounts in
the GeoPackage, in the same run. ``--ten-million`` adds a 10M-account
workspace (its file made by replicating the 1M one in Arrow batches) and
reads the columns an assignment needs.

The peer of a save is the previous planner's save (every table rewritten to
a new GeoPackage with GDAL, then renamed over the old file), run here on
the same workspace; the peer of an open is the previous open (every column
of every table read with GDAL, then conformed), on the same file. The
PostGIS rows run when --url or $PLANNER_DATABASE_URL names a server
(./dev db).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import shapely
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planner import schema as s
from planner.samples import sample_path
from planner.store import create_store, open_store
from planner.store.connect import schema_for
from planner.store.layout import HIDDEN, postgres_engine
from planner.workspace import Workspace, open_workspace
from planner.workspace.opening import open_accounts
from tests.store.crash import kill_drill, race_drill, store_drill


def big_workspace(accounts: int, seed: int = 0) -> Workspace:
    """The Helsinki sample with its accounts copied (jittered) up to ``accounts`` rows."""
    ws = open_workspace(sample_path("helsinki"))
    base = ws.accounts
    rng = np.random.default_rng(seed)
    reps = -(-accounts // len(base))
    frame = pd.concat([base] * reps, ignore_index=True).iloc[:accounts].copy()
    frame[s.ACCOUNT_ID] = [f"A{i:07d}" for i in range(accounts)]
    xy = shapely.get_coordinates(frame.geometry.values)
    xy = xy + rng.normal(0, 0.002, xy.shape)
    frame = frame.set_geometry(shapely.points(xy), crs=s.STORAGE_CRS)
    sid = ws.active_scenario_id()
    members = ws.memberships(sid)
    terr = members[s.TERRITORY_ID].iloc[0]
    big_members = pd.DataFrame(
        {
            s.ACCOUNT_ID: frame[s.ACCOUNT_ID],
            s.TERRITORY_ID: terr,
            s.CAUSE: "spatial",
            s.DETAIL: "inside",
            s.IS_PRIMARY: True,
        }
    )
    ws.set_table("accounts", frame)
    ws.set_rows("memberships", sid, big_members)
    return ws


def old_whole_file_save(ws: Workspace, target: Path) -> None:
    """The previous planner's save: every table written anew with GDAL, then renamed."""
    tmp = target.with_name(f".{target.name}.old.tmp.gpkg")
    meta = pd.DataFrame({"key": ["schema_version"], "value": ["1"]})
    pyogrio.write_dataframe(meta, tmp, layer="meta", driver="GPKG")
    for table, frame in ws.tables.items():
        kwargs = {"geometry_type": "Unknown"} if "geometry" in frame.columns else {}
        pyogrio.write_dataframe(frame, tmp, layer=table, driver="GPKG", **kwargs)
    os.replace(tmp, target)


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def one_edit_figures(opener: Callable[[], Workspace], repeats: int) -> dict[str, float]:
    """Median seconds of a territory rename and of moving 50 accounts, each committed."""
    ws = opener()
    sid = ws.active_scenario_id()
    counter = iter(range(10**6))

    def rename() -> None:
        terr = ws.territories(sid).copy()
        terr.loc[terr.index[1], s.NAME] = f"renamed {next(counter)}"
        ws.set_rows("territories", sid, terr)
        ws.commit("rename", user="bench")

    def move50() -> None:
        mem = ws.memberships(sid).copy()
        n = next(counter)
        rows = mem.index[(n * 50) % (len(mem) - 50) :][:50]
        mem.loc[rows, s.TERRITORY_ID] = ws.territories(sid)[s.TERRITORY_ID].iloc[1 + n % 3]
        mem.loc[rows, s.CAUSE] = "manual"
        ws.set_rows("memberships", sid, mem)
        ws.commit("move 50 accounts", user="bench")

    rename()  # warm up
    return {
        "rename": statistics.median(timed(rename, repeats)),
        "move50": statistics.median(timed(move50, repeats)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--open-accounts", type=int, default=1_000_000)
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--opens", type=int, default=500)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--url", default=os.environ.get("PLANNER_DATABASE_URL"))
    parser.add_argument(
        "--keep", help="a .gpkg path: keep the big workspace there and reuse it in later runs"
    )
    parser.add_argument(
        "--parts", default="edit,open,race,kill", help="which parts to run (comma-separated)"
    )
    parser.add_argument("--sidecar-accounts", type=int, default=1_000_000)
    parser.add_argument("--ten-million", action="store_true", help="add the 10M-account rows")
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)  # child: KIND PATH COLUMNS
    args = parser.parse_args()
    if args.measure:
        measure_child(*args.measure)
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-store-"))
    backends: list[tuple[str, str]] = [("GeoPackage", str(folder / "big.gpkg"))]
    if args.url:
        backends.append(("PostGIS", args.url))
    else:
        print("(no --url / PLANNER_DATABASE_URL: PostGIS rows skipped; start one with ./dev db)")
    load = os.getloadavg()[0]
    print(f"2 shared cores, load {load:.1f}; timings are medians of {args.repeats} and noisy\n")

    parts = set(args.parts.split(","))
    names: dict[str, str] = {}
    if "edit" in parts:
        edit_part(args, backends, folder, names)
    if "open" in parts:
        open_part(args, backends, folder)
    if "race" in parts:
        race_part(args, backends, folder)
    if "kill" in parts:
        kill_part(args, backends, folder)
    if "sidecar" in parts:
        sidecar_part(args, folder)
    for label, target in backends:
        if label in names:
            _drop(label, target, names[label])


def edit_part(
    args: argparse.Namespace, backends: list[tuple[str, str]], folder: Path, names: dict[str, str]
) -> None:
    ws = big_workspace(args.accounts)
    t = time.perf_counter()
    old_whole_file_save(ws, folder / "old.gpkg")
    old_save = time.perf_counter() - t
    print(f"== one edit, {args.accounts:,} accounts ==")
    print(f"{'old whole-file save (peer)':<34}{old_save * 1000:>10.0f} ms")
    for label, target in backends:
        name = f"bench{uuid.uuid4().hex[:8]}"
        names[label] = name
        create_store(target, ws.tables, name=name, overwrite=True).dispose()
        opener = _opener(target, name)
        figs = one_edit_figures(opener, args.repeats)
        print(f"{label + ': rename a territory':<34}{figs['rename'] * 1000:>10.0f} ms")
        print(f"{label + ': move 50 accounts':<34}{figs['move50'] * 1000:>10.0f} ms")


def previous_open(path: str) -> Workspace:
    """The previous open: every column of every table read with GDAL, then conformed."""
    tables = {}
    for table in s.TABLES:
        frame = pyogrio.read_dataframe(path, layer=table, use_arrow=True)
        frame = frame.drop(columns=[c for c in HIDDEN if c in frame.columns])
        if "geometry" in frame.columns and frame.crs is None:
            frame = frame.set_crs(s.STORAGE_CRS, allow_override=True)
        tables[table] = frame
    return Workspace(name="previous", tables=tables)  # conforms every table


def big_edit_figures(ws: Workspace, repeats: int) -> dict[str, float]:
    """Median seconds to move 50 accounts in a big workspace: the edit, then its commit.

    ``whole`` is the peer of the commit's comparison: the same change found
    by comparing the whole table (what every commit did before an edit
    handed on the rows it changed).
    """
    sid = ws.active_scenario_id()
    edit, commit, whole = [], [], []
    for n in range(1, repeats + 1):
        t = time.perf_counter()
        mem = ws.memberships(sid).copy()
        rows = mem.index[(n * 50) % (len(mem) - 50) :][:50]
        mem.loc[rows, s.TERRITORY_ID] = ws.territories(sid)[s.TERRITORY_ID].iloc[1 + n % 2]
        mem.loc[rows, s.CAUSE] = "manual"
        ws.set_rows("memberships", sid, mem)
        edit.append(time.perf_counter() - t)
        assert ws.store is not None
        t = time.perf_counter()
        ws.store.diff(ws.tables, ws._baseline, {"memberships": None})
        whole.append(time.perf_counter() - t)
        t = time.perf_counter()
        ws.commit("move 50 accounts", user="bench")
        commit.append(time.perf_counter() - t)
    return {
        "edit": statistics.median(edit),
        "commit": statistics.median(commit),
        "whole": statistics.median(whole),
    }


def open_part(args: argparse.Namespace, backends: list[tuple[str, str]], folder: Path) -> None:
    n = args.open_accounts
    print(f"\n== a workspace of {n:,} accounts: open, move 50 accounts ==")
    kept = Path(args.keep) if args.keep else None
    huge = None if kept is not None and kept.exists() and len(backends) == 1 else big_workspace(n)
    if huge is not None:
        t = time.perf_counter()
        old_whole_file_save(huge, folder / "old-huge.gpkg")
        print(f"{'old whole-file save (peer)':<40}{time.perf_counter() - t:>10.1f} s")
    for label, target in backends:
        name = f"huge{uuid.uuid4().hex[:8]}"
        where = str(folder / "huge.gpkg") if label == "GeoPackage" else target
        if label == "GeoPackage" and kept is not None and kept.exists():
            shutil.copyfile(kept, where)  # the copy kept from an earlier run (--keep)
            print(f"{label + ': copied from --keep':<40}{'':>10}   ({kept})")
        else:
            assert huge is not None
            t = time.perf_counter()
            create_store(where, huge.tables, name=name, overwrite=True).dispose()
            print(f"{label + ': create (save a copy)':<40}{time.perf_counter() - t:>10.1f} s")
            if label == "GeoPackage" and kept is not None:
                shutil.copyfile(where, kept)
        if label == "GeoPackage":
            t = time.perf_counter()
            before = previous_open(where)
            took = time.perf_counter() - t
            print(f"{'previous open: GDAL + conform (peer)':<40}{took:>10.1f} s")
            del before
        t = time.perf_counter()
        opened = _opener(where, name)()
        took = time.perf_counter() - t
        print(f"{label + ': open':<40}{took:>10.1f} s  ({len(opened.accounts):,} accounts)")
        figs = big_edit_figures(opened, 3)
        print(f"{label + ': move 50 accounts (edit)':<40}{figs['edit']:>10.2f} s")
        print(f"{label + ': ... and commit it (save)':<40}{figs['commit']:>10.2f} s")
        print(f"{'  peer: whole-table comparison only':<40}{figs['whole']:>10.2f} s")
        del opened
        _drop(label, target, name)
    del huge


def race_part(args: argparse.Namespace, backends: list[tuple[str, str]], folder: Path) -> None:
    print(f"\n== race: 2 writers x {args.edits} edits, a reader opening ({args.opens}+ opens) ==")
    for label, target in backends:
        name = f"race{uuid.uuid4().hex[:8]}"
        where = str(folder / "race.gpkg") if label == "GeoPackage" else target
        store_drill(where, name)
        rep = race_drill(_opener(where, name), args.edits, min_opens=args.opens)
        print(
            f"{label:<12} committed {rep.committed}, conflicts reported {rep.conflicts}, "
            f"lost updates {rep.lost_updates}, opens {rep.opens}, torn reads {len(rep.torn)}"
        )
        _drop(label, target, name)


def kill_part(args: argparse.Namespace, backends: list[tuple[str, str]], folder: Path) -> None:
    print(f"\n== kill: SIGKILL mid-commit {args.kills} times ==")
    for label, target in backends:
        name = f"kill{uuid.uuid4().hex[:8]}"
        sub = folder / f"kill-{label}"
        sub.mkdir(exist_ok=True)
        where = str(sub / "k.gpkg") if label == "GeoPackage" else target
        store_drill(where, name)
        folder_or_none = str(sub) if label == "GeoPackage" else None
        rep = kill_drill(_opener(where, name), args.kills, folder=folder_or_none)
        print(
            f"{label:<12} kills {rep.kills}, torn {len(rep.torn)}, leftover files "
            f"{len(rep.leftovers)}, versions reached {rep.versions[-1]}"
        )
        _drop(label, target, name)


# -- large workspaces: accounts in a GeoParquet sidecar -------------------------------
ASSIGN_COLUMNS = f"{s.ACCOUNT_ID},{s.GEOMETRY}"


def measure_child(kind: str, path: str, columns: str) -> None:
    """In a fresh process: do one read, print its seconds and memory as JSON."""
    base = _rss_mb()
    cols = columns.split(",") if columns != "-" else None
    t = time.perf_counter()
    if kind == "open":
        rows = len(open_workspace(path).accounts)
    elif kind == "accounts":
        rows = len(open_accounts(path, cols))
    elif kind == "read_parquet":
        rows = len(gpd.read_parquet(path, columns=cols))
    else:  # read_file: the accounts layer of a GeoPackage, GDAL with Arrow
        rows = len(gpd.read_file(path, layer="accounts", columns=cols, use_arrow=True))
    took = time.perf_counter() - t
    peak = _rss_mb("VmHWM:")  # ru_maxrss would carry the parent's peak across exec
    print(json.dumps({"seconds": took, "peak_mb": peak, "base_mb": base, "rows": rows}))


def _rss_mb(field: str = "VmRSS:") -> float:
    """The process's resident memory now (``VmHWM:``: at its peak), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(kind: str, path: Path, columns: str = "-") -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", kind, str(path), columns],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _row(label: str, fig: dict[str, float]) -> None:
    grown = fig["peak_mb"] - fig["base_mb"]
    print(
        f"{label:<52}{fig['seconds']:>8.2f} s  peak {fig['peak_mb'] / 1024:>5.2f} GB "
        f"(+{grown / 1024:.2f} GB over imports)  {int(fig['rows']):,} rows"
    )


def _move_accounts(ws: Workspace, n: int, tag: str) -> tuple[float, float]:
    """Seconds to rename ``n`` accounts in memory, and to commit the change (the save)."""
    t = time.perf_counter()
    frame = ws.accounts.copy()
    frame.loc[frame.index[:n], s.NAME] = tag
    ws.set_table("accounts", frame)
    edit = time.perf_counter() - t
    t = time.perf_counter()
    ws.commit(f"rename {n} accounts", user="bench")
    return edit, time.perf_counter() - t


def sidecar_part(args: argparse.Namespace, folder: Path) -> None:
    n = args.sidecar_accounts
    print(f"\n== large workspace, {n:,} accounts: sidecar vs every account in the GeoPackage ==")
    huge = big_workspace(n)
    side, flat = folder / "side.gpkg", folder / "flat.gpkg"
    for label, target, limit in (("sidecar", side, 0), ("GeoPackage only", flat, 10**12)):
        t = time.perf_counter()
        create_store(target, huge.tables, name=target.stem, sidecar_threshold=limit).dispose()
        print(f"{'create, ' + label:<52}{time.perf_counter() - t:>8.2f} s")
    del huge
    parquet = next(folder.glob("side.accounts.v*.parquet"))
    _row("open workspace, sidecar", _child("open", side))
    _row("open workspace, GeoPackage only", _child("open", flat))
    _row("peer: geopandas read_parquet, all columns", _child("read_parquet", parquet))
    _row("peer: geopandas read_file (GDAL, arrow), all columns", _child("read_file", flat))
    _row("accounts id+geometry, sidecar", _child("accounts", side, ASSIGN_COLUMNS))
    _row("peer: read_parquet id+geometry", _child("read_parquet", parquet, ASSIGN_COLUMNS))
    _row("accounts id+geometry, GeoPackage only", _child("accounts", flat, ASSIGN_COLUMNS))
    for label, target in (("sidecar", side), ("GeoPackage only", flat)):
        ws = open_workspace(target)
        assert ws.store is not None
        ws.store.sidecar_threshold = 0 if target == side else 10**12  # flat stays flat
        took = [_move_accounts(ws, 50, f"r{i}") for i in range(3)]
        edit = statistics.median(e for e, _ in took)
        save = statistics.median(c for _, c in took)
        print(
            f"{'rename 50 accounts, ' + label + ': edit, commit':<52}{edit:>8.2f} s {save:>6.2f} s"
        )
        del ws
    store = open_store(side)
    t = time.perf_counter()
    done = store.compact()
    took = time.perf_counter() - t
    rows = done.rows if done is not None else 0
    print(f"{'compact (fold the changes into a new file)':<52}{took:>8.2f} s  {rows:,} rows")
    store.dispose()
    if args.ten_million:
        ten_million(side, folder, 10)


def ten_million(side: Path, folder: Path, copies: int) -> None:
    """A workspace of ``copies`` x the sidecar's accounts, its file replicated in Arrow batches."""
    store = open_store(side)
    base = next(folder.glob("side.accounts.v*.parquet"))
    source = pq.ParquetFile(base)
    rows = source.metadata.num_rows * copies
    target = folder / "ten.gpkg"
    shutil.copyfile(side, target)
    name = "ten.accounts.v1.bench.parquet"
    rng = np.random.default_rng(1)
    t = time.perf_counter()
    with pq.ParquetWriter(folder / name, source.schema_arrow, compression="zstd") as writer:
        for copy in range(copies):
            for batch in source.iter_batches(batch_size=131_072):
                ids = pa.array([f"{v}-{copy}" for v in batch.column(s.ACCOUNT_ID).to_pylist()])
                xy = shapely.get_coordinates(
                    shapely.from_wkb(batch.column(s.GEOMETRY).to_numpy(zero_copy_only=False))
                )
                xy = xy + rng.normal(0, 0.001, xy.shape)
                wkb = pa.array(shapely.to_wkb(shapely.points(xy)), pa.binary())
                cols = {f.name: batch.column(f.name) for f in source.schema_arrow}
                cols[s.ACCOUNT_ID], cols[s.GEOMETRY] = ids, wkb
                writer.write_table(pa.table(cols, schema=source.schema_arrow))
    print(f"\n== {rows:,} accounts (file written in {time.perf_counter() - t:.0f} s) ==")
    con = sqlite3.connect(target)
    with con:
        for key, value in (
            ("accounts_sidecar", name),
            ("accounts_sidecar_rows", str(rows)),
        ):
            con.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))
        con.execute("DELETE FROM accounts")
        con.execute("DELETE FROM tp_overlay_deleted")
    con.close()
    store.dispose()
    _row("accounts id+geometry, sidecar", _child("accounts", target, ASSIGN_COLUMNS))
    _row("peer: read_parquet id+geometry", _child("read_parquet", folder / name, ASSIGN_COLUMNS))
    cols = f"{s.ACCOUNT_ID},{s.INDUSTRY},{s.VISITS_PER_MONTH},{s.GEOMETRY}"
    _row("accounts id+industry+visits+geometry, sidecar", _child("accounts", target, cols))
    _row("peer: read_parquet, same columns", _child("read_parquet", folder / name, cols))


def _opener(target: str, name: str) -> Callable[[], Workspace]:
    if target.startswith("postgresql"):
        return lambda: open_workspace(target, name=name)
    return lambda: open_workspace(target)


def _drop(label: str, target: str, name: str) -> None:
    if label != "PostGIS":
        return
    engine = postgres_engine(target)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema_for(name)}" CASCADE'))
    engine.dispose()


if __name__ == "__main__":
    main()
