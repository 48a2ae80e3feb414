"""Every session-state key and widget key of the app is written in ``ui/keys.py`` only.

The test reads the source of ``app.py``, ``ui/`` and ``app_pages/`` and looks
for key literals: a ``key=`` argument given as a string or f-string, a string
used to index, read, pop or test ``st.session_state``, a literal form name
(``st.form("...")``), and any string starting with ``tp.`` (the prefix of the
app's keys). Modules use the constants and functions of :mod:`ui.keys` instead.
Every module is checked (the last ones moved their keys in this round).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def _state(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "session_state"


def _key_literal(node: ast.AST) -> ast.AST | None:
    """The key literal ``node`` names, if it is one of the shapes a key takes."""
    if isinstance(node, ast.keyword) and node.arg == "key" and _text(node.value):
        return node.value
    if isinstance(node, ast.Subscript) and _state(node.value) and _text(node.slice):
        return node.slice
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
        reads_state = _state(node.func.value)
        names_form = node.func.attr == "form"
        if (reads_state or names_form) and _text(node.args[0]):
            return node.args[0]
    if isinstance(node, ast.Compare) and any(_state(c) for c in node.comparators):
        return node.left if _text(node.left) else None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node if node.value.startswith("tp.") else None
    return None


def key_literals(path: Path) -> list[str]:
    """``line: literal`` of every key literal in one source file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = {
        (hit.lineno, ast.unparse(hit))
        for node in ast.walk(tree)
        if (hit := _key_literal(node)) is not None
    }
    return [f"{line}: {text}" for line, text in sorted(found)]


def _sources() -> list[Path]:
    return [
        ROOT / "app.py",
        *sorted((ROOT / "ui").glob("*.py")),
        *sorted((ROOT / "app_pages").glob("*.py")),
    ]


def test_keys_are_named_in_ui_keys_only() -> None:
    found = {
        name: hits
        for path in _sources()
        if (name := path.relative_to(ROOT).as_posix()) != "ui/keys.py"
        if (hits := key_literals(path))
    }
    assert not found, f"session keys written outside ui/keys.py (use ui.keys): {found}"


def test_the_scan_sees_each_shape_of_key(tmp_path: Path) -> None:
    """The scan would catch a key= literal, a session_state read and a tp. constant."""
    source = tmp_path / "page.py"
    source.write_text(
        "import streamlit as st\n"
        'st.button("Go", key="go")\n'
        'x = st.session_state.get(f"seen.{1}")\n'
        'st.session_state["flag"] = 1\n'
        'FLASH = "tp.page.flash"\n'
        'if "asked" in st.session_state: pass\n'
        'with st.form("the_form"): pass\n'
        'st.button("Fine", key=KEY)\n',
        encoding="utf-8",
    )
    assert [hit.split(": ", 1)[1] for hit in key_literals(source)] == [
        "'go'", "f'seen.{1}'", "'flag'", "'tp.page.flash'", "'asked'", "'the_form'",
    ]  # fmt: skip
