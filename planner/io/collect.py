"""Checking the rows of an input table: the problem collector, id/number/text columns, the frame.

Every check adds problems to a :class:`Collector`, which remembers the rows
each error disqualifies; :func:`assemble` builds the frame in the shape of
:data:`planner.schema.TABLES`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from planner import schema as s
from planner.errors import (
    Problem,
    format_ids,
)
from planner.geo.columns import (
    ColumnMatch,
)
from planner.io.compact import duplicated_cells
from planner.io.table import RawTable, column_text
from planner.io.text import INVISIBLE, describe_invisible, invisible_mask, strip_invisible
from planner.io.values import examples, has_word, is_word, parse_numbers, plural, row_numbers


@dataclass(frozen=True)
class ReadOptions:
    fix_swapped: bool = True
    unit_type: str = "custom"
    scenario_id: str | None = None


@dataclass
class Checked:
    """Checked rows: the whole frame (indexed by row number) and which rows have errors."""

    frame: pd.DataFrame
    bad: pd.Series
    problems: list[Problem]


class Collector:
    """Collects problems and the rows they disqualify."""

    def __init__(self, index: pd.Index) -> None:
        self.index = index
        self.bad = pd.Series(False, index=index)
        self.problems: list[Problem] = []

    def error(
        self,
        message: str,
        mask: pd.Series | None = None,
        *,
        column: str | None = None,
        fix: str,
        rows: tuple[int, ...] | None = None,
    ) -> None:
        if mask is not None:
            self.bad |= mask.reindex(self.index, fill_value=False).astype(bool)
            rows = row_numbers(mask)
        else:  # a problem of the whole file disqualifies every row
            self.bad[:] = True
        self.problems.append(Problem(message, rows=rows or (), column=column, fix=fix))

    def warn(
        self,
        message: str,
        mask: pd.Series | None = None,
        *,
        column: str | None = None,
        fix: str = "",
    ) -> None:
        rows = row_numbers(mask) if mask is not None else ()
        self.problems.append(
            Problem(message, rows=rows, column=column, fix=fix, severity="warning")
        )


def id_column(
    table: RawTable,
    match: ColumnMatch,
    out: Collector,
    *,
    target: str,
    what: str,
    aliases_hint: str,
) -> pd.Series:
    """Check the id column (present, filled, unique) and return the ids as text."""
    frame = table.frame
    src = match.source_of(target)
    if src is None:
        cols = ", ".join(f"'{c}'" for c in frame.columns)
        header = (table.header_row,) if table.header_row else ()
        out.error(
            f"no {what} id column found among the columns ({cols})",
            rows=header,
            fix=f"add an id column named '{target}' (or {aliases_hint}), "
            f"or pass columns={{'<your id column>': '{target}'}}",
        )
        return pd.Series(np.nan, index=frame.index, dtype="str")
    ids = column_text(frame[src])
    hidden = invisible_mask(ids)
    if hidden.any():
        out.error(
            f"{plural(int(hidden.sum()), what + ' id')} {has_word(hidden)} invisible characters "
            f"({describe_invisible(ids[hidden])}): "
            f"{examples(ids[hidden].head(20).map(_visible))}; "
            "such ids look alike on screen and collide when saved",
            hidden,
            column=src,
            fix="delete the invisible characters from these ids (retype them) and export again",
        )
        ids = ids.where(~hidden, strip_invisible(ids))
    blank = ids.isna()
    if blank.any():
        out.error(
            f"{plural(int(blank.sum()), 'row')} {has_word(blank)} no {what} id",
            blank,
            column=src,
            fix=f"give every {what} an id in '{src}', or delete the rows",
        )
    dup = duplicated_cells(ids)
    if dup.any():
        groups = (
            pd.Series(ids.index[dup.to_numpy()], index=ids[dup].to_numpy())
            .groupby(level=0, sort=False)
            .agg(lambda r: ", ".join(map(str, r)))
        )
        listed = format_ids([f"{k} (rows {v})" for k, v in groups.items()], limit=5)
        out.error(
            f"{plural(len(groups), what + ' id')} {'appears' if len(groups) == 1 else 'appear'} "
            f"more than once: {listed}",
            dup,
            column=src,
            fix=f"give every {what} its own id, or delete the repeated rows",
        )
    return ids


def _visible(v: object) -> str:
    """Show invisible characters of a text as ``<U+200B>``."""
    return INVISIBLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", str(v))


def number_column(
    frame: pd.DataFrame,
    match: ColumnMatch,
    out: Collector,
    target: str,
    *,
    decimal_comma: bool,
    example: str,
    positive: bool = False,
) -> pd.Series:
    src = match.source_of(target)
    if src is None:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    values, bad, text = parse_numbers(frame[src], decimal_comma=decimal_comma, grouping=True)
    if bad.any():
        out.error(
            f"'{src}' has {plural(int(bad.sum()), 'value')} that {is_word(bad)} "
            f"not a number: {examples(text[bad])}",
            bad,
            column=src,
            fix=f"use plain numbers such as {example}, or leave the cell blank",
        )
    negative = values < 0 if not positive else values <= 0
    if negative.any():
        out.error(
            f"'{src}' has {plural(int(negative.sum()), 'value')} "
            f"{'below or equal to' if positive else 'below'} zero",
            negative,
            column=src,
            fix=f"use a number {'above' if positive else 'of at least'} zero",
        )
    return values.where(~bad)


def text_column(frame: pd.DataFrame, match: ColumnMatch, target: str) -> pd.Series:
    src = match.source_of(target)
    if src is None:
        return pd.Series(np.nan, index=frame.index, dtype="str")
    return column_text(frame[src])


def assemble(
    table: RawTable,
    match: ColumnMatch,
    schema_name: str,
    values: dict[str, pd.Series],
    geometry: gpd.GeoSeries | None,
    *,
    consumed: Sequence[str] = (),
    keep_extra: bool = True,
) -> gpd.GeoDataFrame:
    """Build the output frame: declared columns first, then the file's other columns."""
    frame = table.frame
    schema = s.TABLES[schema_name]
    data: dict[str, pd.Series] = {}
    for spec in schema.columns:
        if spec.name in values:
            data[spec.name] = values[spec.name]
    for name, col in values.items():
        if name not in data:
            data[name] = col
    if keep_extra:
        used = set(match.mapping) | set(match.ignored) | set(consumed)
        for c in frame.columns:
            if c in used:
                continue
            name = str(c)
            while name in data or name == s.GEOMETRY:
                name = f"{name}_original"
            col = frame[c]
            # a chunked read holds repeated text as categories; give it back as read
            data[name] = col.astype("str") if isinstance(col.dtype, pd.CategoricalDtype) else col
    geom = (
        geometry
        if geometry is not None
        else gpd.GeoSeries([None] * len(frame), index=frame.index, crs=s.STORAGE_CRS)
    )
    data[s.GEOMETRY] = geom if geom.crs is not None else geom.set_crs(s.STORAGE_CRS)
    # built from the columns themselves: no column is copied
    return gpd.GeoDataFrame(data, index=frame.index, geometry=s.GEOMETRY, copy=False)


def depths(ids: pd.Series, parent: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return each territory's depth below its root, and which rows are on or below a cycle."""
    parent_of = {
        i: p for i, p in zip(ids, parent, strict=True) if isinstance(i, str) and isinstance(p, str)
    }
    depth: dict[str, int] = {}
    cyclic: set[str] = set()
    for start in ids.dropna().unique():
        path: list[str] = []
        node = str(start)
        base: int | None
        while True:
            if node in depth:
                base = depth[node]
                break
            if node in cyclic:
                base = None
                break
            if node in path:  # walked into a loop
                cyclic.update(path[path.index(node) :])
                base = None
                break
            path.append(node)
            up = parent_of.get(node)
            if up is None:
                base = -1
                break
            node = up
        for k, n in enumerate(reversed([n for n in path if n not in cyclic])):
            if base is None:
                cyclic.add(n)
            else:
                depth[n] = base + 1 + k
    d = ids.map(lambda i: depth.get(i, 0) if isinstance(i, str) else 0).astype("int64")
    c = ids.map(lambda i: isinstance(i, str) and i in cyclic).astype(bool)
    return d, c
