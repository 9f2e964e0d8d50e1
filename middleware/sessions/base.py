"""The server-side store protocol, session ids, and the store error.

A server-side store keeps one JSON text per session id and forgets it after a time to live.
It never sees the cookie, never decodes the JSON and never decides about expiry: the
middleware does all of that, so a store is three small methods::

    class SessionStore(Protocol):
        def load(self, session_id: str) -> str | None: ...
        def save(self, session_id: str, data: str, ttl: int, *, new: bool) -> bool: ...
        def delete(self, session_id: str) -> None: ...

``save(..., new=False)`` updates an existing record only: when a concurrent request deleted
the session (a logout, a :meth:`~middleware.sessions.Session.regenerate`), the update is
dropped and ``save`` returns ``False`` instead of bringing the session back to life.

A store that cannot be reached raises :class:`StoreUnavailable`; the middleware turns it into
a 503 page and a log line, never a traceback and never a silently empty session.
"""

from __future__ import annotations

import re
import secrets
from typing import Protocol, runtime_checkable

__all__ = ["SessionStore", "StoreUnavailable", "is_session_id", "new_session_id"]

#: 32 random bytes from :mod:`secrets`, URL-safe base64 without padding: 43 characters.
_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_session_id() -> str:
    """A fresh, unguessable session id (256 bits from :func:`secrets.token_urlsafe`)."""
    return secrets.token_urlsafe(32)


def is_session_id(value: object) -> bool:
    """Whether ``value`` has the shape of an id from :func:`new_session_id`.

    Checked before any store access, so a forged value never reaches a store query.
    """
    return isinstance(value, str) and _ID.match(value) is not None


class StoreUnavailable(Exception):
    """A session store could not be reached or failed; the request gets a 503.

    :ivar store: the store that failed.
    :ivar operation: ``"load"``, ``"save"`` or ``"delete"``.
    The original exception is the ``__cause__``.
    """

    def __init__(self, store: object, operation: str, cause: BaseException) -> None:
        super().__init__(f"{type(store).__name__}.{operation} failed: {cause!r}")
        self.store = store
        self.operation = operation


@runtime_checkable
class SessionStore(Protocol):
    """What a server-side store implements (see the module docstring)."""

    def load(self, session_id: str) -> str | None:
        """Return the JSON text saved for ``session_id``, or ``None`` (unknown or expired)."""

    def save(self, session_id: str, data: str, ttl: int, *, new: bool) -> bool:
        """Store ``data`` for ``ttl`` seconds; with ``new=False`` only if the record exists."""

    def delete(self, session_id: str) -> None:
        """Forget ``session_id`` (no error when it is unknown)."""
