"""Opportunities kept in the workspace: stored from a file (replace or merge), read back checked."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from planner import schema as s
from planner.access import AccessScope
from planner.errors import InputError, Problem, format_ids
from planner.reports.opportunities import (
    AMOUNT,
    CLOSED_DATE,
    CREATED_DATE,
    OPPORTUNITY_ID,
    STAGE,
    read_opportunities,
)
from planner.workspace import Workspace

__all__ = ["StoreMode", "StoredOpportunities", "store_opportunities", "stored_opportunities"]

#: ``replace``: the file becomes the workspace's opportunities; ``merge``: rows with
#: an ``opportunity_id`` already stored replace it, new ones are added, others stay.
StoreMode = Literal["replace", "merge"]

_RAW = [OPPORTUNITY_ID, s.ACCOUNT_ID, s.OWNER_ID, AMOUNT, CREATED_DATE, CLOSED_DATE, STAGE]


@dataclass(frozen=True)
class StoredOpportunities:
    """What :func:`store_opportunities` did.

    Attributes
    ----------
    read
        Opportunities in the file.
    added
        Stored that were not there before.
    replaced
        Stored over an opportunity with the same id.
    removed
        Dropped because ``replace`` was asked and the file lacks them.
    total
        Opportunities in the workspace afterwards.
    """

    read: int
    added: int
    replaced: int
    removed: int
    total: int


def store_opportunities(
    ws: Workspace,
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    mode: StoreMode = "replace",
    scope: AccessScope | None = None,
    user: str | None = None,
) -> StoredOpportunities:
    """Check an opportunities file and keep it in the workspace's ``opportunities`` table.

    The rows are checked by :func:`read_opportunities` and stored as plain
    columns (``opportunity_id``, ``account_id``, ``owner_id``, ``amount``,
    ISO dates ``created_date`` / ``closed_date``, ``stage``). The change is
    logged but not committed: call ``ws.commit`` (the app's save does).

    Parameters
    ----------
    ws
        The whole workspace (not a copy restricted to a user).
    source
        A CSV file or a frame, as :func:`read_opportunities` takes.
    mode
        ``"replace"`` (the file is the new set) or ``"merge"`` (by
        ``opportunity_id``: the file's rows replace or join the stored ones).
    scope
        When given, the user must have the ``import_data`` right.
    user
        Who stores them (for the audit log).

    Raises
    ------
    InputError
        Every problem of the file at once; also a merge of a file without
        ``opportunity_id`` and an id given twice. The workspace is unchanged.
    AccessDeniedError
        If the scope's role may not import data.
    """
    if scope is not None:
        scope.require("import_data")
    _check_mode(mode)
    new = _raw_rows(source, mode)
    old = ws.opportunities
    stays = ~old[OPPORTUNITY_ID].isin(new[OPPORTUNITY_ID]) & (mode == "merge")
    kept = old[stays]
    merged = pd.concat([f for f in (kept, new) if len(f)] or [new], ignore_index=True)
    ws.set_table("opportunities", merged.reset_index(drop=True))
    before = set(old[OPPORTUNITY_ID].astype(str))
    replaced = int(new[OPPORTUNITY_ID].isin(before).sum())
    result = StoredOpportunities(
        read=len(new),
        added=len(new) - replaced,
        replaced=replaced,
        removed=len(before - set(new[OPPORTUNITY_ID])) if mode == "replace" else 0,
        total=len(merged),
    )
    ws.log("store_opportunities", {"mode": mode, **result.__dict__}, user=user)
    return result


def stored_opportunities(ws: Workspace, *, scope: AccessScope | None = None) -> pd.DataFrame | None:
    """Return the workspace's opportunities as :func:`read_opportunities` gives them, or ``None``.

    ``None`` when none are stored (or none the scope's user may see).

    Raises
    ------
    InputError
        If stored rows no longer pass the checks (edited outside the planner).
    """
    table = ws.opportunities
    if scope is not None:
        table = scope.filter_opportunities(table)
    if table.empty:
        return None
    raw = table.reset_index(drop=True).astype(object)
    return read_opportunities(raw.where(raw.notna(), ""))


def _check_mode(mode: str) -> None:
    if mode not in ("replace", "merge"):
        raise InputError(
            f"unknown mode '{mode}'",
            [Problem(f"mode '{mode}'", fix="use replace or merge")],
        )


def _raw_rows(source: str | os.PathLike[str] | pd.DataFrame, mode: StoreMode) -> pd.DataFrame:
    """The checked opportunities as the table stores them (dates as ``YYYY-MM-DD``)."""
    opp = read_opportunities(source)
    label = "opportunities" if isinstance(source, pd.DataFrame) else str(source)
    if opp.empty:
        raise InputError(
            "the opportunities file has no rows",
            [Problem("no opportunities", fix="export the opportunities with a header and rows")],
            source=label,
        )
    if mode == "merge" and not opp.attrs.get("ids_given", False):
        raise InputError(
            "opportunities can be merged only by their ids",
            [
                Problem(
                    "some rows have no opportunity_id",
                    column=OPPORTUNITY_ID,
                    fix="add an opportunity_id (Salesforce Id) to every row, or replace instead",
                )
            ],
            source=label,
        )
    _check_ids(opp, label)
    out = opp[_RAW].copy()
    for col in (CREATED_DATE, CLOSED_DATE):
        dates = pd.to_datetime(out[col])
        out[col] = dates.dt.strftime("%Y-%m-%d").astype(object).where(dates.notna(), None)
    return out


def _check_ids(opp: pd.DataFrame, label: str) -> None:
    """Refuse an ``opportunity_id`` given twice (file rows named)."""
    ids = opp[OPPORTUNITY_ID]
    twice = ids.duplicated(keep=False)
    if twice.any():
        rows = tuple(int(i) + 2 for i in twice.to_numpy().nonzero()[0][:50])
        raise InputError(
            "an opportunity id appears more than once",
            [
                Problem(
                    f"ids {format_ids(sorted(set(ids[twice])))} repeated",
                    rows=rows,
                    column=OPPORTUNITY_ID,
                    fix="give each opportunity its own id (or keep one row per id)",
                )
            ],
            source=label,
        )
