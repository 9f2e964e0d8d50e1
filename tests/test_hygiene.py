"""Rules the test suite keeps, read from its own source with ``ast``.

* Tests import the shared helpers from ``support/``, never from ``benchmarks`` (only
  ``tests/test_benchmarks.py``, which tests the benchmark suite itself, does).
* Tests go through behaviour, never private state: no ``obj._name`` (nor ``getattr(obj,
  "_name")``) outside a class's own ``self``/``cls``, so a refactoring of a middleware's
  internals cannot break a test that still holds.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
MAY_IMPORT_BENCHMARKS = {"test_benchmarks.py"}
#: ``(file, expression)`` pairs that may touch a private name, each with its reason
PRIVATE_ALLOWED = {
    # the stdlib's documented way for a forked child to end without running the parent's
    # cleanup handlers: a public function whose name starts with "_"
    ("test_errors.py", "os._exit"),
    # waitress (not ours) offers no public way to close its kept-alive channels from inside its
    # own loop; closing them from the test's thread races its select() (EBADF)
    ("test_debug_http.py", "server._map"),
}


def sources() -> list[Path]:
    return sorted(path for path in TESTS.rglob("*.py") if "__pycache__" not in path.parts)


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def imported_modules(tree: ast.Module) -> list[tuple[int, str]]:
    """``(line, module)`` of every import, at any depth (a function's own imports too)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def private_accesses(tree: ast.Module) -> list[tuple[int, str]]:
    """``(line, expression)`` of every ``x._name`` and ``getattr(x, "_name"...)``, where ``x``
    is not ``self`` or ``cls`` (dunders such as ``__name__`` are public)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            owner, name = node.value, node.attr
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
              and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
              and isinstance(node.args[1].value, str)):
            owner, name = node.args[0], node.args[1].value
        else:
            continue
        if not name.startswith("_") or name.startswith("__"):
            continue
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        found.append((node.lineno, f"{ast.unparse(owner)}.{name}"))
    return found


def test_tests_do_not_import_the_benchmarks():
    bad = [f"{path.relative_to(TESTS)}:{line}: {module}"
           for path in sources() if path.name not in MAY_IMPORT_BENCHMARKS
           for line, module in imported_modules(parsed(path))
           if module == "benchmarks" or module.startswith("benchmarks.")]
    assert not bad, f"import the helper from support/ instead: {bad}"


def test_tests_do_not_reach_into_private_state():
    bad = [f"{path.relative_to(TESTS)}:{line}: {expression}"
           for path in sources()
           for line, expression in private_accesses(parsed(path))
           if (path.name, expression) not in PRIVATE_ALLOWED]
    assert not bad, f"test through behaviour (a public method, the response): {bad}"


def test_the_checks_see_what_they_look_for():
    tree = ast.parse("import benchmarks.soak\n"
                     "def f():\n    from benchmarks import saved\n"
                     "mw._signer._signers[0]\nbackend._cache\ngetattr(mw, '_key')\n"
                     "self._ok\nx.__name__\n")
    assert [m for _, m in imported_modules(tree)] == ["benchmarks.soak", "benchmarks"]
    assert sorted(e for _, e in private_accesses(tree)) == [
        "backend._cache", "mw._key", "mw._signer", "mw._signer._signers"]
