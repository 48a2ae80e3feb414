"""Plain exports: membership and hierarchy CSV, GeoJSON and GeoPackage with metrics, XLSX report.

Every CSV and XLSX text cell goes through :func:`planner.export.safety.neutralise`;
CSV files are UTF-8 with a header row, CRLF line ends (RFC 4180) and
``true``/``false`` booleans; GIS files are in EPSG:4326. Writes go to a
temporary file first and are moved into place, so an interrupted export leaves
no half-written file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio
import shapely

from planner import schema as s
from planner.export.plan import (
    ExportResult,
    PlanData,
    as_geodataframe,
    base_manifest,
    prepare_out_dir,
    write_manifest,
)
from planner.export.tables_io import (
    CSV_CHUNK_ROWS,
    csv_bytes,
    write_atomically,
    write_csv,
    write_xlsx,
    xlsx_bytes,
)
from planner.reports import sales_cycle, star_performers, target_rollup, territory_report
from planner.tree import TerritoryTree

__all__ = [
    "CSV_CHUNK_ROWS",
    "CSV_FILES",
    "GPKG_WRITE_CONFIG",
    "PATH_SEPARATOR",
    "accounts_layer",
    "associations_table",
    "csv_bytes",
    "export_csv",
    "export_geojson",
    "export_gpkg",
    "export_xlsx",
    "hierarchy_table",
    "membership_table",
    "report_sheets",
    "territory_layer",
    "territory_paths",
    "users_table",
    "write_csv",
    "write_gpkg",
    "write_xlsx",
    "xlsx_bytes",
]

logger = logging.getLogger(__name__)

#: Separator of the names in a territory path ("North > Atlanta > Midtown").
PATH_SEPARATOR = " > "
#: Files of the CSV export.
CSV_FILES = {
    "hierarchy": "hierarchy.csv",
    "membership": "membership.csv",
    "associations": "associations.csv",
    "targets": "targets.csv",
    "users": "users.csv",
}


#: SQLite settings while GDAL writes an export's GeoPackage. The file is a new temporary
#: one, moved into place only once complete and flushed to disk (:func:`export_gpkg`),
#: so it needs no rollback journal nor a sync per transaction; a page cache (in MB) that
#: holds the file keeps the spatial index GDAL builds after the rows in memory
#: (about a quarter less CPU time for 1M accounts, see ``benchmarks/bench_export.py``).
GPKG_WRITE_CONFIG = {
    "OGR_SQLITE_JOURNAL": "OFF",
    "OGR_SQLITE_SYNCHRONOUS": "OFF",
    "OGR_SQLITE_CACHE": "512",
}


# -- tables ------------------------------------------------------------------------------


def _text(series: pd.Series) -> pd.Series:
    """Text values with ``None`` for missing ones, as an object Series on the same index."""
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=False) == "string":
        return series  # all text, nothing missing (a stored id column): as it is
    obj = series.astype(object)
    present = obj.notna().to_numpy()
    out = pd.Series([None] * len(series), index=series.index, dtype=object)
    if present.any():
        out[present] = obj[present].astype(str).astype(object)
    return out


def _map_repeated(series: pd.Series, mapping: Mapping[Any, Any] | pd.Series) -> pd.Series:
    """``series.map(mapping)`` for a long column of few distinct values: each looked up once."""
    codes, distinct = pd.factorize(series, use_na_sentinel=False)
    looked = pd.Series(distinct, dtype=object).map(mapping).to_numpy(dtype=object)
    return pd.Series(looked[codes], index=series.index)  # typed as map would type it


def _names(territories: pd.DataFrame) -> dict[str, str]:
    ids = territories[s.TERRITORY_ID].astype(str)
    if s.NAME not in territories.columns:
        return dict(zip(ids, ids, strict=True))
    names = _text(territories[s.NAME])
    return {t: (n if n else t) for t, n in zip(ids, names, strict=True)}


def territory_paths(territories: pd.DataFrame, *, sep: str = PATH_SEPARATOR) -> pd.Series:
    """Return each territory's path of names from its root, indexed by ``territory_id``."""
    tree = TerritoryTree.of(territories)
    names = _names(territories)
    return pd.Series({t: tree.path_text(t, labels=names, sep=sep) for t in tree.ids}, dtype=object)


def hierarchy_table(territories: pd.DataFrame) -> pd.DataFrame:
    """The hierarchy, parents before children.

    Returns
    -------
    pandas.DataFrame
        ``territory_id``, ``name``, ``parent_id``, ``level``, ``level_name``,
        ``type_id``, ``source``, ``rule``, ``path``.
    """
    tree = TerritoryTree.of(territories)
    order = tree.ordered()
    frame = territories.drop(columns=[s.GEOMETRY], errors="ignore").copy()
    frame[s.TERRITORY_ID] = frame[s.TERRITORY_ID].astype(str)
    frame = frame.set_index(s.TERRITORY_ID).loc[order].reset_index()
    paths = territory_paths(territories)
    out = pd.DataFrame({s.TERRITORY_ID: frame[s.TERRITORY_ID]})
    for col in (s.NAME, s.PARENT_ID):
        out[col] = _text(frame[col]) if col in frame.columns else None
    out[s.LEVEL] = (
        pd.to_numeric(frame[s.LEVEL], errors="coerce").fillna(0).astype(int)
        if s.LEVEL in frame.columns
        else [tree.depth(t) for t in order]
    )
    for col in (s.LEVEL_NAME, s.TYPE_ID, s.SOURCE, s.RULE):
        out[col] = _text(frame[col]) if col in frame.columns else None
    out["path"] = out[s.TERRITORY_ID].map(paths)
    return out


def membership_table(
    memberships: pd.DataFrame,
    territories: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Account memberships with each territory's name and path.

    Returns
    -------
    pandas.DataFrame
        ``account_id``, ``account_name``, ``territory_id``, ``territory_name``,
        ``territory_path``, ``cause``, ``detail``, ``is_primary``; sorted by
        account, then territory.
    """
    names = _names(territories)
    paths = territory_paths(territories)
    out = pd.DataFrame(
        {
            s.ACCOUNT_ID: _text(memberships[s.ACCOUNT_ID]),
            "account_name": None,
            s.TERRITORY_ID: _text(memberships[s.TERRITORY_ID]),
        }
    )
    if accounts is not None and s.NAME in accounts.columns and len(accounts):
        out["account_name"] = _account_names(out[s.ACCOUNT_ID], accounts)
    out["territory_name"] = _map_repeated(out[s.TERRITORY_ID], names)
    out["territory_path"] = _map_repeated(out[s.TERRITORY_ID], paths)
    out[s.CAUSE] = _text(memberships[s.CAUSE]) if s.CAUSE in memberships.columns else None
    out[s.DETAIL] = _text(memberships[s.DETAIL]) if s.DETAIL in memberships.columns else None
    out[s.IS_PRIMARY] = (
        memberships[s.IS_PRIMARY].fillna(False).astype(bool).to_numpy()
        if s.IS_PRIMARY in memberships.columns
        else True
    )
    return _by_account(out)


def _by_account(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` sorted by account, then territory (stable; missing last), numbered from 0.

    Rows already in strictly increasing account order (the usual case) are
    left as they are; others are sorted by Arrow (byte order of UTF-8 is
    the order of Python's strings).
    """
    ids = frame[s.ACCOUNT_ID].to_numpy(dtype=object)
    try:
        ordered = bool(len(ids) < 2 or np.all(ids[1:] > ids[:-1]))
    except TypeError:  # a missing id: sort
        ordered = False
    if ordered:
        return frame.reset_index(drop=True)
    keys = pa.table(
        {
            c: pa.array(frame[c].to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
            for c in (s.ACCOUNT_ID, s.TERRITORY_ID)
        }
    )
    order = pc.sort_indices(
        keys,
        sort_keys=[(s.ACCOUNT_ID, "ascending", "at_end"), (s.TERRITORY_ID, "ascending", "at_end")],
    )
    return frame.take(order.to_numpy()).reset_index(drop=True)


def _account_names(ids: pd.Series, accounts: pd.DataFrame) -> pd.Series:
    """Each id's account name (the last account of that id), NaN for an unknown id."""
    known = _text(accounts[s.ACCOUNT_ID]).reset_index(drop=True)
    names = _text(accounts[s.NAME]).reset_index(drop=True)
    last = ~known.duplicated(keep="last").to_numpy()
    at = pd.Index(known[last], dtype=object).get_indexer(ids.astype(object))
    looked = np.append(names[last].to_numpy(dtype=object), np.nan)
    return pd.Series(looked[at], index=ids.index)  # at == -1 picks the NaN; typed as map would


def users_table(reps: pd.DataFrame) -> pd.DataFrame:
    """Users without password hashes or geometry: id, name, role, email, manager, capacity."""
    cols = [s.REP_ID, s.NAME, s.ROLE, s.EMAIL, s.MANAGER_ID, s.CAPACITY_H_PER_WEEK]
    return pd.DataFrame({c: reps[c] if c in reps.columns else None for c in cols})


def associations_table(associations: pd.DataFrame, territories: pd.DataFrame) -> pd.DataFrame:
    """User-territory associations with the territory's path."""
    cols = [s.REP_ID, s.TERRITORY_ID, s.ROLE, s.START_DATE, s.END_DATE]
    out = pd.DataFrame({c: associations[c] if c in associations.columns else None for c in cols})
    out.insert(2, "territory_path", _text(out[s.TERRITORY_ID]).map(territory_paths(territories)))
    return out


# -- GIS layers --------------------------------------------------------------------------


def territory_layer(plan: PlanData) -> gpd.GeoDataFrame:
    """Territories with their report metrics (accounts, revenue, workload, target, actual)."""
    report = territory_report(
        plan.territories,
        plan.memberships,
        plan.accounts,
        targets=plan.targets if len(plan.targets) else None,
        opportunities=plan.opportunities,
        associations=plan.associations,
        reps=plan.reps,
        period=plan.report_period,
        as_of=plan.as_of,
    )
    geo = as_geodataframe(plan.territories)
    geo = geo.assign(**{s.TERRITORY_ID: geo[s.TERRITORY_ID].astype(str)})
    keep = [c for c in (s.TERRITORY_ID, s.LEVEL_NAME, s.TYPE_ID) if c in geo.columns]
    merged = report.merge(
        pd.DataFrame(geo[keep]).assign(geometry=geo.geometry.to_numpy()), on=s.TERRITORY_ID
    )
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=s.STORAGE_CRS)


def accounts_layer(plan: PlanData) -> gpd.GeoDataFrame:
    """Account points with their primary territory (the first by id when several)."""
    primary = _primary_territories(plan.memberships, plan.territories)
    geo = as_geodataframe(plan.accounts)
    cols = [c for c in (s.ACCOUNT_ID, s.NAME, s.OWNER_ID, s.ANNUAL_REVENUE) if c in geo.columns]
    out = pd.DataFrame(geo[cols]).assign(**{s.ACCOUNT_ID: _text(geo[s.ACCOUNT_ID])})
    out = out.merge(
        primary[[s.ACCOUNT_ID, s.TERRITORY_ID, "territory_path"]], on=s.ACCOUNT_ID, how="left"
    )
    return gpd.GeoDataFrame(out, geometry=geo.geometry.to_numpy(), crs=s.STORAGE_CRS)


def _primary_territories(memberships: pd.DataFrame, territories: pd.DataFrame) -> pd.DataFrame:
    """Each account's primary territory (the first by id when several) with its path.

    The rows :func:`membership_table` would give, filtered to primary ones,
    without the names nobody reads here.
    """
    primary = pd.DataFrame(
        {
            s.ACCOUNT_ID: _text(memberships[s.ACCOUNT_ID]),
            s.TERRITORY_ID: _text(memberships[s.TERRITORY_ID]),
        }
    )
    if s.IS_PRIMARY in memberships.columns:
        primary = primary[memberships[s.IS_PRIMARY].fillna(False).astype(bool).to_numpy()]
    primary = _by_account(primary)
    ids = primary[s.ACCOUNT_ID].to_numpy(dtype=object)
    first = np.ones(len(ids), dtype=bool)
    first[1:] = ids[1:] != ids[:-1]  # sorted: an account's rows are next to each other
    if not first.all():
        primary = primary[first].reset_index(drop=True)
    primary["territory_path"] = _map_repeated(primary[s.TERRITORY_ID], territory_paths(territories))
    return primary


def _write_layer(frame: gpd.GeoDataFrame, path: Path, *, driver: str, layer: str) -> None:
    frame = frame.copy(deep=False)  # columns are replaced, never changed in place
    for col in frame.columns:
        if col != frame.geometry.name and pd.api.types.is_object_dtype(frame[col]):
            frame[col] = _text(frame[col])
    kwargs: dict[str, Any] = {"driver": driver, "layer": layer, "use_arrow": True}
    if driver == "GPKG":
        points = bool(len(frame)) and bool((shapely.get_type_id(frame.geometry.values) == 0).all())
        kwargs["promote_to_multi"] = not points  # polygons and multipolygons share one type
        kwargs["append"] = path.exists()
    pyogrio.write_dataframe(frame, path, **kwargs)


def write_gpkg(layers: Mapping[str, gpd.GeoDataFrame], path: Path) -> None:
    """Write ``layers`` (name: frame) into the GeoPackage ``path``, each with a spatial index.

    Not atomic by itself: :func:`export_gpkg` gives it a temporary path to move into place.
    :data:`GPKG_WRITE_CONFIG` is set process-wide while it writes (pyogrio has no
    per-call GDAL settings), so a GeoPackage GDAL writes in another thread meanwhile is
    written without a journal too.
    """
    with _gdal_config(GPKG_WRITE_CONFIG):
        for name, layer in layers.items():
            _write_layer(layer, path, driver="GPKG", layer=name)
    _flush(path)  # written without syncs: on disk before it is moved into place


@contextmanager
def _gdal_config(options: Mapping[str, str]) -> Iterator[None]:
    """GDAL configuration ``options`` set for the block, the previous values restored after."""
    before = {key: pyogrio.get_gdal_config_option(key) for key in options}
    pyogrio.set_gdal_config_options(dict(options))
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(before)


def _flush(path: Path) -> None:
    """Make the file's written bytes durable (one sync instead of SQLite's many)."""
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


# -- whole exports -----------------------------------------------------------------------


def _entry(path: Path, rows: int, **more: Any) -> dict[str, Any]:
    return {"file": path.name, "rows": rows, **more}


def export_csv(plan: PlanData, out_dir: str | os.PathLike[str]) -> ExportResult:
    """Write the CSV export: hierarchy, membership, associations, targets, users, manifest."""
    folder = prepare_out_dir(out_dir)
    tables = {
        "hierarchy": hierarchy_table(plan.territories),
        "membership": membership_table(plan.memberships, plan.territories, plan.accounts),
        "associations": associations_table(plan.associations, plan.territories),
        "targets": plan.targets.drop(columns=[s.SCENARIO_ID], errors="ignore"),
        "users": users_table(plan.reps),
    }
    written, entries = [], []
    for key, frame in tables.items():
        path = write_csv(frame, folder / CSV_FILES[key])
        written.append(path)
        entries.append(_entry(path, len(frame), table=key))
    manifest = base_manifest(plan, "csv") | {"files": entries}
    write_manifest(folder, manifest)
    logger.info("wrote CSV export of scenario %s to %s", plan.scenario_id, folder)
    return ExportResult("csv", folder, tuple(written), manifest)


def export_geojson(plan: PlanData, out_dir: str | os.PathLike[str]) -> ExportResult:
    """Write ``territories.geojson`` (with metrics) and ``accounts.geojson`` (RFC 7946, WGS 84)."""
    folder = prepare_out_dir(out_dir)
    written, entries = [], []
    for name, layer in (("territories", territory_layer(plan)), ("accounts", accounts_layer(plan))):
        path = folder / f"{name}.geojson"

        def write(p: Path, layer: gpd.GeoDataFrame = layer, name: str = name) -> None:
            _write_layer(layer, p, driver="GeoJSON", layer=name)

        write_atomically(path, write)
        written.append(path)
        entries.append(_entry(path, len(layer), layer=name))
    manifest = base_manifest(plan, "geojson") | {"files": entries}
    write_manifest(folder, manifest)
    return ExportResult("geojson", folder, tuple(written), manifest)


def export_gpkg(plan: PlanData, out_dir: str | os.PathLike[str]) -> ExportResult:
    """Write ``territories.gpkg`` with layers ``territories`` (with metrics) and ``accounts``."""
    folder = prepare_out_dir(out_dir)
    path = folder / "territories.gpkg"
    layers = {"territories": territory_layer(plan), "accounts": accounts_layer(plan)}

    write_atomically(path, lambda p: write_gpkg(layers, p))
    entries = [_entry(path, len(layer), layer=name) for name, layer in layers.items()]
    manifest = base_manifest(plan, "gpkg") | {"files": entries}
    write_manifest(folder, manifest)
    return ExportResult("gpkg", folder, (path,), manifest)


def report_sheets(plan: PlanData) -> dict[str, pd.DataFrame]:
    """The sheets of the XLSX report: territories, targets, hierarchy, membership, users..."""
    period = plan.report_period
    layer = territory_layer(plan)
    sheets: dict[str, pd.DataFrame] = {
        "Territories": pd.DataFrame(layer.drop(columns=["geometry"])),
    }
    if len(plan.targets):
        sheets["Targets"] = target_rollup(plan.territories, plan.targets, period=period)
    if plan.opportunities is not None:
        sheets["Star performers"] = star_performers(
            plan.reps,
            plan.targets,
            plan.opportunities,
            associations=plan.associations,
            territories=plan.territories,
            period=period,
            as_of=plan.as_of,
        )
        sheets["Sales cycle"] = sales_cycle(
            plan.territories, plan.memberships, plan.opportunities, period=period
        )
    sheets["Hierarchy"] = hierarchy_table(plan.territories)
    sheets["Membership"] = membership_table(plan.memberships, plan.territories, plan.accounts)
    sheets["Users in territories"] = associations_table(plan.associations, plan.territories)
    sheets["Users"] = users_table(plan.reps)
    return sheets


def export_xlsx(plan: PlanData, out_dir: str | os.PathLike[str]) -> ExportResult:
    """Write ``report.xlsx``: one sheet per report and table of the plan."""
    folder = prepare_out_dir(out_dir)
    sheets = report_sheets(plan)
    path = write_xlsx(sheets, folder / "report.xlsx")
    entries = [_entry(path, sum(len(f) for f in sheets.values()), sheets=list(sheets))]
    manifest = base_manifest(plan, "xlsx") | {"files": entries, "period": plan.report_period}
    write_manifest(folder, manifest)
    return ExportResult("xlsx", folder, (path,), manifest)
