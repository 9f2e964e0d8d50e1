"""wsgi-middleware-suite: composable WSGI middleware.

Sessions, compression, authentication, error pages and debug tracebacks, each wrapping any WSGI
callable, chained with :class:`Pipeline`::

    from middleware import Pipeline, ErrorPageMiddleware, CompressionMiddleware

    app = Pipeline().use(ErrorPageMiddleware).use(CompressionMiddleware).wrap(wsgi_app)

Names are imported lazily, so ``import middleware`` loads only what you use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0.dev0"

_EXPORTS = {
    "Pipeline": "middleware.pipeline",
    "CompressionMiddleware": "middleware.compression",
    "SessionMiddleware": "middleware.sessions",
    "AuthMiddleware": "middleware.auth",
    "BasicAuth": "middleware.auth",
    "BearerTokenAuth": "middleware.auth",
    "ErrorPageMiddleware": "middleware.errors",
    "DebugMiddleware": "middleware.debug",
}

__all__ = [
    "AuthMiddleware",
    "BasicAuth",
    "BearerTokenAuth",
    "CompressionMiddleware",
    "DebugMiddleware",
    "ErrorPageMiddleware",
    "Pipeline",
    "SessionMiddleware",
    "__version__",
]

if TYPE_CHECKING:
    from middleware.auth import AuthMiddleware, BasicAuth, BearerTokenAuth
    from middleware.compression import CompressionMiddleware
    from middleware.debug import DebugMiddleware
    from middleware.errors import ErrorPageMiddleware
    from middleware.pipeline import Pipeline
    from middleware.sessions import SessionMiddleware


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'middleware' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
