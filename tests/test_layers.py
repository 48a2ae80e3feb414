"""The code's shape: no import cycles, modules and functions of readable size, ui/ is the app.

The import-linter contracts (``.importlinter``, run by ``./dev test``) say who
may import whom; these tests say what those contracts cannot: that no two
modules import each other, not even from inside a function, and the size
limits of the style guide.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "planner"
#: The command line imports its commands' modules when they run, so that
#: ``planner --help`` starts fast; nothing else may import our modules lazily.
LAZY_ALLOWED = LIBRARY / "cli"


def _sources(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def _imports_ours(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return bool(node.level) or (node.module or "").split(".")[0] in {"planner", "ui"}
    if isinstance(node, ast.Import):
        return any(a.name.split(".")[0] in {"planner", "ui"} for a in node.names)
    return False


def test_no_import_cycles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    graph = grimp.build_graph("planner", "ui", cache_dir=None)
    edges = nx.DiGraph()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            edges.add_edge(module, imported)
    cycles = [sorted(c) for c in nx.strongly_connected_components(edges) if len(c) > 1]
    assert cycles == []


def test_no_lazy_imports_of_our_modules() -> None:
    found = []
    for path in _sources(LIBRARY) + _sources(ROOT / "ui"):
        if path.is_relative_to(LAZY_ALLOWED):
            continue
        for fn in _functions(ast.parse(path.read_text("utf-8"))):
            found += [
                f"{path.relative_to(ROOT)}:{n.lineno} in {fn.name}"
                for n in ast.walk(fn)
                if _imports_ours(n)
            ]
    assert found == []


def test_library_modules_stay_under_500_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _sources(LIBRARY)
        if (n := len(p.read_text("utf-8").splitlines())) > 500
    }
    assert long == {}


def test_library_functions_stay_under_80_lines() -> None:
    long = {}
    for path in _sources(LIBRARY):
        for fn in _functions(ast.parse(path.read_text("utf-8"))):
            size = (fn.end_lineno or fn.lineno) - fn.lineno + 1
            if size > 80:
                long[f"{path.relative_to(ROOT)}:{fn.name}"] = size
    assert long == {}


def test_pages_stay_under_200_lines() -> None:
    long = {
        p.name: n
        for p in _sources(ROOT / "app_pages")
        if (n := len(p.read_text("utf-8").splitlines())) > 200
    }
    assert long == {}


def _names_only(tree: ast.Module) -> bool:
    """A table of names: string constants, and functions that only format one (``ui/keys.py``)."""
    for node in tree.body:
        if isinstance(node, ast.Expr | ast.ImportFrom) or (
            isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Constant)
        ):
            continue
        if isinstance(node, ast.FunctionDef):
            body = [n for n in node.body if not isinstance(n, ast.Expr)]
            returns = len(body) == 1 and isinstance(body[0], ast.Return)
            if returns and isinstance(body[0].value, ast.JoinedStr | ast.Constant):
                continue
        return False
    return True


def test_every_ui_module_uses_streamlit() -> None:
    """Library logic belongs in planner/: a ui/ module without Streamlit is in the wrong place.

    The one kind of module allowed without it is a table of Streamlit's own
    session-key names (strings, and functions that format one).
    """
    plain = []
    for path in _sources(ROOT / "ui"):
        if path.name == "__init__.py":
            continue
        tree = ast.parse(path.read_text("utf-8"))
        if _names_only(tree):
            continue
        names = {
            a.name.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.Import | ast.ImportFrom)
            for a in (n.names if isinstance(n, ast.Import) else [ast.alias(n.module or "")])
        }
        if not names & {"streamlit", "streamlit_folium"}:
            plain.append(path.name)
    assert plain == []
