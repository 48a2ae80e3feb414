"""Assignment of accounts stored as partitioned files, on a Dask cluster.

The recipe: prepare the territories once in the client
(:func:`~planner.assign.prepare_territories`, point index included), send
that layout to every worker once, then let each worker read its own
partitions (Parquet, GeoParquet or CSV files, or the partitions of a
dask-geopandas frame) and run the in-process
:func:`~planner.assign.assign_accounts` on each; only per-territory counts
and a few examples come back to the client. Memberships, when asked for, are
written by the workers beside the input, one Parquet file per partition.
No large frame ever travels through the task graph.

A partition whose rows cannot be used is reported with its file and row
numbers; the other partitions' results are kept. Dask retries the task of a
worker lost mid-run, so the result does not change.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from distributed import Client, LocalCluster, as_completed

from planner import schema as s
from planner.assign.engine import assign_accounts, assign_points
from planner.assign.layout import TerritoryLayout, prepare_territories
from planner.assign.partitions import read_table
from planner.errors import ClusterUnavailableError, InputError, PlannerError, Problem
from planner.geo.locate import THREADS_ENV
from planner.progress import Progress, Stop, never_stop, no_progress

__all__ = [
    "PartitionFailure",
    "PartitionedAssignment",
    "assign_partitioned",
    "partition_paths",
]

logger = logging.getLogger(__name__)

#: Seconds to wait for a scheduler before giving up.
CONNECT_TIMEOUT_S = 5
#: Memory limit of each worker of a local cluster.
LOCAL_WORKER_MEMORY = "2GB"
#: Unassigned accounts sent back per partition as examples.
EXAMPLES = 20
_SUFFIXES = (".parquet", ".geoparquet", ".pq", ".csv")


@dataclass(frozen=True)
class PartitionFailure:
    """A partition that could not be assigned: its file, the message, the problems."""

    partition: str
    message: str
    problems: tuple[Problem, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the failure as a JSON-friendly dictionary."""
        return {
            "partition": self.partition,
            "message": self.message,
            "problems": [p.to_dict() for p in self.problems],
        }


@dataclass(frozen=True)
class PartitionedAssignment:
    """What an assignment over partitions found, summed over the partitions.

    Parameters
    ----------
    accounts, assigned, unassigned, memberships
        Totals over the partitions that succeeded.
    counts
        Primary member accounts per territory (every territory, zeros included).
    overlaps
        Conflicts resolved (``type_id``, ``winner``, ``loser``, ``reason``,
        ``accounts``), summed.
    unassigned_examples
        A few unassigned accounts (``account_id``, ``reason``) per partition.
    failures
        Partitions that could not be assigned.
    warnings
        Distinct warnings of all partitions.
    out
        The folder the memberships were written to, if any.
    partitions
        How many partitions there were.
    stopped
        Whether the run was stopped early (the totals cover the partitions done).
    """

    accounts: int
    assigned: int
    unassigned: int
    memberships: int
    counts: pd.Series
    overlaps: pd.DataFrame
    unassigned_examples: pd.DataFrame
    failures: tuple[PartitionFailure, ...]
    warnings: tuple[str, ...]
    out: str | None
    partitions: int
    stopped: bool = False

    def summary(self) -> dict[str, Any]:
        """Counts for a report, JSON-friendly."""
        return {
            "accounts": self.accounts,
            "assigned": self.assigned,
            "unassigned": self.unassigned,
            "memberships": self.memberships,
            "partitions": self.partitions,
            "failed_partitions": [f.to_dict() for f in self.failures],
            "territories": {str(k): int(v) for k, v in self.counts.items()},
            "overlaps": self.overlaps.to_dict("records"),
            "warnings": list(self.warnings),
            "out": self.out,
            "stopped": self.stopped,
        }


@dataclass(frozen=True)
class _Options:
    """What each partition task needs besides its data and the layout."""

    rules: Mapping[str, str] | None = None
    overrides: pd.DataFrame | None = None
    territory_types: pd.DataFrame | Mapping[str, int] | None = None
    crs: Any = s.STORAGE_CRS
    out: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def partition_paths(source: str | os.PathLike[str] | Sequence[str]) -> list[str]:
    """The partition files of ``source``: a folder, a glob pattern, a file or a list.

    Raises
    ------
    InputError
        When nothing matches.
    """
    if isinstance(source, str | os.PathLike):
        text = os.fspath(source)
        if os.path.isdir(text):
            paths = sorted(str(p) for p in Path(text).rglob("*") if p.suffix.lower() in _SUFFIXES)
        else:
            paths = sorted(glob.glob(text)) if any(c in text for c in "*?[") else [text]
    else:
        paths = [os.fspath(p) for p in source]
    missing = [p for p in paths if not os.path.isfile(p)]
    if not paths or missing:
        raise InputError(
            f"no account partitions at {source}",
            [
                Problem(
                    f"no file {p}" if missing else f"nothing matches {source}",
                    fix="give a folder of .parquet or .csv files, a glob pattern or file names",
                )
                for p in (missing or [str(source)])
            ],
        )
    return paths


def assign_partitioned(
    source: str | os.PathLike[str] | Sequence[str] | Any,
    territories: gpd.GeoDataFrame | TerritoryLayout,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    out: str | os.PathLike[str] | None = None,
    rules: Mapping[str, str] | None = None,
    overrides: pd.DataFrame | None = None,
    territory_types: pd.DataFrame | Mapping[str, int] | None = None,
    crs: Any = s.STORAGE_CRS,
    retries: int = 2,
    progress: Progress | None = None,
    stop: Stop | None = None,
) -> PartitionedAssignment:
    """Assign accounts read by Dask workers from partitioned files.

    Parameters
    ----------
    source
        Account partitions: a folder, a glob pattern or a list of Parquet,
        GeoParquet or CSV files (coordinates in ``longitude``/``latitude``
        or ``lon``/``lat`` columns when there is no geometry), or a
        dask(-geopandas) DataFrame whose partitions the workers compute.
        Account ids must be unique across partitions.
    territories
        The territories, or a layout from :func:`~planner.assign.prepare_territories`.
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``).
    workers
        Without ``scheduler``: start a local cluster with this many worker
        processes (one thread each, 2 GB each). Without either, the
        partitions are assigned one after the other in this process.
    out
        Folder for the memberships, one Parquet file per partition
        (``part-00000.parquet``...), and the unassigned accounts with their
        reason beside it (``part-00000-unassigned.parquet``).
    rules, overrides, territory_types
        As for :func:`~planner.assign.assign_accounts`.
    crs
        CRS of the account coordinates.
    retries
        How often Dask retries a partition whose worker was lost.
    progress, stop
        Progress reports per partition done; a stop cancels the partitions
        not yet done and returns the totals of those done.

    Returns
    -------
    PartitionedAssignment

    Raises
    ------
    ClusterUnavailableError
        When the scheduler does not answer within 5 s or a local cluster
        cannot start.
    InputError
        When there are no partitions or the territories cannot be used.
    """
    report, should_stop = progress or no_progress, stop or never_stop
    parts = _parts(source)
    report(0.02, "preparing territories")
    layout = territories
    if not isinstance(layout, TerritoryLayout):
        layout = prepare_territories(territories, crs, expected_points=10**9)
    options = _Options(rules, overrides, territory_types, crs, _out_folder(out))
    report(0.1, f"assigning {len(parts)} partitions")
    if scheduler is None and workers is None:
        results, stopped = _in_process(parts, layout, options, report, should_stop)
        return _combine(results, layout, len(parts), options.out, stopped)
    with _client(scheduler, workers) as client:
        shared = client.scatter(layout, broadcast=True)
        futures = [
            client.submit(_assign_part, part, i, shared, options, retries=retries, pure=False)
            for i, part in enumerate(parts)
        ]
        results, stopped = _gather(client, futures, report, should_stop)
    return _combine(results, layout, len(parts), options.out, stopped)


def _in_process(
    parts: list[Any],
    layout: TerritoryLayout,
    options: _Options,
    report: Progress,
    should_stop: Stop,
) -> tuple[list[dict[str, Any]], bool]:
    """The same partition tasks, one after the other in this process (no cluster)."""
    results: list[dict[str, Any]] = []
    for i, part in enumerate(parts):
        if should_stop():
            return results, True
        data = part.compute() if hasattr(part, "compute") else part
        results.append(_assign_part(data, i, layout, options))
        report(0.1 + 0.9 * (i + 1) / len(parts), f"{i + 1} of {len(parts)} partitions")
    return results, False


def _parts(source: Any) -> list[Any]:
    """Partition files, or the delayed partitions of a dask frame."""
    if hasattr(source, "to_delayed") and hasattr(source, "npartitions"):
        return list(source.to_delayed())
    return partition_paths(source)


def _out_folder(out: str | os.PathLike[str] | None) -> str | None:
    if out is None:
        return None
    folder = os.fspath(out)
    parent = os.path.dirname(os.path.abspath(folder))
    if not os.path.isdir(parent):
        raise InputError(
            f"cannot write to {folder}: folder {parent} does not exist",
            [Problem("output folder missing", fix="create the parent folder first")],
        )
    os.makedirs(folder, exist_ok=True)
    return folder


@contextmanager
def _client(scheduler: str | None, workers: int | None) -> Iterator[Client]:
    """A client of the given scheduler, or of a local cluster started for the run."""
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise ClusterUnavailableError(
                f"the Dask scheduler at {scheduler} does not answer within "
                f"{CONNECT_TIMEOUT_S} s ({exc}); check the address and that "
                "`dask scheduler` runs there, or use --workers N for a local cluster"
            ) from exc
        with client:
            yield client
        return
    try:
        cluster = LocalCluster(
            n_workers=workers or 2,
            threads_per_worker=1,
            processes=True,
            memory_limit=LOCAL_WORKER_MEMORY,
            dashboard_address=None,
            env={THREADS_ENV: "1"},  # a worker per core: no threads inside a worker
        )
    except (OSError, RuntimeError) as exc:
        raise ClusterUnavailableError(f"a local Dask cluster could not start: {exc}") from exc
    with cluster, Client(cluster) as client:
        yield client


def _gather(
    client: Client, futures: list[Any], report: Progress, should_stop: Stop
) -> tuple[list[dict[str, Any]], bool]:
    """Results of the partitions as they finish; cancel the rest on a stop."""
    results: list[dict[str, Any]] = []
    for done, future in enumerate(as_completed(futures), start=1):
        results.append(future.result())
        report(0.1 + 0.9 * done / len(futures), f"{done} of {len(futures)} partitions")
        if should_stop() and done < len(futures):
            client.cancel([f for f in futures if not f.done()])
            return results, True
    return results, False


# --------------------------------------------------------------------------- on a worker


def _assign_part(
    part: Any, number: int, layout: TerritoryLayout, options: _Options
) -> dict[str, Any]:
    """Read one partition, assign it, write its memberships; return its totals."""
    name = part if isinstance(part, str) else f"partition {number}"
    try:
        data = read_table(part, options.crs) if isinstance(part, str) else _as_frame(part)
        if isinstance(data, gpd.GeoDataFrame):
            accounts: pd.DataFrame = data
            result = assign_accounts(
                data,
                layout,
                rules=options.rules,
                overrides=options.overrides,
                territory_types=options.territory_types,
            )
        else:
            accounts, x, y = data
            result = assign_points(
                accounts,
                x,
                y,
                layout,
                crs=options.crs,
                rules=options.rules,
                overrides=options.overrides,
                territory_types=options.territory_types,
            )
    except PlannerError as exc:
        problems = tuple(getattr(exc, "problems", ()) or ())
        return {"number": number, "failure": PartitionFailure(name, str(exc), problems)}
    if options.out:
        _write_memberships(result, os.path.join(options.out, f"part-{number:05d}.parquet"))
    primary = result.memberships[result.memberships[s.IS_PRIMARY]]
    codes = primary[s.TERRITORY_ID].cat.codes.to_numpy()
    return {
        "number": number,
        "accounts": len(accounts),
        "assigned": len(accounts) - len(result.unassigned),  # every other account is listed
        "unassigned": len(result.unassigned),
        "memberships": len(result.memberships),
        "counts": np.bincount(codes[codes >= 0], minlength=len(layout)),
        "overlaps": result.overlaps,
        "examples": result.unassigned.head(EXAMPLES),
        "warnings": result.warnings,
    }


def _as_frame(part: Any) -> gpd.GeoDataFrame:
    """A computed partition of a dask(-geopandas) frame, as a GeoDataFrame."""
    if not isinstance(part, gpd.GeoDataFrame):
        raise InputError(
            "the partitions have no geometry",
            [Problem("a partition is not a GeoDataFrame", fix="use dask_geopandas frames")],
        )
    return part.reset_index(drop=True)


def _write_memberships(result: Any, path: str) -> None:
    """The memberships (text columns dictionary-encoded), and the unassigned beside them."""
    result.memberships.to_parquet(path, index=False)
    if len(result.unassigned):
        result.unassigned.to_parquet(path.replace(".parquet", "-unassigned.parquet"), index=False)


# --------------------------------------------------------------------------- combining


def _combine(
    results: list[dict[str, Any]],
    layout: TerritoryLayout,
    partitions: int,
    out: str | None,
    stopped: bool,
) -> PartitionedAssignment:
    """Sum the partitions' totals."""
    results = sorted(results, key=lambda r: r["number"])
    ok = [r for r in results if "failure" not in r]
    failures = tuple(r["failure"] for r in results if "failure" in r)
    counts = np.zeros(len(layout), dtype=np.int64)
    for r in ok:
        counts += r["counts"]
    index = pd.Index([str(t) for t in layout.tids], name=s.TERRITORY_ID)
    series = pd.Series(counts, index=index, name="accounts").sort_index()
    columns = [s.TYPE_ID, "winner", "loser", "reason", "accounts"]
    frames = [r["overlaps"] for r in ok if len(r["overlaps"])]
    overlaps = (
        pd.concat(frames).groupby(columns[:4], as_index=False)["accounts"].sum()
        if frames
        else pd.DataFrame({c: [] for c in columns}).astype({"accounts": "int64"})
    )
    examples = [r["examples"] for r in ok if len(r["examples"])]
    warnings = tuple(dict.fromkeys(w for r in ok for w in r["warnings"]))
    for f in failures:
        logger.warning("partition %s failed: %s", f.partition, f.message)
    return PartitionedAssignment(
        accounts=sum(r["accounts"] for r in ok),
        assigned=sum(r["assigned"] for r in ok),
        unassigned=sum(r["unassigned"] for r in ok),
        memberships=sum(r["memberships"] for r in ok),
        counts=series,
        overlaps=overlaps,
        unassigned_examples=(
            pd.concat(examples, ignore_index=True)
            if examples
            else pd.DataFrame({s.ACCOUNT_ID: [], s.REASON: []})
        ),
        failures=failures,
        warnings=warnings,
        out=out,
        partitions=partitions,
        stopped=stopped,
    )
