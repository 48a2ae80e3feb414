"""A workspace whose users and accounts are those of the Salesforce ETM export fixture."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from planner.workspace import Workspace

#: The hand-written Salesforce ETM export (see tests/data/salesforce/README.md).
ETM_EXPORT = Path(__file__).resolve().parents[1] / "data" / "salesforce" / "etm_export"


def etm_workspace() -> Workspace:
    """Users known by email (one by Salesforce username), accounts by a ``sf_id`` column.

    One account's Id is written with 15 characters, as some CRM reports give it.
    """
    reps = gpd.GeoDataFrame(
        {
            "rep_id": ["admin", "M1", "R1", "R2", "R9"],
            "name": ["Ada", "Maria", "Rob", "Rae", "Ray"],
            "role": ["admin", "manager", "rep", "rep", "rep"],
            "email": ["ada@acme.example", "maria.north@acme.example", "rob@acme.example",
                      "rae.sav@acme.example", "ray@acme.example"],
        },
        geometry=[None] * 5, crs="EPSG:4326",
    )  # fmt: skip
    accounts = gpd.GeoDataFrame(
        {
            "account_id": ["A-1", "A-2", "A-3", "A-4", "A-5"],
            "name": ["Peach Mills", "Delta Foods", "Tybee Marine", "Coastal Ag", "Macon Tools"],
            "sf_id": ["0015g00000XyZ01AAE", "0015g00000XyZ02", "0015g00000XyZ03AAE",
                      "0015g00000XyZ04AAE", "0015g00000XyZ05AAE"],
            "geocode_precision": "exact",
        },
        geometry=[Point(-84.39, 33.75), Point(-84.3, 33.8), Point(-81.09, 32.08),
                  Point(-81.2, 32.0), Point(-83.63, 32.84)],
        crs="EPSG:4326",
    )  # fmt: skip
    return Workspace(name="etm", tables={"reps": reps, "accounts": accounts})


def copy_export(tmp_path: Path, name: str = "etm") -> Path:
    """A writable copy of the fixture export."""
    target = tmp_path / name
    shutil.copytree(ETM_EXPORT, target)
    return target


def edit_csv(path: Path, edit: object) -> None:
    """Rewrite one CSV of an export through ``edit`` (a function of the frame), quoted."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = edit(frame)  # type: ignore[operator]
    frame.to_csv(path, index=False, quoting=1, lineterminator="\r\n")
