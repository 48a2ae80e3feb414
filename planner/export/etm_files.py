"""The CSV files of a Salesforce Territory Management export, read as Salesforce writes them.

Data Loader writes upper-case field API names (``ID``, ``TERRITORY2ID``),
quotes every value and may give 15- or 18-character record Ids; the weekly
Data Export writes ``Id``, ``Territory2Id``. :func:`read_etm_files` reads a
folder or a zip of either kind into frames with the canonical column names,
and lists every missing file or column at once.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd

from planner.errors import InputError, Problem

__all__ = [
    "ETM_COLUMNS",
    "OPTIONAL_FILES",
    "REQUIRED_FILES",
    "EtmFiles",
    "id_key",
    "read_etm_files",
]

#: Files an ETM export must hold.
REQUIRED_FILES = ("Territory2", "UserTerritory2Association", "ObjectTerritory2Association")
#: Files read when present.
OPTIONAL_FILES = ("Territory2Model", "Territory2Type", "User")
#: Columns each file needs (canonical spelling).
ETM_COLUMNS: dict[str, tuple[str, ...]] = {
    "Territory2": (
        "Id",
        "Name",
        "DeveloperName",
        "ParentTerritory2Id",
        "Territory2ModelId",
        "Territory2TypeId",
    ),
    "UserTerritory2Association": ("Id", "UserId", "Territory2Id", "RoleInTerritory2"),
    "ObjectTerritory2Association": ("Id", "ObjectId", "Territory2Id", "AssociationCause"),
    "Territory2Model": ("Id", "DeveloperName"),
    "Territory2Type": ("Id", "DeveloperName"),
    "User": ("Id",),
}
#: Columns read when present (canonical spelling).
_EXTRA_COLUMNS = (
    "ForecastUserId",
    "AccountAccessLevel",
    "OpportunityAccessLevel",
    "CaseAccessLevel",
    "Description",
    "MasterLabel",
    "Priority",
    "Name",
    "Username",
    "Email",
    "FederationIdentifier",
    "State",
    "SobjectType",
    "IsActive",
)


def id_key(value: object) -> str:
    """The comparable form of a Salesforce record Id: its case-sensitive 15-character core.

    An 18-character Id is the 15-character one plus a checksum, and exports
    may mix both forms.

    Examples
    --------
    >>> id_key("0MI5g0000004Q1aGAE") == id_key("0MI5g0000004Q1a")
    True
    """
    text = value.strip() if isinstance(value, str) else ""
    return text[:15] if len(text) == 18 else text


@dataclass(frozen=True)
class EtmFiles:
    """The frames of an ETM export, by object name (absent optional files are missing)."""

    source: str
    frames: dict[str, pd.DataFrame]

    def get(self, obj: str) -> pd.DataFrame | None:
        """The frame of ``obj``, or ``None`` when the export has no such file."""
        return self.frames.get(obj)


def _listing(path: Path) -> dict[str, bytes | Path]:
    """Lower-case object name -> its file's path or bytes (a folder or a zip)."""
    found: dict[str, bytes | Path] = {}
    if path.is_dir():
        for child in sorted(path.iterdir()):
            if child.suffix.lower() == ".csv":
                found[child.stem.lower()] = child
        return found
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                name = PurePosixPath(info.filename)
                if name.suffix.lower() == ".csv" and not name.name.startswith("."):
                    found[name.stem.lower()] = archive.read(info)
    except zipfile.BadZipFile as exc:
        raise InputError(
            f"{path.name} is neither a folder nor a zip file",
            [Problem(f"unreadable zip: {exc}", fix="give the export folder or its zip")],
            source=str(path),
        ) from exc
    return found


def _names(path: Path) -> set[str]:
    """Lower-case stems of the JSON files of a folder or zip (top level or one folder down)."""
    if path.is_dir():
        return {p.stem.lower() for p in path.glob("*.json")}
    with zipfile.ZipFile(path) as archive:
        return {
            PurePosixPath(n).stem.lower()
            for n in archive.namelist()
            if n.lower().endswith(".json") and len(PurePosixPath(n).parts) <= 2
        }


def _read(content: bytes | Path) -> pd.DataFrame:
    data = content.read_bytes() if isinstance(content, Path) else content
    return pd.read_csv(
        io.BytesIO(data),
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        encoding="utf-8-sig",
    )


def _canonical(frame: pd.DataFrame, obj: str) -> pd.DataFrame:
    """Rename columns to their canonical spelling, whatever their case."""
    spelling = {c.lower(): c for c in (*ETM_COLUMNS[obj], *_EXTRA_COLUMNS)}
    renamed = {c: spelling.get(str(c).strip().lower(), str(c).strip()) for c in frame.columns}
    out = frame.rename(columns=renamed)
    return out.apply(lambda col: col.str.strip()) if len(out.columns) else out


def read_etm_files(path: str | os.PathLike[str]) -> EtmFiles:
    """Read the CSV files of a Salesforce ETM export folder or zip.

    Parameters
    ----------
    path
        A folder (or a zip of it) holding ``Territory2.csv``,
        ``UserTerritory2Association.csv`` and ``ObjectTerritory2Association.csv``,
        and optionally ``Territory2Model.csv``, ``Territory2Type.csv`` and
        ``User.csv``.

    Raises
    ------
    InputError
        Naming every missing file and every missing column, together.
    """
    root = Path(path)
    if not root.exists():
        raise InputError(
            f"{root} does not exist",
            [Problem(f"no folder or zip {root}", fix="check the path")],
        )
    listing = _listing(root)
    if "manifest" in _names(root):
        raise InputError(
            f"{root.name} is an export of Territory Planner, not one from Salesforce",
            [
                Problem(
                    "it holds manifest.json",
                    fix="give its folder (unzipped) as --since, "
                    "or export the territory model from Salesforce with Data Loader",
                )
            ],
            source=str(root),
        )
    problems: list[Problem] = []
    frames: dict[str, pd.DataFrame] = {}
    for obj in (*REQUIRED_FILES, *OPTIONAL_FILES):
        content = listing.get(obj.lower())
        if content is None:
            if obj in REQUIRED_FILES:
                problems.append(
                    Problem(
                        f"{obj}.csv is missing",
                        fix=f"export the {obj} object (Data Loader: Export All) into the folder",
                    )
                )
            continue
        frame = _canonical(_read(content), obj)
        for column in ETM_COLUMNS[obj]:
            if column not in frame.columns:
                problems.append(
                    Problem(
                        f"{obj}.csv has no '{column}' column",
                        column=column,
                        fix=f"export the {column} field of {obj} too",
                    )
                )
        frames[obj] = frame
    if problems:
        raise InputError("the Salesforce export is incomplete", problems, source=str(root))
    return EtmFiles(str(root), frames)
