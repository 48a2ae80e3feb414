"""Zoho CRM's territory field of accounts: read it from an Accounts export, write it for import.

With territory management on, Zoho CRM gives each account a **Territories**
field (an account may be in at most ten territories); exports of the Accounts
module carry it beside **Record Id**, **Account Name** and **Account Owner**,
and an import that maps the Record Id column updates those accounts.
:func:`read_zoho_accounts` reads such a file (CSV or XLSX) into memberships of
a scenario's territories, matched by name; :func:`export_zoho` writes one row
per account with the territories of the plan, names joined by semicolons.
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from planner import schema as s
from planner.errors import InputError, Problem, format_ids
from planner.export.files import write_csv
from planner.export.plan import (
    ExportResult,
    PlanData,
    base_manifest,
    prepare_out_dir,
    write_manifest,
)
from planner.export.safety import restore_frame
from planner.tree import TerritoryTree

__all__ = [
    "MAX_TERRITORIES",
    "ZOHO_COLUMNS",
    "ZOHO_FILE",
    "ZohoOptions",
    "export_zoho",
    "read_zoho_accounts",
]

logger = logging.getLogger(__name__)

#: Territories one Zoho account may be in.
MAX_TERRITORIES = 10
#: The file written for Zoho's import of the Accounts module.
ZOHO_FILE = "Accounts_territories.csv"
#: Columns of that file, as Zoho's Accounts export names them.
ZOHO_COLUMNS = ("Record Id", "Account Name", "Account Owner", "Territories")
_ID_COLUMNS = ("record id", "account id", "id", "record_id")
_TERRITORY_COLUMNS = ("territories", "territory", "territory name")
_SEPARATOR = ";"


@dataclass(frozen=True)
class ZohoOptions:
    """How accounts and users are known in Zoho.

    Parameters
    ----------
    account_id_column
        Column of the workspace's accounts holding their Zoho Record Id
        (``account_id`` by default); a ``zcrm_`` prefix is ignored when matching.
    user_column
        Column of the users written as Account Owner (``email`` by default).
    """

    account_id_column: str = s.ACCOUNT_ID
    user_column: str = s.EMAIL


def _zoho_id(value: object) -> str:
    text = "" if s.is_missing(value) else str(value).strip()
    return text[5:] if text.lower().startswith("zcrm_") else text


def _read_table(name: str, data: bytes) -> pd.DataFrame:
    try:
        if name.lower().endswith((".xlsx", ".xls")):
            frame = pd.read_excel(io.BytesIO(data), dtype=str).fillna("")
        else:
            frame = pd.read_csv(
                io.BytesIO(data),
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                encoding="utf-8-sig",
            )
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(
            f"{name} is not a readable CSV or XLSX file",
            [Problem(f"unreadable file: {exc}", fix="export the Accounts module again as CSV")],
            source=name,
        ) from exc
    return restore_frame(frame)


def _column(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    lowered = {str(c).strip().lower(): str(c) for c in frame.columns}
    return next((lowered[n] for n in names if n in lowered), None)


def read_zoho_accounts(
    name: str,
    data: bytes,
    *,
    territories: pd.DataFrame,
    accounts: pd.DataFrame,
    options: ZohoOptions | None = None,
) -> pd.DataFrame:
    """Read the Territories field of a Zoho CRM Accounts export into memberships.

    Parameters
    ----------
    name, data
        The file's name (``.csv`` or ``.xlsx``) and content.
    territories
        The scenario's territories; Zoho's names are matched to their
        ``name`` (then ``territory_id``), case ignored.
    accounts
        The workspace's accounts, matched by ``options.account_id_column``.
    options
        Account-id column.

    Returns
    -------
    pandas.DataFrame
        ``account_id``, ``territory_id``, one row per account and territory
        (a missing ``territory_id`` for an account whose field is empty), and
        ``row`` (the file row).

    Raises
    ------
    InputError
        Naming every row with an unknown account or territory, a repeated
        account, or more than ten territories, and the missing columns.
    """
    opts = options or ZohoOptions()
    frame = _read_table(name, data)
    id_col = _column(frame, _ID_COLUMNS)
    terr_col = _column(frame, _TERRITORY_COLUMNS)
    missing = [
        label for label, col in (("Record Id", id_col), ("Territories", terr_col)) if col is None
    ]
    if missing or id_col is None or terr_col is None:
        raise InputError(
            f"{name} is not a Zoho CRM Accounts export with territories",
            [
                Problem(
                    f"no '{m}' column",
                    column=m,
                    fix=f"export the Accounts module with the '{m}' field",
                )
                for m in missing
            ],
            source=name,
        )
    rows = _split(frame, id_col, terr_col)
    problems: list[Problem] = []
    rows = _match_accounts(rows, accounts, opts.account_id_column, id_col, problems)
    rows = _match_territories(rows, territories, terr_col, problems)
    _check_counts(frame, id_col, rows, problems)
    if problems:
        raise InputError(
            f"the Zoho file cannot be imported ({len(problems)} "
            f"problem{'' if len(problems) == 1 else 's'}): nothing was imported",
            problems,
            source=name,
        )
    return rows[[s.ACCOUNT_ID, s.TERRITORY_ID, "row"]].reset_index(drop=True)


def _split(frame: pd.DataFrame, id_col: str, terr_col: str) -> pd.DataFrame:
    """One row per (file row, territory name)."""
    out: list[tuple[int, str, str]] = []
    for i, (rid, cell) in enumerate(zip(frame[id_col], frame[terr_col], strict=True)):
        names = [n.strip() for n in str(cell).split(_SEPARATOR) if n.strip()]
        out.extend((i + 2, _zoho_id(rid), n) for n in names)
        if not names:
            out.append((i + 2, _zoho_id(rid), ""))
    return pd.DataFrame(out, columns=["row", "zoho_id", "territory_name"])


def _match_accounts(
    rows: pd.DataFrame, accounts: pd.DataFrame, column: str, id_col: str, problems: list[Problem]
) -> pd.DataFrame:
    if column not in accounts.columns:
        problems.append(
            Problem(
                f"the workspace's accounts have no '{column}' column",
                column=column,
                fix="choose the column with Zoho Record Ids",
            )
        )
        return rows.assign(**{s.ACCOUNT_ID: ""})
    ours = {
        _zoho_id(v): str(a)
        for a, v in zip(accounts[s.ACCOUNT_ID], accounts[column], strict=True)
        if _zoho_id(v)
    }
    found = rows["zoho_id"].map(ours)
    unknown = found.isna()
    if unknown.any():
        problems.append(
            Problem(
                "accounts not in the workspace: "
                f"{format_ids(sorted(set(rows.loc[unknown, 'zoho_id'])))}",
                rows=tuple(sorted(set(rows.loc[unknown, "row"])))[:50],
                column=id_col,
                fix=f"import these accounts first, with their Zoho Record Id in '{column}'",
            )
        )
    return rows.assign(**{s.ACCOUNT_ID: found.fillna("")})


def _match_territories(
    rows: pd.DataFrame, territories: pd.DataFrame, terr_col: str, problems: list[Problem]
) -> pd.DataFrame:
    by_name: dict[str, str] = {}
    for tid, label in zip(
        territories[s.TERRITORY_ID].astype(str),
        territories[s.NAME] if s.NAME in territories.columns else territories[s.TERRITORY_ID],
        strict=True,
    ):
        by_name.setdefault(tid.lower(), tid)
        if not s.is_missing(label):
            by_name[str(label).strip().lower()] = tid
    named = rows["territory_name"] != ""
    found = rows["territory_name"].str.lower().map(by_name)
    unknown = named & found.isna()
    if unknown.any():
        problems.append(
            Problem(
                "territories not in the scenario: "
                f"{format_ids(sorted(set(rows.loc[unknown, 'territory_name'])))}",
                rows=tuple(sorted(set(rows.loc[unknown, "row"])))[:50],
                column=terr_col,
                fix="add these territories to the scenario (or import into the scenario that "
                "has them), or correct the names",
            )
        )
    return rows.assign(**{s.TERRITORY_ID: found.where(named, None)})


def _check_counts(
    frame: pd.DataFrame, id_col: str, rows: pd.DataFrame, problems: list[Problem]
) -> None:
    ids = frame[id_col].map(_zoho_id)
    dup = ids.duplicated(keep=False) & (ids != "")
    if dup.any():
        problems.append(
            Problem(
                f"accounts listed more than once: {format_ids(sorted(set(ids[dup])))}",
                rows=tuple(int(i) + 2 for i in frame.index[dup.to_numpy()][:50]),
                column=id_col,
                fix="keep one row per account",
            )
        )
    counts = rows.groupby("row").size()
    over = counts[counts > MAX_TERRITORIES]
    if len(over):
        problems.append(
            Problem(
                f"accounts in more than {MAX_TERRITORIES} territories (Zoho's limit)",
                rows=tuple(int(r) for r in over.index[:50]),
                fix="keep at most ten territories per account",
            )
        )


def _territory_names(plan: PlanData) -> dict[str, str]:
    """Territory id -> the name Zoho knows it by (unique; the id when names repeat)."""
    tree = TerritoryTree.of(plan.territories)
    names = {t: tree.names.get(t, t) for t in tree.ids}
    counts = pd.Series(list(names.values())).str.lower().value_counts()
    return {t: (n if counts[n.lower()] == 1 else t) for t, n in names.items()}


def export_zoho(
    plan: PlanData, out_dir: str | os.PathLike[str], options: ZohoOptions | None = None
) -> ExportResult:
    """Write ``Accounts_territories.csv`` for Zoho CRM's import of the Accounts module.

    One row per account with its Record Id, name, owner (the owner's
    ``options.user_column``) and territories (names joined by ``;``);
    import it into Accounts matching on Record Id to update the Territories field.

    Raises
    ------
    InputError
        If an account would be in more than ten territories, or accounts
        lack a Record Id.
    """
    opts = options or ZohoOptions()
    table = _zoho_table(plan, opts)
    folder = prepare_out_dir(out_dir)
    path = write_csv(table, folder / ZOHO_FILE)
    entry = {
        "file": ZOHO_FILE,
        "module": "Accounts",
        "match_on": "Record Id",
        "rows": len(table),
        "separator": _SEPARATOR,
    }
    manifest = base_manifest(plan, "zoho") | {"files": [entry]}
    write_manifest(folder, manifest)
    logger.info("wrote Zoho CRM accounts file of scenario %s to %s", plan.scenario_id, folder)
    return ExportResult("zoho", folder, (path,), manifest)


def _zoho_table(plan: PlanData, opts: ZohoOptions) -> pd.DataFrame:
    names = _territory_names(plan)
    members = plan.memberships
    grouped: dict[str, list[str]] = {}
    named = members[s.TERRITORY_ID].astype(str).map(names)
    for account, name in zip(members[s.ACCOUNT_ID].astype(str), named, strict=True):
        if isinstance(name, str) and name not in grouped.setdefault(account, []):
            grouped[account].append(name)
    grouped = {a: sorted(v) for a, v in grouped.items()}
    accounts = plan.accounts
    problems = []
    over = sorted(a for a, v in grouped.items() if len(v) > MAX_TERRITORIES)
    if over:
        problems.append(
            Problem(
                f"accounts {format_ids(over)} are in more than {MAX_TERRITORIES} territories",
                fix="keep at most ten",
            )
        )
    if opts.account_id_column not in accounts.columns:
        problems.append(
            Problem(
                f"accounts have no '{opts.account_id_column}' column",
                column=opts.account_id_column,
                fix="choose another column",
            )
        )
    if problems:
        raise InputError("the plan cannot be written for Zoho CRM", problems)
    owners = _owner_names(plan, opts)
    ids = accounts[s.ACCOUNT_ID].astype(str)
    return pd.DataFrame(
        {
            "Record Id": accounts[opts.account_id_column].map(_text).to_numpy(),
            "Account Name": accounts[s.NAME].map(_text).to_numpy()
            if s.NAME in accounts.columns
            else "",
            "Account Owner": accounts[s.OWNER_ID].map(lambda o: owners.get(_text(o), "")).to_numpy()
            if s.OWNER_ID in accounts.columns
            else "",
            "Territories": [_SEPARATOR.join(grouped.get(a, [])) for a in ids],
        },
        columns=list(ZOHO_COLUMNS),
    )


def _text(value: object) -> str:
    return "" if s.is_missing(value) else str(value)


def _owner_names(plan: PlanData, opts: ZohoOptions) -> dict[str, str]:
    reps = plan.reps
    column = opts.user_column if opts.user_column in reps.columns else s.REP_ID
    return {
        _text(r): _text(v) or _text(r) for r, v in zip(reps[s.REP_ID], reps[column], strict=True)
    }


def zoho_bytes_name(path: str | os.PathLike[str]) -> tuple[str, bytes]:
    """The name and content of a Zoho file on disk (for :func:`read_zoho_accounts`)."""
    target = Path(path)
    if not target.is_file():
        raise InputError(
            f"{target} does not exist", [Problem(f"no file {target}", fix="check the path")]
        )
    return target.name, target.read_bytes()
