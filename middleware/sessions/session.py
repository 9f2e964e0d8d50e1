"""The ``Session`` an application sees, the ``SessionState`` behind it, and :func:`get_session`.

A :class:`Session` is a ``MutableMapping`` of JSON-serialisable values (``str`` keys; values
that ``json.dumps`` accepts: ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``,
``None``). Nothing is read until the application first uses it: it is given a ``load``
callable and calls it once, on first use, so a request that never touches its session costs
no cookie verification and no store access.

What was loaded, and what the request did to it, is a :class:`SessionState`: plain data that
the backend reads when the response starts. The backend compares each value with what was
loaded, so a value changed in place (``session["cart"].append(item)``) is saved too, without
``session.modified = True``. Changing the session after ``start_response`` raises
:class:`RuntimeError`: the cookie has gone out.

Usage::

    session = get_session(environ)
    session["cart"] = [*session.get("cart", []), item]
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from middleware.environ import SESSION
from middleware.sessions.ids import new_session_id

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["ENVIRON_KEY", "Session", "SessionState", "get_session"]

#: where :class:`~middleware.sessions.SessionMiddleware` puts the request's session
#: (an alias of :data:`middleware.environ.SESSION`)
ENVIRON_KEY = SESSION


#: the exact types JSON stores as they are (bool is its own type, not int, here)
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
        session: Session = environ[SESSION]
    except KeyError:
        raise LookupError("no session in this request: wrap the application in "
                          "middleware.sessions.SessionMiddleware") from None
    return session


@dataclass
class SessionState:
    """One request's session as loaded, and what the request did to it.

    :ivar data: the values (the application's dictionary).
    :ivar id: the session id, ``None`` until one is needed.
    :ivar created: when the session (or its id, after ``regenerate``) began; Unix time.
    :ivar last_seen: the request before this one, as loaded; Unix time.
    :ivar new: the request brought no valid session (or invalidated it).
    :ivar fresh_id: the data must be written whole under :attr:`id` (new session,
        ``regenerate()``, ``invalidate()``), not merged into a stored record.
    :ivar snapshot: the backend's picture of ``data`` as loaded, to find what changed.
    :ivar had_cookie: the request carried a session cookie (valid or not).
    :ivar signed_with_old_key: the cookie was signed with a key other than the newest: send it
        again, signed with the newest (``resign`` is the earlier name).
    :ivar ended_ids: ids this request ended (``regenerate``, ``invalidate``): to delete.
    """

    data: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    created: float = field(default_factory=time.time)
    last_seen: float = 0.0
    new: bool = True
    fresh_id: bool = True
    snapshot: Any = None
    had_cookie: bool = False
    signed_with_old_key: bool = False
    ended_ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.last_seen:
            self.last_seen = self.created

    @property
    def resign(self) -> bool:
        """The earlier name of :attr:`signed_with_old_key` (it read as "quit", not "re-sign")."""
        return self.signed_with_old_key

    @resign.setter
    def resign(self, value: bool) -> None:
        self.signed_with_old_key = value


class Session(MutableMapping[str, Any]):
    """One request's session, loaded on first use by calling ``load()``.

    :param load: returns the request's :class:`SessionState`; called at most once.

    :ivar modified: ``True`` once the application changed the session through the mapping
        (values changed in place are found when the response starts, not here).
    :ivar accessed: ``True`` once the application read or wrote the session.
    """

    __slots__ = ("_load_state", "_state", "accessed", "modified", "_frozen")

    def __init__(self, load: Callable[[], SessionState]) -> None:
        self._load_state = load
        self._state: SessionState | None = None
        self.accessed = False
        self.modified = False
        self._frozen = False

    @property
    def state(self) -> SessionState | None:
        """The loaded state, ``None`` when the application never touched the session."""
        return self._state

    def freeze(self) -> None:
        """Refuse changes from now on (the response has started: the cookie is out)."""
        self._frozen = True

    def _data(self) -> dict[str, Any]:
        state = self._state
        if state is None:
            self.accessed = True
            state = self._state = self._load_state()
        return state.data

    def _writable(self) -> SessionState:
        if self._frozen:
            raise RuntimeError("the session was changed after start_response: the cookie "
                               "has already been sent, change the session before responding")
        state = self._state
        if state is None:
            self._data()
            state = self._state
        self.modified = True
        return state  # type: ignore[return-value]

    # -- mapping ---------------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self._data()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"session keys must be strings, got {key!r}")
        # the common values (exact str, int, float, bool, None) without the recursive check
        if type(value) not in _SCALARS and not _json_safe(value):
            raise TypeError(f"session[{key!r}]: the value must be JSON-serialisable (dict "
                            f"with str keys, list, str, int, float, bool, None), got "
                            f"{type(value).__name__}")
        self._writable().data[key] = value

    def __delitem__(self, key: str) -> None:
        del self._writable().data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data()))

    def __len__(self) -> int:
        return len(self._data())

    def __contains__(self, key: object) -> bool:
        return key in self._data()

    def get(self, key: str, default: Any = None) -> Any:
        return self._data().get(key, default)

    def __repr__(self) -> str:
        if self._state is None:
            return "<Session (not loaded)>"
        return f"<Session {'new' if self._state.new else 'existing'} {self._state.data!r}>"

    def clear(self) -> None:
        """Remove every key (the cookie is deleted when the response goes out)."""
        self._writable().data.clear()

    @property
    def new(self) -> bool:
        """``True`` when the request brought no valid session (also after :meth:`invalidate`)."""
        self._data()
        return self._state.new  # type: ignore[union-attr]

    # -- identity --------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The session id (made on first use for a new session). Never put it in a page."""
        self._data()
        state = self._state
        assert state is not None
        if state.id is None:
            state.id = new_session_id()
        return state.id

    def regenerate(self) -> None:
        """Give the session a new id and keep its data; the old id stops working.

        Call it when the user's privileges change (login), the defence against session
        fixation: an id planted before login is worthless after it. The absolute lifetime
        (``max_age``) starts again.
        """
        state = self._writable()
        if state.id is not None:
            state.ended_ids.append(state.id)
        state.id = new_session_id()
        state.fresh_id = True
        state.created = state.last_seen = time.time()

    def invalidate(self) -> None:
        """Drop the data and the id; the response deletes the cookie (call it at logout).

        Values set afterwards go into a brand-new session with a new id.
        """
        state = self._writable()
        if state.id is not None:
            state.ended_ids.append(state.id)
        state.id = None
        state.data.clear()
        state.new = state.fresh_id = True
        state.created = state.last_seen = time.time()
