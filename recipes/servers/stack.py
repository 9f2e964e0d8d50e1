"""The full middleware stack around the demo app, built in code, for any WSGI server.

Every server in this folder serves ``recipes.servers.stack:application`` (run them from the
repository root, so ``recipes`` is importable). The layers, outermost first, are the
recommended order: error pages, compression, sessions, authentication, then the app.

Configuration comes from the environment, so no secret is written in a file:

``SESSION_SECRET``
    The key that signs session cookies (required). A list separated by commas rotates keys:
    newest first, older ones still verify.
``SESSION_STORE``
    Where sessions live, as a URL: ``sqlite:///path/sessions.db`` (the default, under
    ``recipes/servers/var/``), ``redis://host:6379/0``, or ``cookie``. A server that runs the
    app in several processes (gunicorn workers, CGI, FastCGI) needs a shared store: never
    ``memory``.
``HTPASSWD_FILE``
    The Apache htpasswd file of the users who may open ``/private`` (default
    ``recipes/servers/var/users.htpasswd``; create it with ``htpasswd -B`` or
    ``wsgi-middleware-adduser``).
"""

from __future__ import annotations

import os

from middleware import (
    AuthMiddleware,
    BasicAuth,
    CompressionMiddleware,
    ErrorPageMiddleware,
    Pipeline,
    SessionMiddleware,
)
from middleware.demo import application as demo_app

HERE = os.path.dirname(os.path.abspath(__file__))
VAR = os.path.join(HERE, "var")

#: The demo's public pages; everything else (``/private``) needs a login.
PUBLIC_PATHS = ["/", "/api", "/stream", "/boom", "/missing", "/favicon.ico"]


def build(secret_key: str, store: str, htpasswd: str) -> Pipeline:
    """The stack as a :class:`~middleware.Pipeline`, outermost layer first."""
    return (Pipeline()
            .use(ErrorPageMiddleware)
            .use(CompressionMiddleware, min_size=500)
            .use(SessionMiddleware, secret_key=secret_key.split(","), store=store)
            .use(AuthMiddleware, backends=[BasicAuth(htpasswd=htpasswd)],
                 realm="wsgi-middleware-suite demo", public_paths=PUBLIC_PATHS))


def from_environment(app=demo_app):
    """Build the stack around ``app`` from the environment variables documented above."""
    secret = os.environ.get("SESSION_SECRET", "")
    if not secret:
        raise RuntimeError("set SESSION_SECRET to a long random string "
                           "(python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    store = os.environ.get("SESSION_STORE")
    if not store:
        os.makedirs(VAR, exist_ok=True)
        store = "sqlite:///" + os.path.join(VAR, "sessions.db")
    htpasswd = os.environ.get("HTPASSWD_FILE") or os.path.join(VAR, "users.htpasswd")
    return build(secret, store, htpasswd).wrap(app)


application = from_environment()
