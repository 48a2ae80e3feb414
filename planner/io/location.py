"""Placing rows on the map: latitude/longitude columns, swapped columns, shapes, US ZIP codes.

A row is placed by its geometry, else its coordinates, else its US ZIP code
(offline). Coordinates that are not numbers, out of range, half given or
swapped are reported by row; shapes with NaN, infinite or off-the-globe
coordinates too.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner import schema as s
from planner.collector import collector_paused
from planner.geo.columns import (
    ColumnMatch,
    normalise_name,
)
from planner.geodesy import haversine_m
from planner.io.collect import Collector, ReadOptions
from planner.io.geometry import coordinate_trouble
from planner.io.table import RawTable, column_text
from planner.io.values import (
    examples,
    has_word,
    is_word,
    locate_zip5,
    normalise_zip,
    parse_numbers,
    plural,
)

#: Codes of the geocode precision (a categorical of ``GEOCODE_PRECISIONS``).
_EXACT, _POSTAL, _UNPLACED = (
    s.GEOCODE_PRECISIONS.index("exact"),
    s.GEOCODE_PRECISIONS.index("postal_code"),
    -1,
)

_US = frozenset({"us", "usa", "unitedstates", "unitedstatesofamerica", "america", "840"})


def _coordinates(
    table: RawTable,
    match: ColumnMatch,
    out: Collector,
    options: ReadOptions,
    *,
    lat_target: str,
    lon_target: str,
    zip_location: pd.DataFrame | None,
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse latitude/longitude columns; report bad, half-filled, out-of-range and swapped.

    Returns latitude and longitude (NaN where unusable) and a mask of rows with
    coordinate errors.
    """
    frame = table.frame
    nan = pd.Series(np.nan, index=frame.index)
    none = pd.Series(False, index=frame.index)
    lat_src, lon_src = match.source_of(lat_target), match.source_of(lon_target)
    if lat_src is None and lon_src is None:
        return nan, nan.copy(), none
    if lat_src is None or lon_src is None:
        have, lack = (lat_src, "longitude") if lat_src else (lon_src, "latitude")
        out.warn(
            f"the file has '{have}' but no {lack} column, so '{have}' was not used",
            column=have,
            fix=f"add a {lack} column, or pass columns={{'<your column>': '{lack}'}}",
        )
        return nan, nan.copy(), none
    lat, lat_bad, lat_text = parse_numbers(frame[lat_src], decimal_comma=True, grouping=False)
    lon, lon_bad, lon_text = parse_numbers(frame[lon_src], decimal_comma=True, grouping=False)
    for src, bad_mask, text, word in (
        (lat_src, lat_bad, lat_text, "latitude"),
        (lon_src, lon_bad, lon_text, "longitude"),
    ):
        if bad_mask.any():
            out.error(
                f"{plural(int(bad_mask.sum()), word)} {is_word(bad_mask)} "
                f"not a number: {examples(text[bad_mask])}",
                bad_mask,
                column=src,
                fix=f"write the {word} in decimal degrees, such as "
                f"{'33.7490' if word == 'latitude' else '-84.3880'}, or leave it blank",
            )
    lat, lon, lat_src, lon_src, swap_errors = _resolve_swaps(
        lat,
        lon,
        zip_location,
        out,
        options,
        names=(lat_src, lon_src),
        targets=(lat_target, lon_target),
    )
    half = lat.notna() ^ lon.notna()
    half &= ~(lat_bad | lon_bad)
    if half.any():
        out.error(
            f"{plural(int(half.sum()), 'row')} {has_word(half)} only one of latitude and longitude",
            half,
            column=lon_src
            if lat.notna()[half].all()
            else lat_src
            if lon.notna()[half].all()
            else None,
            fix="fill in both latitude and longitude, or leave both blank",
        )
    _out_of_range(out, lat, lon, swap_errors, names=(lat_src, lon_src))
    zero = (lat == 0) & (lon == 0)
    if zero.any():
        out.warn(
            f"{plural(int(zero.sum()), 'row')} {has_word(zero)} latitude "
            "0 and longitude 0, which usually means 'unknown'; treated as no coordinates",
            zero,
            column=lat_src,
            fix="enter the real coordinates, or leave them blank to use the postal code",
        )
    errors = lat_bad | lon_bad | half | (lat.abs() > 90) | (lon.abs() > 180) | swap_errors
    keep = ~(errors | zero)
    return lat.where(keep), lon.where(keep), errors


def _out_of_range(
    out: Collector, lat: pd.Series, lon: pd.Series, swapped: pd.Series, *, names: tuple[str, str]
) -> None:
    """Report latitudes outside -90..90 and longitudes outside -180..180 (not already swapped)."""
    for src, values, limit, word in (
        (names[0], lat, 90, "latitude"),
        (names[1], lon, 180, "longitude"),
    ):
        out_of_range = (values.abs() > limit) & ~swapped
        if out_of_range.any():
            out.error(
                f"{plural(int(out_of_range.sum()), word)} {is_word(out_of_range)} outside "
                f"-{limit}..{limit}: {examples(values[out_of_range].map(lambda v: f'{v:g}'))}",
                out_of_range,
                column=src,
                fix=f"correct the {word} (it must be between -{limit} and {limit}); if latitude "
                "and longitude are swapped in these rows, swap them back",
            )


def _resolve_swaps(
    lat: pd.Series,
    lon: pd.Series,
    zip_location: pd.DataFrame | None,
    out: Collector,
    options: ReadOptions,
    *,
    names: tuple[str, str],
    targets: tuple[str, str],
) -> tuple[pd.Series, pd.Series, str, str, pd.Series]:
    """Find swapped latitude/longitude and decide: swap the columns, or report the rows.

    Every row with coordinates looks swapped: the columns are swapped back with a
    warning (an error when ``fix_swapped`` is off). Most rows look swapped: an
    error on those rows. A few rows look swapped: a warning on those rows.
    Returns latitude, longitude, their column names and a mask of rows in error.
    """
    lat_src, lon_src = names
    none = pd.Series(False, index=lat.index)
    looks, reason = _swap_evidence(lat, lon, zip_location)
    n = int((lat.notna() & lon.notna()).sum())
    k = int(looks.sum())
    if k == 0:
        return lat, lon, lat_src, lon_src, none
    if k == n:
        message = (
            f"latitude and longitude look swapped ({reason}): '{lat_src}' seems to hold "
            f"longitudes and '{lon_src}' latitudes"
        )
        fix = (
            "swap the two column names in the file, or pass "
            f"columns={{'{lat_src}': '{targets[1]}', '{lon_src}': '{targets[0]}'}}"
        )
        if options.fix_swapped:
            out.warn(message + "; they were swapped back", looks, fix=fix)
            return lon, lat, lon_src, lat_src, none
        out.error(message, looks, fix=fix)
        return lat, lon, lat_src, lon_src, looks
    if k > n / 2:
        out.error(
            f"latitude and longitude look swapped in {k} of {n} rows ({reason})",
            looks,
            column=lat_src,
            fix="swap the latitude and longitude values in these rows",
        )
        return lat, lon, lat_src, lon_src, looks
    in_range = looks & (lat.abs() <= 90) & (lon.abs() <= 180)
    if in_range.any():
        out.warn(
            f"latitude and longitude may be swapped in {plural(int(in_range.sum()), 'row')} "
            f"({reason})",
            in_range,
            column=lat_src,
            fix="check these rows and swap their latitude and longitude if they are wrong",
        )
    return lat, lon, lat_src, lon_src, none


def _swap_evidence(
    lat: pd.Series, lon: pd.Series, zip_location: pd.DataFrame | None
) -> tuple[pd.Series, str]:
    """Return which rows look like swapped coordinates, and why.

    A row looks swapped when, as given, its latitude is outside -90..90 or south
    of 60°S (Antarctica, where no one has accounts), while swapped it is a valid
    point outside Antarctica; or when it lies on its US ZIP code only once swapped.
    """
    both = lat.notna() & lon.notna()
    implausible = (lat.abs() > 90) | (lat < -60)
    plausible_swapped = (lon.abs() <= 90) & (lat.abs() <= 180) & (lon >= -60)
    by_range = both & implausible & plausible_swapped
    by_zip = pd.Series(False, index=lat.index)
    if zip_location is not None:
        known = both & zip_location[s.LATITUDE].notna()
        if known.any():
            zla = zip_location.loc[known, s.LATITUDE].to_numpy()
            zlo = zip_location.loc[known, s.LONGITUDE].to_numpy()
            a, o = lat[known].to_numpy(), lon[known].to_numpy()
            given = haversine_m(a, o, zla, zlo) / 1000
            swapped = haversine_m(o, a, zla, zlo) / 1000
            by_zip[known] = (swapped < 100) & (given > 500)
    reasons = []
    if by_range.any():
        reasons.append("latitudes outside -90..90 or in Antarctica that fit when swapped")
    if by_zip.any():
        reasons.append("points that lie on their ZIP code only when swapped")
    return by_range | by_zip, "; ".join(reasons)


def _postal(
    table: RawTable, match: ColumnMatch
) -> tuple[str | None, pd.Series, pd.DataFrame, pd.Series]:
    """Return the postal column's name, its text, ZIP locations and a US-country mask."""
    frame = table.frame
    src = match.source_of(s.POSTAL_CODE)
    empty = pd.DataFrame(
        {
            s.POSTAL_CODE: pd.Series(np.nan, index=frame.index, dtype="str"),
            s.LATITUDE: np.nan,
            s.LONGITUDE: np.nan,
        },
        index=frame.index,
    )
    country_src = match.source_of(s.COUNTRY)
    if country_src is not None:
        country = column_text(frame[country_src])
        us_values = {u for u in country.dropna().unique() if normalise_name(u) in _US}
        us = country.isna() | country.isin(us_values)
    else:
        us = pd.Series(True, index=frame.index)
    if src is None:
        none = pd.Series(np.nan, index=frame.index, dtype="str").astype("category")
        return None, none, empty, us
    text = column_text(frame[src])
    zip5, display = normalise_zip(text.where(us))
    lat, lon = locate_zip5(zip5)
    located = pd.DataFrame({s.POSTAL_CODE: zip5, s.LATITUDE: lat, s.LONGITUDE: lon})
    shown = display.where(display.notna(), text)
    return src, shown.astype("str").astype("category"), located, us


def place_rows(
    table: RawTable,
    match: ColumnMatch,
    out: Collector,
    options: ReadOptions,
    *,
    what: str,
    lat_target: str,
    lon_target: str,
    required: bool,
) -> tuple[gpd.GeoSeries, pd.Series, pd.Series]:
    """Locate each row: geometry, then coordinates, then the US ZIP code.

    Returns the points (EPSG:4326), the geocode precision and the postal codes.
    """
    frame = table.frame
    index = frame.index
    postal_src, postal_text, located, us = _postal(table, match)
    lat, lon, coord_errors = _coordinates(
        table,
        match,
        out,
        options,
        lat_target=lat_target,
        lon_target=lon_target,
        zip_location=located,
    )
    precision = np.full(len(index), _UNPLACED, dtype=np.int8)  # codes of GEOCODE_PRECISIONS
    has_coords = lat.notna() & lon.notna()
    precision[has_coords.to_numpy()] = _EXACT
    xs, ys = lon.to_numpy(copy=True), lat.to_numpy(copy=True)

    if table.geometry_unusable:  # already an error of the whole file
        out.bad[:] = True
        required = False
    elif table.geometry is not None:
        geom = unplaceable(table.geometry, out, what=what)
        coord_errors = coord_errors | (table.geometry.notna() & geom.isna())
        present = geom.notna() & ~geom.is_empty
        not_point = present & (geom.geom_type != "Point")
        if not_point.any():
            out.warn(
                f"{plural(int(not_point.sum()), 'row')} {has_word(not_point)} "
                "a shape that is not a point; a point inside each shape was used",
                not_point,
                fix=f"export the {what}s as points to choose the location yourself",
            )
        use = present.to_numpy()
        shapes = geom.to_numpy()[use]
        inside = not_point.to_numpy()[use]
        if inside.any():  # a point inside each other shape; points are taken as they are
            shapes[inside] = shapely.point_on_surface(shapes[inside])
        xs[use], ys[use] = shapely.get_x(shapes), shapely.get_y(shapes)
        precision[use] = _EXACT
        has_coords = has_coords | present

    # Rows whose coordinates were given but wrong are already errors: no fallback.
    need = ~has_coords & ~coord_errors
    found = located[s.LATITUDE].notna()
    from_zip = need & found
    if from_zip.any():
        ys[from_zip.to_numpy()] = located.loc[from_zip, s.LATITUDE].to_numpy()
        xs[from_zip.to_numpy()] = located.loc[from_zip, s.LONGITUDE].to_numpy()
        precision[from_zip.to_numpy()] = _POSTAL
    unresolved = need & ~found
    _unlocated(out, unresolved, postal_src, postal_text, us, required=required)
    located_mask = ~np.isnan(xs) & ~np.isnan(ys)
    geometry = gpd.GeoSeries(_points(xs, ys, located_mask), index=index, crs=s.STORAGE_CRS)
    precision[~located_mask] = _UNPLACED
    kinds = pd.Categorical.from_codes(
        precision, dtype=pd.CategoricalDtype(list(s.GEOCODE_PRECISIONS))
    )
    return geometry, pd.Series(kinds, index=index), postal_text


_POINT_BLOCK = 200_000  # points made at a time: the temporary arrays stay small


def _points(xs: np.ndarray, ys: np.ndarray, located: np.ndarray) -> np.ndarray:
    """Points where ``located``, ``None`` elsewhere, made block by block."""
    points = np.full(len(xs), None, dtype=object)
    with collector_paused():  # a million new points would each run the collector
        for start in range(0, len(xs), _POINT_BLOCK):
            block = slice(start, start + _POINT_BLOCK)
            use = located[block]
            points[block][use] = shapely.points(xs[block][use], ys[block][use])
    return points


def _unlocated(
    out: Collector,
    unresolved: pd.Series,
    postal_src: str | None,
    postal_text: pd.Series,
    us: pd.Series,
    *,
    required: bool,
) -> None:
    """Report rows placed neither by coordinates nor by ZIP code (errors when required)."""
    if postal_src is not None:
        has_code = postal_text.notna()
        foreign = unresolved & has_code & ~us
        unknown = unresolved & has_code & us
        if foreign.any():
            msg = (
                f"{plural(int(foreign.sum()), 'row')} outside the US "
                f"{has_word(foreign)} no coordinates, and postal codes "
                "can only be located in the US"
            )
            fix = "add latitude and longitude for these rows"
            if required:
                out.error(msg, foreign, column=postal_src, fix=fix)
            else:
                out.warn(msg + "; the location was left empty", foreign, column=postal_src, fix=fix)
        if unknown.any():
            msg = (
                f"{plural(int(unknown.sum()), 'postal code')} "
                f"{is_word(unknown)} not a known US ZIP code: "
                f"{examples(postal_text[unknown])}"
            )
            fix = "correct the ZIP code (5 digits, or ZIP+4), or add latitude and longitude"
            if required:
                out.error(msg, unknown, column=postal_src, fix=fix)
            else:
                out.warn(msg + "; the location was left empty", unknown, column=postal_src, fix=fix)
        neither = unresolved & ~has_code
    else:
        neither = unresolved
    if required and neither.any():
        out.error(
            f"{plural(int(neither.sum()), 'row')} {has_word(neither)} "
            "neither coordinates nor a postal code",
            neither,
            fix="add latitude/longitude or a US postal code",
        )


def unplaceable(geom: gpd.GeoSeries, out: Collector, *, what: str) -> gpd.GeoSeries:
    """Report shapes with NaN/infinite or off-the-globe coordinates; return the others."""
    trouble = coordinate_trouble(geom)
    if not trouble.any:
        return geom
    for mask, problem in (
        (trouble.nonfinite, "a coordinate that is not a number (NaN) or infinite"),
        (trouble.off_globe, "points outside longitude -180..180 or latitude -90..90"),
    ):
        if mask.any():
            out.error(
                f"{plural(int(mask.sum()), what)} {has_word(mask)} {problem} "
                f"(e.g. {examples(trouble.example[mask], limit=3)})",
                mask,
                column=s.GEOMETRY,
                fix=f"correct the coordinates of these {what}s in a GIS and export again "
                "(if the whole file is in metres, pass crs= with its coordinate system)",
            )
    broken = trouble.nonfinite | trouble.off_globe
    return geom.where(~broken, None)
