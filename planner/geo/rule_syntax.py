"""The rule language's grammar (lark, LALR) and its syntax tree.

:func:`parse_tree` turns a rule's text into a tree of small frozen nodes
(:class:`Compare`, :class:`InList`, :class:`IsNull`, :class:`Truthy`,
:class:`Not`, :class:`And`, :class:`Or`); :mod:`planner.geo.rules` evaluates
them column-wise. Every syntax error becomes a
:class:`~planner.errors.RuleError` naming the 1-based position, what was
expected there and the fix; the rule's length, nesting depth and number sizes
are bounded so no rule can exhaust the stack or overflow at evaluation.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeAlias

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedToken, VisitError

from planner.errors import RuleError
from planner.geo.rule_messages import (
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_NUMBER,
    OP_CLASS,
    RuleFail,
    character_error,
    check_depth,
    token_error,
    too_large,
)

__all__ = [
    "COMPARISONS",
    "KEYWORDS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NUMBER",
    "And",
    "Atom",
    "Compare",
    "InList",
    "IsNull",
    "Node",
    "Not",
    "Or",
    "Truthy",
    "Value",
    "field_text",
    "literal_text",
    "parse_tree",
]

#: The comparison operators (``=`` is accepted as ``==``).
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
#: The words of the language.
KEYWORDS = ("and", "or", "not", "in", "is", "null", "true", "false")
Value: TypeAlias = str | int | float | bool | None

_KEYWORD_RE = "|".join(KEYWORDS)

_GRAMMAR = rf"""
?start: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: NOT not_expr            -> negation
         | atom
?atom: LPAR or_expr RPAR
     | field OP value              -> compare
     | value OP field              -> compare_flipped
     | field IN list               -> member
     | field NOT IN list           -> non_member
     | field IS NULL               -> is_null
     | field IS NOT NULL           -> is_not_null
     | field                       -> truthy
list: LSQB value (COMMA value)* RSQB
?value: STRING | NUMBER | TRUE | FALSE | NULL
field: NAME | QUOTED_FIELD

_AND.3: /and\b/i
_OR.3: /or\b/i
NOT.3: /not\b/i
IN.3: /in\b/i
IS.3: /is\b/i
NULL.3: /null\b/i
TRUE.3: /true\b/i
FALSE.3: /false\b/i
OP.2: /(==|!=|<=|>=|<|>|=)(?![{OP_CLASS}])/
NUMBER: /-?(?:\d(?:_?\d)*(?:\.\d(?:_?\d)*)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d+)?(?![A-Za-z_.\d])/
STRING: /"(?:[^"\\]|\\.)*"/ | /'(?:[^'\\]|\\.)*'/
QUOTED_FIELD: /`[^`]*`/
NAME: /(?!(?:{_KEYWORD_RE})\b)[A-Za-z_][A-Za-z0-9_.]*/i
LPAR: "("
RPAR: ")"
LSQB: "["
RSQB: "]"
COMMA: ","
%ignore /\s+/
"""


@cache
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", lexer="basic", maybe_placeholders=False)


# --------------------------------------------------------------------------- tree


def literal_text(v: Value) -> str:
    """Write a value as the language writes it (``"text"``, ``1000000``, ``null``)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v)


def field_text(name: str) -> str:
    """Write a field name, in backticks when it is not a plain name."""
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name) and name.lower() not in KEYWORDS
    return name if plain else f"`{name}`"


@dataclass(frozen=True)
class Compare:
    """``field op value``; ``pos`` is the field's 0-based offset."""

    field: str
    op: str
    value: Value
    pos: int

    def __str__(self) -> str:
        return f"{field_text(self.field)} {self.op} {literal_text(self.value)}"


@dataclass(frozen=True)
class InList:
    """``field [not] in [values]``."""

    field: str
    values: tuple[Value, ...]
    negate: bool
    pos: int

    def __str__(self) -> str:
        items = ", ".join(literal_text(v) for v in self.values)
        return f"{field_text(self.field)} {'not in' if self.negate else 'in'} [{items}]"


@dataclass(frozen=True)
class IsNull:
    """``field is [not] null``."""

    field: str
    negate: bool
    pos: int

    def __str__(self) -> str:
        return f"{field_text(self.field)} is {'not null' if self.negate else 'null'}"


@dataclass(frozen=True)
class Truthy:
    """A field on its own: true when its value is true or non-zero."""

    field: str
    pos: int

    def __str__(self) -> str:
        return field_text(self.field)


@dataclass(frozen=True)
class Not:
    """``not inner``."""

    inner: Node

    def __str__(self) -> str:
        inner = str(self.inner)
        return f"not ({inner})" if isinstance(self.inner, (And, Or)) else f"not {inner}"


@dataclass(frozen=True)
class And:
    """Every item holds."""

    items: tuple[Node, ...]

    def __str__(self) -> str:
        return " and ".join(f"({i})" if isinstance(i, Or) else str(i) for i in self.items)


@dataclass(frozen=True)
class Or:
    """Some item holds."""

    items: tuple[Node, ...]

    def __str__(self) -> str:
        return " or ".join(str(i) for i in self.items)


Node: TypeAlias = Compare | InList | IsNull | Truthy | Not | And | Or
Atom: TypeAlias = Compare | InList | IsNull | Truthy

_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


# --------------------------------------------------------------------------- building


def _number(token: Token, fail: RuleFail) -> int | float:
    clean = str(token).replace("_", "")
    if re.fullmatch(r"-?\d+", clean):
        if len(clean.lstrip("-")) > 19 or abs(int(clean)) > MAX_NUMBER:
            raise too_large(token, fail)
        return int(clean)
    value = float(clean)
    if not math.isfinite(value) or abs(value) > MAX_NUMBER:
        raise too_large(token, fail)
    return value


def _unquote(token: Token) -> str:
    return re.sub(r"\\(.)", r"\1", str(token)[1:-1], flags=re.DOTALL)


@v_args(inline=True)
class _Build(Transformer[Token, Node]):
    """Turn lark's parse tree into the rule nodes."""

    def __init__(self, fail: RuleFail) -> None:
        super().__init__()
        self.fail = fail

    def STRING(self, token: Token) -> str:
        return _unquote(token)

    def NUMBER(self, token: Token) -> int | float:
        return _number(token, self.fail)

    def TRUE(self, token: Token) -> bool:
        return True

    def FALSE(self, token: Token) -> bool:
        return False

    def field(self, token: Token) -> tuple[str, int]:
        name = str(token)
        if token.type == "QUOTED_FIELD":
            name = name[1:-1]
        return name, int(token.start_pos or 0)

    def list(self, *items: Any) -> tuple[Value, ...]:
        return tuple(_value(i) for i in items if not _is_punct(i))

    def compare(self, field: tuple[str, int], op: Token, value: Any) -> Compare:
        return Compare(field[0], _op(op), _value(value), field[1])

    def compare_flipped(self, value: Any, op: Token, field: tuple[str, int]) -> Compare:
        return Compare(field[0], _FLIP[_op(op)], _value(value), field[1])

    def member(self, field: tuple[str, int], _in: Token, values: tuple[Value, ...]) -> InList:
        return InList(field[0], values, False, field[1])

    def non_member(
        self, field: tuple[str, int], _not: Token, _in: Token, values: tuple[Value, ...]
    ) -> InList:
        return InList(field[0], values, True, field[1])

    def is_null(self, field: tuple[str, int], *_: Token) -> IsNull:
        return IsNull(field[0], False, field[1])

    def is_not_null(self, field: tuple[str, int], *_: Token) -> IsNull:
        return IsNull(field[0], True, field[1])

    def truthy(self, field: tuple[str, int]) -> Truthy:
        return Truthy(field[0], field[1])

    def negation(self, _not: Token, inner: Node) -> Not:
        return Not(inner)

    def atom(self, _lpar: Token, inner: Node, _rpar: Token) -> Node:
        return inner

    def and_expr(self, *items: Node) -> And:
        return And(tuple(items))

    def or_expr(self, *items: Node) -> Or:
        return Or(tuple(items))


def _is_punct(item: Any) -> bool:
    return isinstance(item, Token) and item.type in {"LSQB", "RSQB", "COMMA"}


def _value(item: Any) -> Value:
    if isinstance(item, Token):  # NULL stays a token
        return None
    return item


def _op(token: Token) -> str:
    return "==" if str(token) == "=" else str(token)


# --------------------------------------------------------------------------- parsing


def parse_tree(text: str, label: str | None = None) -> Node:
    """Parse a rule's text into its tree.

    Parameters
    ----------
    text
        The rule.
    label
        What the rule belongs to, for messages (``territory T3``).

    Raises
    ------
    RuleError
        For any syntax error, a rule too long or too deeply nested, or a
        number too large; naming the position and the fix.
    """

    fail = RuleFail(text, label)
    if not text.strip():
        raise fail("the rule is empty", 0, 'write a condition such as industry == "Healthcare"')
    if len(text) > MAX_LENGTH:
        raise fail(
            f"the rule is {len(text):,} characters long, more than {MAX_LENGTH:,}",
            MAX_LENGTH,
            "split it: give sub-territories their own rules",
        )
    check_depth(text, fail)
    parser = _parser()
    try:
        tree = parser.parse(text)
        node: Node = _Build(fail).transform(tree)
    except UnexpectedCharacters as exc:
        raise character_error(text, exc.pos_in_stream or 0, fail) from None
    except UnexpectedToken as exc:
        raise token_error(text, exc, fail) from None
    except VisitError as exc:  # lark wraps the transformer's errors
        if isinstance(exc.orig_exc, RuleError):
            raise exc.orig_exc from None
        raise fail(f"the rule cannot be read ({exc})", 0, "check the rule's syntax") from None
    except LarkError as exc:
        raise fail(f"the rule cannot be read ({exc})", 0, "check the rule's syntax") from None
    return node
