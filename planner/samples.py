"""The bundled sample workspaces (Helsinki, Georgia) and where to find them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from planner.errors import InputError, Problem

__all__ = ["SAMPLES", "data_dir", "sample_path", "write_sample"]

#: Sample name -> (file name in the data folder, one-line description).
SAMPLES: dict[str, tuple[str, str]] = {
    "helsinki": (
        "helsinki.gpkg",
        "Central Helsinki: real OpenStreetMap shops, cafes and offices as accounts, "
        "four reps, a few territories, and the drivable road network.",
    ),
    "georgia": (
        "georgia.gpkg",
        "Georgia, US: the 159 counties as units, accounts at real ZIP-code locations, "
        "reps in Georgia cities, and a region > district > territory hierarchy.",
    ),
}


def data_dir() -> Path:
    """Return the folder of the bundled data (``$PLANNER_DATA_DIR`` overrides it)."""
    env = os.environ.get("PLANNER_DATA_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / "data"


def sample_path(name: str) -> Path:
    """Return the workspace file of sample ``name``.

    Raises
    ------
    InputError
        If there is no such sample, or its file is missing.
    """
    if name not in SAMPLES:
        raise InputError(
            f"unknown sample '{name}'",
            [Problem(f"unknown sample '{name}'", fix=f"use one of {', '.join(SAMPLES)}")],
        )
    path = data_dir() / SAMPLES[name][0]
    if not path.is_file():
        raise InputError(
            f"sample '{name}' is missing: {path} does not exist",
            [
                Problem(
                    "sample file missing", fix="run `python scripts/build_samples.py` to build it"
                )
            ],
        )
    return path


def write_sample(name: str, out: str | os.PathLike[str]) -> Path:
    """Copy sample ``name`` to ``out`` and return the path written."""
    source = sample_path(name)
    target = Path(out)
    if target.parent and not target.parent.exists():
        raise InputError(
            f"cannot write {target}: folder {target.parent} does not exist",
            [Problem("output folder missing", fix="create the folder first")],
        )
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    return target
