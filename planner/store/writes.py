"""Writing a change: the rows it changes, the change itself and its history rows."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from planner import schema as s
from planner.store.changes import Change
from planner.store.codec import encode_gpkg, geometry_from_hex, image_json
from planner.store.diff import RowChange, key_values
from planner.store.layout import KEY_COL, VERSION_COL, Layout
from planner.store.overlay import DELETED

__all__ = ["apply_rows", "record_change"]

_CHUNK = 500
#: Row columns copied into each history row so history can be searched by them.
_SEARCH = (s.SCENARIO_ID, s.ACCOUNT_ID, s.TERRITORY_ID, s.REP_ID)


def apply_rows(
    layout: Layout,
    conn: Connection,
    rows: Sequence[RowChange],
    version: int,
    overlaid: frozenset[str] = frozenset(),
) -> None:
    """Write row changes (deletes, then updates, then inserts, per table) in one transaction.

    A table in ``overlaid`` holds only the rows changed since its sidecar
    (:mod:`planner.store.overlay`): a changed row is written whole (its
    older overlay row replaced), a deleted one marked as deleted.
    """
    by_table: dict[tuple[str, str], list[RowChange]] = {}
    for r in rows:
        by_table.setdefault((r.table, r.op), []).append(r)
    for (table, op), group in sorted(
        by_table.items(), key=lambda kv: ("dui".index(kv[0][1][0]), kv[0][0])
    ):
        t = layout.tables[table]
        if table in overlaid:
            _apply_overlay(layout, conn, table, op, group, version)
        elif op == "delete":
            keys = [r.key for r in group]
            for i in range(0, len(keys), _CHUNK):
                conn.execute(t.delete().where(t.c[KEY_COL].in_(keys[i : i + _CHUNK])))
        elif op == "update":
            _update(layout, conn, table, group, version)
        else:
            _insert(
                layout, conn, table, [r.after or {} for r in group], [r.key for r in group], version
            )


def _apply_overlay(
    layout: Layout,
    conn: Connection,
    table: str,
    op: str,
    group: Sequence[RowChange],
    version: int,
) -> None:
    t = layout.tables[table]
    keys = [r.key for r in group]
    marks = f'"{DELETED}" WHERE tbl = ? AND {KEY_COL} = ?'
    for i in range(0, len(keys), _CHUNK):
        conn.execute(t.delete().where(t.c[KEY_COL].in_(keys[i : i + _CHUNK])))
    if op == "delete":
        conn.exec_driver_sql(
            f'INSERT OR REPLACE INTO "{DELETED}" (tbl, {KEY_COL}, {VERSION_COL}) VALUES (?, ?, ?)',
            [(table, k, version) for k in keys],
        )
        return
    conn.exec_driver_sql(f"DELETE FROM {marks}", [(table, k) for k in keys])
    _insert(layout, conn, table, [r.after or {} for r in group], keys, version)


def _records(
    layout: Layout,
    table: str,
    images: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    version: int,
) -> list[dict[str, Any]]:
    columns = layout.data_columns(table)
    spatial = s.TABLES[table].geometry is not None
    records = [
        {**{c: img.get(c) for c in columns}, KEY_COL: k, VERSION_COL: version}
        for img, k in zip(images, keys, strict=True)
    ]
    if spatial:
        hexes = [img.get(s.GEOMETRY) for img in images]
        wkb = [None if h is None else bytes.fromhex(h) for h in hexes]
        if layout.backend == "gpkg":
            blobs = encode_gpkg(geometry_from_hex(hexes)) if hexes else []
            for rec, blob in zip(records, blobs, strict=True):
                rec[s.GEOMETRY] = blob
        else:
            for rec, raw in zip(records, wkb, strict=True):
                rec["g_wkb"] = raw
    return records


def _geometry_param() -> Any:
    return sa.func.ST_GeomFromWKB(sa.bindparam("g_wkb", type_=sa.LargeBinary), 4326)


def _insert(
    layout: Layout,
    conn: Connection,
    table: str,
    images: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    version: int,
) -> None:
    t = layout.tables[table]
    records = _records(layout, table, images, keys, version)
    stmt = t.insert()
    if layout.backend == "postgis" and s.TABLES[table].geometry is not None:
        stmt = stmt.values({s.GEOMETRY: _geometry_param()})
    for i in range(0, len(records), 5000):
        conn.execute(stmt, records[i : i + 5000])


def _update(
    layout: Layout, conn: Connection, table: str, group: Sequence[RowChange], version: int
) -> None:
    t = layout.tables[table]
    records = _records(
        layout, table, [r.after or {} for r in group], [r.key for r in group], version
    )
    columns = [*layout.data_columns(table), VERSION_COL]
    values: dict[str, Any] = {c: sa.bindparam(f"v_{c}") for c in columns}
    if s.TABLES[table].geometry is not None:
        values[s.GEOMETRY] = (
            _geometry_param() if layout.backend == "postgis" else sa.bindparam(f"v_{s.GEOMETRY}")
        )
    stmt = t.update().where(t.c[KEY_COL] == sa.bindparam("k_key")).values(values)
    params = []
    for rec in records:
        p = {f"v_{c}": rec.get(c) for c in columns}
        p["k_key"] = rec[KEY_COL]
        if s.GEOMETRY in rec:
            p[f"v_{s.GEOMETRY}"] = rec[s.GEOMETRY]
        if "g_wkb" in rec:
            p["g_wkb"] = rec["g_wkb"]
        params.append(p)
    for i in range(0, len(params), 5000):
        conn.execute(stmt, params[i : i + 5000])


def record_change(
    layout: Layout, conn: Connection, change: Change, rows: Sequence[RowChange]
) -> None:
    """Append the change and one history row per changed row (before and after images)."""
    record = change.to_dict()
    record["tables"] = ",".join(change.tables)
    record["detail"] = json.dumps(change.detail, sort_keys=True, default=str)
    conn.execute(layout.changes.insert(), [record])
    history = []
    for r in rows:
        image = r.after if r.after is not None else (r.before or {})
        keyed = key_values(r.key, s.TABLES[r.table].key) if s.TABLES[r.table].key else {}
        entry = {
            "version": change.version,
            "tbl": r.table,
            "key": r.key,
            "op": r.op,
            "effective_date": change.effective_date,
            "before": image_json(r.before),
            "after": image_json(r.after),
        }
        for col in _SEARCH:
            value = keyed.get(col, image.get(col))
            entry[col] = None if value is None else str(value)
        history.append(entry)
    for i in range(0, len(history), 5000):
        conn.execute(layout.history.insert(), history[i : i + 5000])
