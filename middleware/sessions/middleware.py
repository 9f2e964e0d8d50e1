"""``SessionMiddleware``: options, loading a session from its cookie, saving it on response.

See :mod:`middleware.sessions` for the user guide.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import TYPE_CHECKING, Any

from itsdangerous import SignatureExpired
from werkzeug.http import dump_cookie

from middleware.config import as_bool, as_optional, as_seconds, as_str, filter_app_factory
from middleware.cookies import request_cookies
from middleware.headers import add_vary
from middleware.sessions.base import StoreUnavailable, is_session_id
from middleware.sessions.cookie import CookieStore
from middleware.sessions.memory import MemoryStore
from middleware.sessions.session import ENVIRON_KEY, Session
from middleware.sessions.signing import BadData, Codec
from middleware.sessions.sqlite import SQLiteStore
from middleware.wsgi import close_once, hook_start_response, simple_response, status_code

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from werkzeug.datastructures import Headers

__all__ = ["SessionMiddleware", "filter_factory", "make_store"]

logger = logging.getLogger("middleware.sessions")

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_SAMESITE = {"lax": "Lax", "strict": "Strict", "none": "None"}
#: the longest ``max_age`` / ``idle_timeout`` accepted (100 years)
_MAX_SECONDS = 100 * 365 * 86400
#: a cookie value longer than this is refused before any decoding (no browser sends one)
_MAX_VALUE = 8192
_FORMAT = 1
_PAGE_503 = (b"<!doctype html>\n<html lang=en><meta charset=utf-8>"
             b"<title>503 Service Unavailable</title>\n<h1>Service Unavailable</h1>\n"
             b"<p>Sessions are temporarily unavailable. Please try again in a moment.</p>\n")
_HEADERS_503 = [("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(_PAGE_503))), ("Retry-After", "5"),
                ("Cache-Control", "no-store")]


def make_store(store: Any) -> Any:
    """A store object from ``store=``: a store instance, or a URL string.

    ``"cookie"``, ``"memory"``, ``"sqlite:///relative.db"``, ``"sqlite:////abs/path.db"``,
    ``"redis://host:port/db"`` (also ``rediss://`` and ``unix://``).
    """
    if not isinstance(store, str):
        if getattr(store, "client_side", False) or all(
                callable(getattr(store, name, None)) for name in ("load", "save", "delete")):
            return store
        raise TypeError(f"store must be a URL string or a store with load/save/delete, "
                        f"got {store!r}")
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
    raise ValueError(f"store: unknown store {store!r} (use 'cookie', 'memory', "
                     f"'sqlite:///path.db', 'redis://host:port/db' or a store object)")


def _positive(name: str, value: Any, optional: bool = False) -> Any:
    if optional and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    if not value <= _MAX_SECONDS:  # also NaN and infinity: the cookie's Expires would overflow
        raise ValueError(f"{name} must be at most 100 years ({_MAX_SECONDS} s), got {value!r}")
    return value


def _keys(secret_key: Any) -> list[str | bytes]:
    keys = [secret_key] if isinstance(secret_key, (str, bytes)) else secret_key
    if not isinstance(keys, (list, tuple)) or not all(isinstance(k, (str, bytes)) for k in keys):
        raise TypeError("secret_key must be a string, bytes, or a list of them (newest first)")
    if not keys or not all(keys):
        raise ValueError("secret_key must not be empty")
    return list(keys)


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
    """

    def __init__(self, app: WSGIApplication, secret_key: str | bytes | list[str | bytes],
                 store: Any = "cookie", cookie_name: str = "session", max_age: float = 1209600,
                 idle_timeout: float | None = None, path: str = "/", domain: str | None = None,
                 secure: bool | str = "auto", httponly: bool = True,
                 samesite: str | None = "Lax", partitioned: bool = False) -> None:
        if not callable(app):
            raise TypeError(f"app must be a WSGI callable, got {app!r}")
        keys = _keys(secret_key)
        if not isinstance(cookie_name, str) or not _TOKEN.match(cookie_name):
            raise ValueError(f"cookie_name must be a cookie token, got {cookie_name!r}")
        _positive("max_age", max_age)
        _positive("idle_timeout", idle_timeout, optional=True)
        if not isinstance(path, str) or not path.startswith("/") or ";" in path:
            raise ValueError(f"path must start with '/', got {path!r}")
        if domain is not None and (not isinstance(domain, str) or not domain
                                   or re.search(r"[\s;,\x00-\x1f\x7f]", domain)
                                   or not _cookie_domain_ok(domain)):
            raise ValueError(f"domain must be a host name or None, got {domain!r}")
        if secure not in (True, False, "auto"):
            raise ValueError(f"secure must be True, False or 'auto', got {secure!r}")
        if not isinstance(httponly, bool):
            raise TypeError(f"httponly must be a bool, got {httponly!r}")
        if samesite is not None:
            if not isinstance(samesite, str) or samesite.lower() not in _SAMESITE:
                raise ValueError(f"samesite must be 'Lax', 'Strict', 'None' or None, "
                                 f"got {samesite!r}")
            samesite = _SAMESITE[samesite.lower()]
        if samesite == "None" and secure is False:
            raise ValueError("samesite='None' needs secure=True or 'auto': browsers reject it "
                             "without Secure")
        if not isinstance(partitioned, bool):
            raise TypeError(f"partitioned must be a bool, got {partitioned!r}")
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
        self._client_side = bool(getattr(self.store, "client_side", False))
        self._reissue = min(idle_timeout / 10, 60) if idle_timeout else None
        salt = "middleware.sessions." + ("cookie" if self._client_side else "id")
        self._signer = Codec(keys, salt, compress=getattr(self.store, "compress", True))

    def __repr__(self) -> str:
        return (f"SessionMiddleware(store={self.store!r}, cookie_name={self.cookie_name!r}, "
                f"secret_key='***')")

    def __call__(self, environ: WSGIEnvironment,
                 start_response: StartResponse) -> Iterable[bytes]:
        session = Session(self, environ)
        environ[ENVIRON_KEY] = session
        try:
            app_iter = self.app(environ, hook_start_response(
                start_response, session._on_start_response, session._needs_hook))
        except StoreUnavailable as exc:
            return self._unavailable(session, start_response, exc)
        if session.store_error is None:
            session._returned = True
            return app_iter
        # a framework turned the store error into its own 500 page: answer 503 instead
        close_once(app_iter)()
        return self._unavailable(session, start_response, session.store_error)

    # -- loading ---------------------------------------------------------------------------

    def _open(self, session: Session) -> None:
        """Fill ``session`` from the request's cookie, if it holds a valid, live session."""
        environ = session._environ
        header = environ.get("HTTP_COOKIE", "")
        if self.cookie_name not in header:
            return
        value = request_cookies(environ).get(self.cookie_name)
        if not value:
            return
        session.had_cookie = True
        if len(value) > _MAX_VALUE:
            return self._reject(environ, "an oversized cookie")
        payload = self._unsign(session, value)
        if payload is None:
            return None
        if self._client_side:
            record = payload
        else:
            if not is_session_id(payload):
                return self._reject(environ, "a malformed session id")
            text = self.store.load(payload)
            if text is None:
                return self._reject(environ, "an unknown or expired session id", logging.INFO)
            try:
                record = json.loads(text)
            except ValueError:
                return self._reject(environ, "a store record that is not JSON")
            if not isinstance(record, dict) or record.get("i") != payload:
                return self._reject(environ, "a store record for another id")
        try:
            session_id, data = record["i"], record["d"]
            created, last_seen = float(record["c"]), float(record["t"])
            if record["v"] != _FORMAT or not isinstance(data, dict):
                raise ValueError(record["v"])
        except (KeyError, TypeError, ValueError):
            return self._reject(environ, "a session record of an unknown format")
        now = time.time()
        if now - created > self.max_age or (
                self.idle_timeout is not None and now - last_seen > self.idle_timeout):
            return self._reject(environ, "an expired session", logging.INFO)
        session._restore(session_id if is_session_id(session_id) else None, data, created,
                         last_seen)

    def _unsign(self, session: Session, value: str) -> Any:
        """The signed payload, or ``None`` (logged); flags sessions signed with an old key."""
        try:
            payload, key_index = self._signer.loads(value, max_age=self.max_age)
        except BadData as exc:
            reason = ("an expired cookie" if isinstance(exc, SignatureExpired)
                      else "a bad cookie signature")
            return self._reject(session._environ, reason)
        session.resign = key_index > 0
        return payload

    @staticmethod
    def _reject(environ: WSGIEnvironment, reason: str, level: int = logging.WARNING) -> None:
        logger.log(level, "session cookie ignored, %s: fresh session for %s %s from %s", reason,
                   environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"),
                   environ.get("REMOTE_ADDR"))

    # -- saving ----------------------------------------------------------------------------

    def _finish(self, session: Session, status: str, headers: Headers) -> str:
        """Add ``Vary: Cookie`` and the session cookie (called from ``start_response``)."""
        if session.store_error is None:
            add_vary(headers, "Cookie")
            if session._data is None or status_code(status) >= 500:
                return status  # never save what a failed request did
            try:
                cookie = self._save(session)
            except StoreUnavailable as exc:
                session.store_error = exc
                self._log_store_error(exc, session._environ)
            else:
                if cookie:
                    headers.add("Set-Cookie", cookie)
                return status
        if session._returned:
            # the body is already with the server: it cannot become the 503 page any more
            raise session.store_error
        session._replaced = True
        headers.clear()
        headers.extend(_HEADERS_503)
        return "503 Service Unavailable"

    def _save(self, session: Session) -> str | None:
        """Save the session if it needs it; return the ``Set-Cookie`` value to send, if any."""
        store, data, environ = self.store, session._data, session._environ
        if not self._client_side:
            for old_id in session._old_ids:
                store.delete(old_id)
        if not data:  # never keep an empty session; drop what the browser has
            if not self._client_side and not session.new and session._id is not None:
                store.delete(session._id)
            return self._cookie(environ, "", 0) if session.had_cookie else None
        now = time.time()
        touch = self._reissue is not None and now - session.last_seen >= self._reissue
        if not (session.modified or session.resign or touch):
            return None
        session_id = session.id
        remaining = max(1, int(session.created + self.max_age - now))
        record = {"v": _FORMAT, "i": session_id, "c": session.created, "t": now, "d": data}
        if self._client_side:
            cookie = self._cookie(environ, self._signer.dumps(record), remaining)
            if len(cookie) > store.max_size:
                logger.error("session not saved: its cookie would be %d bytes, over the %d a "
                             "browser keeps (%s %s); keys: %s. Use a server-side store.",
                             len(cookie), store.max_size, environ.get("REQUEST_METHOD"),
                             environ.get("PATH_INFO"), ", ".join(sorted(data)))
                environ["middleware.session.oversize"] = len(cookie)
                return None
            return cookie
        ttl = remaining if self.idle_timeout is None else min(remaining, self.idle_timeout)
        insert = session.new or bool(session._old_ids)
        text = json.dumps(record, separators=(",", ":"))
        if not store.save(session_id, text, max(1, int(ttl)), new=insert):
            logger.info("session change dropped: a concurrent request ended the session "
                        "(%s %s)", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            return None
        if insert or session.resign:
            return self._cookie(environ, self._signer.dumps(session_id), remaining)
        return None

    def _cookie(self, environ: WSGIEnvironment, value: str, max_age: int) -> str:
        secure = (environ.get("wsgi.url_scheme") == "https" if self.secure == "auto"
                  else self.secure)
        return dump_cookie(self.cookie_name, value, max_age=max_age,
                           expires=0 if max_age == 0 else None, path=self.path,
                           domain=self.domain, secure=secure, httponly=self.httponly,
                           samesite=self.samesite, partitioned=self.partitioned, max_size=0)

    # -- store failures --------------------------------------------------------------------

    @staticmethod
    def _log_store_error(exc: StoreUnavailable, environ: WSGIEnvironment) -> None:
        logger.error("session store unavailable, answering 503 to %s %s: %s",
                     environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"), exc)

    def _unavailable(self, session: Session, start_response: StartResponse,
                     exc: StoreUnavailable) -> list[bytes]:
        """The 503 page, started now unless the hook already turned the headers into it."""
        if session.store_error is None:
            session.store_error = exc
            self._log_store_error(exc, session._environ)
        if session._replaced:
            return [_PAGE_503]
        exc_info = (type(exc), exc, exc.__traceback__) if session._started else None
        return simple_response(start_response, "503 Service Unavailable", _PAGE_503,
                               "text/html; charset=utf-8", _HEADERS_503[2:], exc_info)


def _cookie_domain_ok(domain: str) -> bool:
    """Whether ``dump_cookie`` can encode ``domain`` (it IDNA-encodes it on every response)."""
    try:
        domain.partition(":")[0].lstrip(".").encode("idna")
    except UnicodeError:
        return False
    return True


def _as_secure(value: str) -> bool | str:
    return "auto" if value.strip().lower() == "auto" else as_bool(value)


def _as_keys(value: str) -> str | list[str]:
    """Keys separated by commas or white space, newest first (``env:NAME`` may hold several).

    A key that contains a comma or white space can only be given from Python.
    """
    keys = [key for key in re.split(r"[\s,]+", value) if key]
    if not keys:
        raise ValueError("expected at least one key")
    return keys[0] if len(keys) == 1 else keys


#: ``paste.filter_app_factory`` entry point ``session``
filter_factory = filter_app_factory(SessionMiddleware, {
    "secret_key": _as_keys,
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
