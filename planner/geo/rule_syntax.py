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
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from planner.errors import RuleError

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
#: Longest rule accepted, in characters.
MAX_LENGTH = 10_000
#: Deepest nesting of parentheses and ``not`` accepted.
MAX_DEPTH = 50
#: Largest number (in absolute value) a rule may hold; beyond it comparisons
#: with float columns lose meaning or overflow.
MAX_NUMBER = 1e18

Value: TypeAlias = str | int | float | bool | None

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
_OP_CHARS = r"=!<>~&|^%*/+≥≤≠"
_KEYWORD_RE = "|".join(KEYWORDS)
_OP_CLASS = re.escape(_OP_CHARS).replace("/", r"\/")

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
OP.2: /(==|!=|<=|>=|<|>|=)(?![{_OP_CLASS}])/
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


class _TooLarge(Exception):
    """A number beyond :data:`MAX_NUMBER`; carries its token."""

    def __init__(self, token: Token) -> None:
        super().__init__(str(token))
        self.token = token


def _number(token: Token) -> int | float:
    clean = str(token).replace("_", "")
    if re.fullmatch(r"-?\d+", clean):
        if len(clean.lstrip("-")) > 19:
            raise _TooLarge(token)
        whole = int(clean)
        if abs(whole) > MAX_NUMBER:
            raise _TooLarge(token)
        return whole
    value = float(clean)
    if not math.isfinite(value) or abs(value) > MAX_NUMBER:
        raise _TooLarge(token)
    return value


def _unquote(token: Token) -> str:
    return re.sub(r"\\(.)", r"\1", str(token)[1:-1], flags=re.DOTALL)


@v_args(inline=True)
class _Build(Transformer[Token, Node]):
    """Turn lark's parse tree into the rule nodes."""

    def STRING(self, token: Token) -> str:
        return _unquote(token)

    def NUMBER(self, token: Token) -> int | float:
        return _number(token)

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

    fail = _Fail(text, label)
    if not text.strip():
        raise fail("the rule is empty", 0, 'write a condition such as industry == "Healthcare"')
    if len(text) > MAX_LENGTH:
        raise fail(
            f"the rule is {len(text):,} characters long, more than {MAX_LENGTH:,}",
            MAX_LENGTH,
            "split it: give sub-territories their own rules",
        )
    _check_depth(text, fail)
    parser = _parser()
    try:
        tree = parser.parse(text)
        node: Node = _Build().transform(tree)
    except UnexpectedCharacters as exc:
        raise _character_error(text, exc.pos_in_stream or 0, fail) from None
    except UnexpectedToken as exc:
        raise _token_error(text, exc, fail) from None
    except _TooLarge as big:
        raise _too_large(big.token, fail) from None
    except (UnexpectedInput, LarkError) as exc:  # lark wraps errors from the transformer
        inner = getattr(exc, "orig_exc", None)
        if isinstance(inner, _TooLarge):
            raise _too_large(inner.token, fail) from None
        raise fail(f"the rule cannot be read ({exc})", 0, "check the rule's syntax") from None
    return node


@dataclass(frozen=True)
class _Fail:
    """Build the :class:`RuleError` of one rule from a message, an offset and a fix."""

    text: str
    label: str | None

    def __call__(self, message: str, pos: int, fix: str) -> RuleError:
        return RuleError(message, rule=self.text, position=pos + 1, fix=fix, label=self.label)


def _too_large(token: Token, fail: _Fail) -> RuleError:
    pos = int(token.start_pos or 0)
    shown = str(token) if len(str(token)) <= 20 else str(token)[:17] + "..."
    return fail(
        f"the number {shown} at position {pos + 1} is too large",
        pos,
        f"use numbers between -{MAX_NUMBER:.0e} and {MAX_NUMBER:.0e}",
    )


def _check_depth(text: str, fail: _Fail) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` before parsing (quoted text skipped).

    Parentheses and ``not`` (other than ``not in``) are what nest; ``and`` and
    ``or`` chains stay flat however long they are.
    """
    depth = 0
    negations = 0
    pattern = r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|`[^`]*`|[()]|\bnot\b(?!\s+in\b)"
    for m in re.finditer(pattern, text, re.IGNORECASE):
        token = m.group(0)
        if token == "(":
            depth += 1
        elif token == ")":
            depth = max(0, depth - 1)
        elif token.lower() == "not":
            negations += 1
        if depth > MAX_DEPTH or negations > MAX_DEPTH:
            raise fail(
                f"the rule nests more than {MAX_DEPTH} levels of parentheses or 'not'",
                m.start(),
                "simplify the rule: remove redundant parentheses and double negations",
            )


def _character_error(text: str, pos: int, fail: _Fail) -> RuleError:
    """A character no token starts with: an unclosed quote, a bad number, a stray symbol."""
    ch = text[pos]
    if ch in "\"'":
        return fail(
            f"text starting at position {pos + 1} has no closing {ch}",
            pos,
            f"end the text with {ch}",
        )
    if ch == "`":
        return fail(
            f"field name starting at position {pos + 1} has no closing `",
            pos,
            "end the field name with `",
        )
    if ch in _OP_CHARS:
        op = re.match(f"[{_OP_CLASS}]+", text[pos:])
        run = op.group(0) if op else ch
        hint = _HINTS.get(run)
        return fail(
            f"unknown operator {run!r} at position {pos + 1}",
            pos,
            f"write {hint!r} instead" if hint else f"use one of: {_KNOWN_OPERATORS}",
        )
    if ch.isdigit() or ch in ".-":
        word = re.match(r"-?[\w.]*", text[pos:])
        shown = word.group(0) if word and word.group(0) else ch
        return fail(
            f"'{shown}' at position {pos + 1} is not a number",
            pos,
            "write numbers in full digits (1000000 or 1e6), or quote text",
        )
    if ch.isalpha() and not ch.isascii():
        return fail(
            f"unexpected character {ch!r} at position {pos + 1}",
            pos,
            "plain field names use the letters A-Z, digits and _; put any other name in "
            "backticks, e.g. `Région`",
        )
    return fail(
        f"unexpected character {ch!r} at position {pos + 1}",
        pos,
        f"use field names, quoted text, numbers and the operators {_KNOWN_OPERATORS}",
    )


_VALUES = {"STRING", "NUMBER", "TRUE", "FALSE", "NULL"}


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "the end of the rule"
    return f"{str(token)!r} at position {int(token.start_pos or 0) + 1}"


def _token_error(text: str, exc: UnexpectedToken, fail: _Fail) -> RuleError:
    """A token in the wrong place: say what was expected there, in the language's words."""
    token: Token = exc.token
    pos = len(text) if token.type == "$END" else int(token.start_pos or 0)
    expected = {str(e).lstrip("_") for e in exc.expected}
    found = _describe(token)
    if expected == {"RPAR", "AND", "OR"} or expected == {"RPAR"}:
        opened = _open_paren(text, pos)
        return fail(
            f"expected ')' to close the '(' at position {opened + 1} but found {found}",
            pos,
            "add the missing ')'",
        )
    if "LSQB" in expected and len(expected) == 1:
        return fail(
            f"expected '[' after 'in' but found {found}",
            pos,
            'list the values in brackets: product_line in ["A", "B"]',
        )
    if expected <= {"COMMA", "RSQB"}:
        return fail(
            f"expected ',' or ']' in the list but found {found}",
            pos,
            "separate values with commas and close the list with ]",
        )
    if expected == {"NULL"} or expected == {"NULL", "NOT"}:
        return fail(
            f"expected 'null' after 'is' but found {found}",
            pos,
            "write 'is null' or 'is not null'; compare values with ==",
        )
    if expected <= _VALUES:
        if token.type == "RSQB":
            return fail("the list is empty", pos, "list at least one value")
        fix = 'quote text values, e.g. "Healthcare"'
        if token.type == "NAME":
            fix = f'put text in quotes: "{token}"'
        return fail(f"expected a value but found {found}", pos, fix)
    if expected == {"OP"}:
        return fail(
            f"expected a comparison after the value but found {found}", pos, "write field == value"
        )
    if expected <= {"NAME", "QUOTED_FIELD"}:
        return fail(f"expected a field name but found {found}", pos, "compare a field with a value")
    if "OP" in expected and "IN" in expected:
        return fail(
            f"expected an operator after the field but found {found}",
            pos,
            f"use one of: {_KNOWN_OPERATORS}",
        )
    if "NAME" in expected:
        return fail(
            f"expected a field name, 'not' or '(' but found {found}",
            pos,
            'start a condition with a field, e.g. industry == "Healthcare"',
        )
    return fail(f"unexpected {found}", pos, "join conditions with 'and' or 'or'")


def _open_paren(text: str, pos: int) -> int:
    """Return the offset of the last '(' still open before ``pos`` (strings skipped)."""
    stack: list[int] = []
    for m in re.finditer(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|`[^`]*`|[()]", text[:pos]):
        if m.group(0) == "(":
            stack.append(m.start())
        elif m.group(0) == ")" and stack:
            stack.pop()
    return stack[-1] if stack else 0
