"""One primary territory per account and type: ranking candidates, manual includes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner import schema as s
from planner.assign.context import km2, manual_detail
from planner.geo.locate import Located, PolygonIndex, on_boundary

__all__ = ["Ranking", "Resolution", "apply_includes", "resolve_primaries", "type_order"]

I64 = NDArray[np.int64]
Conflict = tuple[str, str, str, str, int]


@dataclass
class Resolution:
    """Winners per (type, account) and what was decided on the way.

    ``winners[k, p]`` is the primary territory of type ``k`` of account
    ``p`` (-1 for none); ``notes`` adds to a membership's detail why it
    beat another; ``manual_rows`` are (account, territory, is primary,
    detail) of manual includes.
    """

    winners: I64
    type_names: list[str]
    type_code: I64
    tid_rank: I64
    conflicts: list[Conflict] = field(default_factory=list)
    notes: dict[tuple[int, int], str] = field(default_factory=dict)
    manual_rows: list[tuple[int, int, bool, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Ranking:
    """What ranks the candidate territories of one account and type."""

    tids: NDArray[np.object_]
    types: NDArray[np.object_]
    shape_of: I64
    chain_rule: NDArray[np.bool_]
    shape_ids: I64
    area: Any  # a callable returning per-territory areas (computed only on a conflict)
    order: tuple[list[str], I64, I64]  # from type_order: type names, type codes, id ranks


def type_order(tids: NDArray[np.object_], types: NDArray[np.object_]) -> tuple[list[str], I64, I64]:
    """Type names (sorted), each territory's type code, and its rank by id (text order)."""
    type_names = sorted(set(types.tolist()))
    code_of = {t: i for i, t in enumerate(type_names)}
    type_code = (
        np.zeros(len(types), dtype=np.int64)  # one type (37,000 ZIP cells): nothing to look up
        if len(type_names) == 1
        else np.array([code_of[t] for t in types], dtype=np.int64)
    )
    tid_rank = np.empty(len(tids), dtype=np.int64)
    tid_rank[np.argsort(tids.astype(str), kind="stable")] = np.arange(len(tids))
    return type_names, type_code, tid_rank


def resolve_primaries(
    cand_p: I64,
    cand_t: I64,
    n: int,
    rank: Ranking,
    spatial: tuple[NDArray[np.float64], NDArray[np.float64], PolygonIndex | None],
) -> Resolution:
    """Pick each account's primary territory per type (see :mod:`planner.assign`)."""
    type_names, type_code, tid_rank = rank.order
    K = len(type_names)
    res = Resolution(np.full((K, n), -1, dtype=np.int64), type_names, type_code, tid_rank)
    if not len(cand_p):
        return res
    code = type_code[cand_t] if K > 1 else None  # one type: every code is 0
    if code is None and _all_distinct(res.winners[0], cand_p, cand_t):
        return res
    group = cand_p if code is None else cand_p * K + code
    counts = np.bincount(group, minlength=n * K)
    if counts.max() <= 1:  # no account has two candidates of one type: nothing to rank
        _place(res.winners, code, cand_p, cand_t)
        return res
    multi = counts[group] > 1
    single = ~multi
    _place(res.winners, None if code is None else code[single], cand_p[single], cand_t[single])
    _rank_contested(cand_p[multi], cand_t[multi], res, rank, spatial)
    return res


def _all_distinct(row: I64, p: I64, t: I64) -> bool:
    """Write ``row[p] = t``; keep it when every account in ``p`` is distinct, else undo it.

    A repeated account overwrites itself, so fewer rows are set than pairs
    given: as cheap as the write that is needed anyway.
    """
    row[p] = t
    if np.count_nonzero(row >= 0) == len(p):
        return True
    row[:] = -1
    return False


def _place(winners: I64, code: I64 | None, p: I64, t: I64) -> None:
    """Record territory ``t`` as the winner of type ``code`` (0 when ``None``) for account ``p``."""
    if code is None:
        winners[0, p] = t
    else:
        winners[code, p] = t


def _rank_contested(
    mp: I64,
    mt: I64,
    res: Resolution,
    rank: Ranking,
    spatial: tuple[NDArray[np.float64], NDArray[np.float64], PolygonIndex | None],
) -> None:
    """Order the candidates of contested (account, type) groups and record who lost."""
    x, y, index = spatial
    K = len(res.type_names)
    border = np.zeros(len(mp), dtype=bool)
    located = rank.shape_of[mt] >= 0
    if located.any() and index is not None:
        sp = np.flatnonzero(located)
        shape_local = np.searchsorted(rank.shape_ids, rank.shape_of[mt[sp]])
        border[sp] = on_boundary(x, y, index, Located(mp[sp], shape_local.astype(np.int64)))
    area = rank.area()
    # on the border of both: the territory id decides; inside both: the area
    order = np.lexsort(
        (
            res.tid_rank[mt],
            np.where(border, 0.0, area[mt]),
            border.astype(np.int8),
            (~rank.chain_rule[mt]).astype(np.int8),
            res.type_code[mt],
            mp,
        )
    )
    mp, mt, border = mp[order], mt[order], border[order]
    mg = mp * K + res.type_code[mt]
    first = np.ones(len(mg), dtype=bool)
    first[1:] = mg[1:] != mg[:-1]
    res.winners[res.type_code[mt[first]], mp[first]] = mt[first]
    win_of = np.maximum.accumulate(np.where(first, np.arange(len(mg)), 0))
    tally: dict[tuple[str, str, str, str], int] = {}
    for k in np.flatnonzero(~first):
        w = win_of[k]
        why = why_wins(int(mt[w]), int(mt[k]), bool(border[w]), bool(border[k]), rank, area)
        key = (str(rank.types[mt[w]]), str(rank.tids[mt[w]]), str(rank.tids[mt[k]]), why)
        tally[key] = tally.get(key, 0) + 1
        pair = (int(mp[w]), int(mt[w]))
        loser = rank.tids[mt[k]]
        res.notes[pair] = (
            f"chosen over {loser}: {why}"
            if pair not in res.notes
            else res.notes[pair] + f", over {loser}"
        )
    res.conflicts = [(*key, v) for key, v in sorted(tally.items())]


def why_wins(
    w: int,
    k: int,
    border_w: bool,
    border_k: bool,
    rank: Ranking,
    area: NDArray[np.float64],
) -> str:
    """The first ranking criterion that put territory ``w`` before ``k``."""
    if rank.chain_rule[w] and not rank.chain_rule[k]:
        return "it has a rule and the other has none (more specific)"
    if border_k and not border_w:
        return "the account lies strictly inside it and on the other's border"
    if border_k and border_w:
        return f"on the border of both; {rank.tids[w]} comes first by territory id"
    if area[w] < area[k]:
        return f"it is smaller ({km2(area[w])} vs {km2(area[k])})"
    return f"tie; {rank.tids[w]} comes first by territory id"


def apply_includes(
    res: Resolution,
    includes: pd.DataFrame,
    acct_pos: dict[str, int],
    tids: NDArray[np.object_],
) -> None:
    """Manual includes replace the computed primary of their type (the latest one wins)."""
    if not len(includes):
        return
    tpos = {t: i for i, t in enumerate(tids.tolist())}
    inc = includes.assign(
        pos_p=[acct_pos[a] for a in includes[s.ACCOUNT_ID]],
        pos_t=[tpos[t] for t in includes[s.TERRITORY_ID]],
        at=includes[s.SET_AT].fillna(""),
    )
    inc = inc.assign(
        pos_k=res.type_code[inc["pos_t"].to_numpy()], rank=res.tid_rank[inc["pos_t"].to_numpy()]
    ).sort_values(["pos_p", "pos_k", "at", "rank"], ascending=[True, True, False, True])
    first_in_group = ~inc.duplicated(["pos_p", "pos_k"])
    tally: dict[tuple[str, str, str, str], int] = {}
    rows = zip(
        inc.itertuples(index=False),
        inc["pos_p"].to_numpy(dtype=np.int64).tolist(),
        inc["pos_t"].to_numpy(dtype=np.int64).tolist(),
        inc["pos_k"].to_numpy(dtype=np.int64).tolist(),
        first_in_group.to_numpy(dtype=bool).tolist(),
        strict=True,
    )
    for row, ip, it, ik, primary in rows:
        res.manual_rows.append((ip, it, primary, manual_detail(row)))
        if not primary:
            continue
        prev = int(res.winners[ik, ip])
        if prev >= 0 and prev != it:
            key = (res.type_names[ik], str(tids[it]), str(tids[prev]), "manual include")
            tally[key] = tally.get(key, 0) + 1
        res.winners[ik, ip] = -1  # the manual row replaces the computed winner
    res.conflicts += [(*key, v) for key, v in sorted(tally.items())]
