"""The server-side store protocol: what a store keeps, and the error it raises.

A server-side store keeps, per session id, a :class:`Record`: each session key with its value
as JSON text, the creation and last-seen times, and a time to live. It never sees the cookie,
never decodes a value and never decides about expiry (the backend does)::

    class SessionStore(Protocol):
        def load(self, session_id: str) -> Record | None: ...
        def save(self, session_id: str, changes: Changes, ttl: int, *, new: bool) -> int | None: ...
        def delete(self, session_id: str) -> None: ...
        def ping(self) -> None: ...

``save`` does not overwrite a session, it *merges* what one request changed into it,
atomically: the keys in ``changes.set`` are written, those in ``changes.deleted`` removed, and
every other key stays as another request left it. So two overlapping requests that change
different keys both persist, and for one key the last write wins. ``new=True`` creates the
record from ``changes.set`` alone (a new session, or one that ``regenerate()`` moved to a new
id). ``new=False`` merges into an existing record only: when a concurrent request deleted the
session (a logout), ``save`` returns ``None`` instead of bringing it back to life. Otherwise it
returns 0 when the record holds no key any more (the store deleted it), else a positive
number (the keys left, where the store counts them cheaply).

A store that cannot be reached raises :class:`StoreUnavailable`; the middleware turns it into
a 503 page and a log line, never a traceback and never a silently empty session.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from middleware.contracts import require

__all__ = ["Changes", "Record", "SessionStore", "StoreUnavailable", "check_store"]

@dataclass(frozen=True)
class Record:
    """A stored session: ``values`` maps each key to its value as JSON text.

    ``created`` and ``last_seen`` are Unix times (the absolute and the idle expiry).
    """

    values: Mapping[str, str]
    created: float
    last_seen: float


@dataclass(frozen=True)
class Changes:
    """What one request did to a session, for :meth:`SessionStore.save`.

    :ivar set: keys written, each with its value as JSON text.
    :ivar deleted: keys removed.
    :ivar created: the session's creation time (stored by ``new=True`` saves only).
    :ivar last_seen: the time of this request (always stored: the idle expiry restarts).
    """

    set: Mapping[str, str]
    deleted: Collection[str]
    created: float
    last_seen: float


class StoreUnavailable(Exception):
    """A session store could not be reached or failed; the request gets a 503.

    :ivar store: the store that failed.
    :ivar operation: ``"load"``, ``"save"``, ``"delete"`` or ``"ping"``.
    :ivar handled: set it to ``True`` when a layer inside the session middleware caught this
        error and answered without the session (an anonymous public page, say): the response
        then goes out as the app made it instead of becoming the 503 page.

    The original exception is the ``__cause__``.
    """

    handled = False

    def __init__(self, store: object, operation: str, cause: BaseException) -> None:
        super().__init__(f"{type(store).__name__}.{operation} failed: {cause!r}")
        self.store = store
        self.operation = operation


@runtime_checkable
class SessionStore(Protocol):
    """What a server-side store implements (see the module docstring)."""

    def load(self, session_id: str) -> Record | None:
        """The record saved for ``session_id``, or ``None`` (unknown or expired)."""

    def save(self, session_id: str, changes: Changes, ttl: int, *, new: bool) -> int | None:
        """Merge ``changes`` atomically and keep the record ``ttl`` seconds more.

        Returns 0 when no key is left (the record was deleted), a positive number when keys
        remain, or ``None`` when ``new`` is false and the record no longer exists (nothing
        written).
        """

    def delete(self, session_id: str) -> None:
        """Forget ``session_id`` (no error when it is unknown)."""

    def ping(self) -> None:
        """Return when the store can be reached; raise :class:`StoreUnavailable` otherwise."""


def check_store(store: object) -> SessionStore:
    """Return ``store`` if it implements :class:`SessionStore`, else raise a ``TypeError``
    naming what is missing (checked when the middleware is built, not at the first request)."""
    return require(store, SessionStore, "store")
