"""Applications for the auth security tests, importable by a gunicorn worker.

``protected_flask()``: a real Flask router with ``<path:>`` routes behind ``AuthMiddleware``
with ``public_paths=["/static/*"]``. ``login_stack()``: SessionMiddleware (cookie store) +
AuthMiddleware with the built-in login form, configured from ``AUTH_TEST_SECRET``; its app
answers ``user|pid`` so a test can tell the workers apart.
"""

from __future__ import annotations

import os

from flask import Flask

from middleware.auth import AuthMiddleware, BasicAuth
from middleware.sessions import SessionMiddleware

PASSWORD = "wonderland"
# A constant: every gunicorn worker imports this module and must see the same table.
HASH = "$2b$04$1HXh9UsuyiRLNQkDJ8n.Ce1VFJ/hqJrL8OnZZCYwK6tEpBxNCgrxC"


def flask_app() -> Flask:
    app = Flask(__name__, static_folder=None)

    @app.route("/files/<path:p>")
    def files(p):
        return f"PROTECTED files view: {p}"

    @app.route("/admin/<path:p>")
    def admin(p):
        return f"PROTECTED admin view: {p}"

    @app.route("/static/<path:p>")
    def static(p):
        return f"public static: {p}"

    return app


def protected_flask():
    """The Flask app behind AuthMiddleware; only ``/static/*`` is public."""
    return AuthMiddleware(flask_app(), [BasicAuth(users={"alice": HASH})],
                          public_paths=["/static/*"], throttle=None)


def who(environ, start_response):
    body = f"{environ.get('REMOTE_USER')}|{os.getpid()}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def login_stack(secret: str | None = None):
    """A browser-login stack built from configuration only (as each worker builds it)."""
    secret = secret or os.environ["AUTH_TEST_SECRET"]
    auth = AuthMiddleware(who, [BasicAuth(users={"alice": HASH})], login_url="/login",
                          secret_key=secret, throttle=None)
    return SessionMiddleware(auth, secret_key=secret, store="cookie")
