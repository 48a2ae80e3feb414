"""The Salesforce delta as one zip, from an uploaded previous export or an imported scenario.

The previous export is either one of ours (a zip of the folder ``planner
export --format salesforce`` wrote: the delta names records by DeveloperName)
or an export from Salesforce (a zip of Territory2.csv... with Ids), or the
scenario imported from such an export: then deletes and updates carry the
records' Ids.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from planner.errors import InputError, Problem
from planner.export.etm_state import EtmSnapshot
from planner.export.plan import MANIFEST, PlanData
from planner.export.salesforce import SalesforceOptions, write_salesforce

__all__ = ["salesforce_delta_zip"]


def _folder_zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def _unpack(data: bytes, target: Path) -> Path:
    """Unpack an uploaded zip (refusing paths that leave ``target``); the export's own folder.

    Raises
    ------
    InputError
        If the zip is unreadable.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                name = PurePosixPath(info.filename)
                if info.is_dir() or name.is_absolute() or ".." in name.parts:
                    continue
                path = target.joinpath(*name.parts)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(archive.read(info))
    except zipfile.BadZipFile as exc:
        raise InputError(
            "the previous export is not a zip file",
            [Problem(f"unreadable zip: {exc}", fix="upload the zip of the previous export")],
        ) from exc
    manifests = sorted(target.rglob(MANIFEST), key=lambda p: len(p.parts))
    if manifests:
        return manifests[0].parent  # one of our exports
    territory_files = sorted(
        (p for p in target.rglob("*.csv") if p.stem.lower() == "territory2"),
        key=lambda p: len(p.parts),
    )
    return territory_files[0].parent if territory_files else target


def salesforce_delta_zip(
    plan: PlanData,
    previous: bytes | EtmSnapshot,
    *,
    options: SalesforceOptions | None = None,
) -> bytes:
    """The Salesforce delta from ``previous`` to ``plan``, as a zip of the load files.

    Parameters
    ----------
    plan
        The plan to load (the whole scenario: a delta of a filtered plan
        would delete what its user cannot see).
    previous
        The zip of the previous export (ours or Salesforce's), or the
        snapshot of a scenario imported from Salesforce.
    options
        Username and account-id columns, model, access levels.

    Raises
    ------
    InputError
        If the previous export is unreadable, of another model, or does not
        fit the plan's users and accounts.
    """
    with tempfile.TemporaryDirectory(prefix="tp-delta-") as tmp:
        root = Path(tmp)
        since: Path | EtmSnapshot = (
            previous if isinstance(previous, EtmSnapshot) else _unpack(previous, root / "previous")
        )
        out = root / "delta"
        write_salesforce(plan, out, since=since, options=options)
        return _folder_zip(out)
