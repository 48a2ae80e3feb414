"""Open an input file (path, bytes or upload) and read its raw table, numbered as the user sees it.

This is the file layer under :mod:`planner.geo.io`: it knows formats (CSV and
other delimited text, XLSX, GeoJSON, GeoPackage, zipped Shapefiles, Parquet,
gzip-compressed files), encodings, header rows and coordinate reference
systems, and nothing about what the columns mean beyond finding the header.
Each format's reader lives in :mod:`planner.io` (``delimited``, ``excel``,
``gis``); this module opens the input within the size limits and dispatches.
Problems are collected in the returned :class:`RawTable`; nothing here raises
for a bad file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from planner.errors import InputError, Problem
from planner.geo.columns import Kind
from planner.io.chunked import input_size, read_delimited_chunked
from planner.io.delimited import read_delimited
from planner.io.excel import read_excel
from planner.io.gis import read_parquet, read_vector, read_zip
from planner.io.limits import DEFAULT_LIMITS, ReadLimits, check_file_size, gunzip_chunks
from planner.io.table import (
    MAX_ROWS,
    ColumnMap,
    InputFile,
    RawTable,
    Source,
    Unreadable,
    cell_text,
    column_text,
    name_of,
    suffix_of,
    unreadable_table,
)

__all__ = [
    "MAX_ROWS",
    "ColumnMap",
    "InputFile",
    "RawTable",
    "Source",
    "Unreadable",
    "cell_text",
    "column_text",
    "name_of",
    "open_input",
    "read_table",
]

_TABULAR = {".csv", ".txt", ".tsv", ".tab"}


_EXCEL = {".xlsx", ".xlsm"}


_PARQUET = {".parquet", ".geoparquet", ".pq"}


_VECTOR = {".geojson", ".json", ".gpkg", ".shp", ".fgb", ".gml", ".kml"}


_READABLE = frozenset(_TABULAR | _EXCEL | _PARQUET | _VECTOR | {".zip", ".gz"})


#: Road network files: read by :mod:`planner.routing`, never as a table.
_NETWORK = (".pbf", ".osm", ".osm.gz", ".osm.bz2", ".o5m", ".graphml", ".graphml.gz")


def open_input(
    source: Source, filename: str | None, *, limits: ReadLimits = DEFAULT_LIMITS
) -> InputFile:
    """Wrap a path, bytes or a binary file object as an :class:`InputFile`.

    Parameters
    ----------
    source
        What to read.
    filename
        The file name to use for the format and in messages; required for bytes
        and for file objects without a ``name``.
    limits
        ``max_file_bytes`` is checked here, before anything is read.

    Raises
    ------
    Unreadable
        If the path does not exist, is a folder, is too large, or in-memory
        input has no name.
    """
    try:
        return _open_input(source, filename, limits)
    except InputError as exc:
        raise Unreadable(exc.problems[0]) from exc


def _open_input(source: Source, filename: str | None, limits: ReadLimits) -> InputFile:
    if isinstance(source, (str, os.PathLike)):
        path = Path(os.fspath(source))
        name = filename or str(path)
        if not path.exists():
            raise Unreadable(
                Problem(
                    f"there is no file '{path}'",
                    fix="check the path and the file name",
                )
            )
        if path.is_dir():
            raise Unreadable(
                Problem(f"'{path}' is a folder, not a file", fix="give the path of a file")
            )
        check_file_size(path.stat().st_size, limits, name=name)
        return InputFile(name=name, suffix=suffix_of(filename or path.name), path=path)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)
        raw = source.read(limits.max_file_bytes + 1)
        data = raw.encode() if isinstance(raw, str) else bytes(raw)
    else:
        raise Unreadable(
            Problem(
                f"cannot read input of type {type(source).__name__}",
                fix="pass a path, bytes or a binary file object",
            )
        )
    name = filename or name_of(source)
    check_file_size(len(data), limits, name=name)
    if name == "<upload>":
        raise Unreadable(
            Problem(
                "in-memory input has no file name, so its format is unknown",
                fix="pass filename='accounts.csv' (or .xlsx, .geojson, .gpkg, .zip, .parquet)",
            )
        )
    return InputFile(name=Path(name).name, suffix=suffix_of(name), data=data)


def read_table(
    inp: InputFile,
    *,
    kinds: tuple[Kind, ...],
    columns: ColumnMap | None,
    sheet: str | int | None,
    layer: str | None,
    encoding: str | None,
    crs: Any,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> RawTable:
    """Read a file's raw table, whatever its format; problems are collected, not raised.

    Parameters
    ----------
    inp
        The file.
    kinds
        The table kinds whose column names help find the header row.
    columns
        The caller's column mapping; its source names also mark the header.
    sheet, layer, encoding, crs, limits
        See :func:`planner.geo.io.validate_file`.
    """
    suffix = inp.suffix
    extra = tuple(columns or ())
    options: dict[str, Any] = {
        "columns": columns,
        "sheet": sheet,
        "layer": layer,
        "encoding": encoding,
    }
    if inp.name.lower().endswith(_NETWORK):
        return _network_file(inp)
    if suffix == ".gz":
        return _read_gzip(inp, kinds=kinds, crs=crs, limits=limits, **options)
    if suffix in _TABULAR:
        large = input_size(inp) > limits.stream_above_bytes
        reader = read_delimited_chunked if large else read_delimited
        return reader(inp, kinds=kinds, extra=extra, encoding=encoding, limits=limits)
    if suffix in _EXCEL:
        return read_excel(inp, kinds=kinds, extra=extra, sheet=sheet, limits=limits)
    if suffix == ".xls":
        return unreadable_table(
            inp,
            "xls",
            Problem(
                "old Excel 97-2003 (.xls) workbooks are not supported",
                fix="open it in Excel or LibreOffice and save it as .xlsx or CSV",
            ),
        )
    if suffix in _PARQUET:
        return read_parquet(inp, crs=crs)
    if suffix == ".zip":
        with tempfile.TemporaryDirectory(prefix="planner-zip-") as tmp:
            unpacked = read_zip(
                inp,
                kinds=kinds,
                layer=layer,
                crs=crs,
                limits=limits,
                readable=_READABLE,
                unpack_to=Path(tmp),
            )
            if isinstance(unpacked, RawTable):
                return unpacked
            return read_table(unpacked, kinds=kinds, crs=crs, limits=limits, **options)
    if suffix in _VECTOR:
        with inp.local_path() as path:
            return read_vector(path, inp.name, kinds=kinds, layer=layer, crs=crs)
    return unreadable_table(
        inp,
        suffix.lstrip("."),
        Problem(
            f"files of type '{suffix or '(none)'}' cannot be read",
            fix="use CSV, XLSX, GeoJSON, GeoPackage (.gpkg), Parquet or a zipped Shapefile",
        ),
    )


def _network_file(inp: InputFile) -> RawTable:
    """Tell a road network given where a table was expected (nothing is unpacked)."""
    return unreadable_table(
        inp,
        "network",
        Problem(
            f"'{Path(inp.name).name}' is a road network file (OpenStreetMap or GraphML), "
            "so it cannot be read as a table",
            fix="build the road network with `planner network build FILE --workspace W.gpkg`; "
            "give tables as CSV, XLSX, GeoJSON, GeoPackage, Parquet or a zipped Shapefile",
        ),
    )


def _read_gzip(
    inp: InputFile, *, kinds: tuple[Kind, ...], crs: Any, limits: ReadLimits, **options: Any
) -> RawTable:
    """Read a gzip-compressed file (``accounts.csv.gz``) as the file inside it.

    The file is unpacked piece by piece into a temporary file (never whole in
    memory) and refused once it passes ``limits.max_unpacked_bytes``.
    """
    inner = suffix_of(Path(inp.name).stem)
    if inner in {".gz", ".zip"}:
        return unreadable_table(
            inp,
            "gzip",
            Problem(
                f"the gzip file holds another compressed file ({inner})",
                fix="unpack the file and give the table inside it",
            ),
        )
    with tempfile.TemporaryDirectory(prefix="planner-gz-") as tmp:
        path = Path(tmp) / f"unpacked{inner or '.csv'}"
        try:
            _unpack(inp, path, limits)
        except InputError as exc:
            return unreadable_table(inp, "gzip", exc.problems[0])
        nested = InputFile(name=inp.name, suffix=inner or ".csv", path=path)
        return read_table(nested, kinds=kinds, crs=crs, limits=limits, **options)


def _unpack(inp: InputFile, target: Path, limits: ReadLimits) -> None:
    """Write the gzip input unpacked to ``target``, within the limits."""
    with target.open("wb") as out:
        if inp.data is not None:
            pieces = gunzip_chunks(inp.data, limits, name=inp.name)
            for piece in pieces:
                out.write(piece)
            return
        assert inp.path is not None
        with inp.path.open("rb") as fh:
            for piece in gunzip_chunks(fh, limits, name=inp.name):
                out.write(piece)
