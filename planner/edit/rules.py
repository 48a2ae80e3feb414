"""Territory rules as an edit: set or clear one, count what a text matches, the chain of rules.

A territory's rule (the ``rule`` column, language in :mod:`planner.geo.rules`)
narrows the accounts it takes, and every territory below it inherits it: a
child only gets accounts matching its own rule *and* each ancestor's
(:mod:`planner.assign`). :func:`set_rule` parses a rule against the
accounts' columns before anything changes, stores it with an audit entry and
re-assigns the scenario; the caller commits (one recorded change).
:func:`count_matches` answers "how many accounts would this text give the
territory" while the user types, on the accounts the territory could hold
(:func:`rule_candidates`); :func:`rule_chain` lists the rules that apply
above a territory and the territories below that inherit its rule.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import shapely

from planner import schema as s
from planner.access import AccessScope
from planner.edit.outcome import EditOutcome, all_or_nothing, finish
from planner.edit.rights import require_edit_rights
from planner.edit.rows import row_of
from planner.geo.rule_syntax import field_text, literal_text
from planner.geo.rules import Rule, column_kind, parse_rule
from planner.geo.shapes import point_xy
from planner.tree import TerritoryTree
from planner.workspace import Workspace

__all__ = [
    "RuleCount",
    "RuleField",
    "clear_rule",
    "count_matches",
    "rule_candidates",
    "rule_chain",
    "rule_examples",
    "rule_fields",
    "rule_of",
    "set_rule",
]


@dataclass(frozen=True)
class RuleCount:
    """How many accounts a rule text gives a territory.

    Parameters
    ----------
    territory_id
        The territory.
    matched
        Accounts the territory could hold that match the text (all of them
        for an empty text).
    candidates
        Accounts the territory could hold: inside its shape and every
        ancestor's, matching every ancestor's rule.
    sample
        Up to ten of the matched account ids, sorted.
    """

    territory_id: str
    matched: int
    candidates: int
    sample: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """Return the count as a JSON-friendly dictionary."""
        return {
            "territory_id": self.territory_id,
            "matched": self.matched,
            "candidates": self.candidates,
            "sample": list(self.sample),
        }


def rule_of(territories: pd.DataFrame, territory_id: str) -> str | None:
    """The territory's own rule text, or ``None`` when it has none.

    Raises
    ------
    InputError
        If there is no such territory.
    """
    value = territories.iloc[row_of(territories, territory_id)][s.RULE]
    if s.is_missing(value) or not str(value).strip():
        return None
    return str(value)


def _label(territory_id: str) -> str:
    return f"territory {territory_id}"


def _parse(ws: Workspace, territory_id: str, text: str) -> Rule:
    """Parse ``text`` against the accounts' columns (names and types)."""
    return parse_rule(text, fields=ws.accounts, label=_label(territory_id))


# --------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class RuleField:
    """An account column a rule may read, with values to show as examples.

    Parameters
    ----------
    name
        The column, as a rule writes it (in backticks when not a plain name).
    kind
        ``number``, ``text`` or ``bool``: what it may be compared with.
    examples
        Up to five values as a rule writes them: the commonest texts, or
        the smallest, middle and largest number.
    missing
        Accounts without a value.
    distinct
        Different values.
    present
        Accounts with a value.
    """

    name: str
    kind: Literal["number", "text", "bool"]
    examples: tuple[str, ...]
    missing: int
    distinct: int
    present: int

    @property
    def groups(self) -> bool:
        """Whether its values group accounts (2 to 50 values, shared), unlike ids or names."""
        return 1 < self.distinct <= 50 and self.distinct * 2 <= self.present


def _kind(column: pd.Series) -> Literal["number", "text", "bool"]:
    """What a column holds, as the rule checker sees it (anything else reads as text)."""
    kind = column_kind(column)
    return "text" if kind == "other" else kind


def _examples(column: pd.Series, kind: str) -> tuple[str, ...]:
    values = column.dropna()
    if not len(values):
        return ()
    if kind == "bool":
        return ("true", "false")
    if kind == "number":
        numbers = pd.to_numeric(values, errors="coerce").dropna()
        middle = float(f"{float(numbers.median()):.2g}") if len(numbers) else 0.0  # a round one
        picks = [numbers.min(), middle, numbers.max()] if len(numbers) else []
        return tuple(dict.fromkeys(literal_text(round(float(v), 2)) for v in picks))
    common = values.astype(str).value_counts(sort=True).head(5).index.tolist()
    return tuple(literal_text(str(v)) for v in common)


def rule_fields(accounts: pd.DataFrame) -> list[RuleField]:
    """The accounts' columns a rule may read (every one but the geometry), in table order."""
    out = []
    for column in accounts.columns:
        if column == s.GEOMETRY:
            continue
        values = accounts[column]
        kind = _kind(values)
        out.append(
            RuleField(
                field_text(str(column)),
                kind,
                _examples(values, kind),
                int(values.isna().sum()),
                int(values.nunique(dropna=True)),
                int(values.notna().sum()),
            )
        )
    return out


def rule_examples(fields: list[RuleField]) -> list[tuple[str, str]]:
    """Example rules written with the data's own fields and values, each with what it means.

    They show comparisons, ``AND``, ``OR``, ``NOT``, ``in`` and ``is null``;
    fields with one value per account (ids, names) are not used.
    """
    texts = [f for f in fields if f.kind == "text" and f.groups]
    numbers = [f for f in fields if f.kind == "number" and len(f.examples) > 1]
    out: list[tuple[str, str]] = []
    if texts:
        t = texts[0]
        one = t.examples[0]
        out.append((f"{t.name} == {one}", f"{t.name} is {one}"))
        if len(t.examples) > 1:
            two = t.examples[1]
            out.append((f"{t.name} == {one} OR {t.name} == {two}", "either value"))
            out.append((f"{t.name} in [{one}, {two}]", "the same, as a list"))
        out.append((f"NOT {t.name} == {one}", f"every other {t.name}, and accounts without one"))
    if numbers:
        n = numbers[0]
        middle = n.examples[1] if len(n.examples) > 2 else n.examples[-1]
        out.append((f"{n.name} >= {middle}", f"{n.name} at least {middle}"))
        if texts:
            t = texts[0]
            both = f"{t.name} == {t.examples[0]} AND {n.name} >= {middle}"
            out.append((both, "both at once"))
            out.append(
                (f"({t.name} == {t.examples[0]} OR {n.name} >= {middle}) AND NOT {t.name} is null",
                 "parentheses group; NOT negates")
            )  # fmt: skip
    gaps = [f for f in fields if f.missing]
    if gaps:
        out.append((f"{gaps[0].name} is null", f"accounts without a {gaps[0].name}"))
    return out


# --------------------------------------------------------------------------- counting


def _inside_shapes(ws: Workspace, territories: pd.DataFrame, chain: list[str]) -> np.ndarray:
    """Per account, whether it lies inside (or on) every shape of the chain that has one."""
    accounts = ws.accounts
    keep = np.ones(len(accounts), dtype=bool)
    shapes = dict(zip(territories[s.TERRITORY_ID].astype(str), territories.geometry, strict=True))
    used = [shapes.get(t) for t in chain]
    used = [g for g in used if g is not None and not g.is_empty]
    if not used:
        return keep
    points = accounts.to_crs(territories.crs) if accounts.crs != territories.crs else accounts
    x, y = point_xy(points)
    keep &= ~(np.isnan(x) | np.isnan(y))
    for shape in used:
        shapely.prepare(shape)
        keep[keep] = shapely.intersects_xy(shape, x[keep], y[keep])
    return keep


def rule_candidates(ws: Workspace, scenario_id: str, territory_id: str) -> pd.DataFrame:
    """The accounts a territory could hold whatever its own rule says.

    Those inside its shape and the shape of every ancestor that has one
    (border included; every account when no territory of the chain has a
    shape) and matching every ancestor's rule, as the assignment sees them.

    Parameters
    ----------
    ws, scenario_id, territory_id
        The workspace, scenario and territory.

    Returns
    -------
    pandas.DataFrame
        Rows of ``ws.accounts`` (without the geometry column).

    Raises
    ------
    InputError
        If there is no such territory, or an ancestor's rule no longer fits
        the accounts' columns.
    """
    territories = ws.territories(scenario_id)
    row_of(territories, territory_id)
    tree = TerritoryTree.of(territories)
    chain = [territory_id, *tree.ancestors(territory_id)]
    keep = _inside_shapes(ws, territories, chain)
    accounts = pd.DataFrame(ws.accounts.drop(columns=s.GEOMETRY, errors="ignore"))
    for above in chain[1:]:
        text = rule_of(territories, above)
        if text is not None:
            keep &= _parse(ws, above, text).evaluate(accounts)
    return accounts[keep]


def count_matches(
    ws: Workspace,
    scenario_id: str,
    territory_id: str,
    text: str,
    *,
    candidates: pd.DataFrame | None = None,
) -> RuleCount:
    """Count the accounts ``text`` would give the territory, as the user types it.

    Parameters
    ----------
    ws, scenario_id, territory_id
        The workspace, scenario and territory.
    text
        A rule; empty counts every candidate.
    candidates
        :func:`rule_candidates` of the territory, when the caller keeps them
        between keystrokes.

    Returns
    -------
    RuleCount

    Raises
    ------
    RuleError
        If ``text`` does not parse or does not fit the accounts' columns:
        the message names the position and the fix.
    """
    pool = rule_candidates(ws, scenario_id, territory_id) if candidates is None else candidates
    if not text.strip():
        ids = pool[s.ACCOUNT_ID].astype(str)
    else:
        rule = _parse(ws, territory_id, text)
        ids = pool[s.ACCOUNT_ID].astype(str)[rule.evaluate(pool)]
    return RuleCount(territory_id, len(ids), len(pool), tuple(heapq.nsmallest(10, ids.tolist())))


# --------------------------------------------------------------------------- the chain


def rule_chain(territories: pd.DataFrame, territory_id: str) -> pd.DataFrame:
    """The rules that apply to a territory and the territories that inherit its rule.

    Returns
    -------
    pandas.DataFrame
        One row per territory from the root down to ``territory_id`` and then
        every territory below it (depth first): ``territory_id``, ``name``,
        ``depth``, ``relation`` (``above``, ``this``, ``below``), ``rule``
        (its own, or ``None``) and ``applies`` (every rule of its path
        joined with ``and``: what an account must match to be in it).

    Raises
    ------
    InputError
        If there is no such territory.
    """
    row_of(territories, territory_id)
    tree = TerritoryTree.of(territories)
    own = {t: rule_of(territories, t) for t in tree.ids}
    above = tree.path(territory_id)
    below = tree.descendants(territory_id)
    ids = [*above, *below]
    applies = []
    for tid in ids:
        rules = [str(own[t]) for t in tree.path(tid) if own.get(t)]
        applies.append(" and ".join(f"({r})" if len(rules) > 1 else r for r in rules) or None)
    columns: dict[str, list[Any]] = {
        s.TERRITORY_ID: list(ids),
        s.NAME: [tree.names.get(t, t) for t in ids],
        "depth": [tree.depth(t) for t in ids],
        "relation": [
            "this" if t == territory_id else "above" if t in above else "below" for t in ids
        ],
        s.RULE: [own[t] for t in ids],
        "applies": applies,
    }
    return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()}).astype(
        {"depth": "int64"}
    )


# --------------------------------------------------------------------------- editing


def set_rule(
    ws: Workspace,
    scenario_id: str,
    territory_id: str,
    text: str | None,
    *,
    user: str | None = None,
    scope: AccessScope | None = None,
) -> EditOutcome:
    """Give a territory a rule (an empty text clears it); then re-assign the accounts.

    The rule is parsed against the accounts' columns first; the territory's
    descendants inherit it. Call ``ws.commit`` to record the change.

    Parameters
    ----------
    ws, scenario_id, territory_id
        The workspace (changed in memory), scenario and territory.
    text
        The rule, e.g. ``industry == "Healthcare" and annual_revenue >= 1e6``.
    user
        Who sets it (kept in the audit entry and on the memberships).
    scope
        The user's rights: the territory must be one they may edit
        (``None``: no check, for scripts with full rights).

    Raises
    ------
    RuleError
        If the rule does not parse or names an unknown field (an
        :class:`~planner.errors.InputError` whose problem names the position
        and the fix); nothing is changed.
    InputError
        If there is no such territory.
    planner.access.AccessDeniedError
        If ``scope`` may not edit the territory.
    """
    territories = ws.territories(scenario_id)
    row_of(territories, territory_id)
    if scope is not None:
        require_edit_rights(scope, territory_id)
    clean = (text or "").strip()
    if not clean:
        return _store(ws, scenario_id, territory_id, None, [], user)
    _parse(ws, territory_id, clean)
    count = count_matches(ws, scenario_id, territory_id, clean)
    notes = []
    if count.matched == 0:
        notes.append(
            f"The rule matches none of the {count.candidates:,} accounts {territory_id} could "
            "hold: it will take no accounts"
        )
    below = TerritoryTree.of(territories).descendants(territory_id)
    if below:
        notes.append(
            f"{len(below)} territories below {territory_id} inherit the rule: they only get "
            "accounts that match it"
        )
    return _store(ws, scenario_id, territory_id, clean, notes, user)


def clear_rule(
    ws: Workspace,
    scenario_id: str,
    territory_id: str,
    *,
    user: str | None = None,
    scope: AccessScope | None = None,
) -> EditOutcome:
    """Remove a territory's rule; then re-assign the accounts (see :func:`set_rule`)."""
    return set_rule(ws, scenario_id, territory_id, None, user=user, scope=scope)


def _store(
    ws: Workspace,
    scenario_id: str,
    territory_id: str,
    text: str | None,
    notes: list[str],
    user: str | None,
) -> EditOutcome:
    """Write the rule, log it and re-assign, all or nothing."""
    territories = ws.territories(scenario_id)
    pos = row_of(territories, territory_id)
    old = rule_of(territories, territory_id)
    new = territories.copy()
    new.iloc[pos, new.columns.get_loc(s.RULE)] = text
    with all_or_nothing(ws):
        ws.set_rows("territories", scenario_id, new)
        ws.log(
            "territory.rule",
            {"territory_id": territory_id, "rule": text, "was": old},
            user=user,
            scenario_id=scenario_id,
        )
        if text is None:
            message = f"Cleared the rule of {territory_id}."
        else:
            message = f"Set the rule of {territory_id} to: {text}"
        return finish(ws, scenario_id, message, notes, user=user)
