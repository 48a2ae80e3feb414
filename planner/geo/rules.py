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

Rules are parsed by a tokenizer and a recursive-descent parser into a small
tree and evaluated column-wise over a DataFrame; nothing is ever passed to
``eval``. Errors name the position (1-based character), what was expected,
and for an unknown field the known ones.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner.errors import InputError, Problem, format_ids

__all__ = [
    "COMPARISONS",
    "KEYWORDS",
    "Rule",
    "RuleError",
    "parse_rule",
    "parse_rules",
]

#: The comparison operators (``=`` is accepted as ``==``).
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
#: The words of the language.
KEYWORDS = ("and", "or", "not", "in", "is", "null", "true", "false")
_KNOWN_OPERATORS = "==, !=, <, <=, >, >=, in, not in, is null, is not null, and, or, not"
_HINTS = {
    "=>": ">=",
    "=<": "<=",
    "<>": "!=",
    "&&": "and",
    "&": "and",
    "||": "or",
    "|": "or",
    "!": "not",
    "===": "==",
    "≥": ">=",
    "≤": "<=",
    "≠": "!=",
}

Value: TypeAlias = str | int | float | bool | None


class RuleError(InputError):
    """A rule cannot be parsed, or names a field the accounts do not have.

    Parameters
    ----------
    message
        What is wrong, naming the position.
    rule
        The rule's text.
    position
        1-based character position of the problem.
    fix
        What to do.
    label
        What the rule belongs to (e.g. ``territory T3``), for messages.
    """

    def __init__(
        self, message: str, *, rule: str, position: int, fix: str = "", label: str | None = None
    ) -> None:
        self.rule = rule
        self.position = position
        where = f"{label}: " if label else ""
        pointer = _pointer(rule, position)
        problem = Problem(f"{where}{message} in rule {rule!r}{pointer}", fix=fix)
        super().__init__(f"{where}{message}", [problem], source=None)


def _pointer(rule: str, position: int) -> str:
    start = max(0, position - 1 - 12)
    snippet = rule[start : position - 1 + 12]
    return f" (near {snippet!r})" if snippet.strip() else ""


# --------------------------------------------------------------------------- tokens

TokenKind = Literal["name", "field", "string", "number", "op", "punct", "keyword", "end"]


@dataclass(frozen=True)
class _Token:
    kind: TokenKind
    text: str
    value: Any
    pos: int  # 0-based offset


_NUMBER = re.compile(r"(?:\d(?:_?\d)*)?(?:\.\d(?:_?\d)*)?(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_OPCHARS = set("=!<>~&|^%*/+≥≤≠")


def _tokenize(text: str, label: str | None) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "\"'":
            j = i + 1
            buf = []
            while j < n and text[j] != ch:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(text[j])
                j += 1
            if j >= n:
                raise RuleError(
                    f"text starting at position {i + 1} has no closing {ch}",
                    rule=text,
                    position=i + 1,
                    fix=f"end the text with {ch}",
                    label=label,
                )
            tokens.append(_Token("string", text[i : j + 1], "".join(buf), i))
            i = j + 1
            continue
        if ch == "`":
            j = text.find("`", i + 1)
            if j < 0:
                raise RuleError(
                    f"field name starting at position {i + 1} has no closing `",
                    rule=text,
                    position=i + 1,
                    fix="end the field name with `",
                    label=label,
                )
            tokens.append(_Token("field", text[i : j + 1], text[i + 1 : j], i))
            i = j + 1
            continue
        if ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit()):
            m = _NUMBER.match(text, i)
            assert m is not None
            raw = m.group(0)
            end = m.end()
            if end < n and (text[end].isalpha() or text[end] == "_"):
                tail_match = _NAME.match(text, end)
                tail = tail_match.group(0) if tail_match else text[end]
                raise RuleError(
                    f"'{raw}{tail}' at position {i + 1} is not a number",
                    rule=text,
                    position=i + 1,
                    fix="write numbers in full digits (1000000 or 1e6), or quote text",
                    label=label,
                )
            clean = raw.replace("_", "")
            value: int | float = int(clean) if re.fullmatch(r"\d+", clean) else float(clean)
            tokens.append(_Token("number", raw, value, i))
            i = end
            continue
        if ch.isalpha() or ch == "_":
            m = _NAME.match(text, i)
            assert m is not None
            word = m.group(0)
            low = word.lower()
            if low in KEYWORDS:
                tokens.append(_Token("keyword", word, low, i))
            else:
                tokens.append(_Token("name", word, word, i))
            i = m.end()
            continue
        if ch in "()[],":
            tokens.append(_Token("punct", ch, ch, i))
            i += 1
            continue
        if ch == "-" and i + 1 < n and (text[i + 1].isdigit() or text[i + 1] == "."):
            m = _NUMBER.match(text, i + 1)
            assert m is not None
            raw = m.group(0)
            clean = raw.replace("_", "")
            neg: int | float = -(int(clean) if re.fullmatch(r"\d+", clean) else float(clean))
            tokens.append(_Token("number", "-" + raw, neg, i))
            i = m.end()
            continue
        if ch in _OPCHARS or ch == "-":
            j = i
            while j < n and (text[j] in _OPCHARS or text[j] == "-"):
                j += 1
            op = text[i:j]
            if op in COMPARISONS:
                tokens.append(_Token("op", op, op, i))
            elif op == "=":
                tokens.append(_Token("op", op, "==", i))
            else:
                hint = _HINTS.get(op)
                fix = f"write {hint!r} instead" if hint else f"use one of: {_KNOWN_OPERATORS}"
                raise RuleError(
                    f"unknown operator {op!r} at position {i + 1}",
                    rule=text,
                    position=i + 1,
                    fix=fix,
                    label=label,
                )
            i = j
            continue
        raise RuleError(
            f"unexpected character {ch!r} at position {i + 1}",
            rule=text,
            position=i + 1,
            fix=f"use field names, quoted text, numbers and the operators {_KNOWN_OPERATORS}",
            label=label,
        )
    tokens.append(_Token("end", "", None, n))
    return tokens


# --------------------------------------------------------------------------- tree


def _literal_text(v: Value) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v)


def _field_text(name: str) -> str:
    return (
        name
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name) and name.lower() not in KEYWORDS
        else f"`{name}`"
    )


def _value_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return "missing"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v)


def _is_missing(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class _Compare:
    field: str
    op: str
    value: Value
    pos: int

    def __str__(self) -> str:
        return f"{_field_text(self.field)} {self.op} {_literal_text(self.value)}"


@dataclass(frozen=True)
class _In:
    field: str
    values: tuple[Value, ...]
    negate: bool
    pos: int

    def __str__(self) -> str:
        items = ", ".join(_literal_text(v) for v in self.values)
        return f"{_field_text(self.field)} {'not in' if self.negate else 'in'} [{items}]"


@dataclass(frozen=True)
class _IsNull:
    field: str
    negate: bool
    pos: int

    def __str__(self) -> str:
        return f"{_field_text(self.field)} is {'not null' if self.negate else 'null'}"


@dataclass(frozen=True)
class _Truthy:
    field: str
    pos: int

    def __str__(self) -> str:
        return _field_text(self.field)


@dataclass(frozen=True)
class _Not:
    inner: _Node

    def __str__(self) -> str:
        inner = str(self.inner)
        return f"not ({inner})" if isinstance(self.inner, (_And, _Or)) else f"not {inner}"


@dataclass(frozen=True)
class _And:
    items: tuple[_Node, ...]

    def __str__(self) -> str:
        return " and ".join(f"({i})" if isinstance(i, _Or) else str(i) for i in self.items)


@dataclass(frozen=True)
class _Or:
    items: tuple[_Node, ...]

    def __str__(self) -> str:
        return " or ".join(str(i) for i in self.items)


_Node: TypeAlias = _Compare | _In | _IsNull | _Truthy | _Not | _And | _Or
_Atom: TypeAlias = _Compare | _In | _IsNull | _Truthy


# --------------------------------------------------------------------------- parser


_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


class _Parser:
    def __init__(self, text: str, label: str | None) -> None:
        self.text = text
        self.label = label
        self.tokens = _tokenize(text, label)
        self.i = 0

    def error(self, message: str, token: _Token, fix: str) -> RuleError:
        return RuleError(message, rule=self.text, position=token.pos + 1, fix=fix, label=self.label)

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def at_keyword(self, *words: str) -> bool:
        return self.tok.kind == "keyword" and self.tok.value in words

    def at_punct(self, ch: str) -> bool:
        return self.tok.kind == "punct" and self.tok.value == ch

    def describe(self, t: _Token) -> str:
        return "the end of the rule" if t.kind == "end" else f"{t.text!r} at position {t.pos + 1}"

    def parse(self) -> _Node:
        if self.tok.kind == "end":
            raise self.error(
                "the rule is empty", self.tok, 'write a condition such as industry == "Healthcare"'
            )
        node = self.or_expr()
        if self.tok.kind != "end":
            raise self.error(
                f"unexpected {self.describe(self.tok)}",
                self.tok,
                "join conditions with 'and' or 'or'",
            )
        return node

    def or_expr(self) -> _Node:
        items = [self.and_expr()]
        while self.at_keyword("or"):
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else _Or(tuple(items))

    def and_expr(self) -> _Node:
        items = [self.not_expr()]
        while self.at_keyword("and"):
            self.take()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else _And(tuple(items))

    def not_expr(self) -> _Node:
        if self.at_keyword("not"):
            self.take()
            return _Not(self.not_expr())
        return self.atom()

    def literal(self) -> Value:
        t = self.tok
        if t.kind in ("string", "number"):
            self.take()
            value: Value = t.value
            return value
        if t.kind == "keyword" and t.value in ("true", "false", "null"):
            self.take()
            return {"true": True, "false": False, "null": None}[t.value]
        fix = 'quote text values, e.g. "Healthcare"'
        if t.kind == "name":
            fix = f'put text in quotes: "{t.text}"'
        raise self.error(f"expected a value but found {self.describe(t)}", t, fix)

    def atom(self) -> _Node:
        t = self.tok
        if self.at_punct("("):
            self.take()
            node = self.or_expr()
            if not self.at_punct(")"):
                raise self.error(
                    f"expected ')' to close the '(' at position {t.pos + 1} but found "
                    f"{self.describe(self.tok)}",
                    self.tok,
                    "add the missing ')'",
                )
            self.take()
            return node
        if t.kind in ("string", "number") or (
            t.kind == "keyword" and t.value in ("true", "false", "null")
        ):
            value = self.literal()
            op = self.tok
            if op.kind != "op":
                raise self.error(
                    f"expected a comparison after the value at position {t.pos + 1} but found "
                    f"{self.describe(op)}",
                    op,
                    "write field == value",
                )
            self.take()
            field_tok = self.tok
            if field_tok.kind not in ("name", "field"):
                raise self.error(
                    f"expected a field name but found {self.describe(field_tok)}",
                    field_tok,
                    "compare a field with a value",
                )
            self.take()
            return _Compare(str(field_tok.value), _FLIP[op.value], value, field_tok.pos)
        if t.kind not in ("name", "field"):
            raise self.error(
                f"expected a field name, 'not' or '(' but found {self.describe(t)}",
                t,
                'start a condition with a field, e.g. industry == "Healthcare"',
            )
        self.take()
        field = str(t.value)
        nxt = self.tok
        if nxt.kind == "op":
            self.take()
            value = self.literal()
            return _Compare(field, nxt.value, value, t.pos)
        if self.at_keyword("in") or (
            self.at_keyword("not")
            and self.tokens[self.i + 1].kind == "keyword"
            and self.tokens[self.i + 1].value == "in"
        ):
            negate = self.take().value == "not"
            if negate:
                self.take()
            return _In(field, self.value_list(), negate, t.pos)
        if self.at_keyword("is"):
            self.take()
            negate = False
            if self.at_keyword("not"):
                self.take()
                negate = True
            if not self.at_keyword("null"):
                raise self.error(
                    f"expected 'null' after 'is' but found {self.describe(self.tok)}",
                    self.tok,
                    "write 'is null' or 'is not null'; compare values with ==",
                )
            self.take()
            return _IsNull(field, negate, t.pos)
        if (
            nxt.kind in ("end",)
            or (nxt.kind == "keyword" and nxt.value in ("and", "or"))
            or (nxt.kind == "punct" and nxt.value == ")")
        ):
            return _Truthy(field, t.pos)
        raise self.error(
            f"expected an operator after {field!r} but found {self.describe(nxt)}",
            nxt,
            f"use one of: {_KNOWN_OPERATORS}",
        )

    def value_list(self) -> tuple[Value, ...]:
        start = self.tok
        if not self.at_punct("["):
            raise self.error(
                f"expected '[' after 'in' but found {self.describe(start)}",
                start,
                'list the values in brackets: product_line in ["A", "B"]',
            )
        self.take()
        values: list[Value] = []
        if self.at_punct("]"):
            raise self.error("the list is empty", self.tok, "list at least one value")
        while True:
            values.append(self.literal())
            if self.at_punct(","):
                self.take()
                continue
            if self.at_punct("]"):
                self.take()
                return tuple(values)
            raise self.error(
                f"expected ',' or ']' in the list but found {self.describe(self.tok)}",
                self.tok,
                "separate values with commas and close the list with ]",
            )


# --------------------------------------------------------------------------- rule


def _atoms(node: _Node) -> list[_Atom]:
    if isinstance(node, (_And, _Or)):
        return [a for item in node.items for a in _atoms(item)]
    if isinstance(node, _Not):
        return _atoms(node.inner)
    return [node]


def _kind_of(series: pd.Series) -> Literal["number", "bool", "text", "other"]:
    dtype = series.dtype
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
    tree: _Node

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

    def _check_type(self, atom: _Atom, column: pd.Series, label: str | None) -> None:
        if isinstance(atom, _Compare):
            values: tuple[Value, ...] = (atom.value,)
        elif isinstance(atom, _In):
            values = atom.values
        else:
            return
        kind = _kind_of(column)
        for v in values:
            if v is None:
                if isinstance(atom, _Compare):
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
                    f"compared with the text {_literal_text(v)}",
                    rule=self.text,
                    position=atom.pos + 1,
                    fix="compare it with a number without quotes",
                    label=label,
                )
            if kind == "text" and isinstance(v, (int, float)) and not isinstance(v, bool):
                raise RuleError(
                    f"field {atom.field!r} at position {atom.pos + 1} holds text but is "
                    f"compared with the number {_literal_text(v)}",
                    rule=self.text,
                    position=atom.pos + 1,
                    fix=f'put the value in quotes: "{_literal_text(v)}"',
                    label=label,
                )
        if (
            isinstance(atom, _Compare)
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
    rule = Rule(text, _Parser(text, label).parse())
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
        if text is None or _is_missing(text) or not str(text).strip():
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
    if isinstance(value, str) and _kind_of(col) != "text":
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
    if _is_missing(v):
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
        cache[name] = frame[name]
    return cache[name]


def _eval(node: _Node, frame: pd.DataFrame, cache: dict[str, pd.Series]) -> NDArray[np.bool_]:
    if isinstance(node, _And):
        out = _eval(node.items[0], frame, cache)
        for item in node.items[1:]:
            out = out & _eval(item, frame, cache)
        return out
    if isinstance(node, _Or):
        out = _eval(node.items[0], frame, cache)
        for item in node.items[1:]:
            out = out | _eval(item, frame, cache)
        return out
    if isinstance(node, _Not):
        return ~_eval(node.inner, frame, cache)
    col = _column(frame, node.field, cache)
    if isinstance(node, _IsNull):
        missing = col.isna().to_numpy()
        return ~missing if node.negate else missing
    if isinstance(node, _Truthy):
        missing = col.isna().to_numpy()
        vals = col.where(~col.isna(), False)
        truth = (
            np.array([bool(v) for v in vals.tolist()], dtype=bool)
            if vals.dtype == object
            else vals.astype(bool).to_numpy()
        )
        return truth & ~missing
    if isinstance(node, _In):
        present = [v for v in node.values if v is not None]
        has_null = len(present) != len(node.values)
        missing = col.isna().to_numpy()
        if any(isinstance(v, str) for v in present) and _kind_of(col) != "text":
            hit = _text_values(col).isin(present).to_numpy()
        else:
            hit = col.isin(present).to_numpy()
        hit = (hit & ~missing) | (missing & has_null)
        return ~hit if node.negate else hit
    return _compare_array(col, node.op, node.value)


def _explain(node: _Node, values: Mapping[str, Any]) -> tuple[bool, list[str]]:
    """Evaluate ``node`` on one account; return the result and the reasons it failed."""
    if isinstance(node, _And):
        reasons: list[str] = []
        ok = True
        for item in node.items:
            item_ok, why = _explain(item, values)
            if not item_ok:
                ok = False
                reasons.extend(why)
        return ok, reasons
    if isinstance(node, _Or):
        reasons = []
        for item in node.items:
            item_ok, why = _explain(item, values)
            if item_ok:
                return True, []
            reasons.extend(why)
        return False, [f"none of: {' | '.join(reasons)}"]
    if isinstance(node, _Not):
        inner_ok, _ = _explain(node.inner, values)
        if inner_ok:
            return False, [f"{node} ({_describe_values(node.inner, values)})"]
        return True, []
    frame = pd.DataFrame({node.field: pd.Series([values.get(node.field)], dtype=object)})
    cache: dict[str, pd.Series] = {}
    ok = bool(_eval(node, frame, cache)[0])
    return ok, [] if ok else [f"{node} (value {_value_text(values.get(node.field))})"]


def _describe_values(node: _Node, values: Mapping[str, Any]) -> str:
    fields = sorted({a.field for a in _atoms(node)})
    return ", ".join(f"{f} {_value_text(values.get(f))}" for f in fields)
