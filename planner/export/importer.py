"""Read a plan back from our own CSV or Salesforce export (hierarchy and memberships)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from planner import schema as s
from planner.errors import InputError, Problem, format_ids
from planner.export import salesforce as sf
from planner.export.files import CSV_FILES
from planner.export.plan import MANIFEST
from planner.export.safety import restore_frame
from planner.tree import TerritoryTree

__all__ = ["ImportedPlan", "import_export"]

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


@dataclass(frozen=True)
class ImportedPlan:
    """A plan read back from an export folder.

    Parameters
    ----------
    format
        ``csv`` or ``salesforce``.
    scenario_id
        The scenario the export was made from.
    territories
        ``territory_id``, ``name``, ``parent_id``, ``level``, ``level_name``,
        ``type_id``, ``source``, ``rule``; parents before children.
    memberships
        ``account_id``, ``territory_id``, ``cause``, ``detail``, ``is_primary``.
    associations
        ``rep_id``, ``territory_id``, ``role`` (CSV: also the dates; Salesforce:
        ``rep_id`` is the username).
    manifest
        The export's manifest.
    """

    format: str
    scenario_id: str | None
    territories: pd.DataFrame
    memberships: pd.DataFrame
    associations: pd.DataFrame
    manifest: dict[str, Any]


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(
            f"{path.parent} is missing {path.name}",
            [Problem(f"{path.name} not found", fix="import the whole export folder")],
            source=str(path.parent),
        )
    frame = pd.read_csv(
        path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig"
    )
    return restore_frame(frame)


def _nullable(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series != "", None)


def _require(frame: pd.DataFrame, columns: tuple[str, ...], label: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{label} lacks columns {', '.join(missing)}",
            [Problem(f"column '{c}' is missing", column=c, fix="export again") for c in missing],
            source=label,
        )


def _check(territories: pd.DataFrame, memberships: pd.DataFrame, label: str) -> pd.DataFrame:
    """Check ids, parents, cycles and membership references; return territories in tree order."""
    problems: list[Problem] = []
    ids = territories[s.TERRITORY_ID]
    dup = ids.duplicated(keep=False)
    if dup.any():
        problems.append(
            Problem(
                f"territory ids {format_ids(sorted(set(ids[dup])))} appear more than once",
                rows=tuple(int(i) + 2 for i in territories.index[dup.to_numpy()][:50]),
                column=s.TERRITORY_ID,
                fix="give each territory its own id",
            )
        )
    parents = territories[s.PARENT_ID]
    orphan = parents.notna() & ~parents.isin(set(ids))
    if orphan.any():
        problems.append(
            Problem(
                f"parents {format_ids(sorted(set(parents[orphan])))} are not territories",
                rows=tuple(int(i) + 2 for i in territories.index[orphan.to_numpy()][:50]),
                column=s.PARENT_ID,
                fix="add the parent territories or clear parent_id",
            )
        )
    unknown = ~memberships[s.TERRITORY_ID].isin(set(ids))
    if unknown.any():
        problems.append(
            Problem(
                "memberships name unknown territories "
                f"{format_ids(sorted(set(memberships.loc[unknown, s.TERRITORY_ID])))}",
                rows=tuple(int(i) + 2 for i in memberships.index[unknown.to_numpy()][:50]),
                column=s.TERRITORY_ID,
                fix="export the hierarchy and the memberships together",
            )
        )
    if problems:
        raise InputError("the export cannot be read back", problems, source=label)
    order = TerritoryTree.of(territories).ordered()
    return territories.set_index(s.TERRITORY_ID).loc[order].reset_index()


def _bools(series: pd.Series, label: str) -> pd.Series:
    lowered = series.astype(str).str.strip().str.lower()
    bad = ~lowered.isin(_TRUE | _FALSE)
    if bad.any():
        raise InputError(
            f"{label}: is_primary must be true or false",
            [
                Problem(
                    "is_primary is not true/false",
                    rows=tuple(int(i) + 2 for i in series.index[bad.to_numpy()][:50]),
                    column=s.IS_PRIMARY,
                    fix="write true or false",
                )
            ],
        )
    return lowered.isin(_TRUE)


def _from_csv(folder: Path, manifest: dict[str, Any]) -> ImportedPlan:
    hierarchy = _read(folder / CSV_FILES["hierarchy"])
    members = _read(folder / CSV_FILES["membership"])
    _require(hierarchy, (s.TERRITORY_ID, s.NAME, s.PARENT_ID), CSV_FILES["hierarchy"])
    _require(members, (s.ACCOUNT_ID, s.TERRITORY_ID), CSV_FILES["membership"])
    territories = pd.DataFrame({s.TERRITORY_ID: hierarchy[s.TERRITORY_ID]})
    for col in (s.NAME, s.PARENT_ID, s.LEVEL_NAME, s.TYPE_ID, s.SOURCE, s.RULE):
        territories[col] = _nullable(hierarchy[col]) if col in hierarchy.columns else None
    tree_depth = TerritoryTree.of(territories)
    if s.LEVEL in hierarchy.columns:
        territories[s.LEVEL] = pd.to_numeric(hierarchy[s.LEVEL], errors="coerce")
        depth = pd.Series(
            [tree_depth.depth(t) for t in territories[s.TERRITORY_ID]], index=territories.index
        )
        territories[s.LEVEL] = territories[s.LEVEL].fillna(depth).astype(int)
    else:
        territories[s.LEVEL] = [tree_depth.depth(t) for t in territories[s.TERRITORY_ID]]
    memberships = pd.DataFrame(
        {
            s.ACCOUNT_ID: members[s.ACCOUNT_ID],
            s.TERRITORY_ID: members[s.TERRITORY_ID],
            s.CAUSE: _nullable(members[s.CAUSE]) if s.CAUSE in members.columns else "manual",
            s.DETAIL: _nullable(members[s.DETAIL]) if s.DETAIL in members.columns else None,
            s.IS_PRIMARY: (
                _bools(members[s.IS_PRIMARY], CSV_FILES["membership"])
                if s.IS_PRIMARY in members.columns
                else True
            ),
        }
    )
    territories = _check(territories, memberships, str(folder))
    assoc_path = folder / CSV_FILES["associations"]
    associations = pd.DataFrame(columns=[s.REP_ID, s.TERRITORY_ID, s.ROLE])
    if assoc_path.is_file():
        raw = _read(assoc_path)
        cols = [
            c
            for c in (s.REP_ID, s.TERRITORY_ID, s.ROLE, s.START_DATE, s.END_DATE)
            if c in raw.columns
        ]
        associations = raw[cols].apply(_nullable)
    return ImportedPlan(
        "csv", manifest.get("scenario_id"), territories, memberships, associations, manifest
    )


def _from_salesforce(folder: Path, manifest: dict[str, Any]) -> ImportedPlan:
    state, _ = sf.read_state(folder)
    keys = state.keys

    def reverse(obj: str) -> dict[str, str]:
        rows = keys[keys["object"] == obj]
        return dict(zip(rows[sf.DEV], rows["id"], strict=True))

    terr_id, type_id, account_id = (
        reverse("Territory2"),
        reverse("Territory2Type"),
        reverse("Account"),
    )
    t = state.territories
    territories = pd.DataFrame(
        {
            s.TERRITORY_ID: t[sf.DEV].map(lambda d: terr_id.get(d, d)),
            s.NAME: _nullable(t["Name"]),
            s.PARENT_ID: pd.Series(
                [terr_id.get(d, d) if d else None for d in t[sf.PARENT_REF]], dtype=object
            ),
            s.LEVEL_NAME: None,
            s.TYPE_ID: t[sf.TYPE_REF].map(lambda d: type_id.get(d, d)),
            s.SOURCE: "imported",
            s.RULE: None,
        }
    )
    tree = TerritoryTree.of(territories)
    territories[s.LEVEL] = [tree.depth(x) for x in territories[s.TERRITORY_ID]]
    o = state.objects
    memberships = pd.DataFrame(
        {
            s.ACCOUNT_ID: o[sf.OBJECT_ID].map(lambda v: account_id.get(v, v)),
            s.TERRITORY_ID: o[sf.TERR_REF].map(lambda d: terr_id.get(d, d)),
            s.CAUSE: "manual",
            s.DETAIL: None,
            s.IS_PRIMARY: True,
        }
    )
    territories = _check(territories, memberships, str(folder))
    labels = {v.lower(): k for k, v in sf.SalesforceOptions().role_labels.items()}
    u = state.users
    associations = pd.DataFrame(
        {
            s.REP_ID: u[sf.USER_REF],
            s.TERRITORY_ID: u[sf.TERR_REF].map(lambda d: terr_id.get(d, d)),
            s.ROLE: u[sf.ROLE_FIELD].map(lambda r: labels.get(str(r).lower(), str(r))),
        }
    )
    return ImportedPlan(
        "salesforce", manifest.get("scenario_id"), territories, memberships, associations, manifest
    )


def import_export(folder: str | os.PathLike[str]) -> ImportedPlan:
    """Read the hierarchy and memberships back from an export folder we wrote.

    Text neutralised against spreadsheet formulas is restored, empty cells
    become missing values, and the hierarchy comes back parents first.

    Parameters
    ----------
    folder
        A folder written by the ``csv`` or ``salesforce`` export.

    Raises
    ------
    InputError
        If the folder is not such an export, or its files contradict each
        other (unknown parents, cycles, memberships of unknown territories).
    """
    root = Path(folder)
    path = root / MANIFEST
    if not path.is_file():
        raise InputError(
            f"{root} is not an export of Territory Planner (no {MANIFEST})",
            [Problem(f"{MANIFEST} is missing", fix="pick a folder written by `planner export`")],
        )
    import json

    manifest = json.loads(path.read_text("utf-8"))
    fmt = manifest.get("format")
    if fmt == "csv":
        return _from_csv(root, manifest)
    if fmt == "salesforce":
        return _from_salesforce(root, manifest)
    raise InputError(
        f"{root} holds a {fmt} export, which is not read back",
        [Problem(f"format {fmt} cannot be imported", fix="export as csv or salesforce")],
    )
