"""One committed change of a workspace, as the change log records it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from planner.errors import WorkspaceError

__all__ = ["Change", "iso_date"]


@dataclass(frozen=True)
class Change:
    """One committed change of a workspace.

    Attributes
    ----------
    version
        The workspace version this change created (versions count up from 1).
    base_version
        The version the change was made on.
    user, timestamp, action, effective_date, cause, scenario_id
        Who made it, when (UTC), what (a short label), from when it applies,
        why, and in which scenario.
    undo_of, redo_of
        The version this change undoes or redoes, if it is an undo or redo.
    rows
        How many rows it wrote.
    tables
        The tables it wrote.
    detail
        Free-form details given by the caller.
    """

    version: int
    base_version: int
    user: str | None
    timestamp: str
    action: str
    effective_date: str
    cause: str | None = None
    scenario_id: str | None = None
    undo_of: int | None = None
    redo_of: int | None = None
    rows: int = 0
    tables: tuple[str, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the change as a JSON-friendly dict."""
        out = asdict(self)
        out["tables"] = list(self.tables)
        return out

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Change:
        """Build a change from a ``tp_changes`` row."""
        tables = tuple(t for t in str(row.get("tables") or "").split(",") if t)
        detail = json.loads(row["detail"]) if row.get("detail") else {}
        return cls(
            version=int(row["version"]),
            base_version=int(row["base_version"]),
            user=row.get("user"),
            timestamp=str(row["timestamp"]),
            action=str(row["action"]),
            effective_date=str(row["effective_date"]),
            cause=row.get("cause"),
            scenario_id=row.get("scenario_id"),
            undo_of=None if row.get("undo_of") is None else int(row["undo_of"]),
            redo_of=None if row.get("redo_of") is None else int(row["redo_of"]),
            rows=int(row.get("rows") or 0),
            tables=tables,
            detail=detail,
        )


def iso_date(value: str | date | None) -> str:
    """Return a date (today by default) as ``YYYY-MM-DD``; a clear error when it is none."""
    if value is None:
        return date.today().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError as exc:
        raise WorkspaceError(
            f"effective date {value!r} is not a date: write it as YYYY-MM-DD"
        ) from exc
