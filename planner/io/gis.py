"""GIS files (GeoJSON, GeoPackage, zipped Shapefiles, GeoParquet) and Parquet tables.

Shapes are brought to EPSG:4326. A file without a coordinate system is taken
as longitude/latitude only when its coordinates fit (with a warning); a file
that says longitude/latitude while its coordinates are metres is refused. Zip
members are unpacked within the limits, under fixed safe names.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from planner import schema as s
from planner.errors import InputError, Problem
from planner.geo.columns import Kind, normalise_name
from planner.io.geometry import looks_projected
from planner.io.limits import ReadLimits, copy_zip_member, read_zip_member
from planner.io.table import (
    InputFile,
    RawTable,
    empty_file_problem,
    suffix_of,
    unreadable_table,
)

__all__ = ["read_parquet", "read_vector", "read_zip"]


def read_parquet(inp: InputFile, *, crs: Any) -> RawTable:
    import pyarrow.parquet as pq

    # A file on disk is read from its path: its bytes are never held beside the table.
    data = inp.data
    if (len(data) if data is not None else _path(inp).stat().st_size) == 0:
        return unreadable_table(inp, "parquet", empty_file_problem())

    def source() -> Path | io.BytesIO:
        return io.BytesIO(data) if data is not None else _path(inp)

    try:
        meta = pq.read_schema(source()).metadata or {}
        if b"geo" in meta:
            gdf = gpd.read_parquet(source())
            return _vector_table(gdf, inp.name, "parquet", crs=crs, prj_hint=False)
        frame = pd.read_parquet(source())
    except Exception as exc:  # pyarrow raises several types for damaged files
        return unreadable_table(
            inp,
            "parquet",
            Problem(
                f"the file cannot be read as Parquet ({exc})",
                fix="export the file again as Parquet, or as CSV",
            ),
        )
    frame = frame.reset_index(drop=True)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    table = RawTable(inp.name, "parquet", frame)
    if frame.empty:
        table.problems.append(
            Problem("the file has no rows", fix="export the file again with its rows")
        )
        table.readable = False
    return table


def read_vector(
    path: Path, name: str, *, kinds: tuple[Kind, ...], layer: str | None, crs: Any
) -> RawTable:
    import pyogrio

    fmt = {".gpkg": "gpkg", ".shp": "shapefile", ".json": "geojson"}.get(
        path.suffix.lower(), path.suffix.lower().lstrip(".")
    )
    placeholder = InputFile(name, path.suffix.lower(), path=path)
    if path.stat().st_size == 0:
        return unreadable_table(placeholder, fmt, empty_file_problem())
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio.errors.DataSourceError and friends
        return unreadable_table(
            placeholder,
            fmt,
            Problem(
                f"the file cannot be read as {fmt} ({exc})",
                fix="check that the file is complete; export it again from the GIS",
            ),
        )
    chosen = layer
    if chosen is None and len(layers) > 1:
        chosen = next((n for n in layers if normalise_name(n) in kinds), None)
        if chosen is None:
            return unreadable_table(
                placeholder,
                fmt,
                Problem(
                    f"the file has {len(layers)} layers ({', '.join(layers)})",
                    fix="choose one with layer=",
                ),
            )
    if chosen is not None and chosen not in layers:
        return unreadable_table(
            placeholder,
            fmt,
            Problem(
                f"the file has no layer '{chosen}'; its layers are {', '.join(layers)}",
                fix="pass one of these layer names",
            ),
        )
    try:
        gdf = gpd.read_file(path, layer=chosen, engine="pyogrio")
    except Exception as exc:
        return unreadable_table(
            placeholder,
            fmt,
            Problem(
                f"the file cannot be read as {fmt} ({exc})",
                fix="check that the file is complete; export it again from the GIS",
            ),
        )
    return _vector_table(gdf, name, fmt, crs=crs, prj_hint=fmt == "shapefile")


def _vector_table(gdf: pd.DataFrame, name: str, fmt: str, *, crs: Any, prj_hint: bool) -> RawTable:
    gdf = gdf.reset_index(drop=True)
    gdf.index = pd.RangeIndex(1, len(gdf) + 1)
    problems: list[Problem] = []
    geometry: gpd.GeoSeries | None = None
    unusable = False
    if isinstance(gdf, gpd.GeoDataFrame) and gdf.geometry.name in gdf.columns:
        geom = gdf.geometry
        frame = pd.DataFrame(gdf.drop(columns=[geom.name]))
        if crs is not None:
            geom = geom.set_crs(crs, allow_override=True)
        elif geom.crs is not None and geom.crs.is_geographic and looks_projected(geom):
            problems.append(_projected_as_degrees(fmt))
            unusable = True
        if geom.crs is None and not unusable:
            bounds = geom.dropna().total_bounds if geom.notna().any() else np.zeros(4)
            lonlat = bool(
                np.all(np.isfinite(bounds))
                and -180 <= bounds[0] <= bounds[2] <= 180
                and -90 <= bounds[1] <= bounds[3] <= 90
            )
            missing = "the file has no coordinate reference system" + (
                " (no .prj file)" if prj_hint else ""
            )
            if lonlat:
                problems.append(
                    Problem(
                        f"{missing}; its coordinates look like longitude/latitude, "
                        "so EPSG:4326 was assumed",
                        fix="pass crs= (e.g. crs='EPSG:26916') if that is wrong",
                        severity="warning",
                    )
                )
                geom = geom.set_crs(s.STORAGE_CRS)
            else:
                problems.append(
                    Problem(
                        f"{missing} and its coordinates are not longitude/latitude, "
                        "so the shapes cannot be placed on the map",
                        fix="add the .prj file to the zip, or pass crs= with the file's "
                        "coordinate system (e.g. crs='EPSG:26916')",
                    )
                )
                unusable = True
        if not unusable:
            geometry = geom.to_crs(s.STORAGE_CRS)
        else:
            geometry = gpd.GeoSeries([None] * len(geom), index=geom.index, crs=s.STORAGE_CRS)
    else:
        frame = pd.DataFrame(gdf)
    table = RawTable(
        name, fmt, frame, geometry=geometry, geometry_unusable=unusable, problems=problems
    )
    if frame.empty:
        table.problems.append(
            Problem("the file has no features", fix="export the layer again with its features")
        )
        table.readable = False
    return table


def _projected_as_degrees(fmt: str) -> Problem:
    note = " (GeoJSON is longitude/latitude by definition)" if fmt == "geojson" else ""
    return Problem(
        "the file says its coordinates are longitude/latitude" + note + ", but most of them "
        "are far outside -180..180 and -90..90: they look like metres or feet of a projected "
        "coordinate system",
        fix="export the file again in WGS 84 (EPSG:4326), or pass crs= with the system the "
        "coordinates are really in (e.g. crs='EPSG:26916')",
    )


def read_zip(
    inp: InputFile,
    *,
    kinds: tuple[Kind, ...],
    layer: str | None,
    crs: Any,
    limits: ReadLimits,
    readable: frozenset[str],
    unpack_to: Path | None = None,
) -> RawTable | InputFile:
    """Read a zipped Shapefile, or unpack the one readable file of a zip for the caller.

    Returns the Shapefile's table, a table of problems, or the inner file:
    unpacked piece by piece into the folder ``unpack_to`` when given (never
    whole in memory), else in memory. A zip on disk is read from its path.
    """
    source: Path | io.BytesIO = io.BytesIO(inp.data) if inp.data is not None else _path(inp)
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile:
        return unreadable_table(
            inp,
            "zip",
            Problem("the file is not a valid zip archive", fix="zip the files again"),
        )
    except Exception as exc:  # zipfile raises several types for damaged directories
        return unreadable_table(
            inp,
            "zip",
            Problem(
                f"the zip archive's directory is damaged ({type(exc).__name__})",
                fix="zip the files again",
            ),
        )
    with archive:
        members = [
            m
            for m in archive.infolist()
            if not m.is_dir()
            and "__MACOSX" not in m.filename
            and not Path(m.filename).name.startswith(".")
        ]
        shps = [m for m in members if m.filename.lower().endswith(".shp")]
        if shps:
            try:
                return _read_zipped_shapefile(
                    inp, archive, members, shps, kinds=kinds, layer=layer, crs=crs, limits=limits
                )
            except InputError as exc:
                return unreadable_table(inp, "shapefile", exc.problems[0])
        inner = [m for m in members if suffix_of(m.filename) in readable - {".zip"}]
        if len(inner) != 1:
            found = ", ".join(m.filename for m in members) or "nothing"
            return unreadable_table(
                inp,
                "zip",
                Problem(
                    f"the zip holds no Shapefile and not exactly one readable file ({found})",
                    fix="zip one Shapefile (.shp, .shx, .dbf, .prj) or one CSV/GeoJSON/GPKG file",
                ),
            )
        member = inner[0]
        try:
            nested = _unpacked(archive, member, inp, limits, unpack_to)
        except InputError as exc:
            return unreadable_table(inp, "zip", exc.problems[0])
    if nested.suffix in {".zip", ".gz"}:
        return unreadable_table(
            inp,
            "zip",
            Problem(
                f"the zip holds another compressed file ({member.filename})",
                fix="unpack the inner archive and give the table inside it",
            ),
        )
    return nested


def _path(inp: InputFile) -> Path:
    assert inp.path is not None, "an input file is on disk or in memory"
    return inp.path


def _unpacked(
    archive: zipfile.ZipFile,
    member: zipfile.ZipInfo,
    inp: InputFile,
    limits: ReadLimits,
    folder: Path | None,
) -> InputFile:
    """The zip's one readable file, in memory or unpacked into ``folder``."""
    name = f"{inp.name}!{member.filename}"
    suffix = suffix_of(member.filename)
    if folder is None:
        data = read_zip_member(archive, member, limits, name=inp.name)
        return InputFile(name=name, suffix=suffix, data=data)
    target = folder / f"unpacked{suffix}"
    copy_zip_member(archive, member, target, limits, name=inp.name)
    return InputFile(name=name, suffix=suffix, path=target)


def _read_zipped_shapefile(
    inp: InputFile,
    archive: zipfile.ZipFile,
    members: list[zipfile.ZipInfo],
    shps: list[zipfile.ZipInfo],
    *,
    kinds: tuple[Kind, ...],
    layer: str | None,
    crs: Any,
    limits: ReadLimits,
) -> RawTable:
    stems = [m.filename[:-4] for m in shps]
    if layer is not None:
        picked = [st for st in stems if Path(st).name.casefold() == layer.casefold()]
    elif len(stems) == 1:
        picked = stems
    else:
        picked = [st for st in stems if normalise_name(Path(st).name) in kinds]
    if len(picked) != 1:
        layers = ", ".join(Path(st).name for st in stems)
        return unreadable_table(
            inp,
            "shapefile",
            Problem(
                f"the zip holds {len(stems)} Shapefiles ({layers})"
                if layer is None
                else f"the zip has no Shapefile named '{layer}' (it has {layers})",
                fix="choose one with layer=",
            ),
        )
    stem = picked[0]
    parts = {
        m.filename[len(stem) :].lower(): m
        for m in members
        if m.filename.lower().startswith(stem.lower() + ".")
    }
    missing = [ext for ext in (".shx", ".dbf") if ext not in parts]
    if missing:
        base = Path(stem).name
        return unreadable_table(
            inp,
            "shapefile",
            Problem(
                f"the zip has {base}.shp but not {', '.join(base + e for e in missing)}",
                fix="zip the .shp, .shx, .dbf and .prj files of the Shapefile together",
            ),
        )
    budget = limits.max_unpacked_bytes
    with tempfile.TemporaryDirectory(prefix="planner-shp-") as tmp:
        for ext, member in parts.items():
            # Only the parts' bytes are written, under a fixed safe name.
            data = read_zip_member(archive, member, limits, name=inp.name, budget=budget)
            budget -= len(data)
            (Path(tmp) / f"layer{ext}").write_bytes(data)
        table = read_vector(Path(tmp) / "layer.shp", inp.name, kinds=kinds, layer=None, crs=crs)
    table.file_format = "shapefile"
    return table
