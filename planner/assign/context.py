"""What an assignment remembers to explain itself, and the wording shared by its steps."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner import schema as s
from planner.errors import InputError, Problem
from planner.geo.rules import Rule

__all__ = ["Context", "km2", "manual_detail", "optional_text"]


@dataclass(frozen=True, eq=False)
class Context:
    """Everything :meth:`Assignment.explain` needs to reason about one account.

    ``area_m2`` is that of the shape each territory uses (inf without one).
    """

    accounts: pd.DataFrame
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    account_pos: dict[str, int] | None
    tids: NDArray[np.object_]
    types: NDArray[np.object_]
    parents: list[int]  # parent position or -1
    is_leaf: NDArray[np.bool_]
    geoms: NDArray[np.object_]  # in the accounts' CRS
    area: Callable[[], NDArray[np.float64]]
    shape_of: NDArray[np.int64]  # territory whose shape a leaf uses, or -1
    rules: dict[int, Rule]
    chain_rule: NDArray[np.bool_]
    priorities: dict[str, int]
    includes: pd.DataFrame
    excludes: pd.DataFrame

    @property
    def area_m2(self) -> NDArray[np.float64]:
        """Per territory, the area of the shape it uses, in m² (inf without one)."""
        return self.area()

    def chain(self, t: int) -> list[int]:
        """Territory ``t`` and its ancestors, nearest first."""
        out = [t]
        seen = {t}
        p = self.parents[t]
        while p >= 0 and p not in seen:
            out.append(p)
            seen.add(p)
            p = self.parents[p]
        return out

    def position(self, account_id: str) -> int:
        """Row of ``account_id`` in the accounts."""
        if self.account_pos is None:
            ids = self.accounts[s.ACCOUNT_ID].astype(str).to_numpy()
            object.__setattr__(self, "account_pos", {a: i for i, a in enumerate(ids)})
        assert self.account_pos is not None
        if account_id not in self.account_pos:
            raise InputError(
                f"unknown account '{account_id}'",
                [Problem(f"there is no account '{account_id}'", fix="check the account id")],
            )
        return self.account_pos[account_id]


def km2(a: float) -> str:
    """An area in m² as km² text (``no shape`` when infinite)."""
    return "no shape" if not math.isfinite(a) else f"{a / 1e6:,.2f} km²"


def optional_text(row: Any, name: str) -> str | None:
    """A text field of an override row, ``None`` when missing or blank."""
    v = getattr(row, name, None)
    return None if s.is_missing(v) or str(v) == "" else str(v)


def manual_detail(row: Any) -> str:
    """The detail of a manual include."""
    who = optional_text(row, s.SET_BY) or "someone"
    when = optional_text(row, s.SET_AT) or "an unknown time"
    reason = optional_text(row, s.REASON)
    return f"included manually by {who} at {when}" + (f": {reason}" if reason else "")
