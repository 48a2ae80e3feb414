"""Plans given as units: a unit-to-territory file, and filling a plan's gaps.

A unit-to-territory CSV/XLSX has one row per unit (e.g. per county): a unit
column (``unit_id``, ``county``, ``GEOID``, ``FIPS``, ``zip``...), a territory
column and optionally the territory's name and parent. :func:`read_unit_plan`
checks it, :func:`territories_from_units` makes one territory per territory id
(source ``units``, shapes dissolved from the workspace's units) and the
``unit_assignment`` rows; :func:`fill_gaps` gives each unassigned unit to its
least-loaded touching territory.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from planner import schema as s
from planner.errors import InputError, Problem, format_ids
from planner.geo.adjacency import build_adjacency
from planner.geo.assign import assign_workspace
from planner.geo.columns import match_columns
from planner.geo.io import ValidationReport
from planner.geo.shapes import dissolve_units
from planner.geo.sources import Unreadable, open_input, read_table
from planner.hierarchy import compute_levels, leaves
from planner.models import DEFAULT_TYPE
from planner.tree import TerritoryTree
from planner.workspace import Workspace

__all__ = ["PLAN_ROW", "UNIT_COLUMN_NAMES", "fill_gaps", "is_unit_plan", "read_unit_plan",
           "store_unit_assignment", "territories_from_units"]  # fmt: skip

#: Column names (lower case, without spaces or punctuation) read as the unit column.
UNIT_COLUMN_NAMES = frozenset(
    {"unitid", "unit", "county", "countyid", "countyfips", "countyfp", "countycode", "geoid",
     "fips", "fipscode", "zip", "zipcode", "zip5", "postalcode", "postcode", "plz", "areaid"}
)  # fmt: skip
#: The frame column holding each unit row's row number in the file.
PLAN_ROW = "file_row"
_TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
_PLAN_COLUMNS = (s.UNIT_ID, s.TERRITORY_ID, s.NAME, s.PARENT_ID)


def _key(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _text(value: Any) -> str | None:
    """An id as text; ``13001.0`` (a spreadsheet's number) is read as ``13001``."""
    text = s.text_or_none(value)
    if text is not None and text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text or None


def _plan_mapping(
    names: list[str], columns: Mapping[str, str | None] | None
) -> dict[str, str] | None:
    """File column -> plan column, or ``None`` when the file is not a unit plan."""
    chosen = dict(columns or {})
    unit = [c for c, t in chosen.items() if t == s.UNIT_ID and c in names]
    unit = unit or [c for c in names if _key(c) in UNIT_COLUMN_NAMES and c not in chosen]
    if not unit:
        return None
    rest = [c for c in names if c != unit[0]]
    mapping = {c: t for c, t in match_columns(rest, "territories").mapping.items()
               if t in _PLAN_COLUMNS and c not in chosen}  # fmt: skip
    mapping.update({c: t for c, t in chosen.items() if t in _PLAN_COLUMNS and c in rest})
    mapping[unit[0]] = s.UNIT_ID
    if s.TERRITORY_ID not in mapping.values():
        return None
    return mapping


def _consistency(frame: pd.DataFrame, column: str, label: str, source: str) -> list[Problem]:
    problems = []
    for tid, group in frame.dropna(subset=[column]).groupby(s.TERRITORY_ID, sort=True):
        values = sorted(set(group[column]))
        if len(values) > 1:
            problems.append(Problem(
                f"territory {tid} is given {len(values)} different {label}s: {format_ids(values)}",
                rows=tuple(int(r) for r in group[PLAN_ROW]), column=source,
                fix=f"give each territory one {label} on all its rows",
            ))  # fmt: skip
    return problems


def _plan_problems(frame: pd.DataFrame, names: Mapping[str, str]) -> list[Problem]:
    """Blank cells, units listed twice, territories with two names or parents."""
    problems = []
    for column in (s.UNIT_ID, s.TERRITORY_ID):
        blank = frame[frame[column].isna()]
        if len(blank):
            problems.append(Problem(
                f"{len(blank):,} rows have no {column.replace('_', ' ')}",
                rows=tuple(int(r) for r in blank[PLAN_ROW]), column=names[column],
                fix="fill the cell or delete the row",
            ))  # fmt: skip
    listed = frame.dropna(subset=[s.UNIT_ID])
    for unit, group in listed[listed[s.UNIT_ID].duplicated(keep=False)].groupby(s.UNIT_ID):
        problems.append(Problem(
            f"unit {unit} appears more than once (territories "
            f"{format_ids(sorted(set(group[s.TERRITORY_ID].dropna())))})",
            rows=tuple(int(r) for r in group[PLAN_ROW]), column=names[s.UNIT_ID],
            fix="keep one row per unit: a unit belongs to one territory",
        ))  # fmt: skip
    for column, label in ((s.PARENT_ID, "parent"), (s.NAME, "name")):
        if column in names:
            problems.extend(_consistency(frame, column, label, names[column]))
    selfish = frame[frame[s.PARENT_ID].notna() & (frame[s.PARENT_ID] == frame[s.TERRITORY_ID])]
    if len(selfish):
        problems.append(Problem(
            "a territory is its own parent", rows=tuple(int(r) for r in selfish[PLAN_ROW]),
            column=names.get(s.PARENT_ID), fix="name the parent territory, or leave it blank",
        ))  # fmt: skip
    return problems


def read_unit_plan(
    filename: str,
    data: bytes,
    *,
    columns: Mapping[str, str | None] | None = None,
    sheet: str | int | None = None,
) -> ValidationReport | None:
    """Read a unit-to-territory CSV/XLSX; ``None`` when the file is not one.

    A file is a unit plan when it has a unit column (:data:`UNIT_COLUMN_NAMES`,
    or one mapped to ``unit_id`` in ``columns``) and a territory id column.
    The report's kind is ``territories`` and its frame has one row per unit
    (``unit_id``, ``territory_id``, ``name``, ``parent_id``, :data:`PLAN_ROW`).
    """
    if Path(filename).suffix.lower() not in _TABLE_SUFFIXES:
        return None
    try:
        inp = open_input(data, filename)
    except Unreadable:
        return None
    raw = read_table(inp, kinds=("territories",), columns=columns, sheet=sheet, layer=None,
                     encoding=None, crs=None)  # fmt: skip
    if not raw.readable:
        return None
    mapping = _plan_mapping([str(c) for c in raw.frame.columns], columns)
    if mapping is None:
        return None
    frame = pd.DataFrame({PLAN_ROW: [int(r) for r in raw.frame.index]})
    for target in _PLAN_COLUMNS:
        source = [c for c, t in mapping.items() if t == target]
        cells = raw.frame[source[0]] if source else pd.Series([None] * len(frame))
        frame[target] = [_text(v) for v in cells]
    names = {t: c for c, t in mapping.items()}
    problems = [*raw.problems, *_plan_problems(frame, names)]
    bad = {r for p in problems if p.severity == "error" for r in p.rows}
    frame[s.GEOMETRY] = gpd.GeoSeries([None] * len(frame), crs=s.STORAGE_CRS)
    geo = gpd.GeoDataFrame(frame, geometry=s.GEOMETRY, crs=s.STORAGE_CRS)
    return ValidationReport(
        path=filename, kind="territories", rows_read=len(frame),
        rows_valid=int((~frame[PLAN_ROW].isin(bad)).sum()), columns_recognised=mapping,
        problems=tuple(problems), frame=geo, file_format=raw.file_format,
        encoding=raw.encoding, header_row=raw.header_row,
    )  # fmt: skip


def is_unit_plan(frame: pd.DataFrame) -> bool:
    """Tell whether a checked territories frame came from :func:`read_unit_plan`."""
    return s.UNIT_ID in frame.columns and PLAN_ROW in frame.columns


def _resolve_units(ws: Workspace, frame: pd.DataFrame, report: ValidationReport) -> pd.Series:
    """The workspace unit id of every row: by id, by id without leading zeros, or by name."""
    ids = ws.units[s.UNIT_ID].astype(str)
    lookup: dict[str, str] = {}
    for key_of in (lambda v: v.lstrip("0") or "0", lambda v: v.casefold()):
        keys = [key_of(v) for v in ids]
        counts = pd.Series(keys).value_counts()
        lookup.update({k: v for k, v in zip(keys, ids, strict=True) if counts[k] == 1})
    if s.NAME in ws.units.columns:
        names = ws.units[s.NAME].astype(str).str.casefold().str.strip()
        unique = names[~names.duplicated(keep=False)]
        lookup.update({n: ids[i] for i, n in unique.items() if n not in lookup})
    exact = set(ids)
    resolved = frame[s.UNIT_ID].map(
        lambda v: v if v in exact else lookup.get(v.lstrip("0") or "0", lookup.get(v.casefold()))
    )
    column = next((c for c, t in report.columns_recognised.items() if t == s.UNIT_ID), None)
    unknown = frame[resolved.isna()]
    problems = []
    if len(unknown):
        problems.append(Problem(
            f"{len(unknown):,} units are not in the workspace: "
            f"{format_ids(sorted(set(unknown[s.UNIT_ID])))}",
            rows=tuple(int(r) for r in unknown[PLAN_ROW]), column=column,
            fix="use the workspace's unit ids (or names), or import those units first",
        ))  # fmt: skip
    twice = frame[resolved.notna() & resolved.duplicated(keep=False)]
    if len(twice):
        problems.append(Problem(
            f"rows name the same units twice: {format_ids(sorted(set(resolved[twice.index])))}",
            rows=tuple(int(r) for r in twice[PLAN_ROW]), column=column,
            fix="keep one row per unit",
        ))  # fmt: skip
    if problems:
        raise InputError(f"{report.path} names units the workspace cannot place: nothing was "
                         "imported", problems, source=report.path)  # fmt: skip
    return resolved


def _shapes(ws: Workspace, unit_to: Mapping[str, str]) -> dict[str, Any]:
    shapes = dissolve_units(ws.units, dict(unit_to)).to_crs(s.STORAGE_CRS)
    return dict(zip(shapes[s.TERRITORY_ID].astype(str), shapes.geometry, strict=True))


def territories_from_units(
    ws: Workspace, frame: pd.DataFrame, report: ValidationReport
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Return the territories of a unit plan and its ``unit_assignment`` rows.

    One territory per distinct territory id (with its shape dissolved from
    its units), and one per parent id that is not itself a territory in the
    file (its shape is its children's units).

    Raises
    ------
    planner.errors.InputError
        If the workspace has no units, or rows name unknown units or the same
        unit twice; problems name the file rows.
    """
    if not len(ws.units):
        raise InputError("the workspace has no units", [Problem(
            "a unit-to-territory file needs the workspace's units",
            fix="import the units (counties, ZIP areas) first")], source=report.path)  # fmt: skip
    plan = frame.assign(**{s.UNIT_ID: _resolve_units(ws, frame, report)})
    first = plan.drop_duplicates(s.TERRITORY_ID).set_index(s.TERRITORY_ID)
    leaf_ids = list(first.index.astype(str))
    parents = sorted({str(p) for p in first[s.PARENT_ID].dropna()} - set(leaf_ids))
    shapes = _shapes(ws, dict(zip(plan[s.UNIT_ID], plan[s.TERRITORY_ID], strict=True)))
    parent_of = first[s.PARENT_ID].to_dict()
    if parents:
        pairs = zip(plan[s.UNIT_ID], plan[s.TERRITORY_ID], strict=True)
        to_parent = {u: parent_of[t] for u, t in pairs if parent_of[t] in parents}
        shapes.update(_shapes(ws, to_parent))
    rows = [{s.TERRITORY_ID: t, s.NAME: first.at[t, s.NAME] or t, s.PARENT_ID: parent_of[t]}
            for t in leaf_ids] + [{s.TERRITORY_ID: p, s.NAME: p, s.PARENT_ID: None}
                                  for p in parents]  # fmt: skip
    out = pd.DataFrame(rows)
    out[s.LEVEL] = out[s.TERRITORY_ID].map(compute_levels(out)).fillna(0).astype("int64")
    out = out.assign(**{s.LEVEL_NAME: None, s.TYPE_ID: DEFAULT_TYPE.type_id, s.SOURCE: "units",
                        s.RULE: None})  # fmt: skip
    out[s.GEOMETRY] = gpd.GeoSeries([shapes.get(t) for t in out[s.TERRITORY_ID]])
    territories = gpd.GeoDataFrame(out, geometry=s.GEOMETRY, crs=s.STORAGE_CRS)
    assignment = pd.DataFrame({s.UNIT_ID: plan[s.UNIT_ID].astype(str),
                               s.TERRITORY_ID: plan[s.TERRITORY_ID].astype(str),
                               s.LOCKED: False})  # fmt: skip
    return territories, assignment


def store_unit_assignment(
    ws: Workspace, scenario_id: str, assignment: pd.DataFrame, *, replace: bool
) -> None:
    """Write a unit plan's rows into ``unit_assignment`` (replacing, or over the kept units)."""
    rows = assignment
    if not replace:
        kept = ws.rows("unit_assignment", scenario_id).drop(columns=[s.SCENARIO_ID])
        kept = kept[~kept[s.UNIT_ID].astype(str).isin(set(assignment[s.UNIT_ID]))]
        rows = pd.concat([kept, assignment], ignore_index=True)
    ws.set_rows("unit_assignment", scenario_id, rows.reset_index(drop=True))


# --------------------------------------------------------------------------- filling gaps

_PREVIEW_COLUMNS = (s.UNIT_ID, s.NAME, s.TERRITORY_ID, "accounts", "territory_accounts",
                    "neighbours", "round")  # fmt: skip


def _unit_accounts(ws: Workspace) -> pd.Series:
    """Accounts located in each unit, indexed by unit id."""
    units = ws.units[[s.UNIT_ID, s.GEOMETRY]].to_crs(s.STORAGE_CRS)
    located = ws.accounts[ws.accounts.geometry.notna()][[s.ACCOUNT_ID, s.GEOMETRY]]
    joined = gpd.sjoin(located.to_crs(s.STORAGE_CRS), units, predicate="within")
    counts = joined.drop_duplicates(s.ACCOUNT_ID)[s.UNIT_ID].astype(str).value_counts()
    return counts.reindex(units[s.UNIT_ID].astype(str), fill_value=0)


def _neighbours(ws: Workspace) -> dict[str, set[str]]:
    units = ws.units[[s.UNIT_ID, s.GEOMETRY]].copy()
    units[s.UNIT_ID] = units[s.UNIT_ID].astype(str)
    projected = units.to_crs(units.estimate_utm_crs())
    graph = build_adjacency(projected, contiguity="queen", bridge_islands=False)
    out: dict[str, set[str]] = {u: set() for u in graph.unit_ids}
    for i, j in graph.pairs:
        a, b = graph.unit_ids[int(i)], graph.unit_ids[int(j)]
        out[a].add(b)
        out[b].add(a)
    return out


def _plan_fill(ws: Workspace, scenario_id: str) -> pd.DataFrame:
    """Give gaps, round by round, to the touching leaf territory with the fewest accounts."""
    territories = ws.rows("territories", scenario_id)
    leaf_ids = set(leaves(territories))
    rows = ws.rows("unit_assignment", scenario_id)
    owner = {str(u): str(t) for u, t in zip(rows[s.UNIT_ID], rows[s.TERRITORY_ID], strict=True)
             if str(t) in leaf_ids}  # fmt: skip
    per_unit = _unit_accounts(ws)
    load = {t: 0 for t in leaf_ids}
    for unit, tid in owner.items():
        load[tid] += int(per_unit.get(unit, 0))
    touching = _neighbours(ws)
    gaps = sorted(set(per_unit.index) - set(owner))
    moves: list[dict[str, Any]] = []
    for round_no in range(1, len(gaps) + 1):
        chosen = {}
        for unit in gaps:
            near = sorted({owner[n] for n in touching.get(unit, ()) if n in owner})
            if near:
                chosen[unit] = (min(near, key=lambda t: (load[t], t)), near)
        for unit, (tid, near) in chosen.items():
            owner[unit] = tid
            load[tid] += int(per_unit[unit])
            moves.append({s.UNIT_ID: unit, s.TERRITORY_ID: tid, "accounts": int(per_unit[unit]),
                          "territory_accounts": load[tid], "neighbours": ", ".join(near),
                          "round": round_no})  # fmt: skip
        gaps = [u for u in gaps if u not in chosen]
        if not chosen or not gaps:
            break
    moves += [{s.UNIT_ID: u, "accounts": int(per_unit[u]), "neighbours": ""} for u in gaps]
    preview = pd.DataFrame(moves, columns=[c for c in _PREVIEW_COLUMNS if c != s.NAME])
    names = ws.units[s.NAME] if s.NAME in ws.units.columns else pd.Series(None, ws.units.index)
    preview.insert(1, s.NAME, preview[s.UNIT_ID].map(dict(zip(ws.units[s.UNIT_ID].astype(str),
                                                                names, strict=True))))  # fmt: skip
    return preview


def _grow_shapes(ws: Workspace, scenario_id: str, filled: pd.DataFrame) -> None:
    """Add each filled unit's shape to its territory and that territory's ancestors."""
    territories = ws.rows("territories", scenario_id).drop(columns=[s.SCENARIO_ID])
    ids = territories[s.TERRITORY_ID].astype(str)
    tree = TerritoryTree.of(territories)
    grow: dict[str, list[str]] = {}
    for unit, tid in zip(filled[s.UNIT_ID], filled[s.TERRITORY_ID], strict=True):
        for node in [str(tid), *tree.ancestors(str(tid))]:
            if unit not in grow.setdefault(node, []):
                grow[node].append(unit)
    units = ws.units.to_crs(s.STORAGE_CRS)
    shapes = dict(zip(units[s.UNIT_ID].astype(str), units.geometry, strict=True))
    geoms = [shapely.union_all([g, *(shapes[u] for u in grow[t])]) if t in grow else g
             for t, g in zip(ids, territories.geometry, strict=True)]  # fmt: skip
    grown = gpd.GeoSeries(geoms, index=territories.index, crs=s.STORAGE_CRS)
    new = gpd.GeoDataFrame(territories.drop(columns=[s.GEOMETRY]), geometry=grown)
    ws.set_rows("territories", scenario_id, new)


def fill_gaps(
    ws: Workspace, scenario_id: str, *, user: str | None = None, apply: bool = True
) -> pd.DataFrame:
    """Give each unassigned unit to its best touching territory; return what moves.

    A unit no leaf territory owns goes to the touching leaf territory (queen
    contiguity) with the fewest accounts so far, ties by territory id; units
    touching only other gaps are filled in later rounds. With ``apply`` the
    workspace (not saved) gets the ``unit_assignment`` rows, the grown
    territory shapes (ancestors too) and re-assigned accounts; otherwise it
    is unchanged.

    Returns
    -------
    pandas.DataFrame
        One row per gap: ``unit_id``, ``name``, ``territory_id`` (``None``
        when no territory touches it, e.g. an island), ``accounts`` in the
        unit, ``territory_accounts`` after the move, ``neighbours`` (the
        touching territories) and ``round``.

    Raises
    ------
    planner.errors.InputError
        For an unknown scenario or a workspace without units.
    """
    if not len(ws.units):
        raise InputError("the workspace has no units", [Problem(
            "there are no units to fill", fix="import the units first")])  # fmt: skip
    preview = _plan_fill(ws, scenario_id)
    filled = preview[preview[s.TERRITORY_ID].notna()]
    if not apply or not len(filled):
        return preview
    added = pd.DataFrame({s.UNIT_ID: filled[s.UNIT_ID], s.TERRITORY_ID: filled[s.TERRITORY_ID],
                          s.LOCKED: False})  # fmt: skip
    store_unit_assignment(ws, scenario_id, added, replace=False)
    _grow_shapes(ws, scenario_id, filled)
    ws.log("units.fill_gaps", {"filled": len(filled), "left": int(len(preview) - len(filled))},
           user=user, scenario_id=scenario_id)  # fmt: skip
    assign_workspace(ws, scenario_id, store=True, user=user)
    return preview
