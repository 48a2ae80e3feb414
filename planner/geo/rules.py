"""Attribute rules a manager can type, e.g. ``industry == "Healthcare" and annual_revenue >= 1e6``.

The language, in full::

    rule       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | atom
    atom       := "(" rule ")"
                | field ("==" | "=" | "!=" | "<" | "<=" | ">" | ">=") literal
                | literal ("==" | ...) field
                | field ["not"] "in" "[" literal ("," literal)* "]"
                | field "is" ["not"] "null"
                | field                      (true when the value is true / non-zero)
    literal    := "text" | 'text' | number | true | false | null
    field      := name | `name with spaces`

Keywords are case-insensitive; numbers may use ``_`` between digits
(``1_000_000``) and exponents (``1e6``). Text comparisons are exact and
case-sensitive. A comparison with a missing value is false, and ``not``
flips the result, so ``not industry == "Healthcare"`` holds for accounts
without an industry (use ``industry is not null and ...`` to exclude them).

Rules are parsed with a lark grammar (:mod:`planner.geo.rule_syntax`) into a
small tree and evaluated column-wise over a DataFrame; nothing is ever passed
to ``eval``. Errors name the position (1-based character), what was
expected, and for an unknown field the known ones. Rules are at most 10,000
characters, nest at most 50 levels and hold numbers up to 1e18 in size.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner.errors import InputError, Problem, RuleError, format_ids
from planner.geo.rule_syntax import (
    COMPARISONS,
    KEYWORDS,
    And,
    Atom,
    Compare,
    InList,
    IsNull,
    Node,
    Not,
    Or,
    Truthy,
    Value,
    literal_text,
    parse_tree,
)
from planner.schema import is_missing

__all__ = [
    "COMPARISONS",
    "KEYWORDS",
    "Rule",
    "RuleError",
    "column_kind",
    "parse_rule",
    "parse_rules",
]


def _value_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return "missing"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v)


# --------------------------------------------------------------------------- rule


def _atoms(node: Node) -> list[Atom]:
    if isinstance(node, (And, Or)):
        return [a for item in node.items for a in _atoms(item)]
    if isinstance(node, Not):
        return _atoms(node.inner)
    return [node]


def column_kind(series: pd.Series) -> Literal["number", "bool", "text", "other"]:
    """What a column holds as rules read it (object columns judged by their first values)."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):  # repeated text read compactly: judge its values
        return column_kind(pd.Series(dtype.categories))
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        values = series.dropna()
        if len(values) and all(isinstance(v, bool | np.bool_) for v in values.head(50)):
            return "bool"
        if len(values) and all(
            isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
            for v in values.head(50)
        ):
            return "number"
        return "text"
    return "other"


@dataclass(frozen=True)
class Rule:
    """A parsed rule: evaluate it over accounts, or explain it for one account.

    Build it with :func:`parse_rule`.

    Parameters
    ----------
    text
        The rule as typed.
    tree
        The parsed tree.
    """

    text: str
    tree: Node

    def __str__(self) -> str:
        return str(self.tree)

    @property
    def fields(self) -> frozenset[str]:
        """The fields the rule reads."""
        return frozenset(a.field for a in _atoms(self.tree))

    def evaluate(self, frame: pd.DataFrame) -> NDArray[np.bool_]:
        """Return, per row of ``frame``, whether the rule holds.

        Parameters
        ----------
        frame
            Accounts with every field the rule reads.

        Raises
        ------
        RuleError
            If a field is missing from ``frame``.
        """
        self.check_fields(frame)
        cache: dict[str, pd.Series] = {}
        return _eval(self.tree, frame, cache)

    def check_fields(
        self, frame: pd.DataFrame | Iterable[str], *, label: str | None = None
    ) -> None:
        """Raise a :class:`RuleError` naming the first unknown field and the known ones.

        When ``frame`` is a DataFrame, the types are checked too: a number
        compared with text, or text with a number.
        """
        columns = list(frame.columns) if isinstance(frame, pd.DataFrame) else list(frame)
        known = [str(c) for c in columns if str(c) != "geometry"]
        for atom in sorted(_atoms(self.tree), key=lambda a: a.pos):
            if atom.field not in known:
                same_case = [k for k in known if k.lower() == atom.field.lower()]
                close = same_case or difflib.get_close_matches(atom.field, known, n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                raise RuleError(
                    f"unknown field {atom.field!r} at position {atom.pos + 1}",
                    rule=self.text,
                    position=atom.pos + 1,
                    fix=f"{hint}known fields: {', '.join(sorted(known))}",
                    label=label,
                )
            if isinstance(frame, pd.DataFrame):
                self._check_type(atom, frame[atom.field], label)

    def _check_type(self, atom: Atom, column: pd.Series, label: str | None) -> None:
        if isinstance(atom, Compare):
            values: tuple[Value, ...] = (atom.value,)
        elif isinstance(atom, InList):
            values = atom.values
        else:
            return
        kind = column_kind(column)
        for v in values:
            if v is None:
                if isinstance(atom, Compare):
                    raise RuleError(
                        f"{atom.field} {atom.op} null at position {atom.pos + 1} compares with "
                        "a missing value",
                        rule=self.text,
                        position=atom.pos + 1,
                        fix=f"write '{atom.field} is null' or '{atom.field} is not null'",
                        label=label,
                    )
                continue
            if kind == "number" and isinstance(v, str):
                raise RuleError(
                    f"field {atom.field!r} at position {atom.pos + 1} holds numbers but is "
                    f"compared with the text {literal_text(v)}",
                    rule=self.text,
                    position=atom.pos + 1,
                    fix="compare it with a number without quotes",
                    label=label,
                )
            if kind == "text" and isinstance(v, (int, float)) and not isinstance(v, bool):
                raise RuleError(
                    f"field {atom.field!r} at position {atom.pos + 1} holds text but is "
                    f"compared with the number {literal_text(v)}",
                    rule=self.text,
                    position=atom.pos + 1,
                    fix=f'put the value in quotes: "{literal_text(v)}"',
                    label=label,
                )
        if (
            isinstance(atom, Compare)
            and atom.op in ("<", "<=", ">", ">=")
            and isinstance(atom.value, bool)
        ):
            raise RuleError(
                f"{atom.op} at position {atom.pos + 1} cannot order true/false",
                rule=self.text,
                position=atom.pos + 1,
                fix="use == or != with true or false",
                label=label,
            )

    def explain(self, values: Mapping[str, Any]) -> str | None:
        """Say why the rule fails for one account, or return ``None`` if it holds.

        Parameters
        ----------
        values
            The account's field values (a row as a mapping).

        Returns
        -------
        str or None
            For example ``annual_revenue >= 1000000 (value 52000)``; several
            failing conditions are joined with ``; ``.
        """
        ok, reasons = _explain(self.tree, values)
        return None if ok else "; ".join(reasons)


def parse_rule(
    text: str,
    *,
    fields: pd.DataFrame | Iterable[str] | None = None,
    label: str | None = None,
) -> Rule:
    """Parse a rule and check it against the account columns.

    Parameters
    ----------
    text
        The rule, e.g. ``industry == "Healthcare" and annual_revenue >= 1000000``.
    fields
        The accounts frame (names and types are checked) or the column names
        (names only); ``None`` skips the check.
    label
        What the rule belongs to, for messages (``territory T3``).

    Returns
    -------
    Rule

    Raises
    ------
    RuleError
        Naming the position, what was expected and, for an unknown field,
        the known fields.
    """
    rule = Rule(text, parse_tree(text, label))
    if fields is not None:
        rule.check_fields(fields, label=label)
    return rule


def parse_rules(
    rules: Mapping[str, str | None],
    *,
    fields: pd.DataFrame | Iterable[str] | None = None,
    what: str = "territory",
) -> dict[str, Rule]:
    """Parse several rules, collecting every problem into one error.

    Parameters
    ----------
    rules
        Owner id (a territory id) to rule text; empty or missing texts are
        skipped.
    fields
        See :func:`parse_rule`.
    what
        What owns the rules, for messages.

    Returns
    -------
    dict
        Owner id to :class:`Rule`, for the non-empty rules.

    Raises
    ------
    InputError
        Listing every rule that does not parse or names an unknown field.
    """
    parsed: dict[str, Rule] = {}
    problems: list[Problem] = []
    bad: list[str] = []
    for owner, text in rules.items():
        if text is None or is_missing(text) or not str(text).strip():
            continue
        try:
            parsed[str(owner)] = parse_rule(str(text), fields=fields, label=f"{what} {owner}")
        except RuleError as exc:
            problems.extend(exc.problems)
            bad.append(str(owner))
    if problems:
        raise InputError(f"the rules of {what} {format_ids(bad)} cannot be used", problems)
    return parsed


# --------------------------------------------------------------------------- evaluation


def _text_values(col: pd.Series) -> pd.Series:
    return col.astype(object).where(col.notna(), None).map(lambda v: v if v is None else str(v))


def _compare_array(col: pd.Series, op: str, value: Value) -> NDArray[np.bool_]:
    missing = col.isna().to_numpy()
    target: Any = col
    if isinstance(value, str) and column_kind(col) != "text":
        target = _text_values(col)
    try:
        if op == "==":
            res = target == value
        elif op == "!=":
            res = target != value
        elif op == "<":
            res = target < value
        elif op == "<=":
            res = target <= value
        elif op == ">":
            res = target > value
        else:
            res = target >= value
        out = np.asarray(pd.Series(res).fillna(False).to_numpy(), dtype=bool)
    except TypeError:
        out = np.array([_compare_one(v, op, value) for v in col.tolist()], dtype=bool)
    return out & ~missing


def _compare_one(v: Any, op: str, value: Value) -> bool:
    if is_missing(v):
        return False
    try:
        if isinstance(value, str):
            v = str(v)
        if op == "==":
            return bool(v == value)
        if op == "!=":
            return bool(v != value)
        if op == "<":
            return bool(v < value)
        if op == "<=":
            return bool(v <= value)
        if op == ">":
            return bool(v > value)
        return bool(v >= value)
    except TypeError:
        return False


def _column(frame: pd.DataFrame, name: str, cache: dict[str, pd.Series]) -> pd.Series:
    if name not in cache:
        col = frame[name]
        if isinstance(col.dtype, pd.CategoricalDtype):  # compared as its values, not as categories
            col = col.astype(col.dtype.categories.dtype)
        cache[name] = col
    return cache[name]


def _eval(node: Node, frame: pd.DataFrame, cache: dict[str, pd.Series]) -> NDArray[np.bool_]:
    if isinstance(node, And):
        out = _eval(node.items[0], frame, cache)
        for item in node.items[1:]:
            out = out & _eval(item, frame, cache)
        return out
    if isinstance(node, Or):
        out = _eval(node.items[0], frame, cache)
        for item in node.items[1:]:
            out = out | _eval(item, frame, cache)
        return out
    if isinstance(node, Not):
        return ~_eval(node.inner, frame, cache)
    col = _column(frame, node.field, cache)
    if isinstance(node, IsNull):
        missing = col.isna().to_numpy()
        return ~missing if node.negate else missing
    if isinstance(node, Truthy):
        missing = col.isna().to_numpy()
        vals = col.where(~col.isna(), False)
        truth = (
            np.array([bool(v) for v in vals.tolist()], dtype=bool)
            if vals.dtype == object
            else vals.astype(bool).to_numpy()
        )
        return truth & ~missing
    if isinstance(node, InList):
        present = [v for v in node.values if v is not None]
        has_null = len(present) != len(node.values)
        missing = col.isna().to_numpy()
        if any(isinstance(v, str) for v in present) and column_kind(col) != "text":
            hit = _text_values(col).isin(present).to_numpy()
        else:
            hit = col.isin(present).to_numpy()
        hit = (hit & ~missing) | (missing & has_null)
        return ~hit if node.negate else hit
    return _compare_array(col, node.op, node.value)


def _explain(node: Node, values: Mapping[str, Any]) -> tuple[bool, list[str]]:
    """Evaluate ``node`` on one account; return the result and the reasons it failed."""
    if isinstance(node, And):
        reasons: list[str] = []
        ok = True
        for item in node.items:
            item_ok, why = _explain(item, values)
            if not item_ok:
                ok = False
                reasons.extend(why)
        return ok, reasons
    if isinstance(node, Or):
        reasons = []
        for item in node.items:
            item_ok, why = _explain(item, values)
            if item_ok:
                return True, []
            reasons.extend(why)
        return False, [f"none of: {' | '.join(reasons)}"]
    if isinstance(node, Not):
        inner_ok, _ = _explain(node.inner, values)
        if inner_ok:
            return False, [f"{node} ({_describe_values(node.inner, values)})"]
        return True, []
    frame = pd.DataFrame({node.field: pd.Series([values.get(node.field)], dtype=object)})
    cache: dict[str, pd.Series] = {}
    ok = bool(_eval(node, frame, cache)[0])
    return ok, [] if ok else [f"{node} (value {_value_text(values.get(node.field))})"]


def _describe_values(node: Node, values: Mapping[str, Any]) -> str:
    fields = sorted({a.field for a in _atoms(node)})
    return ", ".join(f"{f} {_value_text(values.get(f))}" for f in fields)
