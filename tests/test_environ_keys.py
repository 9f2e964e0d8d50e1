"""The shared environ keys: fixed values, one definition, and every layer using it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import middleware
from middleware import environ as keys

PACKAGE = Path(middleware.__file__).parent

#: the public values: changing one breaks every application that reads it
EXPECTED = {
    "SESSION": "middleware.session",
    "SESSION_OVERSIZE": "middleware.session.oversize",
    "IDENTITY": "middleware.identity",
    "AUTH_LOGIN_URL": "middleware.auth.login_url",
    "AUTH_LOGOUT_URL": "middleware.auth.logout_url",
    "COMPRESSION_DISABLE": "middleware.compression.disable",
    "COMPRESSION_ENCODING": "middleware.compression.encoding",
    "COMPRESSION_REQUEST_ENCODING": "middleware.compression.request_encoding",
    "ERROR_PAGE": "middleware.error_page",
    "REQUEST_ID": "middleware.request_id",
    "REQUEST_ID_HEADER": "middleware.request_id.header",
    "ERRORS_LOGGED": "middleware.errors.logged",
}


def test_keys_keep_their_public_values():
    assert {name: getattr(keys, name) for name in keys.__all__} == EXPECTED


def test_package_aliases_are_the_shared_keys():
    from middleware.auth import IDENTITY_KEY
    from middleware.compression import DISABLE_KEY, ENCODING_KEY
    from middleware.errors import OPT_OUT_ENVIRON
    from middleware.sessions import ENVIRON_KEY

    assert (ENVIRON_KEY, IDENTITY_KEY, DISABLE_KEY, ENCODING_KEY, OPT_OUT_ENVIRON) == (
        keys.SESSION, keys.IDENTITY, keys.COMPRESSION_DISABLE, keys.COMPRESSION_ENCODING,
        keys.ERROR_PAGE)


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string nodes that are docstrings (prose may spell a key out)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _literal_keys(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstrings(tree)
    values = set(EXPECTED.values())
    return [f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value!r}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in values and id(node) not in docs]


@pytest.mark.parametrize("path", sorted(p for p in PACKAGE.rglob("*.py")
                                        if p.name != "environ.py"),
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_layer_spells_a_shared_key_out(path):
    """Every layer imports the key from ``middleware.environ``: a repeated literal can drift."""
    assert _literal_keys(path) == []
