"""Reading an opportunities file: loose column names, stages, amounts and dates checked."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from planner import schema as s
from planner.errors import InputError, Problem

__all__ = [
    "AMOUNT",
    "CLOSED_DATE",
    "CREATED_DATE",
    "CYCLE_DAYS",
    "IS_CLOSED",
    "IS_WON",
    "OPPORTUNITY_COLUMNS",
    "OPPORTUNITY_ID",
    "STAGE",
    "read_opportunities",
]

logger = logging.getLogger(__name__)

OPPORTUNITY_ID = "opportunity_id"
AMOUNT = "amount"
CREATED_DATE = "created_date"
CLOSED_DATE = "closed_date"
STAGE = "stage"
IS_CLOSED = "is_closed"
IS_WON = "is_won"
CYCLE_DAYS = "cycle_days"

#: Columns an opportunities file must have.
OPPORTUNITY_COLUMNS = (s.ACCOUNT_ID, s.OWNER_ID, AMOUNT, CREATED_DATE, CLOSED_DATE, STAGE)

_ALIASES = {
    "account": s.ACCOUNT_ID,
    "accountid": s.ACCOUNT_ID,
    "owner": s.OWNER_ID,
    "ownerid": s.OWNER_ID,
    "rep_id": s.OWNER_ID,
    "created": CREATED_DATE,
    "createddate": CREATED_DATE,
    "created_at": CREATED_DATE,
    "closed": CLOSED_DATE,
    "closedate": CLOSED_DATE,
    "close_date": CLOSED_DATE,
    "closed_at": CLOSED_DATE,
    "stagename": STAGE,
    "stage_name": STAGE,
    "id": OPPORTUNITY_ID,
    "opportunityid": OPPORTUNITY_ID,
}
_WON = {"closed won", "closedwon", "won", "closed_won"}
_LOST = {"closed lost", "closedlost", "lost", "closed_lost"}


# -- opportunities -----------------------------------------------------------------------


def _norm_column(name: object) -> str:
    text = re.sub(r"[\s\-]+", "_", str(name).strip().lower())
    return _ALIASES.get(text, _ALIASES.get(text.replace("_", ""), text))


def _rows(mask: pd.Series) -> tuple[int, ...]:
    """1-based file rows (the header is row 1) of the ``True`` entries of ``mask``."""
    return tuple(int(i) + 2 for i in np.flatnonzero(mask.to_numpy())[:50])


def read_opportunities(source: str | os.PathLike[str] | pd.DataFrame) -> pd.DataFrame:
    """Read and check an opportunities CSV (or frame).

    Column names are matched loosely (``Account ID``, ``CloseDate`` and
    ``StageName`` are recognised). A stage reading "Closed Won"/"Won" is won,
    "Closed Lost"/"Lost" is lost; any other stage is open.

    Parameters
    ----------
    source
        A CSV file or a frame with the columns of :data:`OPPORTUNITY_COLUMNS`
        (``opportunity_id`` optional).

    Returns
    -------
    pandas.DataFrame
        ``opportunity_id``, the input columns with ``amount`` as float and the
        dates as timestamps, plus ``is_closed``, ``is_won`` and ``cycle_days``
        (closed minus created, in days; ``NaN`` while open). ``attrs["ids_given"]``
        tells whether the ids are the file's (else ``row2``, ``row3``...).

    Raises
    ------
    InputError
        Naming every bad row: missing columns or ids, amounts that are not
        non-negative numbers, unreadable dates, a close before the creation,
        a closed stage without a close date.
    """
    raw, label = _load(source)
    problems = _blank_problems(raw)
    amount = _amounts(raw, problems)
    dates = _dates(raw, problems)
    stage = raw[STAGE].astype(str).str.strip()
    won = stage.str.lower().isin(_WON)
    closed = won | stage.str.lower().isin(_LOST)
    problems += _close_problems(raw, dates, closed)
    if problems:
        raise InputError("the opportunities cannot be used", problems, source=label)
    out = pd.DataFrame(
        {
            OPPORTUNITY_ID: _opportunity_ids(raw).to_numpy(),
            s.ACCOUNT_ID: raw[s.ACCOUNT_ID].astype(str).str.strip().to_numpy(),
            s.OWNER_ID: raw[s.OWNER_ID].astype(str).str.strip().to_numpy(),
            AMOUNT: amount.astype(float).to_numpy(),
            CREATED_DATE: dates[CREATED_DATE].to_numpy(),
            CLOSED_DATE: dates[CLOSED_DATE].where(closed).to_numpy(),
            STAGE: stage.to_numpy(),
            IS_CLOSED: closed.to_numpy(),
            IS_WON: won.to_numpy(),
        }
    )
    out[CYCLE_DAYS] = (out[CLOSED_DATE] - out[CREATED_DATE]).dt.days.astype(float)
    out.attrs["ids_given"] = _ids_given(raw)
    _log_open_with_date(closed, dates)
    return out


def _load(source: str | os.PathLike[str] | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The raw table with normalised column names, and its label for messages."""
    label = "opportunities"
    if isinstance(source, pd.DataFrame):
        raw = source.copy()
    else:
        path = Path(source)
        label = str(path)
        if not path.is_file():
            raise InputError(
                f"opportunities file {path} does not exist",
                [Problem("file not found", fix="check the path")],
                source=label,
            )
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    raw.columns = [_norm_column(c) for c in raw.columns]
    missing = [c for c in OPPORTUNITY_COLUMNS if c not in raw.columns]
    if missing:
        raise InputError(
            "the opportunities table lacks required columns",
            [
                Problem(f"required column '{c}' is missing", column=c, fix=f"add a '{c}' column")
                for c in missing
            ],
            source=label,
        )
    return raw.reset_index(drop=True), label


def _blank(raw: pd.DataFrame, col: str) -> pd.Series:
    v = raw[col]
    return v.isna() | (v.astype(str).str.strip() == "")


def _blank_problems(raw: pd.DataFrame) -> list[Problem]:
    problems = []
    for col in (s.ACCOUNT_ID, s.OWNER_ID, CREATED_DATE, STAGE):
        bad = _blank(raw, col)
        if bad.any():
            problems.append(
                Problem(f"'{col}' is empty", rows=_rows(bad), column=col, fix=f"fill in '{col}'")
            )
    return problems


def _amounts(raw: pd.DataFrame, problems: list[Problem]) -> pd.Series:
    amount = pd.to_numeric(raw[AMOUNT].where(~_blank(raw, AMOUNT), None), errors="coerce")
    bad = amount.isna() | (amount < 0) | ~np.isfinite(amount.fillna(0))
    if bad.any():
        problems.append(
            Problem(
                "'amount' is not a non-negative number",
                rows=_rows(bad),
                column=AMOUNT,
                fix="write amounts as plain numbers such as 12500.50",
            )
        )
    return amount


def _dates(raw: pd.DataFrame, problems: list[Problem]) -> dict[str, pd.Series]:
    """The created and closed dates as day timestamps (``NaT`` when blank or unreadable)."""
    dates = {}
    for col in (CREATED_DATE, CLOSED_DATE):
        text = raw[col].where(~_blank(raw, col), None)
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert(None)
        unreadable = text.notna() & parsed.isna()
        if unreadable.any():
            problems.append(
                Problem(
                    f"'{col}' is not a date",
                    rows=_rows(unreadable),
                    column=col,
                    fix="write dates as YYYY-MM-DD",
                )
            )
        dates[col] = parsed.dt.normalize()
    return dates


def _close_problems(
    raw: pd.DataFrame, dates: dict[str, pd.Series], closed: pd.Series
) -> list[Problem]:
    """A closed stage without a close date; a close before the creation."""
    problems = []
    no_close = closed & dates[CLOSED_DATE].isna() & ~_blank(raw, STAGE)
    unreadable_close = ~_blank(raw, CLOSED_DATE) & dates[CLOSED_DATE].isna()
    no_close &= ~unreadable_close
    if no_close.any():
        problems.append(
            Problem(
                "a closed opportunity has no closed_date",
                rows=_rows(no_close),
                column=CLOSED_DATE,
                fix="add the date it was won or lost",
            )
        )
    backwards = dates[CLOSED_DATE] < dates[CREATED_DATE]
    if backwards.any():
        problems.append(
            Problem(
                "closed_date is before created_date",
                rows=_rows(backwards),
                column=CLOSED_DATE,
                fix="check both dates",
            )
        )
    return problems


def _ids_given(raw: pd.DataFrame) -> bool:
    """Whether every row has its own ``opportunity_id`` in the file."""
    return OPPORTUNITY_ID in raw.columns and not _blank(raw, OPPORTUNITY_ID).any()


def _opportunity_ids(raw: pd.DataFrame) -> pd.Series:
    """The file's ids when every row has one, else ``row2``, ``row3``... (file rows)."""
    if _ids_given(raw):
        return raw[OPPORTUNITY_ID].astype(str).str.strip()
    return pd.Series([f"row{i + 2}" for i in range(len(raw))])


def _log_open_with_date(closed: pd.Series, dates: dict[str, pd.Series]) -> None:
    open_with_date = ~closed & dates[CLOSED_DATE].notna()
    if open_with_date.any():
        logger.info(
            "%d open opportunities carry a closed_date (an expected close?); it is ignored",
            int(open_with_date.sum()),
        )
