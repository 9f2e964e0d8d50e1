"""Sessions: a per-user dictionary that survives between requests, kept in a signed cookie or
on the server.

``SessionMiddleware`` gives every request a :class:`Session` under
``environ["middleware.session"]`` (or ``get_session(environ)``): a mutable mapping of
JSON-serialisable values. It is lazy: a request that never touches it reads no cookie, calls
no store and sets no cookie. It is saved when the application calls ``start_response``, only
if it changed (or a rolling ``idle_timeout`` needs its expiry refreshed), never after a 5xx.
A store's ``ping()`` says whether it can be reached (for health checks).

Usage::

    from middleware.sessions import SessionMiddleware, get_session

    def app(environ, start_response):
        session = get_session(environ)
        session["visits"] = session.get("visits", 0) + 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"visit %d" % session["visits"]]

    app = SessionMiddleware(app, secret_key=[NEW_KEY, OLD_KEY], store="sqlite:////var/lib/app/s.db")

At login call ``session.regenerate()`` (new id, same data: an id planted by an attacker
becomes worthless); at logout ``session.invalidate()`` (data, id and cookie dropped).

Stores, also given as URL strings in ``store=``:

* :class:`CookieStore` ``"cookie"`` (default): the data in the signed cookie (readable by the
  user, at most ~4 KB, cannot be revoked on the server).
* :class:`MemoryStore` ``"memory"``: one process only (tests, single-process servers).
* :class:`SQLiteStore` ``"sqlite:////abs/path.db"``: several worker processes on one host.
* :class:`RedisStore` ``"redis://host:port/db"``: several hosts.

A cookie-store session that would outgrow the browser's ~4 KB limit is not saved: the old
cookie stays, an error is logged and ``environ["middleware.session.oversize"]`` holds the size.

Server-side stores put only a signed 256-bit random id in the cookie; an id the store does
not know gets a brand-new session, never adopted. Any bad cookie (tampered, signed with an
unknown key, expired, garbage, truncated, huge, an unknown id, a record that does not decode)
gives a fresh empty session and a log line. A store that is down gives a 503 page and an
error in the log, never a traceback and never a silently empty session.

Expiry: ``max_age`` is the absolute lifetime from creation (or the last ``regenerate()``),
``idle_timeout`` the rolling one; both are checked on the server at every load from times
kept inside the signed record; the cookie's ``Max-Age`` is only a hint to the browser.

Saving: each value is compared with what was loaded, so only what the request changed is
saved, a value changed in place (``session["cart"].append(x)``) included.

Concurrency: the server-side stores merge each request's changes into the stored session
atomically (SQLite in one transaction, Redis in one script, memory under a lock): two
overlapping requests that change different keys both persist, for one key the last write
wins, and a session that one of them ended stays ended. The cookie store cannot merge (the
browser keeps the last cookie it gets): use a server-side store when requests of one session
change it in parallel.

Structure (Flask's ``sessions.py`` pattern): :class:`Session` is the application's
dictionary over a :class:`SessionState`; a :class:`SessionBackend` turns a cookie value into
a state and a state into a cookie value (:class:`CookieBackend`, or :class:`StoreBackend`
over any :class:`SessionStore`); :class:`SessionMiddleware` does the per-request work.

When NOT to use it: for API clients that authenticate every request with a token (no cookie
jar, nothing to remember), or to keep large or secret data in the default cookie store.

Options (see :class:`SessionMiddleware`): ``secret_key``, ``store``, ``cookie_name``,
``max_age`` (14 days), ``idle_timeout``, ``path``, ``domain``, ``secure="auto"``,
``httponly=True``, ``samesite="Lax"``, ``partitioned=False``. PasteDeploy filter ``session``::

    [filter:session]
    use = egg:wsgi-middleware-suite#session
    secret_key = env:SESSION_KEYS
    store = redis://127.0.0.1:6379/0
    idle_timeout = 30m
"""

from __future__ import annotations

from middleware.sessions.backend import BadSession, SessionBackend
from middleware.sessions.cookie import CookieBackend, CookieStore
from middleware.sessions.memory import MemoryStore
from middleware.sessions.middleware import SessionMiddleware, filter_factory, make_store
from middleware.sessions.redis import RedisStore
from middleware.sessions.server import StoreBackend
from middleware.sessions.session import ENVIRON_KEY, Session, SessionState, get_session
from middleware.sessions.sqlite import SQLiteStore
from middleware.sessions.store import Changes, Record, SessionStore, StoreUnavailable

__all__ = [
    "ENVIRON_KEY",
    "BadSession",
    "Changes",
    "CookieBackend",
    "CookieStore",
    "MemoryStore",
    "Record",
    "RedisStore",
    "SQLiteStore",
    "Session",
    "SessionBackend",
    "SessionMiddleware",
    "SessionState",
    "SessionStore",
    "StoreBackend",
    "StoreUnavailable",
    "filter_factory",
    "get_session",
    "make_store",
]

