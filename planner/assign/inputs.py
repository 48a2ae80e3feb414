"""Assignment inputs: account checks, ids as text, manual overrides."""

from __future__ import annotations

import ctypes
import threading
import warnings
import weakref
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from numpy.typing import NDArray

from planner import schema as s
from planner.errors import InputError, PlannerWarning, Problem, format_ids
from planner.geo.locate import threads

#: Points from which reading x and y side by side pays off.
_PARALLEL_MIN = 200_000
#: Points from which the coordinates of the last account points are kept (see
#: :func:`_remembered_coordinates`).
_MEMO_MIN = 50_000

__all__ = [
    "check_account_ids",
    "check_accounts",
    "id_series",
    "match_overrides",
    "overrides_frame",
    "point_coordinates",
    "text_array",
]


def text_array(values: pd.Series) -> NDArray[np.object_]:
    """The values as an object array of ``str`` (``None`` for missing)."""
    arr = np.array(values.astype(object).to_numpy(), dtype=object)
    arr[pd.isna(arr)] = None
    if pd.api.types.infer_dtype(arr, skipna=True) in ("string", "empty"):
        return arr
    return np.array([None if s.is_missing(v) else str(v) for v in arr], dtype=object)


def id_series(column: pd.Series) -> pd.Series:
    """The ids as a Series of text (kept in its string dtype: no copy for a million rows)."""
    ids = column.reset_index(drop=True)
    if pd.api.types.is_string_dtype(ids.dtype) and not pd.api.types.is_object_dtype(ids.dtype):
        return ids
    if pd.api.types.infer_dtype(ids, skipna=True) in ("string", "empty"):
        return ids
    return pd.Series(text_array(ids), dtype=object)


#: The pyarrow ids last found unique (weakly held: a live array is the very one checked).
_UNIQUE: list[weakref.ref[Any]] = []


def _all_unique(ids: pd.Series) -> bool:
    """Whether the (non-missing) ids are unique; sorted ids skip the hashing.

    pyarrow arrays never change (an edit gives the Series a new one), so ids
    held in the very array last found unique (the same accounts assigned
    again) are not compared again.
    """
    if len(ids) > 1 and not ids.hasnans:
        if getattr(ids.dtype, "storage", None) == "pyarrow":
            chunked = ids.array.__arrow_array__()
            if _UNIQUE and _UNIQUE[0]() is chunked:
                return True
            arr = pa.array(ids.array)
            if pc.all(pc.less(arr[:-1], arr[1:])).as_py():
                if len(ids) >= _MEMO_MIN:
                    _UNIQUE[:] = [weakref.ref(chunked)]
                return True
        elif pd.api.types.is_object_dtype(ids.dtype):
            values = ids.to_numpy()
            try:
                if bool(np.all(values[1:] > values[:-1])):
                    return True
            except TypeError:
                pass
    codes, uniques = pd.factorize(ids)
    return len(uniques) == int((codes >= 0).sum())


def check_accounts(
    accounts: gpd.GeoDataFrame,
) -> tuple[gpd.GeoDataFrame, pd.Series, NDArray[np.float64], NDArray[np.float64]]:
    """Check the accounts; return them (with a CRS), their ids as text, and x and y.

    The coordinates are read once: a point has a number for x, so only the
    rows without one (missing, empty or not a point) are looked at further.
    """
    if not isinstance(accounts, gpd.GeoDataFrame):
        raise InputError(
            "accounts need locations",
            [Problem("the accounts have no geometry column", fix="read them with read_accounts")],
        )
    ids, problems = _id_problems(accounts)
    x, y, unread = _remembered_coordinates(accounts.geometry.values)
    geoms = np.asarray(accounts.geometry.values, dtype=object)
    wrong = unread[shapely.get_type_id(geoms[unread]) > 0]
    wrong = wrong[~shapely.is_empty(geoms[wrong])]
    if len(wrong):
        problems.append(
            Problem(
                f"accounts {format_ids(ids.take(wrong).tolist())} have a "
                f"{geoms[wrong[0]].geom_type} where a point was expected",
                rows=tuple(int(i) + 1 for i in wrong[:50]),
                column=s.GEOMETRY,
                fix="give accounts point locations (latitude/longitude)",
            )
        )
    if problems:
        raise InputError(f"{len(problems)} problem(s) with the accounts", problems)
    if accounts.crs is None:
        accounts = _assume_lonlat(accounts, x, y)
    return accounts, ids, x, y


class _Memo:
    """The coordinates of the last large set of account points, while its array lives.

    Shapely geometries never change, so points held in the same positions by
    the same objects have the same coordinates. The memo holds references to
    those objects (no other object can take their addresses) and a snapshot
    of the addresses; a later call whose array holds the very same objects
    (the same accounts assigned again after a territory edit, or by the
    benchmark's repeats) reuses the coordinates instead of reading a million
    points again. An array changed in place no longer matches. The entry is
    dropped when the geometry array it was made from is collected.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entry: tuple[Any, NDArray[np.object_], NDArray[np.int64], Any] | None = None

    def get(self, values: Any, geoms: NDArray[np.object_]) -> Any:
        with self.lock:
            entry = self.entry
        if entry is None or entry[0]() is not values or len(entry[1]) != len(geoms):
            return None
        return entry[3] if np.array_equal(entry[2], _addresses(geoms)) else None

    def put(self, values: Any, geoms: NDArray[np.object_], xy: Any) -> None:
        held = geoms.copy()
        try:
            ref = weakref.ref(values, self._forget)
        except TypeError:  # not a geopandas array: nothing to tie the memo to
            return
        with self.lock:
            self.entry = (ref, held, _addresses(held), xy)

    def _forget(self, ref: Any) -> None:
        with self.lock:
            if self.entry is not None and self.entry[0] is ref:
                self.entry = None


_MEMO = _Memo()


def _addresses(geoms: NDArray[np.object_]) -> NDArray[np.int64]:
    """The addresses of the objects of a contiguous object array, as integers (a view)."""
    pointer = ctypes.cast(geoms.ctypes.data, ctypes.POINTER(ctypes.c_int64))
    return np.ctypeslib.as_array(pointer, shape=(len(geoms),))


def _remembered_coordinates(
    values: Any,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """x and y of the points (see :func:`_coordinates`) and the positions without an x,
    reused for the same point objects.

    The arrays returned from the memo are read-only (shared between calls).
    """
    geoms = np.ascontiguousarray(np.asarray(values, dtype=object))
    if len(geoms) < _MEMO_MIN:
        x, y = _coordinates(geoms)
        return x, y, np.flatnonzero(np.isnan(x))
    found = _MEMO.get(values, geoms)
    if found is not None:
        return found
    x, y = _coordinates(geoms)
    unread = np.flatnonzero(np.isnan(x))
    for array in (x, y, unread):
        array.flags.writeable = False
    _MEMO.put(values, geoms, (x, y, unread))
    return x, y, unread


def _coordinates(geoms: NDArray[np.object_]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """x and y of each point; NaN for a missing or empty geometry or one that is not a point."""
    try:
        return point_coordinates(geoms)
    except shapely.errors.GEOSException:  # GEOS refuses the coordinates of an empty point
        x = np.full(len(geoms), np.nan)
        y = np.full(len(geoms), np.nan)
        usable = np.flatnonzero(~shapely.is_empty(geoms))
        x[usable], y[usable] = point_coordinates(geoms[usable])
        return x, y


def check_account_ids(accounts: pd.DataFrame) -> pd.Series:
    """Check the ids of an account table; return them as text.

    Raises
    ------
    InputError
        For a missing ``account_id`` column, missing or repeated ids.
    """
    ids, problems = _id_problems(accounts)
    if problems:
        raise InputError(f"{len(problems)} problem(s) with the accounts", problems)
    return ids


def _id_problems(accounts: pd.DataFrame) -> tuple[pd.Series, list[Problem]]:
    """The ids as text and what is wrong with them (a missing column raises at once)."""
    if s.ACCOUNT_ID not in accounts.columns:
        raise InputError(
            "accounts need ids",
            [
                Problem(
                    "the accounts have no 'account_id' column",
                    column=s.ACCOUNT_ID,
                    fix="add an account_id column",
                )
            ],
        )
    problems: list[Problem] = []
    ids = id_series(accounts[s.ACCOUNT_ID])
    missing = ids.isna().to_numpy()
    if missing.any():
        problems.append(
            Problem(
                f"{int(missing.sum())} accounts have no id",
                rows=tuple(int(i) + 1 for i in np.flatnonzero(missing)[:50]),
                column=s.ACCOUNT_ID,
                fix="give every account an id",
            )
        )
    if not _all_unique(ids):
        dup = ids.duplicated(keep=False).to_numpy() & ~missing
        problems.append(
            Problem(
                f"account ids {format_ids(sorted(set(ids[dup].tolist())))} appear more than once",
                rows=tuple(int(i) + 1 for i in np.flatnonzero(dup)[:50]),
                column=s.ACCOUNT_ID,
                fix="give every account its own id",
            )
        )
    return ids, problems


def _assume_lonlat(
    accounts: gpd.GeoDataFrame, x: NDArray[np.float64], y: NDArray[np.float64]
) -> gpd.GeoDataFrame:
    """Accounts without a CRS: EPSG:4326 with a warning if they look like it, else an error."""
    usable = np.isfinite(x) & np.isfinite(y)
    bounds = (
        np.array([x[usable].min(), y[usable].min(), x[usable].max(), y[usable].max()])
        if usable.any()
        else np.zeros(4)
    )
    lonlat = -180 <= bounds[0] <= bounds[2] <= 180 and -90 <= bounds[1] <= bounds[3] <= 90
    if not lonlat:
        raise InputError(
            "the accounts have no CRS",
            [
                Problem(
                    "the account points have no coordinate reference system and are not "
                    "longitude/latitude",
                    column=s.GEOMETRY,
                    fix="set their CRS (e.g. accounts.set_crs(...)) or read them with "
                    "read_accounts",
                )
            ],
        )
    warnings.warn(
        "the accounts have no CRS; their coordinates look like longitude/latitude, so "
        "EPSG:4326 is assumed",
        PlannerWarning,
        stacklevel=4,
    )
    accounts = accounts.set_crs(s.STORAGE_CRS)
    return accounts


def overrides_frame(overrides: pd.DataFrame | Iterable[Any] | None) -> pd.DataFrame:
    columns = [s.ACCOUNT_ID, s.TERRITORY_ID, s.ACTION, s.SET_BY, s.SET_AT, s.REASON]
    if overrides is None:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    if not isinstance(overrides, pd.DataFrame):
        rows = []
        for o in overrides:
            rows.append({c: getattr(o, c, None) for c in columns})
        overrides = pd.DataFrame(rows, columns=columns)
    missing = [c for c in (s.ACCOUNT_ID, s.TERRITORY_ID, s.ACTION) if c not in overrides.columns]
    if missing:
        raise InputError(
            "overrides are missing columns",
            [
                Problem(f"the overrides have no '{c}' column", column=c, fix=f"add '{c}'")
                for c in missing
            ],
        )
    out = pd.DataFrame(index=range(len(overrides)))
    for c in columns:
        out[c] = (
            text_array(overrides[c].reset_index(drop=True))
            if c in overrides.columns
            else np.full(len(overrides), None, dtype=object)
        )
    bad = ~out[s.ACTION].isin(s.OVERRIDE_ACTIONS)
    if bad.any():
        raise InputError(
            "unknown override actions",
            [
                Problem(
                    f"override actions {format_ids(sorted(set(map(str, out[s.ACTION][bad]))))} "
                    "are unknown",
                    rows=tuple(int(i) + 1 for i in np.flatnonzero(bad.to_numpy())),
                    column=s.ACTION,
                    fix="use include or exclude",
                )
            ],
        )
    return out


def match_overrides(
    ovr: pd.DataFrame, account_ids: pd.Series, tids: NDArray[np.object_]
) -> tuple[pd.DataFrame, list[str]]:
    """Drop overrides of accounts or territories that do not exist, with a note."""
    notes: list[str] = []
    if not len(ovr):
        return ovr, notes
    known_a = set(account_ids.tolist())
    known_t = set(tids.tolist())
    stale_a = ~ovr[s.ACCOUNT_ID].isin(known_a)
    stale_t = ~ovr[s.TERRITORY_ID].isin(known_t)
    if stale_a.any():
        notes.append(
            f"{int(stale_a.sum())} overrides name accounts that do not exist and were ignored: "
            f"{format_ids(sorted(set(ovr[s.ACCOUNT_ID][stale_a].astype(str))))}"
        )
    if (stale_t & ~stale_a).any():
        notes.append(
            f"{int((stale_t & ~stale_a).sum())} overrides name territories that do not exist and "
            f"were ignored: {format_ids(sorted(set(ovr[s.TERRITORY_ID][stale_t].astype(str))))}"
        )
    ovr = ovr[~stale_a & ~stale_t]
    dup = ovr.duplicated([s.ACCOUNT_ID, s.TERRITORY_ID], keep="last")
    if dup.any():
        notes.append(
            f"{int(dup.sum())} overrides repeat an account and territory; the last one counts"
        )
        ovr = ovr[~dup]
    return ovr.reset_index(drop=True), notes


def point_coordinates(
    geoms: NDArray[np.object_],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """x and y of each point (NaN for a missing or empty one).

    GEOS releases Python's lock while it reads coordinates, so with more
    than one core x and y are read side by side.
    """
    if len(geoms) < _PARALLEL_MIN or threads() < 2:
        return (
            np.asarray(shapely.get_x(geoms), dtype=np.float64),
            np.asarray(shapely.get_y(geoms), dtype=np.float64),
        )
    with ThreadPoolExecutor(2) as pool:
        fx, fy = pool.submit(shapely.get_x, geoms), pool.submit(shapely.get_y, geoms)
        return np.asarray(fx.result(), dtype=np.float64), np.asarray(fy.result(), dtype=np.float64)
