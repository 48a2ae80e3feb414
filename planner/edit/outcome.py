"""What an edit returns, and the all-or-nothing frame every edit runs in."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

from planner import hierarchy
from planner import schema as s
from planner.errors import InputError, Problem
from planner.geo.assign import Assignment, assign_workspace
from planner.workspace import Workspace

__all__ = [
    "EditOutcome",
    "all_or_nothing",
    "contiguity_notes",
    "finish",
    "hierarchy_notes",
    "part_count",
    "run_assignment",
    "user_error",
]


@dataclass(frozen=True, eq=False)
class EditOutcome:
    """What an edit did, for the page to show.

    Parameters
    ----------
    message
        One line saying what changed.
    assignment
        The assignment computed (and stored) after the edit.
    warnings
        Repairs and hierarchy warnings worth showing.
    """

    message: str
    assignment: Assignment | None = None
    warnings: tuple[str, ...] = field(default=())


def user_error(message: str, fix: str, *, column: str | None = None) -> InputError:
    """Return an :class:`InputError` with one problem: ``message`` and its ``fix``."""
    return InputError(message, [Problem(message, column=column, fix=fix)])


@contextmanager
def all_or_nothing(ws: Workspace) -> Iterator[None]:
    """Put every table back as it was if the block raises."""
    saved = dict(ws.tables)  # frames are replaced, never changed in place, by Workspace
    try:
        yield
    except BaseException:
        ws.tables.clear()
        ws.tables.update(saved)
        raise


def run_assignment(ws: Workspace, scenario_id: str, *, user: str | None = None) -> Assignment:
    """Re-assign every account of the scenario and store the memberships."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # repairs are reported in Assignment.warnings
        return assign_workspace(ws, scenario_id, store=True, user=user)


def finish(
    ws: Workspace, scenario_id: str, message: str, notes: Sequence[str], *, user: str | None
) -> EditOutcome:
    """Re-assign the accounts after an edit and say what changed, with every note once."""
    result = run_assignment(ws, scenario_id, user=user)
    return EditOutcome(message, result, tuple(dict.fromkeys([*notes, *result.warnings])))


def part_count(shape: BaseGeometry | None) -> int:
    """Separate parts of a territory's shape (slivers of under a millionth of it ignored)."""
    if shape is None or shape.is_empty:
        return 0
    parts = shapely.get_parts(shape)
    areas = shapely.area(parts)
    total = float(areas.sum())
    return int((areas > total * 1e-6).sum()) if total > 0 else 0


def contiguity_notes(
    before: gpd.GeoDataFrame, after: gpd.GeoDataFrame, ids: Iterable[str | None]
) -> list[str]:
    """A warning for each of ``ids`` whose shape an edit broke into more parts."""
    old = dict(zip(before[s.TERRITORY_ID].astype(str), before.geometry, strict=True))
    new = dict(zip(after[s.TERRITORY_ID].astype(str), after.geometry, strict=True))
    notes = []
    for tid in dict.fromkeys(i for i in ids if i):
        was, now = part_count(old.get(tid)), part_count(new.get(tid))
        if now > max(was, 1):
            notes.append(
                f"{tid} is now in {now} separate parts (it was in {max(was, 1)}): give the "
                "cut-off part to a neighbour, or take back the unit that joined them"
            )
    return notes


def hierarchy_notes(territories: gpd.GeoDataFrame, ids: Iterable[str | None]) -> list[str]:
    """Problems of the hierarchy that name one of ``ids`` (shown as warnings after an edit)."""
    wanted = {i for i in ids if i}
    notes = []
    for p in hierarchy.validate_hierarchy(territories):
        if any(i in p.message for i in wanted):
            notes.append(str(p))
    return notes
