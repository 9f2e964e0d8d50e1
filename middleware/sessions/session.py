"""The ``Session`` object an application sees, and :func:`get_session`.

A :class:`Session` is a ``MutableMapping`` of JSON-serialisable values (``str`` keys; values
that ``json.dumps`` accepts: ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``,
``None``). Nothing is read until the application first uses it, so a request that never
touches its session costs no cookie verification and no store access.

Changes are saved when the application calls ``start_response``. A change made by mutating a
value in place (``session["cart"].append(item)``) cannot be seen by the session: assign the
value again (``session["cart"] = cart``) or set ``session.modified = True``. Changing the
session after ``start_response`` raises :class:`RuntimeError`: the cookie has gone out.

Two overlapping requests of one session each save the whole session they saw: the last
response to be sent wins (per request, never a mix of both), and a session that one of them
deleted (``invalidate()``, ``regenerate()``) is not brought back by the other.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from middleware.sessions.base import StoreUnavailable, new_session_id

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
    from werkzeug.datastructures import Headers

    from middleware.sessions.middleware import SessionMiddleware

__all__ = ["ENVIRON_KEY", "Session", "get_session"]

#: where :class:`~middleware.sessions.SessionMiddleware` puts the request's session
ENVIRON_KEY = "middleware.session"


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _json_safe(value: Any, depth: int = 0) -> bool:
    """Whether ``json`` stores ``value`` faithfully (cheaper than a trial ``json.dumps``)."""
    if isinstance(value, (str, int, float)) or value is None:  # also bool and subclasses
        return True
    if depth > 64:
        return False
    if isinstance(value, (list, tuple)):
        return all(_json_safe(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_safe(v, depth + 1) for k, v in value.items())
    return False


def get_session(environ: WSGIEnvironment) -> Session:
    """Return the request's :class:`Session`.

    Raises :class:`LookupError` naming the fix when no ``SessionMiddleware`` wraps the app.
    """
    try:
        return environ[ENVIRON_KEY]
    except KeyError:
        raise LookupError("no session in this request: wrap the application in "
                          "middleware.sessions.SessionMiddleware") from None


class Session(MutableMapping[str, Any]):
    """One request's session; made by the middleware, loaded on first use.

    :ivar modified: ``True`` when the session will be saved; set it yourself after changing
        a nested value in place.
    :ivar accessed: ``True`` once the application read or wrote the session.
    :ivar store_error: the :class:`~middleware.sessions.StoreUnavailable` that failed this
        request, else ``None``.
    """

    __slots__ = ("_middleware", "_environ", "_data", "_id", "_old_ids", "_new", "modified",
                 "accessed", "created", "last_seen", "had_cookie", "resign", "store_error",
                 "_started", "_returned", "_replaced")

    def __init__(self, middleware: SessionMiddleware, environ: WSGIEnvironment) -> None:
        self._middleware = middleware
        self._environ = environ
        self._data: dict[str, Any] | None = None
        self.accessed = False
        self.modified = False
        self.store_error: StoreUnavailable | None = None
        self._started = self._returned = self._replaced = False

    # -- loading ---------------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        data = self._data
        if data is None:
            self.accessed = True
            self._id: str | None = None
            self._old_ids: list[str] = []
            self._new, self.resign, self.had_cookie = True, False, False
            self.created = self.last_seen = time.time()
            data = self._data = {}
            try:
                self._middleware._open(self)
            except StoreUnavailable as exc:
                self._data = None
                self.store_error = exc
                self._middleware._log_store_error(exc, self._environ)
                raise
            data = self._data
        return data  # type: ignore[return-value]

    def _restore(self, session_id: str | None, data: dict[str, Any], created: float,
                 last_seen: float) -> None:
        """Called by the middleware with what the cookie (or the store) held."""
        self._id, self._data = session_id, data
        self.created, self.last_seen, self._new = created, last_seen, False

    def _writable(self) -> dict[str, Any]:
        if self._started:
            raise RuntimeError("the session was changed after start_response: the cookie "
                               "has already been sent, change the session before responding")
        data = self._load()
        self.modified = True
        return data

    # -- mapping ---------------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self._load()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"session keys must be strings, got {key!r}")
        if type(value) not in _SCALARS and not _json_safe(value):
            raise TypeError(f"session[{key!r}]: the value must be JSON-serialisable (dict "
                            f"with str keys, list, str, int, float, bool, None), got "
                            f"{type(value).__name__}")
        self._writable()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._writable()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._load()))

    def __len__(self) -> int:
        return len(self._load())

    def __contains__(self, key: object) -> bool:
        return key in self._load()

    def __repr__(self) -> str:
        if self._data is None:
            return "<Session (not loaded)>"
        return f"<Session {'new' if self.new else 'existing'} {self._data!r}>"

    def clear(self) -> None:
        """Remove every key (the cookie is deleted when the response goes out)."""
        self._writable().clear()

    @property
    def new(self) -> bool:
        """``True`` when the request brought no valid session (also after :meth:`invalidate`)."""
        self._load()
        return self._new

    # -- identity --------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The session id (made on first use for a new session). Never put it in a page."""
        self._load()
        if self._id is None:
            self._id = new_session_id()
        return self._id

    def regenerate(self) -> None:
        """Give the session a new id and keep its data; the old id stops working.

        Call it when the user's privileges change (login), the defence against session
        fixation: an id planted before login is worthless after it. The absolute lifetime
        (``max_age``) starts again.
        """
        self._writable()
        if self._id is not None:
            self._old_ids.append(self._id)
        self._id = new_session_id()
        self.created = self.last_seen = time.time()

    def invalidate(self) -> None:
        """Drop the data and the id; the response deletes the cookie (call it at logout).

        Values set afterwards go into a brand-new session with a new id.
        """
        data = self._writable()
        if self._id is not None:
            self._old_ids.append(self._id)
        self._id = None
        data.clear()
        self._new = True
        self.created = self.last_seen = time.time()

    # -- response --------------------------------------------------------------------------

    def _needs_hook(self) -> bool:
        """Whether the response needs :meth:`_on_start_response` (an untouched one does not)."""
        if self.accessed or self.store_error is not None:
            return True
        self._started = True
        return False

    def _on_start_response(self, status: str, headers: Headers) -> str:
        """The ``hook_start_response`` hook: save, set the cookie (untouched sessions: no-op)."""
        if self._started:
            return status
        self._started = True
        if not self.accessed and self.store_error is None:
            return status
        return self._middleware._finish(self, status, headers)
