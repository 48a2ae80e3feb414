"""Checks of the point records: accounts and reps (users, with roles and the manager chain)."""

from __future__ import annotations

import pandas as pd

from planner import schema as s
from planner.geo.columns import (
    CITY,
    FIRST_NAME,
    LAST_NAME,
    STATE,
    ColumnMatch,
    normalise_name,
)
from planner.io.collect import (
    Checked,
    Collector,
    ReadOptions,
    assemble,
    depths,
    id_column,
    number_column,
    text_column,
)
from planner.io.location import place_rows
from planner.io.table import RawTable, column_text
from planner.io.values import examples, is_word, plural

_ROLE_SYNONYMS = {
    "rep": "rep",
    "salesrep": "rep",
    "representative": "rep",
    "salesrepresentative": "rep",
    "accountexecutive": "rep",
    "ae": "rep",
    "fieldrep": "rep",
    "user": "rep",
    "manager": "manager",
    "salesmanager": "manager",
    "mgr": "manager",
    "planner": "planner",
    "salesops": "planner",
    "salesoperations": "planner",
    "admin": "admin",
    "administrator": "admin",
    "systemadministrator": "admin",
}


def check_accounts(table: RawTable, match: ColumnMatch, options: ReadOptions) -> Checked:
    frame = table.frame
    out = Collector(frame.index)
    ids = id_column(
        table,
        match,
        out,
        target=s.ACCOUNT_ID,
        what="account",
        aliases_hint="'Id', 'Account ID', 'AccountId'",
    )
    geometry, precision, postal = place_rows(
        table,
        match,
        out,
        options,
        what="account",
        lat_target=s.LATITUDE,
        lon_target=s.LONGITUDE,
        required=True,
    )
    values: dict[str, pd.Series] = {s.ACCOUNT_ID: ids, s.NAME: text_column(frame, match, s.NAME)}
    for target in (s.ADDRESS, CITY, STATE):
        if match.source_of(target) is not None:
            values[target] = text_column(frame, match, target)
    values[s.POSTAL_CODE] = postal
    for target in (s.COUNTRY, s.INDUSTRY, s.PRODUCT_LINE, s.SIZE):
        values[target] = text_column(frame, match, target)
    for target, example in (
        (s.ANNUAL_REVENUE, "1250000"),
        (s.VISITS_PER_MONTH, "2 or 0.5"),
        (s.VISIT_MINUTES, "45"),
    ):
        values[target] = number_column(
            frame, match, out, target, decimal_comma=table.decimal_comma, example=example
        )
    values[s.OPENING_HOURS] = text_column(frame, match, s.OPENING_HOURS)
    values[s.OWNER_ID] = text_column(frame, match, s.OWNER_ID)
    values[s.GEOCODE_PRECISION] = precision
    result = assemble(table, match, "accounts", values, geometry)
    return Checked(result, out.bad, out.problems)


def _role_column(frame: pd.DataFrame, match: ColumnMatch, out: Collector) -> pd.Series:
    src = match.source_of(s.ROLE)
    if src is None:
        return pd.Series("rep", index=frame.index, dtype="str")
    text = column_text(frame[src])
    roles = text.map(
        lambda r: _ROLE_SYNONYMS.get(normalise_name(r), "?") if isinstance(r, str) else "rep"
    )
    unknown = roles == "?"
    if unknown.any():
        out.error(
            f"'{src}' has unknown roles: {examples(text[unknown])}",
            unknown,
            column=src,
            fix=f"use one of {', '.join(s.USER_ROLES)} (blank means rep)",
        )
    return roles.where(~unknown).astype("str")


def check_reps(table: RawTable, match: ColumnMatch, options: ReadOptions) -> Checked:
    frame = table.frame
    out = Collector(frame.index)
    ids = id_column(
        table, match, out, target=s.REP_ID, what="rep", aliases_hint="'Id', 'user_id', 'UserId'"
    )
    name = text_column(frame, match, s.NAME)
    first, last = match.source_of(FIRST_NAME), match.source_of(LAST_NAME)
    if first is not None or last is not None:
        parts = [column_text(frame[c]).fillna("") for c in (first, last) if c is not None]
        joined = parts[0] if len(parts) == 1 else (parts[0] + " " + parts[1])
        joined = joined.str.strip()
        name = name.fillna(joined.mask(joined == ""))
    geometry, _, postal = place_rows(
        table,
        match,
        out,
        options,
        what="rep",
        lat_target=s.HOME_LATITUDE,
        lon_target=s.HOME_LONGITUDE,
        required=False,
    )
    manager = text_column(frame, match, s.MANAGER_ID)
    unknown_manager = manager.notna() & ~manager.isin(set(ids.dropna()))
    if unknown_manager.any() and ids.notna().any():
        out.warn(
            f"{plural(int(unknown_manager.sum()), 'row')} "
            f"{'names' if unknown_manager.sum() == 1 else 'name'} a manager who is not in the "
            f"file: {examples(manager[unknown_manager])}",
            unknown_manager,
            column=match.source_of(s.MANAGER_ID),
            fix="add the managers as rows, or correct the manager ids",
        )
    _manager_loops(ids, manager, out, column=match.source_of(s.MANAGER_ID))
    _password_hashes(frame, match, out)
    values: dict[str, pd.Series] = {
        s.REP_ID: ids,
        s.NAME: name,
        s.ROLE: _role_column(frame, match, out),
        s.EMAIL: text_column(frame, match, s.EMAIL),
        s.MANAGER_ID: manager,
        s.CAPACITY_H_PER_WEEK: number_column(
            frame,
            match,
            out,
            s.CAPACITY_H_PER_WEEK,
            decimal_comma=table.decimal_comma,
            example="40",
            positive=True,
        ),
        s.PASSWORD_HASH: text_column(frame, match, s.PASSWORD_HASH),
    }
    for target in (s.ADDRESS, CITY, STATE):
        if match.source_of(target) is not None:
            values[target] = text_column(frame, match, target)
    if match.source_of(s.POSTAL_CODE) is not None:
        values[s.POSTAL_CODE] = postal
    if match.source_of(s.COUNTRY) is not None:
        values[s.COUNTRY] = text_column(frame, match, s.COUNTRY)
    result = assemble(table, match, "reps", values, geometry)
    return Checked(result, out.bad, out.problems)


def _password_hashes(frame: pd.DataFrame, match: ColumnMatch, out: Collector) -> None:
    """Password hashes should never travel in files: say so when a file carries them."""
    src = match.source_of(s.PASSWORD_HASH)
    if src is None:
        return
    present = column_text(frame[src]).notna()
    if present.any():
        out.warn(
            f"{plural(int(present.sum()), 'row')} carry a password hash; only an admin may "
            "import them, and a hash copied from elsewhere is a risk",
            present,
            column=src,
            fix="leave the column out and set passwords in the app (or with set_password)",
        )


def _manager_loops(
    ids: pd.Series, manager: pd.Series, out: Collector, *, column: str | None
) -> None:
    """A loop in the manager chain would make everyone in it the others' manager: refuse it."""
    if column is None:
        return
    own = manager.notna() & (manager == ids)
    _, looped = depths(ids, manager.where(~own))
    looped |= own
    if looped.any():
        out.error(
            f"{plural(int(looped.sum()), 'user')} {is_word(looped)} in or below a loop of the "
            f"manager chain (someone is their own manager's manager): {examples(ids[looped])}",
            looped,
            column=column,
            fix="break the loop: give the top manager of the group no manager (or one above "
            "the group), so the chain ends",
        )
