"""Small domain records: scenarios, territory types, territories, memberships and the like.

Bulk data (accounts, units, memberships of a whole scenario) lives in frames
shaped by :mod:`planner.schema`; these records describe single entities, and
convert to and from the rows of those frames.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from planner import schema as s
from planner.errors import InputError, Problem

__all__ = [
    "AssociationRole",
    "AuditEntry",
    "Cause",
    "Membership",
    "Override",
    "RepAssociation",
    "Scenario",
    "ScenarioState",
    "Target",
    "Territory",
    "TerritoryType",
    "UserRole",
    "now_iso",
]


def now_iso() -> str:
    """Return the current UTC time as an ISO 8601 string (seconds)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class ScenarioState(StrEnum):
    """Lifecycle of a scenario, like Salesforce's Territory2Model state."""

    PLANNING = "planning"
    ACTIVE = "active"
    ARCHIVED = "archived"


class Cause(StrEnum):
    """Why an account is a member of a territory."""

    SPATIAL = "spatial"
    RULE = "rule"
    MANUAL = "manual"


class AssociationRole(StrEnum):
    """Role of a user in a territory (Salesforce's RoleInTerritory2)."""

    OWNER = "owner"
    OVERLAY = "overlay"
    MANAGER = "manager"


class UserRole(StrEnum):
    """Role of a user in the organisation; decides what they may see."""

    REP = "rep"
    MANAGER = "manager"
    PLANNER = "planner"
    ADMIN = "admin"


def _require(cond: bool, message: str, fix: str) -> None:
    if not cond:
        raise InputError(message, [Problem(message, fix=fix)])


@dataclass(frozen=True)
class TerritoryType:
    """A kind of territory with a priority (Salesforce's Territory2Type).

    An account has at most one primary territory per type; when territories
    of the same type overlap, the lower ``priority`` number wins. Territories
    of different types may share accounts (a geographic team and an overlay).

    Parameters
    ----------
    type_id
        Key, e.g. ``"geographic"``.
    name
        Display name.
    priority
        Lower numbers win overlaps.
    description
        Free text.
    """

    type_id: str
    name: str = ""
    priority: int = 10
    description: str = ""

    def __post_init__(self) -> None:
        _require(bool(self.type_id), "a territory type needs a type_id", "name the type")


#: The type given to territories that do not name one.
DEFAULT_TYPE = TerritoryType("geographic", "Geographic", priority=10)


@dataclass(frozen=True)
class Scenario:
    """One version of the territory plan.

    Parameters
    ----------
    scenario_id
        Key.
    name
        Display name.
    state
        ``planning``, ``active`` or ``archived``; at most one is active.
    created_at
        ISO 8601 timestamp.
    created_from
        The scenario this one was copied from, if any.
    description
        Free text.
    parameters
        The parameters of the run that produced it (JSON-serialisable).
    metrics
        Its quality figures (JSON-serialisable).
    """

    scenario_id: str
    name: str = ""
    state: ScenarioState = ScenarioState.PLANNING
    created_at: str = field(default_factory=now_iso)
    created_from: str | None = None
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require(bool(self.scenario_id), "a scenario needs a scenario_id", "name it")
        object.__setattr__(self, "state", ScenarioState(self.state))

    def to_row(self) -> dict[str, Any]:
        """Return the scenario as a row of the ``scenarios`` table."""
        return {
            s.SCENARIO_ID: self.scenario_id,
            s.NAME: self.name,
            s.STATE: str(self.state),
            s.CREATED_AT: self.created_at,
            s.CREATED_FROM: self.created_from,
            s.DESCRIPTION: self.description,
            s.PARAMETERS: json.dumps(self.parameters, sort_keys=True, default=str),
            s.METRICS: json.dumps(self.metrics, sort_keys=True, default=str),
        }

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Scenario:
        """Build a scenario from a row of the ``scenarios`` table."""

        def _json(v: Any) -> dict[str, Any]:
            if v is None or (isinstance(v, float) and v != v) or v == "":
                return {}
            return dict(json.loads(v))

        created_from = row.get(s.CREATED_FROM)
        return cls(
            scenario_id=str(row[s.SCENARIO_ID]),
            name=str(row.get(s.NAME) or ""),
            state=ScenarioState(row[s.STATE]),
            created_at=str(row[s.CREATED_AT]),
            created_from=None if s.is_missing(created_from) else str(created_from),
            description="" if s.is_missing(row.get(s.DESCRIPTION)) else str(row[s.DESCRIPTION]),
            parameters=_json(row.get(s.PARAMETERS)),
            metrics=_json(row.get(s.METRICS)),
        )


@dataclass(frozen=True)
class Territory:
    """A territory's attributes (its geometry lives in the territories frame).

    Parameters
    ----------
    territory_id
        Key within a scenario.
    name
        Display name.
    parent_id
        The territory above it, or ``None`` for a root.
    level
        Depth in the hierarchy, 0 for roots.
    level_name
        ``region``, ``district``, ``territory`` or a name of the user's.
    type_id
        Its :class:`TerritoryType`.
    source
        How its shape was made: drawn, from units, imported, designed, none.
    rule
        An attribute rule (see :mod:`planner.geo.assign`) or ``""``.
    """

    territory_id: str
    name: str = ""
    parent_id: str | None = None
    level: int = 0
    level_name: str = ""
    type_id: str = DEFAULT_TYPE.type_id
    source: str = "none"
    rule: str = ""

    def __post_init__(self) -> None:
        _require(bool(self.territory_id), "a territory needs a territory_id", "name it")
        _require(
            self.source in s.TERRITORY_SOURCES,
            f"territory {self.territory_id}: unknown source '{self.source}'",
            f"use one of {', '.join(s.TERRITORY_SOURCES)}",
        )
        _require(self.level >= 0, f"territory {self.territory_id}: level < 0", "use 0+")


@dataclass(frozen=True)
class Membership:
    """An account's membership of a territory, with the reason.

    Parameters
    ----------
    account_id, territory_id
        The pair.
    cause
        ``spatial``, ``rule`` or ``manual``.
    detail
        Human explanation, e.g. ``"inside polygon of T3"`` or the rule text.
    is_primary
        Whether this is the account's primary territory for the territory's type.
    """

    account_id: str
    territory_id: str
    cause: Cause
    detail: str = ""
    is_primary: bool = True


@dataclass(frozen=True)
class Override:
    """A manual inclusion or exclusion of an account, with who and when."""

    account_id: str
    territory_id: str
    action: str = "include"
    set_by: str = ""
    set_at: str = field(default_factory=now_iso)
    reason: str = ""

    def __post_init__(self) -> None:
        _require(
            self.action in s.OVERRIDE_ACTIONS,
            f"override of account {self.account_id}: unknown action '{self.action}'",
            "use include or exclude",
        )


@dataclass(frozen=True)
class RepAssociation:
    """A user's role in a territory (Salesforce's UserTerritory2Association).

    ``end_date`` set in the past marks a former association (a former owner).
    """

    rep_id: str
    territory_id: str
    role: AssociationRole = AssociationRole.OWNER
    start_date: str | None = None
    end_date: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", AssociationRole(self.role))


@dataclass(frozen=True)
class Target:
    """A quota for a territory and/or user for one period."""

    period: str
    value: float
    metric: str = "revenue"
    territory_id: str | None = None
    rep_id: str | None = None

    def __post_init__(self) -> None:
        _require(
            self.territory_id is not None or self.rep_id is not None,
            "a target needs a territory_id, a rep_id or both",
            "say whose target it is",
        )


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log."""

    action: str
    detail: dict[str, Any] = field(default_factory=dict)
    user: str | None = None
    scenario_id: str | None = None
    timestamp: str = field(default_factory=now_iso)

    def to_row(self) -> dict[str, Any]:
        """Return the entry as a row of the ``audit`` table."""
        row = asdict(self)
        row["detail"] = json.dumps(self.detail, sort_keys=True, default=str)
        return row
