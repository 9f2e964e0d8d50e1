"""``SessionMiddleware``: options, and the per-request work: load on first use, save on response.

See :mod:`middleware.sessions` for the user guide. One request reads top to bottom here: a
:class:`_Request` gives the application a lazy :class:`~middleware.sessions.Session`; when
the application touches it, :meth:`_Request.load` reads the cookie and asks the backend; when
the response starts, :meth:`_Request.respond` asks the backend to save and adds ``Vary`` and
``Set-Cookie`` (or turns the response into a 503 when the store is down).
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING

from werkzeug.http import dump_cookie, http_date

from middleware.config import (
    as_bool,
    as_keys,
    as_optional,
    as_seconds,
    as_str,
    filter_app_factory,
)
from middleware.cookies import request_cookies
from middleware.environ import SESSION_OVERSIZE
from middleware.headers import merge_vary
from middleware.logsafe import for_log
from middleware.options import check_bool, check_choice, check_keys, check_number, check_str
from middleware.scrubbing import mask_url
from middleware.sessions.backend import BadSession, SessionBackend
from middleware.sessions.cookie import CookieBackend, CookieStore
from middleware.sessions.memory import MemoryStore
from middleware.sessions.server import SessionEnded, StoreBackend
from middleware.sessions.session import ENVIRON_KEY, Session, SessionState
from middleware.sessions.signing import SignedSerializer
from middleware.sessions.sqlite import SQLiteStore
from middleware.sessions.store import SessionStore, StoreUnavailable, check_store
from middleware.wsgi import HeaderList, OptExcInfo, check_restart, close_once, simple_response

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["COOKIE_SALT", "ID_SALT", "SessionMiddleware", "filter_factory", "make_store"]

logger = logging.getLogger("middleware.sessions")

#: the salts the keys are derived with, for the cookie store and for signed session ids
COOKIE_SALT = "middleware.sessions.cookie"
ID_SALT = "middleware.sessions.id"

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_SAMESITE = {"lax": "Lax", "strict": "Strict", "none": "None"}
#: the longest ``max_age`` / ``idle_timeout`` accepted (100 years)
_MAX_SECONDS = 100 * 365 * 86400
#: a cookie value longer than this is refused before any decoding (no browser sends one)
_MAX_VALUE = 8192
_PAGE_503 = (b"<!doctype html>\n<html lang=en><meta charset=utf-8>"
             b"<title>503 Service Unavailable</title>\n<h1>Service Unavailable</h1>\n"
             b"<p>Sessions are temporarily unavailable. Please try again in a moment.</p>\n")
_HEADERS_503 = [("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(_PAGE_503))), ("Retry-After", "5"),
                ("Cache-Control", "no-store")]


def make_store(store: str | SessionStore | CookieStore) -> SessionStore | CookieStore:
    """A store object from ``store=``: a store instance, or a URL string.

    ``"cookie"``, ``"memory"``, ``"sqlite:///relative.db"``, ``"sqlite:////abs/path.db"``,
    ``"redis://host:port/db"`` (also ``rediss://`` and ``unix://``). A store object must
    implement :class:`~middleware.sessions.SessionStore` (a ``TypeError`` names what it lacks).
    """
    if not isinstance(store, str):
        return store if isinstance(store, CookieStore) else check_store(store)
    spec = store.strip()
    if spec == "cookie":
        return CookieStore()
    if spec == "memory":
        return MemoryStore()
    if spec.startswith("sqlite:///"):
        path = spec[len("sqlite:///"):]
        if not path or path == ":memory:":
            raise ValueError(f"store: {store!r} names no database file")
        return SQLiteStore(path)
    if spec.startswith(("redis://", "rediss://", "unix://")):
        from middleware.sessions.redis import RedisStore

        return RedisStore(spec)
    raise ValueError(f"store: unknown store {mask_url(store)!r} (use 'cookie', 'memory', "
                     f"'sqlite:///path.db', 'redis://host:port/db' or a store object)")


def _where(environ: WSGIEnvironment) -> tuple[str, str, str]:
    """Method, path and client of the request, escaped for a log line."""
    return (for_log(environ.get("REQUEST_METHOD")), for_log(environ.get("PATH_INFO")),
            for_log(environ.get("REMOTE_ADDR")))


class SessionMiddleware:
    """Give every request a lazy :class:`~middleware.sessions.Session`.

    :param app: the WSGI application to wrap.
    :param secret_key: signs the cookie. A list (newest first) rotates keys: cookies signed
        with an older key still load and are re-signed with the newest on that response.
    :param store: where the data lives: a store object or URL (``"cookie"``, ``"memory"``,
        ``"sqlite:///path.db"``, ``"redis://host:port/db"``).
    :param cookie_name: the cookie's name.
    :param max_age: absolute lifetime of a session in seconds from its creation (or its last
        :meth:`~middleware.sessions.Session.regenerate`); enforced on the server.
    :param idle_timeout: seconds without a request after which the session ends (rolling; the
        expiry is refreshed at most every tenth of it, capped at a minute), or ``None``.
    :param path: the cookie's ``Path``.
    :param domain: the cookie's ``Domain``, or ``None`` for the current host only.
    :param secure: ``True``, ``False`` or ``"auto"`` (``Secure`` when the request came over
        https, as ``wsgi.url_scheme`` says; put a trusted ProxyFix in front behind a proxy).
    :param httponly: hide the cookie from JavaScript.
    :param samesite: ``"Lax"``, ``"Strict"``, ``"None"`` (needs ``secure``) or ``None``.
    :param partitioned: add the ``Partitioned`` attribute (CHIPS, for third-party iframes).

    Usage::

        app = SessionMiddleware(app, secret_key=[NEW_KEY, OLD_KEY], store="redis://cache/0")
    """

    def __init__(self, app: WSGIApplication, secret_key: str | bytes | list[str | bytes],
                 store: str | SessionStore | CookieStore = "cookie", cookie_name: str = "session",
                 max_age: float = 1209600,
                 idle_timeout: float | None = None, path: str = "/", domain: str | None = None,
                 secure: bool | str = "auto", httponly: bool = True,
                 samesite: str | None = "Lax", partitioned: bool = False) -> None:
        if not callable(app):
            raise TypeError(f"app must be a WSGI callable, got {app!r}")
        keys = check_keys("secret_key", secret_key)
        if not _TOKEN.match(check_str("cookie_name", cookie_name)):
            raise ValueError(f"cookie_name must be a cookie token, got {cookie_name!r}")
        # at most 100 years: the cookie's Expires would overflow
        check_number("max_age", max_age, positive=True, high=_MAX_SECONDS)
        check_number("idle_timeout", idle_timeout, positive=True, high=_MAX_SECONDS,
                     optional=True)
        if not check_str("path", path).startswith("/") or ";" in path:
            raise ValueError(f"path must start with '/', got {path!r}")
        host = check_str("domain", domain, optional=True)
        if host is not None and (
                re.search(r"[\s;,\x00-\x1f\x7f]", host) or not _cookie_domain_ok(host)):
            raise ValueError(f"domain must be a host name or None, got {domain!r}")
        check_choice("secure", secure, (True, False, "auto"))
        check_bool("httponly", httponly)
        same = check_str("samesite", samesite, optional=True)
        if same is not None:
            if same.lower() not in _SAMESITE:
                raise ValueError(f"samesite must be 'Lax', 'Strict', 'None' or None, "
                                 f"got {samesite!r}")
            samesite = _SAMESITE[same.lower()]
        if samesite == "None" and secure is False:
            raise ValueError("samesite='None' needs secure=True or 'auto': browsers reject it "
                             "without Secure")
        check_bool("partitioned", partitioned)
        self.app = app
        self.store = make_store(store)
        self.cookie_name = cookie_name
        self.max_age = max_age
        self.idle_timeout = idle_timeout
        self.path = path
        self.domain = domain
        self.secure = secure
        self.httponly = httponly
        self.samesite = samesite
        self.partitioned = partitioned
        self.backend: SessionBackend
        if isinstance(self.store, CookieStore):
            self.backend = CookieBackend(
                self.store, SignedSerializer(keys, COOKIE_SALT, compress=self.store.compress),
                max_age, idle_timeout)
        else:
            self.backend = StoreBackend(self.store, SignedSerializer(keys, ID_SALT), max_age,
                                        idle_timeout)
        # Set-Cookie attributes that are the same on every response, formatted once by
        # werkzeug: "; Domain=...; Secure; HttpOnly; Path=/; SameSite=Lax", per Secure flag
        self._attributes = {flag: self._format_attributes(flag) for flag in (False, True)}
        self._cookie_pattern = re.compile(
            r"(?:^|;)\s*" + re.escape(cookie_name) + r"=([A-Za-z0-9_.\-]*)\s*(?:;|$)")
        self._expires = (0, "")

    def __repr__(self) -> str:
        return (f"SessionMiddleware(store={self.store!r}, cookie_name={self.cookie_name!r}, "
                f"secret_key='***')")

    def __call__(self, environ: WSGIEnvironment,
                 start_response: StartResponse) -> Iterable[bytes]:
        request = _Request(self, environ)
        environ[ENVIRON_KEY] = request.session

        # A closure rather than a Response and its bound method per request: this layer only
        # adds header lines when the response starts, it never holds one.
        def start(status: str, headers: HeaderList,
                  exc_info: OptExcInfo | None = None) -> Callable[[bytes], object]:
            if request.started:  # PEP 3333: only a restart with exc_info, passed on as is
                check_restart(True, exc_info)
            else:
                status, headers = request.respond(status, headers)
            return start_response(status, headers, exc_info)

        try:
            app_iter = self.app(environ, start)
        except StoreUnavailable as exc:
            return request.unavailable(start_response, exc)
        if request.failure is None:
            request.returned = True
            return app_iter
        # a framework turned the store error into its own 500 page: answer 503 instead
        close_once(app_iter)()
        return request.unavailable(start_response, request.failure)

    # -- the cookie ------------------------------------------------------------------------

    def cookie_value(self, environ: WSGIEnvironment) -> str | None:
        """The request's session cookie value, ``None`` when it has none."""
        header = environ.get("HTTP_COOKIE")
        if not header or self.cookie_name not in header:
            return None
        # our values are plain tokens: a regex finds them; anything else goes to werkzeug
        match = self._cookie_pattern.search(header)
        value = match.group(1) if match else request_cookies(environ).get(self.cookie_name)
        return value or None

    def set_cookie(self, environ: WSGIEnvironment, value: str, max_age: int,
                   now: float | None = None) -> str:
        """The ``Set-Cookie`` value for ``value`` (``""``: delete the cookie); ``now`` is the
        time the caller already read, if any."""
        secure = (environ.get("wsgi.url_scheme") == "https" if self.secure == "auto"
                  else bool(self.secure))
        if not value:
            return (f"{self.cookie_name}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0"
                    f"{self._attributes[secure]}")
        expires_at = int(time.time() if now is None else now) + max_age
        cached = self._expires
        if cached[0] != expires_at:  # one date per second, not one per response
            cached = self._expires = (expires_at, http_date(expires_at))
        return (f"{self.cookie_name}={value}; Expires={cached[1]}; Max-Age={max_age}"
                f"{self._attributes[secure]}")

    def _format_attributes(self, secure: bool) -> str:
        line = dump_cookie(self.cookie_name, "", path=self.path, domain=self.domain,
                           secure=secure, httponly=self.httponly, samesite=self.samesite,
                           partitioned=self.partitioned, max_size=0)
        return line[len(self.cookie_name) + 1:]


class _Request:
    """One request's session work: load on first use, save when the response starts."""

    __slots__ = ("middleware", "environ", "session", "error", "started", "returned",
                 "replaced")

    def __init__(self, middleware: SessionMiddleware, environ: WSGIEnvironment) -> None:
        self.middleware = middleware
        self.environ = environ
        self.session = Session(self.load)
        #: the store failure that turns this response into a 503
        self.error: StoreUnavailable | None = None
        self.started = self.returned = self.replaced = False

    def load(self) -> SessionState:
        """The session the cookie names, or a fresh one (a bad cookie is logged)."""
        value = self.middleware.cookie_value(self.environ)
        if value is None:
            return SessionState()
        try:
            if len(value) > _MAX_VALUE:
                raise BadSession("an oversized cookie")
            state = self.middleware.backend.open(value)
        except BadSession as exc:
            logger.log(exc.level, "session cookie ignored, %s: fresh session for %s %s from %s",
                       exc.reason, *_where(self.environ))
            state = SessionState()
        except StoreUnavailable as exc:
            self.fail(exc)
            raise
        state.had_cookie = True
        return state

    def respond(self, status: str, headers: HeaderList) -> tuple[str, HeaderList]:
        """At ``start_response``: save, add ``Vary`` and the cookie, or become the 503.

        Returns the status and headers to start the response with; ``headers`` is the
        application's list and is never edited (a copy is returned when something is added).
        """
        self.started = True
        session = self.session
        session.freeze()
        failure = self.failure
        if failure is None:
            if not session.accessed:
                return status, headers  # untouched: nothing to add, nothing to save
            headers = _vary_cookie(headers)
            state = session.state
            if state is None or int(status[:3]) >= 500:
                return status, headers  # never save what a failed request did
            try:
                cookie = self.save(state)
            except StoreUnavailable as exc:
                self.fail(exc)
            else:
                if cookie:
                    headers.append(("Set-Cookie", cookie))
                return status, headers
        if self.returned:
            # the body is already with the server: it cannot become the 503 page any more
            raise self.error  # type: ignore[misc]
        self.replaced = True
        self.log_unavailable()
        return "503 Service Unavailable", list(_HEADERS_503)

    def save(self, state: SessionState) -> str | None:
        """Let the backend save; the ``Set-Cookie`` line to send, if any."""
        middleware, environ = self.middleware, self.environ
        try:
            value = middleware.backend.save(state)
        except SessionEnded:
            logger.info("session change dropped: a concurrent request ended the session "
                        "(%s %s from %s)", *_where(environ))
            return None
        if value is None:
            return None
        backend = middleware.backend
        now = time.time()
        cookie = middleware.set_cookie(environ, value, backend.remaining(state, now), now)
        limit = backend.max_cookie_size
        if len(cookie) > limit:
            logger.error("session not saved: its cookie would be %d bytes, over the %d a "
                         "browser keeps (%s %s from %s); keys: %s. Use a server-side store.",
                         len(cookie), limit, *_where(environ),
                         for_log(", ".join(sorted(state.data))))
            environ[SESSION_OVERSIZE] = len(cookie)
            return None
        return cookie

    def fail(self, exc: StoreUnavailable) -> None:
        """Remember a store failure: the response becomes a 503 unless a layer handles it."""
        if self.error is None:
            self.error = exc

    @property
    def failure(self) -> StoreUnavailable | None:
        """The store failure that turns this response into a 503, if any."""
        error = self.error
        return None if error is None or error.handled else error

    def log_unavailable(self) -> None:
        method, path, _ = _where(self.environ)
        logger.error("session store unavailable, answering 503 to %s %s: %s", method, path,
                     self.error)

    def unavailable(self, start_response: StartResponse, exc: StoreUnavailable) -> list[bytes]:
        """The 503 page, started now unless :meth:`respond` already turned the headers into it."""
        self.fail(exc)
        if self.replaced:
            return [_PAGE_503]
        self.log_unavailable()
        exc_info = (type(exc), exc, exc.__traceback__) if self.started else None
        return simple_response(start_response, "503 Service Unavailable", _PAGE_503,
                               "text/html; charset=utf-8", _HEADERS_503[2:],
                               exc_info)  # type: ignore[arg-type]  # raised: it has a traceback


def _vary_cookie(headers: HeaderList) -> HeaderList:
    """A copy of ``headers`` with ``Cookie`` in ``Vary`` (merged into one line, never twice)."""
    for name, _ in headers:
        if name.lower() == "vary":
            break
    else:  # the common case: no Vary yet, one list built
        return [*headers, ("Vary", "Cookie")]
    merged = merge_vary([v for k, v in headers if k.lower() == "vary"], "Cookie")
    if merged is None:
        return list(headers)
    # the merged line in the place of the first Vary, the others dropped
    first = next(i for i, (k, _) in enumerate(headers) if k.lower() == "vary")
    return [*headers[:first], ("Vary", merged),
            *((k, v) for k, v in headers[first + 1:] if k.lower() != "vary")]


def _cookie_domain_ok(domain: str) -> bool:
    """Whether ``dump_cookie`` can encode ``domain`` (it IDNA-encodes it on every response)."""
    try:
        domain.partition(":")[0].lstrip(".").encode("idna")
    except UnicodeError:
        return False
    return True


def _as_secure(value: str) -> bool | str:
    return "auto" if value.strip().lower() == "auto" else as_bool(value)


#: ``paste.filter_app_factory`` entry point ``session``
filter_factory = filter_app_factory(SessionMiddleware, {
    "secret_key": as_keys,
    "store": as_str,
    "cookie_name": as_str,
    "max_age": as_seconds,
    "idle_timeout": as_optional(as_seconds),
    "path": as_str,
    "domain": as_optional(as_str),
    "secure": _as_secure,
    "httponly": as_bool,
    "samesite": as_optional(as_str),
    "partitioned": as_bool,
}, name="session")
