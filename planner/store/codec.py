"""Turning table cells into stored values and back.

Two jobs live here:

* the GeoPackage geometry encoding (a small header with the SRS id and an
  envelope in front of standard WKB, GeoPackage 1.3 section 2.1.3), written
  and read for whole columns at once with shapely's vectorised WKB functions;
* the plain-Python form of one row (strings, floats, ints, bools, ``None``
  and WKB hex for the geometry) used for history images, which is JSON
  serialisable and round-trips exactly.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely

from planner import schema as s

__all__ = [
    "SRS_ID",
    "decode_gpkg",
    "encode_gpkg",
    "from_image",
    "geometry_from_hex",
    "image_json",
    "plain",
    "row_images",
]

#: The SRS id every geometry is stored with (WGS 84 longitude/latitude).
SRS_ID = 4326

# Bytes of the envelope for each envelope indicator (flags bits 1-3).
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def encode_gpkg(geoms: Sequence[Any] | np.ndarray) -> list[bytes | None]:
    """Return GeoPackage binary blobs for an array of shapely geometries.

    Missing geometries become ``None``; empty ones carry the empty flag.
    Points carry no envelope (the spec's advice), other shapes an xy one.
    """
    arr = np.asarray(geoms, dtype=object)
    out: list[bytes | None] = [None] * len(arr)
    if not len(arr):
        return out
    present = ~pd.isna(arr) & np.array([g is not None for g in arr], dtype=bool)
    if not present.any():
        return out
    idx = np.flatnonzero(present)
    shapes = arr[idx]
    wkb = shapely.to_wkb(shapes, byte_order=1)
    empty = shapely.is_empty(shapes)
    points = shapely.get_type_id(shapes) == 0
    bounds = shapely.bounds(shapes)
    for j, i in enumerate(idx):
        if empty[j]:
            header = b"GP\x00" + bytes([0b00010001]) + struct.pack("<i", SRS_ID)
        elif points[j]:
            header = b"GP\x00" + bytes([0b00000001]) + struct.pack("<i", SRS_ID)
        else:
            minx, miny, maxx, maxy = bounds[j]
            header = (
                b"GP\x00"
                + bytes([0b00000011])
                + struct.pack("<i", SRS_ID)
                + struct.pack("<dddd", minx, maxx, miny, maxy)
            )
        out[i] = header + bytes(wkb[j])
    return out


def decode_gpkg(blobs: Sequence[Any]) -> np.ndarray:
    """Return an array of shapely geometries from GeoPackage blobs (``None`` stays missing).

    Blobs that are plain WKB (no ``GP`` magic) are accepted too, so a column
    read from PostGIS with ``ST_AsBinary`` decodes through the same path.
    """
    wkb: list[bytes | None] = []
    for blob in blobs:
        if blob is None:
            wkb.append(None)
            continue
        raw = bytes(blob)
        if raw[:2] == b"GP":
            flags = raw[3]
            wkb.append(raw[8 + _ENVELOPE_BYTES.get((flags >> 1) & 0b111, 0) :])
        else:
            wkb.append(raw)
    return np.asarray(shapely.from_wkb(np.asarray(wkb, dtype=object)), dtype=object)


def plain(value: Any) -> Any:
    """Return ``value`` as a JSON-friendly Python scalar (``None`` for missing)."""
    if s.is_missing(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def row_images(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Return each row of ``frame`` as a plain dict over ``columns`` (geometry as WKB hex)."""
    data: dict[str, list[Any]] = {}
    for col in columns:
        if col == s.GEOMETRY:
            geoms = np.asarray(frame[col], dtype=object)
            wkb = shapely.to_wkb(geoms, hex=True, byte_order=1)
            data[col] = [None if g is None else str(g) for g in wkb]
        else:
            data[col] = [plain(v) for v in frame[col].tolist()]
    return [dict(zip(columns, vals, strict=True)) for vals in zip(*data.values(), strict=True)]


def image_json(image: dict[str, Any] | None) -> str | None:
    """Serialise one row image (``None`` stays ``None``)."""
    if image is None:
        return None
    return json.dumps(image, sort_keys=True, separators=(",", ":"), default=str)


def from_image(text: str | None) -> dict[str, Any] | None:
    """Read back a row image written by :func:`image_json`."""
    if text is None:
        return None
    value = json.loads(text)
    return value if isinstance(value, dict) else None


def geometry_from_hex(values: Sequence[str | None]) -> np.ndarray:
    """Return shapely geometries from WKB hex strings (history images)."""
    return np.asarray(shapely.from_wkb(np.asarray(list(values), dtype=object)), dtype=object)
