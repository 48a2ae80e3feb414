"""Checks of the area records: units (polygons that tile) and territories (a hierarchy)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner import schema as s
from planner.errors import (
    RuleError,
    format_ids,
)
from planner.geo.columns import (
    ColumnMatch,
)
from planner.geo.rules import parse_rule
from planner.io.collect import (
    Checked,
    Collector,
    ReadOptions,
    assemble,
    depths,
    id_column,
    text_column,
)
from planner.io.location import unplaceable
from planner.io.table import RawTable
from planner.io.values import examples, has_word, is_word, parse_numbers, plural
from planner.models import DEFAULT_TYPE


def _polygons(table: RawTable, out: Collector, *, what: str, required: bool) -> gpd.GeoSeries:
    """Check polygon geometry: present, polygonal, valid (repaired with a warning)."""
    index = table.frame.index
    if table.geometry is None:
        if required:
            out.error(
                f"the file has no shapes, and {what}s need polygons",
                fix="use a GeoJSON, GeoPackage or zipped Shapefile with polygons",
            )
        return gpd.GeoSeries([None] * len(index), index=index, crs=s.STORAGE_CRS)
    geom = table.geometry
    if table.geometry_unusable:
        out.bad[:] = True
        return geom
    geom = unplaceable(geom, out, what=what)
    missing = geom.isna() | geom.is_empty
    reported = missing & table.geometry.notna()  # shapes refused by unplaceable
    if required and (missing & ~reported).any():
        lacking = missing & ~reported
        out.error(
            f"{plural(int(lacking.sum()), what)} {has_word(lacking)} no shape",
            lacking,
            fix=f"draw a polygon for each {what}, or delete the rows",
        )
    polygonal = geom.geom_type.isin(["Polygon", "MultiPolygon"])
    wrong = ~missing & ~polygonal
    if wrong.any():
        kinds = format_ids(sorted(set(geom[wrong].geom_type)))
        out.error(
            f"{plural(int(wrong.sum()), what)} {is_word(wrong)} not a polygon ({kinds})",
            wrong,
            fix=f"use polygons for {what}s (points belong in the accounts file)",
        )
    invalid = ~missing & polygonal & ~geom.is_valid
    if invalid.any():
        repaired = geom[invalid].map(_repair_polygon)
        geom = geom.copy()
        geom[invalid] = repaired
        failed = invalid & (geom.isna() | geom.is_empty)
        out.warn(
            f"{plural(int(invalid.sum()), what)} had an invalid shape (e.g. a self-crossing "
            "ring) and {'was' if invalid.sum() == 1 else 'were'} repaired",
            invalid & ~failed,
            fix="check the shapes in a GIS if the repair looks wrong",
        )
        if failed.any():
            out.error(
                f"{plural(int(failed.sum()), what)} had a shape that could not be repaired",
                failed,
                fix="fix the polygons in a GIS and export again",
            )
    return geom


def _overlaps(geometry: gpd.GeoSeries, ids: pd.Series, out: Collector) -> None:
    """Warn about units whose insides overlap (an account there would fall in two)."""
    present = geometry.notna() & ~geometry.is_empty
    if present.sum() < 2:
        return
    shapes = geometry[present].to_numpy()
    tree = shapely.STRtree(shapes)
    pairs = np.hstack([tree.query(shapes, predicate=p) for p in ("overlaps", "contains")])
    pairs = np.sort(pairs, axis=0)
    pairs = pairs[:, pairs[0] < pairs[1]]
    if pairs.size == 0:
        return
    rows = geometry.index[present.to_numpy()]
    names = ids[rows].to_numpy()
    pairs = np.unique(pairs, axis=1)
    listed = format_ids([f"{names[a]} and {names[b]}" for a, b in pairs.T[:20]], limit=5)
    mask = pd.Series(geometry.index.isin(rows[np.unique(pairs)]), index=geometry.index)
    out.warn(
        f"{plural(pairs.shape[1], 'pair')} of units overlap ({listed}); accounts in an "
        "overlap belong to one of them only",
        mask,
        column=s.GEOMETRY,
        fix="check the shapes in a GIS: units should tile the area without overlapping",
    )


def _repair_polygon(g: Any) -> Any:
    try:
        fixed = shapely.make_valid(g)
    except shapely.errors.GEOSException:
        return None
    parts = [p for p in shapely.get_parts(fixed) if p.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return None
    merged = shapely.union_all(parts)
    return merged if not merged.is_empty else None


def check_units(table: RawTable, match: ColumnMatch, options: ReadOptions) -> Checked:
    frame = table.frame
    out = Collector(frame.index)
    ids = id_column(
        table,
        match,
        out,
        target=s.UNIT_ID,
        what="unit",
        aliases_hint="'id', 'GEOID', 'FIPS', 'ZCTA5CE20'; or pass id_column=",
    )
    geometry = _polygons(table, out, what="unit", required=True)
    _overlaps(geometry, ids, out)
    values = {
        s.UNIT_ID: ids,
        s.NAME: text_column(frame, match, s.NAME),
        s.UNIT_TYPE: pd.Series(options.unit_type, index=frame.index, dtype="str"),
    }
    result = assemble(table, match, "units", values, geometry)
    return Checked(result, out.bad, out.problems)


def check_territories(table: RawTable, match: ColumnMatch, options: ReadOptions) -> Checked:
    """Check a territory hierarchy: ids, shapes, parents (no orphans or loops), levels, rules."""
    frame = table.frame
    out = Collector(frame.index)
    ids = id_column(
        table,
        match,
        out,
        target=s.TERRITORY_ID,
        what="territory",
        aliases_hint="'id', 'territory', 'DeveloperName'",
    )
    geometry = _polygons(table, out, what="territory", required=False)
    parent, depth = _parents(frame, match, out, ids)
    level, level_name = _levels(frame, match, out, ids, parent, depth)
    type_id = text_column(frame, match, s.TYPE_ID).fillna(DEFAULT_TYPE.type_id)
    has_shape = geometry.notna() & ~geometry.is_empty
    values: dict[str, pd.Series] = {}
    if options.scenario_id is not None:
        values[s.SCENARIO_ID] = pd.Series(options.scenario_id, index=frame.index, dtype="str")
    values.update(
        {
            s.TERRITORY_ID: ids,
            s.NAME: text_column(frame, match, s.NAME),
            s.PARENT_ID: parent,
            s.LEVEL: level.fillna(0).astype("int64"),
            s.LEVEL_NAME: level_name,
            s.TYPE_ID: type_id.astype("str"),
            s.SOURCE: pd.Series(
                np.where(has_shape, "imported", "none"), index=frame.index, dtype="str"
            ),
            s.RULE: _rules(frame, match, out, ids),
        }
    )
    result = assemble(table, match, "territories", values, geometry, keep_extra=False)
    return Checked(result, out.bad, out.problems)


def _parents(
    frame: pd.DataFrame, match: ColumnMatch, out: Collector, ids: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """Return the parent ids and each territory's depth; report orphans and loops."""
    parent = text_column(frame, match, s.PARENT_ID)
    parent_src = match.source_of(s.PARENT_ID)
    known = set(ids.dropna())
    orphan = parent.notna() & ~parent.isin(known)
    if orphan.any():
        out.error(
            f"{plural(int(orphan.sum()), 'row')} {'names' if orphan.sum() == 1 else 'name'} "
            f"a parent that is not a territory in the file: {examples(parent[orphan])}",
            orphan,
            column=parent_src,
            fix="add the parent territories, correct the parent ids, or leave them blank for "
            "top-level territories",
        )
    self_parent = parent.notna() & (parent == ids)
    depth, cyclic = depths(ids, parent.where(~orphan & ~self_parent))
    cyclic |= self_parent
    if cyclic.any():
        out.error(
            f"{plural(int(cyclic.sum()), 'territory')} {is_word(cyclic)} "
            f"its own ancestor: {examples(ids[cyclic])}",
            cyclic,
            column=parent_src,
            fix="break the loop: a territory's parent must be higher in the hierarchy",
        )
    return parent, depth


def _levels(
    frame: pd.DataFrame,
    match: ColumnMatch,
    out: Collector,
    ids: pd.Series,
    parent: pd.Series,
    depth: pd.Series,
) -> tuple[pd.Series, pd.Series]:
    """Return levels (given, else the depth) and level names; report bad or inverted levels."""
    level_src = match.source_of(s.LEVEL)
    level_name = text_column(frame, match, s.LEVEL_NAME)
    level = depth.astype(float)
    if level_src is None:
        return level, level_name
    raw, bad, text = parse_numbers(frame[level_src], decimal_comma=False, grouping=False)
    if bad.sum() > len(frame) / 2:  # names such as "Region": they are level names
        return level, level_name.fillna(text)
    wrong = bad | (raw.notna() & ((raw < 0) | (raw % 1 != 0)))
    if wrong.any():
        out.error(
            f"'{level_src}' has {plural(int(wrong.sum()), 'value')} that "
            f"{is_word(wrong)} not a whole number of 0 or more: "
            f"{examples(text[wrong])}",
            wrong,
            column=level_src,
            fix="use 0 for top-level territories, 1 below them, and so on "
            "(or leave blank to count from the parents)",
        )
    level = raw.where(raw.notna() & ~wrong, level)
    parent_level = parent.map(dict(zip(ids, level, strict=False)))
    inverted = parent_level.notna() & (level <= parent_level) & ~wrong
    if inverted.any():
        out.error(
            f"{plural(int(inverted.sum()), 'territory')} {has_word(inverted)} a level "
            "that is not deeper than the parent's",
            inverted,
            column=level_src,
            fix="give each territory a higher level number than its parent",
        )
    return level, level_name


def _rules(frame: pd.DataFrame, match: ColumnMatch, out: Collector, ids: pd.Series) -> pd.Series:
    """Return the rule column, reporting every rule that does not parse."""
    rules = text_column(frame, match, s.RULE)
    src = match.source_of(s.RULE)
    for row, rule in rules.dropna().items():
        try:
            parse_rule(str(rule), label=f"territory {ids.get(row, row)}")
        except RuleError as exc:
            problem = exc.problems[0]
            out.error(
                problem.message,
                pd.Series(True, index=[row]),
                column=src,
                fix=problem.fix or "correct the rule (see the rule language in the README)",
            )
    return rules
