"""Column names and table schemas of a workspace, and the one validator that checks them.

Every bulk table in the planner is a (Geo)DataFrame whose columns are named by
the constants below. Readers produce frames in this shape; algorithms and the
workspace consume them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from planner.errors import InputError, Problem, format_ids
from planner.repeats import duplicated_cells

__all__ = [
    "SCHEMA_VERSION",
    "STORAGE_CRS",
    "TABLES",
    "ColumnSpec",
    "TableSchema",
    "empty_frame",
    "is_missing",
    "text_or_none",
    "validate_frame",
]

#: Version of the stored workspace layout. 1: whole-file GeoPackage saves;
#: 2: row-level store with change log and history (:mod:`planner.store`).
#: Bump when a table changes shape and teach :mod:`planner.store.connect` to
#: migrate older workspaces.
SCHEMA_VERSION = 2

#: CRS of every stored geometry. Distances and areas are computed in a
#: projected local CRS (see :func:`planner.geo.shapes.local_crs`).
STORAGE_CRS = "EPSG:4326"

# --- shared ids -------------------------------------------------------------
ACCOUNT_ID = "account_id"
REP_ID = "rep_id"
UNIT_ID = "unit_id"
TERRITORY_ID = "territory_id"
SCENARIO_ID = "scenario_id"
TYPE_ID = "type_id"
GEOMETRY = "geometry"

# --- accounts ---------------------------------------------------------------
NAME = "name"
ADDRESS = "address"
POSTAL_CODE = "postal_code"
COUNTRY = "country"
INDUSTRY = "industry"
ANNUAL_REVENUE = "annual_revenue"
PRODUCT_LINE = "product_line"
SIZE = "size"
VISITS_PER_MONTH = "visits_per_month"
VISIT_MINUTES = "visit_minutes"
OPENING_HOURS = "opening_hours"
OWNER_ID = "owner_id"
GEOCODE_PRECISION = "geocode_precision"
LATITUDE = "latitude"
LONGITUDE = "longitude"

# --- reps (users) -----------------------------------------------------------
ROLE = "role"
EMAIL = "email"
MANAGER_ID = "manager_id"
CAPACITY_H_PER_WEEK = "capacity_h_per_week"
HOME_LATITUDE = "home_latitude"
HOME_LONGITUDE = "home_longitude"
PASSWORD_HASH = "password_hash"

# --- units ------------------------------------------------------------------
UNIT_TYPE = "unit_type"

# --- scenarios --------------------------------------------------------------
STATE = "state"
CREATED_AT = "created_at"
CREATED_FROM = "created_from"
DESCRIPTION = "description"
PARAMETERS = "parameters"
METRICS = "metrics"

# --- territories ------------------------------------------------------------
PARENT_ID = "parent_id"
LEVEL = "level"
LEVEL_NAME = "level_name"
SOURCE = "source"
RULE = "rule"
PRIORITY = "priority"
LOCKED = "locked"

# --- memberships, associations, targets, overrides, audit -------------------
CAUSE = "cause"
DETAIL = "detail"
IS_PRIMARY = "is_primary"
ACTION = "action"
SET_BY = "set_by"
SET_AT = "set_at"
REASON = "reason"
START_DATE = "start_date"
END_DATE = "end_date"
PERIOD = "period"
METRIC = "metric"
VALUE = "value"
TIMESTAMP = "timestamp"
USER = "user"
KEY = "key"
OPPORTUNITY_ID = "opportunity_id"
AMOUNT = "amount"
CREATED_DATE = "created_date"
CLOSED_DATE = "closed_date"
STAGE = "stage"

Kind = Literal["str", "float", "int", "bool"]


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a table.

    Parameters
    ----------
    name
        Column name.
    kind
        Logical type; ``"str"`` columns hold Python strings or missing values.
    required
        Whether the column must be present (missing values are checked
        separately through ``nullable``).
    nullable
        Whether a missing value is allowed.
    choices
        Allowed values, if the column is an enumeration.
    """

    name: str
    kind: Kind = "str"
    required: bool = True
    nullable: bool = False
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TableSchema:
    """The declared shape of one workspace table.

    Parameters
    ----------
    name
        Table (GeoPackage layer) name.
    columns
        Column specifications in storage order.
    key
        Columns whose combination is unique.
    geometry
        Geometry kind stored in the ``geometry`` column, or ``None`` for an
        attribute-only table.
    """

    name: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...] = ()
    geometry: Literal["Point", "Polygon"] | None = None
    extra_columns: bool = False

    @property
    def column_names(self) -> list[str]:
        """Names of the declared columns."""
        return [c.name for c in self.columns]

    def spec(self, name: str) -> ColumnSpec:
        """Return the specification of column ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


SCENARIO_STATES = ("planning", "active", "archived")
CAUSES = ("spatial", "rule", "manual")
ASSOCIATION_ROLES = ("owner", "overlay", "manager")
USER_ROLES = ("rep", "manager", "planner", "admin")
GEOCODE_PRECISIONS = ("exact", "postal_code")
TERRITORY_SOURCES = ("drawn", "units", "imported", "designed", "none")
OVERRIDE_ACTIONS = ("include", "exclude")
LEVEL_NAMES = ("region", "district", "territory")


def _c(name: str, kind: Kind = "str", **kw: object) -> ColumnSpec:
    return ColumnSpec(name, kind, **kw)  # type: ignore[arg-type]


TABLES: dict[str, TableSchema] = {
    "accounts": TableSchema(
        "accounts",
        (
            _c(ACCOUNT_ID),
            _c(NAME, nullable=True),
            _c(ADDRESS, required=False, nullable=True),
            _c(POSTAL_CODE, required=False, nullable=True),
            _c(COUNTRY, required=False, nullable=True),
            _c(INDUSTRY, required=False, nullable=True),
            _c(PRODUCT_LINE, required=False, nullable=True),
            _c(SIZE, required=False, nullable=True),
            _c(ANNUAL_REVENUE, "float", required=False, nullable=True),
            _c(VISITS_PER_MONTH, "float", required=False, nullable=True),
            _c(VISIT_MINUTES, "float", required=False, nullable=True),
            _c(OPENING_HOURS, required=False, nullable=True),
            _c(OWNER_ID, required=False, nullable=True),
            _c(GEOCODE_PRECISION, choices=GEOCODE_PRECISIONS),
        ),
        key=(ACCOUNT_ID,),
        geometry="Point",
        extra_columns=True,
    ),
    "reps": TableSchema(
        "reps",
        (
            _c(REP_ID),
            _c(NAME, nullable=True),
            _c(ROLE, choices=USER_ROLES),
            _c(EMAIL, required=False, nullable=True),
            _c(MANAGER_ID, required=False, nullable=True),
            _c(CAPACITY_H_PER_WEEK, "float", required=False, nullable=True),
            _c(PASSWORD_HASH, required=False, nullable=True),
        ),
        key=(REP_ID,),
        geometry="Point",  # home base; missing for users without one
        extra_columns=True,
    ),
    "units": TableSchema(
        "units",
        (_c(UNIT_ID), _c(NAME, nullable=True), _c(UNIT_TYPE)),
        key=(UNIT_ID,),
        geometry="Polygon",
        extra_columns=True,
    ),
    "territory_types": TableSchema(
        "territory_types",
        (
            _c(TYPE_ID),
            _c(NAME, nullable=True),
            _c(PRIORITY, "int"),
            _c(DESCRIPTION, required=False, nullable=True),
        ),
        key=(TYPE_ID,),
    ),
    "scenarios": TableSchema(
        "scenarios",
        (
            _c(SCENARIO_ID),
            _c(NAME, nullable=True),
            _c(STATE, choices=SCENARIO_STATES),
            _c(CREATED_AT),
            _c(CREATED_FROM, nullable=True),
            _c(DESCRIPTION, nullable=True),
            _c(PARAMETERS, nullable=True),
            _c(METRICS, nullable=True),
        ),
        key=(SCENARIO_ID,),
    ),
    "territories": TableSchema(
        "territories",
        (
            _c(SCENARIO_ID),
            _c(TERRITORY_ID),
            _c(NAME, nullable=True),
            _c(PARENT_ID, nullable=True),
            _c(LEVEL, "int"),
            _c(LEVEL_NAME, nullable=True),
            _c(TYPE_ID),
            _c(SOURCE, choices=TERRITORY_SOURCES),
            _c(RULE, nullable=True),
        ),
        key=(SCENARIO_ID, TERRITORY_ID),
        geometry="Polygon",
    ),
    "unit_assignment": TableSchema(
        "unit_assignment",
        (_c(SCENARIO_ID), _c(UNIT_ID), _c(TERRITORY_ID), _c(LOCKED, "bool")),
        key=(SCENARIO_ID, UNIT_ID),
    ),
    "memberships": TableSchema(
        "memberships",
        (
            _c(SCENARIO_ID),
            _c(ACCOUNT_ID),
            _c(TERRITORY_ID),
            _c(CAUSE, choices=CAUSES),
            _c(DETAIL, nullable=True),
            _c(IS_PRIMARY, "bool"),
        ),
        key=(SCENARIO_ID, ACCOUNT_ID, TERRITORY_ID),
    ),
    "overrides": TableSchema(
        "overrides",
        (
            _c(SCENARIO_ID),
            _c(ACCOUNT_ID),
            _c(TERRITORY_ID),
            _c(ACTION, choices=OVERRIDE_ACTIONS),
            _c(SET_BY, nullable=True),
            _c(SET_AT),
            _c(REASON, nullable=True),
        ),
        key=(SCENARIO_ID, ACCOUNT_ID, TERRITORY_ID),
    ),
    "associations": TableSchema(
        "associations",
        (
            _c(SCENARIO_ID),
            _c(REP_ID),
            _c(TERRITORY_ID),
            _c(ROLE, choices=ASSOCIATION_ROLES),
            _c(START_DATE, nullable=True),
            _c(END_DATE, nullable=True),
        ),
        key=(SCENARIO_ID, REP_ID, TERRITORY_ID, ROLE),
    ),
    "targets": TableSchema(
        "targets",
        (
            _c(SCENARIO_ID),
            _c(TERRITORY_ID, nullable=True),
            _c(REP_ID, nullable=True),
            _c(PERIOD),
            _c(METRIC),
            _c(VALUE, "float"),
        ),
        key=(SCENARIO_ID, TERRITORY_ID, REP_ID, PERIOD, METRIC),
    ),
    "opportunities": TableSchema(
        "opportunities",
        (
            _c(OPPORTUNITY_ID),
            _c(ACCOUNT_ID),
            _c(OWNER_ID, nullable=True),
            _c(AMOUNT, "float"),
            _c(CREATED_DATE),
            _c(CLOSED_DATE, nullable=True),
            _c(STAGE),
        ),
        key=(OPPORTUNITY_ID,),
        extra_columns=True,
    ),
    "audit": TableSchema(
        "audit",
        (
            _c(TIMESTAMP),
            _c(USER, nullable=True),
            _c(ACTION),
            _c(SCENARIO_ID, nullable=True),
            _c(DETAIL, nullable=True),
        ),
    ),
}


def is_missing(value: object) -> bool:
    """Tell whether one cell holds no value: ``None``, NaN, ``pd.NA`` or NaT.

    Identity and type checks only, so it is cheap enough to call per row on
    large tables.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float):
        return value != value
    return isinstance(value, np.datetime64) and bool(np.isnat(value))


def text_or_none(value: object, *, strip: bool = True) -> str | None:
    """Return one cell as text, or ``None`` when it is missing or blank.

    The one rule for reading ids, names and dates typed by people: missing
    values (``None``, NaN, ``pd.NA``, NaT) and empty text are ``None``;
    anything else is ``str(value)``, stripped of surrounding blanks.
    """
    if is_missing(value):
        return None
    text = str(value).strip() if strip else str(value)
    return text or None


def empty_frame(table: str) -> pd.DataFrame:
    """Return an empty frame (GeoDataFrame for spatial tables) of ``table``'s schema.

    Parameters
    ----------
    table
        A key of :data:`TABLES`.
    """
    schema = TABLES[table]
    data: dict[str, pd.Series] = {}
    for c in schema.columns:
        dtype = {"str": "object", "float": "float64", "int": "int64", "bool": "bool"}[c.kind]
        data[c.name] = pd.Series([], dtype=dtype)
    frame = pd.DataFrame(data)
    if schema.geometry is None:
        return frame
    import geopandas as gpd

    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=STORAGE_CRS))


def validate_frame(frame: pd.DataFrame, table: str) -> None:
    """Check that ``frame`` has the declared shape of ``table``.

    Collects every problem and raises a single :class:`InputError`.

    Parameters
    ----------
    frame
        The frame to check.
    table
        A key of :data:`TABLES`.

    Raises
    ------
    InputError
        If a required column is missing, a non-nullable column has missing
        values, an enumerated column has an unknown value, or the key is not
        unique.
    """
    schema = TABLES[table]
    problems: list[Problem] = []
    for c in schema.columns:
        if c.name not in frame.columns:
            if c.required:
                problems.append(
                    Problem(
                        f"required column '{c.name}' is missing",
                        column=c.name,
                        fix=f"add a '{c.name}' column",
                    )
                )
            continue
        col = frame[c.name]
        missing = col.isna()
        if not c.nullable and missing.any():
            rows = tuple(int(i) for i in frame.index[missing.to_numpy()][:50])
            problems.append(
                Problem(
                    f"'{c.name}' has {int(missing.sum())} missing values",
                    rows=rows,
                    column=c.name,
                    fix=f"fill in '{c.name}'",
                )
            )
        if c.choices is not None:
            bad = ~col.isna() & ~col.isin(c.choices)
            if bad.any():
                values = sorted({str(v) for v in col[bad]})
                problems.append(
                    Problem(
                        f"'{c.name}' has unknown values {format_ids(values)}",
                        rows=tuple(int(i) for i in frame.index[bad.to_numpy()][:50]),
                        column=c.name,
                        fix=f"use one of {', '.join(c.choices)}",
                    )
                )
    if schema.key and all(k in frame.columns for k in schema.key):
        dup = (
            duplicated_cells(frame[schema.key[0]])  # a large id column never hashed whole
            if len(schema.key) == 1
            else frame.duplicated(list(schema.key), keep=False)
        )
        if dup.any():
            keys = frame.loc[dup, list(schema.key)].astype(str).agg("/".join, axis=1)
            problems.append(
                Problem(
                    f"{'/'.join(schema.key)} is not unique: "
                    f"{format_ids(sorted(set(keys)))} appear more than once",
                    rows=tuple(int(i) for i in frame.index[dup.to_numpy()][:50]),
                    fix="give every row its own id",
                )
            )
    if problems:
        raise InputError(f"table '{table}' does not match its schema", problems)
