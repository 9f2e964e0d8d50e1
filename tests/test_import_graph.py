"""The import graph of ``middleware/``: no circle, and no module imports another's private name.

Every module is parsed with :mod:`ast` (nothing is imported). An edge goes from a module to each
``middleware.*`` module it imports, relative imports resolved; ``from package import name``
counts as an import of the submodule ``package.name`` when there is one, else of the package.

Counted: imports that run when the module is imported, that is statements at module level,
also inside module-level ``if``/``try``/``with`` blocks. Not counted: imports inside functions
and methods (they run later, when the module is complete, and are how an optional dependency
or a deliberate late binding is written) and imports under ``if TYPE_CHECKING:`` (they never
run). The implicit import of a parent package (``import a.b`` runs ``a/__init__.py`` first) is
not an edge either: a package's ``__init__`` re-exporting its own modules is the intended layout.

A private name is one that starts with ``_`` (dunders such as ``__version__`` are not private).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "middleware"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def resolve(importer: str, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` names."""
    if not node.level:
        return node.module or ""
    package = importer if is_package(importer) else importer.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def module_level_imports(body: list[ast.stmt]):
    """Import statements that run at import time (see the module docstring)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not is_type_checking(node.test):
                yield from module_level_imports(node.body)
            yield from module_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody,
                          *(handler.body for handler in node.handlers)):
                yield from module_level_imports(block)
        elif isinstance(node, ast.With):
            yield from module_level_imports(node.body)


def all_imports(tree: ast.Module):
    """Every import statement, wherever it is (for the private-name rule)."""
    return [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]


def targets(importer: str, node: ast.Import | ast.ImportFrom) -> list[tuple[str, str | None]]:
    """``(module, imported name or None)`` for each ``middleware.*`` thing ``node`` imports."""
    found: list[tuple[str, str | None]] = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name in MODULES:
                found.append((alias.name, None))
        return found
    base = resolve(importer, node)
    if base not in MODULES:
        return found
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        found.append((submodule, None) if submodule in MODULES else (base, alias.name))
    return found


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text("utf-8"), str(path))
        for node in module_level_imports(tree.body):
            edges[name].update(target for target, _ in targets(name, node) if target != name)
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One circle in ``edges`` as a list of modules, or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_every_module_is_found():
    assert "middleware.options" in MODULES and "middleware.debug.middleware" in MODULES
    assert len(MODULES) > 40


def test_the_import_graph_has_no_circle():
    edges = graph()
    assert edges["middleware.debug"] >= {"middleware.debug.middleware"}
    assert find_cycle(edges) is None, " -> ".join(find_cycle(edges) or [])


def test_no_module_imports_a_private_name_of_another():
    offences = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text("utf-8"), str(path))
        for node in all_imports(tree):
            for target, imported in targets(name, node):
                if target == name:
                    continue
                if imported is not None and is_private(imported):
                    offences.append(f"{name} imports {target}.{imported}")
                elif imported is None and is_private(target.rpartition(".")[2]):
                    offences.append(f"{name} imports the private module {target}")
    assert offences == []


@pytest.mark.parametrize(("edges", "cycle"), [
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
    ({"a": {"a"}}, ["a", "a"]),
])
def test_the_cycle_finder_finds_circles(edges, cycle):
    assert find_cycle(edges) == cycle


def test_relative_imports_resolve_like_python():
    node = ast.parse("from ..sessions.store import StoreUnavailable").body[0]
    assert resolve("middleware.auth.middleware", node) == "middleware.sessions.store"
    node = ast.parse("from . import page").body[0]
    assert resolve("middleware.debug", node) == "middleware.debug"
    assert targets("middleware.debug", node) == [("middleware.debug.page", None)]
