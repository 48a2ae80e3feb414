"""Messages of the rule language: where a rule is wrong, what was expected there, and the fix.

:mod:`planner.geo.rule_syntax` parses; this module turns lark's errors into
:class:`~planner.errors.RuleError` in the language's own words (an unknown
operator with its likely meaning, a quote or a parenthesis never closed, a
value where a field was expected...) and holds the bounds on a rule's
length, nesting and numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lark import Token
from lark.exceptions import UnexpectedToken

from planner.errors import RuleError

__all__ = [
    "HINTS",
    "KNOWN_OPERATORS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NUMBER",
    "OP_CHARS",
    "OP_CLASS",
    "RuleFail",
    "character_error",
    "check_depth",
    "token_error",
    "too_large",
]

#: Longest rule accepted, in characters.
MAX_LENGTH = 10_000
#: Deepest nesting of parentheses and ``not`` accepted.
MAX_DEPTH = 50
#: Largest number (in absolute value) a rule may hold; beyond it comparisons
#: with float columns lose meaning or overflow.
MAX_NUMBER = 1e18

KNOWN_OPERATORS = "==, !=, <, <=, >, >=, in, not in, is null, is not null, and, or, not"
HINTS = {
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
OP_CHARS = r"=!<>~&|^%*/+≥≤≠"
OP_CHARS = r"=!<>~&|^%*/+≥≤≠"
OP_CLASS = re.escape(OP_CHARS).replace("/", r"\/")


@dataclass(frozen=True)
class RuleFail:
    """Build the :class:`RuleError` of one rule from a message, an offset and a fix."""

    text: str
    label: str | None

    def __call__(self, message: str, pos: int, fix: str) -> RuleError:
        return RuleError(message, rule=self.text, position=pos + 1, fix=fix, label=self.label)


def too_large(token: Token, fail: RuleFail) -> RuleError:
    pos = int(token.start_pos or 0)
    shown = str(token) if len(str(token)) <= 20 else str(token)[:17] + "..."
    return fail(
        f"the number {shown} at position {pos + 1} is too large",
        pos,
        f"use numbers between -{MAX_NUMBER:.0e} and {MAX_NUMBER:.0e}",
    )


def check_depth(text: str, fail: RuleFail) -> None:
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


def character_error(text: str, pos: int, fail: RuleFail) -> RuleError:
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
    if ch in OP_CHARS:
        op = re.match(f"[{OP_CLASS}]+", text[pos:])
        run = op.group(0) if op else ch
        hint = HINTS.get(run)
        return fail(
            f"unknown operator {run!r} at position {pos + 1}",
            pos,
            f"write {hint!r} instead" if hint else f"use one of: {KNOWN_OPERATORS}",
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
        f"use field names, quoted text, numbers and the operators {KNOWN_OPERATORS}",
    )


_VALUES = {"STRING", "NUMBER", "TRUE", "FALSE", "NULL"}


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "the end of the rule"
    return f"{str(token)!r} at position {int(token.start_pos or 0) + 1}"


def token_error(text: str, exc: UnexpectedToken, fail: RuleFail) -> RuleError:
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
            f"use one of: {KNOWN_OPERATORS}",
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
