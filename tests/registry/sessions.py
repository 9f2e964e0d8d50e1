"""SessionMiddleware: untouched, written (cookie and memory stores) and read from a cookie."""

from __future__ import annotations

from werkzeug.test import Client

from middleware.sessions import MemoryStore, SessionMiddleware, get_session
from registry import Case

KEY = "conformance-session-key-0123456789"


def writes(app):
    """Touches and changes the session before the behaviour's app runs."""
    def wrapped(environ, start_response):
        session = get_session(environ)
        session["visits"] = session.get("visits", 0) + 1
        return app(environ, start_response)
    return wrapped


def appends(app):
    """Changes a value in place (no assignment): the merge path of a server-side store."""
    def wrapped(environ, start_response):
        get_session(environ)["cart"].append("item")
        return app(environ, start_response)
    return wrapped


def _valid_cookie(store="cookie") -> str:
    """A cookie header carrying a session signed with ``KEY`` (kept in ``store``)."""
    def app(environ, start_response):
        session = get_session(environ)
        session["user"] = "alice"
        session["cart"] = []
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    response = Client(SessionMiddleware(app, KEY, store=store)).get("/")
    return response.headers["Set-Cookie"].split(";", 1)[0]


#: one store for the merge case: its session is made here and changed by every run
SHARED = MemoryStore()


CASES = {
    "untouched": Case(lambda app: SessionMiddleware(app, KEY)),
    "cookie_written": Case(lambda app: SessionMiddleware(writes(app), KEY)),
    "cookie_read_and_written": Case(lambda app: SessionMiddleware(writes(app), KEY),
                                    environ={"HTTP_COOKIE": _valid_cookie()}),
    "memory_written": Case(lambda app: SessionMiddleware(writes(app), KEY,
                                                         store=MemoryStore())),
    "memory_changed_in_place_and_merged": Case(
        lambda app: SessionMiddleware(appends(app), KEY, store=SHARED),
        environ={"HTTP_COOKIE": _valid_cookie(SHARED)}),
}
