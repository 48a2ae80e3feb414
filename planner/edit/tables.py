"""Tables for the edit pages: counts per territory, the indented hierarchy, the memberships."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import pandas as pd

from planner import schema as s
from planner import viz
from planner.edit.rows import territory_label
from planner.geo.assign import Assignment
from planner.tree import TerritoryTree
from planner.workspace import Workspace

__all__ = [
    "counts_table",
    "filter_memberships",
    "hierarchy_table",
    "membership_table",
    "stale_accounts",
    "with_change",
]

_INDENT = "\u2003"  # an em space: indents the tree in a table


def counts_table(
    ws: Workspace,
    scenario_id: str,
    before: Mapping[str, int] | None = None,
    *,
    owner: pd.Series | None = None,
    summary: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return accounts per territory (rolled up), with the change since ``before`` if given.

    ``owner``: :func:`planner.viz.primary_territory` of the scenario, if the
    caller has it; ``summary``: :func:`planner.viz.territory_summary` of the
    scenario, if the caller has it (then ``owner`` is not used).
    """
    if summary is None:
        summary = viz.territory_summary(ws, scenario_id, owner=owner)
    out = pd.DataFrame(
        {
            "territory": [
                f"{'  ' * int(lv)}{n if isinstance(n, str) and n else t}"
                for t, n, lv in zip(
                    summary[s.TERRITORY_ID], summary[s.NAME], summary[s.LEVEL], strict=True
                )
            ],
            s.TERRITORY_ID: summary[s.TERRITORY_ID].astype(str),
            "accounts": summary["accounts"].astype("int64"),
            "is_leaf": summary["is_leaf"],
        }
    )
    order = _tree_order(TerritoryTree.of(ws.territories(scenario_id)))
    out = out.set_index(s.TERRITORY_ID, drop=False).reindex(order).reset_index(drop=True)
    return out if before is None else with_change(out, before)


def with_change(counts: pd.DataFrame, before: Mapping[str, int]) -> pd.DataFrame:
    """Return a copy of a :func:`counts_table` with the change of accounts since ``before``."""
    out = counts.copy()
    out["change"] = [
        int(n) - int(before.get(t, 0))
        for t, n in zip(out[s.TERRITORY_ID], out["accounts"], strict=True)
    ]
    return out


def _tree_order(tree: TerritoryTree) -> list[str]:
    """Territory ids depth first from the roots, siblings sorted (loops appended at the end)."""
    ordered = TerritoryTree({t: tree.parent[t] for t in sorted(tree.ids)}, tree.names)
    order = ordered.descendants(ordered.roots(), include_self=True)
    seen = set(order)
    return order + [t for t in ordered.ids if t not in seen]


def hierarchy_table(ws: Workspace, scenario_id: str) -> pd.DataFrame:
    """Return the hierarchy as an indented tree: one row per territory, depth first."""
    terr = ws.territories(scenario_id)
    summary = viz.territory_summary(ws, scenario_id).set_index(s.TERRITORY_ID)
    names = territory_label(terr)
    tree = TerritoryTree.of(terr)
    rows = []
    by_id = terr.set_index(terr[s.TERRITORY_ID].astype(str))
    for tid in _tree_order(tree):
        row = by_id.loc[tid]
        level = tree.depth(tid)
        name = row[s.NAME] if isinstance(row[s.NAME], str) and row[s.NAME] else tid
        rows.append(
            {
                "territory": f"{_INDENT * level}{'└ ' if level else ''}{name}",
                s.TERRITORY_ID: tid,
                s.LEVEL_NAME: row[s.LEVEL_NAME],
                s.TYPE_ID: row[s.TYPE_ID],
                s.SOURCE: row[s.SOURCE],
                s.PARENT_ID: tree.parent.get(tid),
                "accounts": int(summary["accounts"].get(tid, 0)),
                "path": tree.path_text(tid, labels=names),
            }
        )
    return pd.DataFrame(rows)


def membership_table(ws: Workspace, scenario_id: str) -> pd.DataFrame:
    """Return the stored memberships with account and territory names."""
    mem = ws.memberships(scenario_id)
    acc = ws.accounts
    acc_names = dict(zip(acc[s.ACCOUNT_ID].astype(str), acc[s.NAME].tolist(), strict=True))
    terr_names = territory_label(ws.territories(scenario_id))
    ids = mem[s.ACCOUNT_ID].astype(str)
    tids = mem[s.TERRITORY_ID].astype(str)
    return pd.DataFrame(
        {
            s.ACCOUNT_ID: ids.to_numpy(),
            "account": ids.map(acc_names).to_numpy(),
            s.TERRITORY_ID: tids.to_numpy(),
            "territory": tids.map(terr_names).fillna(tids).to_numpy(),
            s.CAUSE: mem[s.CAUSE].astype(str).to_numpy(),
            s.DETAIL: mem[s.DETAIL].to_numpy(),
            s.IS_PRIMARY: mem[s.IS_PRIMARY].astype(bool).to_numpy(),
        }
    )


def filter_memberships(
    table: pd.DataFrame,
    *,
    territories: Collection[str] = (),
    causes: Collection[str] = (),
    text: str = "",
    primary_only: bool = False,
) -> pd.DataFrame:
    """Return the rows of a :func:`membership_table` that pass every filter given.

    Parameters
    ----------
    table
        From :func:`membership_table`.
    territories
        Territory ids to keep; empty keeps all.
    causes
        ``spatial``, ``rule``, ``manual``; empty keeps all.
    text
        Case-insensitive text the account id, account name or detail must contain.
    primary_only
        Keep only primary memberships.
    """
    keep = pd.Series(True, index=table.index)
    if territories:
        keep &= table[s.TERRITORY_ID].isin(list(territories))
    if causes:
        keep &= table[s.CAUSE].isin(list(causes))
    if primary_only:
        keep &= table[s.IS_PRIMARY].astype(bool)
    needle = text.strip().casefold()
    if needle:
        hay = (
            table[s.ACCOUNT_ID].astype(str)
            + "\n"
            + table["account"].fillna("").astype(str)
            + "\n"
            + table[s.DETAIL].fillna("").astype(str)
        ).str.casefold()
        keep &= hay.str.contains(needle, regex=False)
    return table[keep]


def stale_accounts(stored: pd.DataFrame, assignment: Assignment) -> list[str]:
    """Return the accounts whose stored primary territories differ from ``assignment``'s, sorted."""

    def primaries(frame: pd.DataFrame) -> pd.Series:
        rows = frame[frame[s.IS_PRIMARY].astype(bool)]
        pairs = rows[s.ACCOUNT_ID].astype(str) + "\t" + rows[s.TERRITORY_ID].astype(str)
        return pairs

    old = set(primaries(stored))
    new = set(primaries(assignment.memberships))
    return sorted({p.split("\t", 1)[0] for p in old ^ new})
