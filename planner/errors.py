"""Exceptions and warnings raised by the planner library."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AccessDeniedError",
    "ClusterUnavailableError",
    "ConflictError",
    "GeometryRepairWarning",
    "InfeasibleError",
    "InputError",
    "InputWarning",
    "NetworkDataError",
    "NetworkFileError",
    "PlannerError",
    "PlannerWarning",
    "Problem",
    "RuleError",
    "SchemaVersionError",
    "SidecarError",
    "SnapDistanceWarning",
    "StoreUnavailableError",
    "ToleranceNotMetError",
    "Unreadable",
    "WorkspaceError",
    "format_ids",
]


def format_ids(ids: Iterable[object], *, limit: int = 8) -> str:
    """Return a short human list of ids such as ``"A12, A19, A40 and 5 more"``.

    Parameters
    ----------
    ids
        The ids (or row numbers) to list.
    limit
        How many to name before summarising the rest.
    """
    items = [str(i) for i in ids]
    if len(items) <= limit:
        return ", ".join(items)
    return f"{', '.join(items[:limit])} and {len(items) - limit} more"


@dataclass(frozen=True)
class Problem:
    """One problem found while validating input.

    Parameters
    ----------
    message
        What is wrong, in words a user understands.
    rows
        1-based row numbers as the user sees them in their file (the header
        is row 1 in a spreadsheet-like file), or an empty tuple when the
        problem concerns the whole input.
    column
        The column concerned, if any.
    fix
        What the user should do.
    severity
        ``"error"`` stops the input from being used; ``"warning"`` does not.
    """

    message: str
    rows: tuple[int, ...] = ()
    column: str | None = None
    fix: str = ""
    severity: str = "error"

    def __str__(self) -> str:
        parts = []
        if self.rows:
            label = "row" if len(self.rows) == 1 else "rows"
            parts.append(f"{label} {format_ids(self.rows)}")
        if self.column:
            parts.append(f"column '{self.column}'")
        where = f" ({'; '.join(parts)})" if parts else ""
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{self.message}{where}.{fix}"

    def to_dict(self) -> dict[str, object]:
        """Return the problem as a JSON-friendly dictionary."""
        return {
            "message": self.message,
            "rows": list(self.rows),
            "column": self.column,
            "fix": self.fix,
            "severity": self.severity,
        }


class PlannerError(Exception):
    """Base class of every error the planner raises on purpose."""


class InputError(PlannerError, ValueError):
    """Input data or arguments are invalid.

    Carries every problem found, so a user sees the whole list at once.

    Parameters
    ----------
    message
        A summary line.
    problems
        The individual problems; each names rows, a column and a fix.
    source
        The file or argument the problems were found in.
    """

    def __init__(
        self,
        message: str,
        problems: Sequence[Problem] = (),
        *,
        source: str | None = None,
    ) -> None:
        self.summary = message
        self.problems: list[Problem] = list(problems)
        self.source = source
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"{self.source}: {self.summary}" if self.source else self.summary
        if not self.problems:
            return head
        lines = [head] + [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class RuleError(InputError):
    """A territory rule cannot be parsed, or names a field the accounts do not have.

    Parameters
    ----------
    message
        What is wrong, naming the position.
    rule
        The rule's text.
    position
        1-based character position of the problem.
    fix
        What to do.
    label
        What the rule belongs to (e.g. ``territory T3``), for messages.
    """

    def __init__(
        self, message: str, *, rule: str, position: int, fix: str = "", label: str | None = None
    ) -> None:
        self.rule = rule
        self.position = position
        where = f"{label}: " if label else ""
        start = max(0, position - 1 - 12)
        snippet = rule[start : position - 1 + 12]
        near = f" (near {snippet!r})" if snippet.strip() else ""
        shown = rule if len(rule) <= 200 else rule[:200] + "..."
        problem = Problem(f"{where}{message} in rule {shown!r}{near}", fix=fix)
        super().__init__(f"{where}{message}", [problem], source=None)


class InfeasibleError(PlannerError):
    """An optimisation problem has no solution under the given constraints."""


class ToleranceNotMetError(InfeasibleError):
    """A balancing search ended outside the tolerance; the best plan found is attached.

    Parameters
    ----------
    message
        Why, by how much, and what would make the tolerance reachable.
    plan
        The best plan found (a :class:`planner.balance.TerritoryPlan`:
        contiguous, every unit assigned), for a caller that prefers it to
        nothing.
    """

    def __init__(self, message: str, plan: Any) -> None:
        super().__init__(message)
        self.plan = plan


class NetworkDataError(PlannerError):
    """A road network is missing, corrupt or unusable."""


class NetworkFileError(NetworkDataError, InputError):
    """A road network file (OSM or GraphML) is malformed: an input error naming the fix."""


class ClusterUnavailableError(PlannerError):
    """A Dask scheduler does not answer, or a cluster cannot be started."""


class WorkspaceError(PlannerError):
    """A workspace file cannot be opened or saved."""


class SchemaVersionError(WorkspaceError):
    """A workspace was written by a newer version of the planner."""


class StoreUnavailableError(WorkspaceError):
    """The workspace's storage (file or database server) cannot be reached or written."""


class SidecarError(WorkspaceError):
    """A large workspace's accounts file (GeoParquet beside its ``.gpkg``) cannot be read."""


class ConflictError(WorkspaceError):
    """A change was made on an outdated version of the workspace and touches rows changed since.

    Nothing of the refused change is written. ``changes`` lists the newer
    changes it collides with (version, user, time, action) and ``rows`` the
    colliding rows as ``(table, key)`` pairs, so the user can reload and
    reapply, or keep their work as a new scenario.
    """

    def __init__(
        self,
        message: str,
        *,
        base_version: int,
        head_version: int,
        changes: Sequence[dict[str, object]] = (),
        rows: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.base_version = base_version
        self.head_version = head_version
        self.changes = list(changes)
        self.rows = list(rows)


class PlannerWarning(UserWarning):
    """Base class of the planner's warnings."""


class InputWarning(PlannerWarning):
    """An input file was readable, but something in it was guessed or corrected."""


class GeometryRepairWarning(PlannerWarning):
    """A geometry was invalid and has been repaired."""


class SnapDistanceWarning(PlannerWarning):
    """Points were snapped to a road network from far away."""


class AccessDeniedError(PlannerError):
    """A user asked for something outside what they may see or edit."""


class Unreadable(Exception):
    """An input file cannot be read at all; carries the problem to report.

    Raised inside the readers and turned into an :class:`InputError` (or a
    validation report) before it reaches a caller.
    """

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem
