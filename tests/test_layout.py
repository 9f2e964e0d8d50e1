"""Every middleware package has one layout: the class and its PasteDeploy ``filter_factory`` in
``<package>/middleware.py``, both re-exported by the package, which the entry points name."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

import pytest

PACKAGES = {
    "auth": "AuthMiddleware",
    "compression": "CompressionMiddleware",
    "debug": "DebugMiddleware",
    "errors": "ErrorPageMiddleware",
    "sessions": "SessionMiddleware",
}


@pytest.mark.parametrize(("package", "cls"), sorted(PACKAGES.items()))
def test_the_class_and_filter_factory_live_in_middleware_py(package, cls):
    module = importlib.import_module(f"middleware.{package}.middleware")
    public = importlib.import_module(f"middleware.{package}")
    assert getattr(module, cls).__module__ == module.__name__
    assert getattr(public, cls) is getattr(module, cls)
    assert public.filter_factory is module.filter_factory
    assert {cls, "filter_factory"} <= set(module.__all__)


@pytest.mark.parametrize("name", ["compression", "gzip", "session", "auth", "errors", "debug"])
def test_every_paste_entry_point_is_the_package_filter_factory(name):
    (entry,) = [e for e in entry_points(group="paste.filter_app_factory", name=name)
                if e.dist is not None and e.dist.name == "wsgi-middleware-suite"]
    package = entry.value.partition(":")[0]
    assert entry.load() is importlib.import_module(f"{package}.middleware").filter_factory


def test_the_documented_imports_still_work():
    from middleware import DebugMiddleware
    from middleware.debug import DebugMiddleware as same
    from middleware.debug import filter_factory

    assert DebugMiddleware is same and callable(filter_factory)


def test_renamed_session_names_keep_their_old_spelling():
    from middleware.sessions import SessionState
    from middleware.sessions.signing import Codec, SignedSerializer

    assert Codec is SignedSerializer
    state = SessionState()
    state.resign = True
    assert state.signed_with_old_key is True and state.resign is True
