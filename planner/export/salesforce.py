"""Salesforce Enterprise Territory Management load files, in load order, and their delta.

A full export writes one CSV per step, numbered in the order a loader
(Data Loader, the Bulk API, ``sf data import``) must run them:

1. ``Territory2Type``   insert: DeveloperName, MasterLabel, Priority
2. ``Territory2Model``  insert: DeveloperName, Name
3. ``Territory2``       insert, parents before children
4. ``UserTerritory2Association``   insert: user, territory, RoleInTerritory2
5. ``ObjectTerritory2Association`` insert: account, territory,
   AssociationCause = Territory2Manual
6. ``Territory2``       update: ForecastUserId (it cannot be set on insert)

References to records created by an earlier step use the external-id column
style ``<Relationship>.DeveloperName`` (for example
``ParentTerritory2.DeveloperName``); users are referenced by
``User.Username`` and accounts by their id in ``ObjectId``. ``manifest.json``
lists each step's object, operation, key and references, so a load script can
also swap each reference for the record Id returned by the earlier step when
the API does not accept the external-id form.

With ``since`` (a previous export folder), only the **delta** is written:
deletions of associations first, then new and changed types and territories,
new associations, forecast users, and deletions of territories (children
first) and types last. ObjectTerritory2Association rows cannot be updated, so
an account that moves is a delete plus an insert. Every export also keeps the
full state in ``state/`` and the id <-> DeveloperName mapping in ``keys.csv``,
so the next delta, and :mod:`planner.export.importer`, can read it back.

DeveloperNames follow Salesforce's rules: letters, digits and single
underscores, starting with a letter, not ending with an underscore, at most 80
characters, unique (case-insensitively) within their object.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from planner.errors import InputError, Problem, format_ids
from planner.export.etm_files import read_etm_files
from planner.export.etm_read import EtmOptions, read_etm_export
from planner.export.etm_state import EtmSnapshot
from planner.export.files import write_csv
from planner.export.plan import (
    MANIFEST,
    ExportResult,
    PlanData,
    base_manifest,
    prepare_out_dir,
    write_manifest,
)
from planner.export.safety import restore_frame
from planner.export.salesforce_names import (
    ACCESS_LEVELS,
    CAUSE_FIELD,
    DEV,
    FORECAST_REF,
    MANUAL,
    MODEL_REF,
    NULL_VALUE,
    OBJECT_ID,
    OBJECTS,
    PARENT_REF,
    ROLE_FIELD,
    TERR_REF,
    TYPE_REF,
    USER_REF,
    SalesforceOptions,
    developer_name,
)
from planner.export.salesforce_state import SalesforceState, build_state
from planner.export.salesforce_steps import LoadStep, Operation, delta_steps, full_steps

__all__ = [
    "ACCESS_LEVELS",
    "CAUSE_FIELD",
    "DEV",
    "FORECAST_REF",
    "KEYS_FILE",
    "MANUAL",
    "MODEL_REF",
    "NULL_VALUE",
    "OBJECTS",
    "OBJECT_ID",
    "PARENT_REF",
    "ROLE_FIELD",
    "STATE_DIR",
    "TERR_REF",
    "TYPE_REF",
    "USER_REF",
    "LoadStep",
    "Operation",
    "SalesforceOptions",
    "SalesforceState",
    "check_load_order",
    "developer_name",
    "load_files",
    "read_state",
    "write_salesforce",
]

logger = logging.getLogger(__name__)

STATE_DIR = "state"
KEYS_FILE = "keys.csv"


# -- reading and writing folders ---------------------------------------------------------


_STATE_FILES = {
    "model": "Territory2Model.csv",
    "types": "Territory2Type.csv",
    "territories": "Territory2.csv",
    "users": "UserTerritory2Association.csv",
    "objects": "ObjectTerritory2Association.csv",
    "forecast": "Territory2_ForecastUser.csv",
}


def _read_csv(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(
        path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig"
    )
    return restore_frame(frame)


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        raise InputError(
            f"{folder} is not an export of Territory Planner (no {MANIFEST})",
            [Problem(f"{MANIFEST} is missing", fix="give the folder a previous export wrote")],
        )
    try:
        manifest: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path} is not valid JSON",
            [Problem(f"unreadable manifest: {exc}", fix="export again")],
        ) from exc
    return manifest


def read_state(folder: str | os.PathLike[str]) -> tuple[SalesforceState, dict[str, Any]]:
    """Read the full Salesforce state a previous export recorded, and its manifest.

    Raises
    ------
    InputError
        If the folder is not a Salesforce export of Territory Planner.
    """
    root = Path(folder)
    manifest = _read_manifest(root)
    if manifest.get("format") != "salesforce":
        raise InputError(
            f"{root} holds a {manifest.get('format')} export, not a Salesforce one",
            [Problem("a delta needs a previous Salesforce export", fix="pick the right folder")],
        )
    state_dir = root / STATE_DIR
    frames = {}
    missing = []
    for attr, name in _STATE_FILES.items():
        path = state_dir / name
        if not path.is_file():
            missing.append(name)
            continue
        frames[attr] = _read_csv(path)
    keys_path = root / KEYS_FILE
    if not keys_path.is_file():
        missing.append(KEYS_FILE)
    if missing:
        raise InputError(
            f"{root} is an incomplete Salesforce export",
            [Problem(f"missing {format_ids(missing)}", fix="export in full again")],
        )
    return SalesforceState(keys=_read_csv(keys_path), **frames), manifest


def _write_step(folder: Path, number: int, step: LoadStep) -> tuple[Path, dict[str, Any]]:
    name = f"{number:02d}_{step.name}.csv"
    path = write_csv(step.frame, folder / name)
    entry = {
        "step": number,
        "file": name,
        "object": step.obj,
        "operation": step.operation,
        "key": list(step.key),
        "references": list(step.references),
        "rows": len(step.frame),
    }
    return path, entry


Since = str | os.PathLike[str] | EtmSnapshot


def write_salesforce(
    plan: PlanData,
    out_dir: str | os.PathLike[str],
    *,
    since: Since | None = None,
    options: SalesforceOptions | None = None,
) -> ExportResult:
    """Write the Salesforce load files of ``plan`` (or their delta from ``since``).

    Parameters
    ----------
    plan
        The plan.
    out_dir
        The folder to write (must not be ``since``).
    since
        What Salesforce holds now: a previous export folder of ours (the
        delta names records by DeveloperName), or an export *from*
        Salesforce (folder or zip of Territory2.csv... with Ids) or the
        :class:`~planner.export.etm_state.EtmSnapshot` of a scenario imported
        from one: then every delete lists the records' Ids, every update
        carries them, and territories already in Salesforce keep their
        access levels.
    options
        Access levels, username and account-id columns, role labels.

    Returns
    -------
    ExportResult
        The load files in load order (``manifest.json`` lists them with
        their operations and references).

    Raises
    ------
    InputError
        If users in territories lack a username, accounts lack a Salesforce
        Id, the hierarchy has a cycle, or ``since`` is not a Salesforce export
        of the same model.
    """
    opts = options or SalesforceOptions()
    previous, snapshot = _previous(plan, out_dir, since, opts)
    if snapshot is not None and not opts.model_developer_name:
        opts = replace(opts, model_developer_name=snapshot.model)
    state = build_state(plan, opts, previous.keys if previous is not None else None)
    if snapshot is not None:
        state = snapshot.keep_access(state)
    folder = prepare_out_dir(out_dir)
    for stale in folder.glob("[0-9][0-9]_*.csv"):
        stale.unlink()
    steps = full_steps(state) if previous is None else delta_steps(previous, state)
    if snapshot is not None:
        steps = [snapshot.with_ids(step) for step in steps]
    written, entries = [], []
    for number, step in enumerate(steps, start=1):
        path, entry = _write_step(folder, number, step)
        written.append(path)
        entries.append(entry)
    _write_state(folder, state)
    manifest = base_manifest(plan, "salesforce") | {
        "mode": "full" if previous is None else "delta",
        "since": _since_label(since),
        "deletes_by": "Id" if snapshot is not None else DEV,
        "model": state.model[DEV].iloc[0],
        "files": entries,
        "state": {attr: f"{STATE_DIR}/{name}" for attr, name in _STATE_FILES.items()},
        "keys": KEYS_FILE,
        "null_value": NULL_VALUE,
    }
    write_manifest(folder, manifest)
    logger.info("wrote %s Salesforce export (%d steps) to %s", manifest["mode"], len(steps), folder)
    return ExportResult("salesforce", folder, tuple(written), manifest)


def _write_state(folder: Path, state: SalesforceState) -> None:
    state_dir = folder / STATE_DIR
    state_dir.mkdir(exist_ok=True)
    for attr, name in _STATE_FILES.items():
        write_csv(getattr(state, attr), state_dir / name)
    write_csv(state.keys, folder / KEYS_FILE)


def _since_label(since: Since | None) -> str | None:
    if since is None:
        return None
    if isinstance(since, EtmSnapshot):
        return f"Salesforce export {since.source}".strip()
    return str(Path(since).resolve())


def _previous(
    plan: PlanData, out_dir: str | os.PathLike[str], since: Since | None, opts: SalesforceOptions
) -> tuple[SalesforceState | None, EtmSnapshot | None]:
    """What Salesforce holds (``None`` for a full export), and its Ids when known."""
    if since is None:
        return None, None
    if isinstance(since, EtmSnapshot):
        return since.plain_state(), since
    if Path(since).resolve() == Path(out_dir).resolve():
        raise InputError(
            "the delta cannot be written over the previous export",
            [Problem("--out equals --since", fix="write the delta to a new folder")],
        )
    if Path(since).is_dir() and (Path(since) / MANIFEST).is_file():
        previous, _ = read_state(since)
        return previous, None
    etm = EtmOptions(
        model=opts.model_developer_name,
        user_column=opts.user_column,
        account_id_column=opts.account_id_column,
    )
    snapshot = read_etm_export(since, reps=plan.reps, accounts=plan.accounts, options=etm).snapshot
    return snapshot.plain_state(), snapshot


def load_files(folder: str | os.PathLike[str]) -> list[tuple[dict[str, Any], pd.DataFrame]]:
    """Read an export's load files in load order, each with its manifest entry."""
    root = Path(folder)
    manifest = _read_manifest(root)
    return [(e, _read_csv(root / e["file"])) for e in manifest.get("files", [])]


def _previous_names(previous: str | os.PathLike[str]) -> dict[str, set[str]]:
    """DeveloperNames of the types, models and territories a previous export holds.

    ``previous`` is one of our exports, or an export from Salesforce (folder or zip).
    """
    root = Path(previous)
    frames: dict[str, pd.DataFrame | None]
    if root.is_dir() and (root / MANIFEST).is_file():
        old, _ = read_state(root)
        frames = {
            "Territory2Type": old.types,
            "Territory2Model": old.model,
            "Territory2": old.territories,
        }
    else:
        files = read_etm_files(root)
        frames = {
            obj: files.get(obj) for obj in ("Territory2Type", "Territory2Model", "Territory2")
        }
    return {obj: set(frame[DEV]) if frame is not None else set() for obj, frame in frames.items()}


def check_load_order(
    folder: str | os.PathLike[str], *, previous: str | os.PathLike[str] | None = None
) -> list[Problem]:
    """Check that every reference in an export points to a record loaded before it.

    Walks the steps in order keeping the set of records that exist (those of
    ``previous`` first, for a delta: one of our exports or an export from
    Salesforce); external references (users, accounts) are assumed to exist
    in the org.

    Returns
    -------
    list of Problem
        Empty when every step can load.
    """
    existing: dict[str, set[str]] = {
        "Territory2Type": set(),
        "Territory2Model": set(),
        "Territory2": set(),
    }
    if previous is not None:
        for obj, names in _previous_names(previous).items():
            existing[obj] |= names
    problems = []
    for entry, frame in load_files(folder):
        for ref in entry["references"]:
            if ref["external"] or ref["column"] not in frame.columns:
                continue
            if entry["operation"] == "delete":
                continue
            values = {v for v in frame[ref["column"]] if v not in ("", NULL_VALUE)}
            if entry["operation"] == "insert" and ref["column"] == DEV:
                continue
            dangling = sorted(values - existing.get(ref["object"], set()))
            if dangling:
                problems.append(
                    Problem(
                        f"{entry['file']}: '{ref['column']}' names {ref['object']} records not "
                        f"loaded before: {format_ids(dangling)}",
                        column=ref["column"],
                        fix="load the referenced records in an earlier step",
                    )
                )
        if entry["object"] in existing and DEV in frame.columns:
            if entry["operation"] == "insert":
                existing[entry["object"]] |= set(frame[DEV])
            elif entry["operation"] == "delete":
                existing[entry["object"]] -= set(frame[DEV])
    return problems
