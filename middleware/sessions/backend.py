"""The backend interface: how a cookie value becomes a session, and a session a cookie value.

Like Flask's ``SessionInterface``, one small interface with one implementation per kind of
storage: :class:`~middleware.sessions.cookie.CookieBackend` (the data in the signed cookie)
and :class:`~middleware.sessions.server.StoreBackend` (a signed id in the cookie, the data in
a :class:`~middleware.sessions.SessionStore`). The middleware picks one from ``store=`` and
does everything else: reading the cookie, formatting ``Set-Cookie``, ``Vary``, logging, 503s.

A backend implements two methods::

    def open(self, value: str) -> SessionState       # or raise BadSession
    def save(self, state: SessionState) -> str | None  # cookie value to send, "" deletes it

and inherits the expiry rules (:meth:`SessionBackend.check_expiry`, :meth:`touch_due`).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

from middleware.sessions.session import SessionState

__all__ = ["DELETE", "BadSession", "SessionBackend"]

#: what :meth:`SessionBackend.save` returns to delete the cookie
DELETE = ""


class BadSession(Exception):
    """The request's cookie names no usable session; it gets a fresh one and a log line.

    :ivar reason: what was wrong, for the log (``"a bad cookie signature"``).
    :ivar level: the log level (``logging.INFO`` for the ordinary case of an expired session).
    """

    def __init__(self, reason: str, level: int = logging.WARNING) -> None:
        super().__init__(reason)
        self.reason = reason
        self.level = level


class SessionBackend(ABC):
    """Load and save sessions for :class:`~middleware.sessions.SessionMiddleware`.

    :param max_age: absolute lifetime in seconds, from ``created``.
    :param idle_timeout: seconds from ``last_seen`` after which a session ends, or ``None``.
    """

    #: the longest ``Set-Cookie`` line sent; a longer one is refused (the old cookie stays)
    max_cookie_size = 4093

    def __init__(self, max_age: float, idle_timeout: float | None) -> None:
        self.max_age = max_age
        self.idle_timeout = idle_timeout
        # a read refreshes last_seen at most this often, so reads seldom write
        self.reissue = min(idle_timeout / 10, 60) if idle_timeout else None

    @abstractmethod
    def open(self, value: str) -> SessionState:
        """The session named by the cookie ``value``; raise :class:`BadSession` if none."""

    @abstractmethod
    def save(self, state: SessionState) -> str | None:
        """Save what the request changed; return the cookie value to send, :data:`DELETE`
        to delete the cookie, or ``None`` to leave the browser's cookie as it is."""

    def check_expiry(self, created: float, last_seen: float, now: float) -> None:
        """Raise :class:`BadSession` when the session outlived ``max_age`` or ``idle_timeout``."""
        if now - created > self.max_age or (
                self.idle_timeout is not None and now - last_seen > self.idle_timeout):
            raise BadSession("an expired session", logging.INFO)

    def touch_due(self, state: SessionState, now: float) -> bool:
        """Whether a rolling ``idle_timeout`` needs ``last_seen`` written although nothing
        changed."""
        return self.reissue is not None and now - state.last_seen >= self.reissue

    def remaining(self, state: SessionState, now: float) -> int:
        """Whole seconds left of the absolute lifetime (at least 1)."""
        return max(1, int(state.created + self.max_age - now))

    def ttl(self, state: SessionState, now: float) -> int:
        """How long a store keeps the record: the absolute or the idle limit, whichever is first."""
        remaining = self.remaining(state, now)
        if self.idle_timeout is None:
            return remaining
        return max(1, min(remaining, int(self.idle_timeout)))
