"""What Salesforce Territory Management accepts: objects, columns, options and DeveloperNames.

DeveloperNames follow Salesforce's rules: letters, digits and single
underscores, starting with a letter, not ending with an underscore, at most 80
characters, unique (case-insensitively) within their object.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from planner import schema as s
from planner.errors import InputError, Problem

__all__ = [
    "ACCESS_LEVELS",
    "CAUSE_FIELD",
    "DEV",
    "FORECAST_REF",
    "MANUAL",
    "MAX_DESCRIPTION",
    "MAX_NAME",
    "MODEL_REF",
    "NULL_VALUE",
    "OBJECTS",
    "OBJECT_ID",
    "PARENT_REF",
    "ROLE_FIELD",
    "TERR_REF",
    "TYPE_REF",
    "USER_REF",
    "SalesforceOptions",
    "assign_names",
    "clip_text",
    "developer_name",
]

#: Salesforce objects written, in full-load order.
OBJECTS = (
    "Territory2Type",
    "Territory2Model",
    "Territory2",
    "UserTerritory2Association",
    "ObjectTerritory2Association",
)
#: Allowed API values of the access-level picklists of Territory2.
ACCESS_LEVELS = {
    "account_access": ("Read", "Edit", "All"),
    "opportunity_access": ("None", "Read", "Edit"),
    "case_access": ("None", "Read", "Edit"),
}
MAX_NAME = 80
MAX_DESCRIPTION = 1000
#: Value Data Loader reads as "set this field to null".
NULL_VALUE = "#N/A"

# Column names of the load files.
DEV = "DeveloperName"
TYPE_REF = "Territory2Type.DeveloperName"
MODEL_REF = "Territory2Model.DeveloperName"
PARENT_REF = "ParentTerritory2.DeveloperName"
TERR_REF = "Territory2.DeveloperName"
FORECAST_REF = "ForecastUser.Username"
USER_REF = "User.Username"
OBJECT_ID = "ObjectId"
ROLE_FIELD = "RoleInTerritory2"
CAUSE_FIELD = "AssociationCause"
MANUAL = "Territory2Manual"


@dataclass(frozen=True)
class SalesforceOptions:
    """Settings of the Salesforce export.

    Parameters
    ----------
    model_developer_name
        DeveloperName of the Territory2Model; derived from the scenario name
        when empty.
    account_access, opportunity_access, case_access
        Default access levels of every territory (API values: ``Read``,
        ``Edit``, ``All`` for accounts; ``None``, ``Read``, ``Edit`` for the others).
    user_column
        Column of ``reps`` holding each user's Salesforce username
        (``email`` by default; an extra column such as ``sf_username`` works).
    account_id_column
        Column of ``accounts`` holding each account's Salesforce Id
        (``account_id`` by default).
    role_labels
        RoleInTerritory2 picklist value of each association role; the picklist
        values must exist in the org.
    as_of
        The date associations are judged on (ended ones are not exported).
    """

    model_developer_name: str = ""
    account_access: str = "Edit"
    opportunity_access: str = "Read"
    case_access: str = "Read"
    user_column: str = s.EMAIL
    account_id_column: str = s.ACCOUNT_ID
    role_labels: Mapping[str, str] = field(
        default_factory=lambda: {"owner": "Owner", "overlay": "Overlay", "manager": "Manager"}
    )
    as_of: date | None = None

    def __post_init__(self) -> None:
        problems = []
        for name, allowed in ACCESS_LEVELS.items():
            value = getattr(self, name)
            if value not in allowed:
                problems.append(
                    Problem(f"{name}='{value}' is not allowed", fix=f"use {', '.join(allowed)}")
                )
        missing = [r for r in s.ASSOCIATION_ROLES if not self.role_labels.get(r)]
        if missing:
            problems.append(
                Problem(f"no RoleInTerritory2 label for {', '.join(missing)}", fix="add one")
            )
        if self.model_developer_name and developer_name(self.model_developer_name) != (
            self.model_developer_name
        ):
            problems.append(
                Problem(
                    f"model_developer_name '{self.model_developer_name}' breaks the rules",
                    fix=f"use '{developer_name(self.model_developer_name)}'",
                )
            )
        if problems:
            raise InputError("invalid Salesforce export options", problems)


# -- DeveloperName ----------------------------------------------------------------------


def developer_name(text: str, *, taken: Iterable[str] = (), prefix: str = "T") -> str:
    """Return a valid, unique Salesforce DeveloperName made from ``text``.

    Accents are dropped, every run of other characters becomes one
    underscore, a name starting with a digit gets ``prefix`` and an
    underscore, and ``_2``, ``_3``... are appended until the name is not in
    ``taken`` (compared case-insensitively).

    Examples
    --------
    >>> developer_name("Île-de-France / Nord")
    'Ile_de_France_Nord'
    >>> developer_name("42", taken=["T_42"])
    'T_42_2'
    """
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    base = re.sub(r"[^A-Za-z0-9]+", "_", ascii_text).strip("_")
    if not base:
        base = prefix
    if not base[0].isalpha():
        base = f"{prefix}_{base}"
    base = base[:MAX_NAME].rstrip("_")
    used = {t.lower() for t in taken}
    candidate, n = base, 2
    while candidate.lower() in used:
        suffix = f"_{n}"
        candidate = base[: MAX_NAME - len(suffix)].rstrip("_") + suffix
        n += 1
    return candidate


def assign_names(ids: Iterable[str], previous: Mapping[str, str], prefix: str) -> dict[str, str]:
    """DeveloperNames for ``ids``: the previous one when known, else a new unique one."""
    out: dict[str, str] = {}
    taken = set(previous.values())
    for our_id in ids:
        if our_id in previous:
            out[our_id] = previous[our_id]
    for our_id in ids:
        if our_id not in out:
            name = developer_name(our_id, taken=taken, prefix=prefix)
            taken.add(name)
            out[our_id] = name
    return out


def clip_text(text: Any, limit: int) -> str:
    """``text`` as a string of at most ``limit`` characters (an ellipsis marks a cut)."""
    value = "" if text is None or (isinstance(text, float) and text != text) else str(text)
    return value if len(value) <= limit else value[: limit - 1] + "\u2026"
