"""The tables an assignment returns: memberships and unassigned accounts."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner import schema as s
from planner.assign.layout import TerritoryLayout
from planner.errors import format_ids
from planner.geo.rules import Rule

__all__ = ["base_details", "membership_frame", "unassigned_frame"]

I64 = NDArray[np.int64]
_CAUSES = pd.CategoricalDtype(["spatial", "rule", "manual"])


def base_details(layout: TerritoryLayout, rules: Mapping[int, Rule]) -> tuple[list[str], I64]:
    """The distinct details of computed memberships, and the one of each territory.

    Kept in the layout's memo for the same rules (a million memberships
    share a few thousand texts).
    """
    key = ("details", tuple(sorted((k, str(r)) for k, r in rules.items())))
    return layout.memo(key, lambda: _details(layout, rules))


def _details(layout: TerritoryLayout, rules: Mapping[int, Rule]) -> tuple[list[str], I64]:
    texts = _base_texts(layout, rules)
    listed = texts.tolist()
    if len(set(listed)) == len(listed):  # one text per territory (its own shape): no factorizing
        return listed, np.arange(len(listed), dtype=np.int64)
    codes, uniques = pd.factorize(texts)
    return [str(u) for u in uniques], codes.astype(np.int64)


def _base_texts(layout: TerritoryLayout, rules: Mapping[int, Rule]) -> NDArray[np.object_]:
    """Per territory, the detail of a computed membership."""
    out = []
    prep, chains, shape_of = layout, layout.chains, layout.shape_of
    if not rules and (shape_of == np.arange(len(shape_of))).all():
        return np.array([f"inside the shape of {t}" for t in prep.tids], dtype=object)
    for t in range(len(prep.tids)):
        parts = []
        sh = shape_of[t]
        if sh >= 0:
            parts.append(
                f"inside the shape of {prep.tids[sh]}"
                if sh == t
                else f"inside the shape of {prep.tids[sh]} (inherited)"
            )
        for a in chains[t]:
            if a in rules:
                owner = "" if a == t else f" (inherited from {prep.tids[a]})"
                parts.append(f"matches rule {rules[a]}{owner}")
        out.append("; ".join(parts))
    return np.array(out, dtype=object)


def membership_frame(
    winners: NDArray[np.int64],
    manual_rows: list[tuple[int, int, bool, str]],
    account_ids: pd.Series,
    layout: TerritoryLayout,
    rules: Mapping[int, Rule],
    chain_rule: NDArray[np.bool_],
    notes: Mapping[tuple[int, int], str],
) -> pd.DataFrame:
    """Assemble the memberships; text columns are categorical (cheap for a million rows)."""
    prep = layout
    T = len(prep.tids)
    base_texts, detail_code_of = base_details(layout, rules)
    details: dict[str, int] = {}

    def code(text: str) -> int:
        if not details:  # the base texts first, so their codes stay
            details.update((t, i) for i, t in enumerate(base_texts))
        return details.setdefault(text, len(details))

    in_order = winners.shape[0] == 1 and not manual_rows  # rows follow the accounts already
    p_all, t_all = _winner_pairs(winners)
    cause = (
        np.where(chain_rule, 1, 0).astype(np.int8)[t_all]  # spatial, rule, manual
        if chain_rule.any()
        else np.zeros(len(t_all), dtype=np.int8)
    )
    detail = t_all if _is_identity(detail_code_of) else detail_code_of[t_all]
    primary = np.ones(len(p_all), dtype=bool)
    if notes:
        wanted = {p * T + t: v for (p, t), v in notes.items()}
        keys = p_all * T + t_all
        hit = np.flatnonzero(np.isin(keys, np.fromiter(wanted, dtype=np.int64)))
        base = base_texts
        detail = detail.copy()  # it may be t_all itself
        for i in hit:
            detail[i] = code(f"{base[detail[i]]}; {wanted[int(keys[i])]}")
    if manual_rows:
        p_all = np.concatenate([p_all, np.array([r[0] for r in manual_rows], dtype=np.int64)])
        t_all = np.concatenate([t_all, np.array([r[1] for r in manual_rows], dtype=np.int64)])
        cause = np.concatenate([cause, np.full(len(manual_rows), 2, dtype=np.int8)])
        detail = np.concatenate([detail, np.array([code(r[3]) for r in manual_rows])])
        primary = np.concatenate([primary, np.array([r[2] for r in manual_rows], dtype=bool)])
    if not in_order:
        tid_rank = np.empty(T, dtype=np.int64)
        tid_rank[np.argsort(prep.tids.astype(str), kind="stable")] = np.arange(T)
        order = np.lexsort((tid_rank[t_all], p_all))
        p_all, t_all, cause, detail, primary = (
            p_all[order],
            t_all[order],
            cause[order],
            detail[order],
            primary[order],
        )
    return pd.DataFrame(
        {
            s.ACCOUNT_ID: account_ids.array.take(p_all),
            s.TERRITORY_ID: _categorical(t_all, _dtype(layout, "tids", prep.tids)),
            s.CAUSE: _categorical(cause, _CAUSES),
            s.DETAIL: _categorical(detail, _detail_dtype(layout, rules, base_texts, details)),
            s.IS_PRIMARY: primary,
        },
        copy=False,
    )


def _winner_pairs(winners: I64) -> tuple[I64, I64]:
    """(account, territory) of every winner, type by type.

    Positions, then a gather: selecting a million values by a boolean mask
    costs four times as much (here and for the ids).
    """
    ps = [np.flatnonzero(winners[k] >= 0) for k in range(winners.shape[0])]
    ts = [winners[k].take(p) for k, p in enumerate(ps)]
    if len(ps) == 1:
        return ps[0], ts[0]
    if not ps:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate(ps), np.concatenate(ts)


def _is_identity(codes: I64) -> bool:
    """Whether ``codes[i] == i`` for every ``i`` (each territory has its own detail)."""
    return bool((codes == np.arange(len(codes))).all())


def _detail_dtype(
    layout: TerritoryLayout, rules: Mapping[int, Rule], base: list[str], details: dict[str, int]
) -> pd.CategoricalDtype:
    """The details' dtype: the base texts' (kept in the memo), or with this run's additions."""
    if details:  # this run's own texts: not worth keeping
        return pd.CategoricalDtype(list(details))
    return _dtype(layout, ("base", tuple(sorted((k, str(r)) for k, r in rules.items()))), base)


def _dtype(layout: TerritoryLayout, key: Any, categories: Collection[Any]) -> pd.CategoricalDtype:
    """A categorical dtype kept in the layout's memo (checking 37,000 categories costs)."""
    if len(categories) < 1000:
        return pd.CategoricalDtype(list(categories))
    return layout.memo(("dtype", key), lambda: pd.CategoricalDtype(list(categories)))


def _categorical(codes: NDArray[np.integer[Any]], dtype: pd.CategoricalDtype) -> pd.Categorical:
    """The codes as a categorical, cast first to the width pandas keeps them in (its own
    cast of a million codes costs more than the cast alone)."""
    n = len(dtype.categories)
    width = np.int8 if n < 127 else np.int16 if n < 32767 else np.int32 if n < 2**31 - 1 else None
    # a copy always: the territory and detail columns may come from one array
    return pd.Categorical.from_codes(codes.astype(width or np.int64), dtype=dtype)


def _names_by_account(
    pairs: tuple[NDArray[np.int64], NDArray[np.int64]],
    wanted: NDArray[np.bool_],
    tids: NDArray[np.object_],
) -> dict[int, str]:
    """For the wanted accounts among (account, territory) pairs, their territory ids as text."""
    p, t = pairs
    sel = wanted[p]
    if not sel.any():
        return {}
    frame = pd.DataFrame({"p": p[sel], "t": tids[t[sel]].astype(object)})
    frame = frame.drop_duplicates().sort_values(["p", "t"])
    grouped = frame.groupby("p", sort=False)["t"].agg(lambda v: format_ids(v, limit=3))
    keys = grouped.index.to_numpy(dtype=np.int64).tolist()
    return dict(zip(keys, map(str, grouped.tolist()), strict=True))


def unassigned_frame(
    account_ids: pd.Series,
    assigned: NDArray[np.bool_],
    xy: tuple[NDArray[np.float64], NDArray[np.float64]],
    in_shape: NDArray[np.bool_],
    rule_failed: tuple[NDArray[np.int64], NDArray[np.int64]],
    excluded: tuple[NDArray[np.int64], NDArray[np.int64]],
    tids: NDArray[np.object_],
) -> pd.DataFrame:
    """The accounts in no territory, each with the most telling reason."""
    unassigned = ~assigned
    idx = np.flatnonzero(unassigned)
    reason = np.empty(len(idx), dtype=object)
    reason.fill("outside every territory")  # np.full converts the text once per row
    reason[in_shape[idx]] = "inside a territory shape, but no territory there takes it"
    for pairs, template in (
        (rule_failed, "fails the rules of {}"),
        (excluded, "excluded manually from {}"),
    ):
        names = _names_by_account(pairs, unassigned, tids)
        if names:
            where = np.searchsorted(idx, np.fromiter(names, dtype=np.int64, count=len(names)))
            reason[where] = [template.format(v) for v in names.values()]
    x, y = xy[0][idx], xy[1][idx]  # only the unassigned accounts' locations are read
    nowhere = "no location, and no rule-only territory matches it"
    reason[~(np.isfinite(x) & np.isfinite(y))] = nowhere
    return pd.DataFrame(
        {
            s.ACCOUNT_ID: account_ids.array.take(idx),
            s.REASON: pd.Series(reason, dtype=object, copy=False),
        },
        copy=False,
    )
