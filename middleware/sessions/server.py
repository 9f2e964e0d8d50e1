"""The server-side backend: a signed session id in the cookie, the data in a store.

On load, the cookie's signature and the id's shape are checked before the store is asked;
an id the store does not know gets a brand-new session, never adopted. Each value is kept as
JSON text as loaded, so saving finds exactly what the request changed, values changed in
place included, and hands the store only that (:class:`~middleware.sessions.store.Changes`),
to be merged atomically into the stored record. Two overlapping requests that change
different keys both persist; a session a concurrent request ended stays ended.
"""

from __future__ import annotations

import logging
import time

from middleware.sessions.backend import DELETE, BadSession, SessionBackend
from middleware.sessions.ids import is_session_id, new_session_id
from middleware.sessions.jsontext import dumps, loads
from middleware.sessions.session import SessionState
from middleware.sessions.signing import BadData, SignedSerializer
from middleware.sessions.store import Changes, SessionStore

__all__ = ["SessionEnded", "StoreBackend"]


class SessionEnded(Exception):
    """A change was dropped: a concurrent request ended (logged out) the session meanwhile."""


class StoreBackend(SessionBackend):
    """Sessions in a :class:`~middleware.sessions.SessionStore`, by signed id.

    :param store: the store.
    :param codec: signs and verifies the id in the cookie.
    """

    def __init__(self, store: SessionStore, codec: SignedSerializer, max_age: float,
                 idle_timeout: float | None) -> None:
        super().__init__(max_age, idle_timeout)
        self.store = store
        self.codec = codec

    def open(self, value: str) -> SessionState:
        try:
            session_id, key_index = self.codec.unsign(value)
        except BadData:
            raise BadSession("a bad cookie signature") from None
        if not is_session_id(session_id):
            raise BadSession("a malformed session id")
        record = self.store.load(session_id)
        if record is None:
            raise BadSession("an unknown or expired session id", logging.INFO)
        self.check_expiry(record.created, record.last_seen, time.time())
        try:
            data = {key: loads(text) for key, text in record.values.items()}
        except (TypeError, ValueError):
            raise BadSession("a store record that is not JSON") from None
        return SessionState(data, session_id, record.created, record.last_seen, new=False,
                            fresh_id=False, snapshot=record.values,
                            signed_with_old_key=key_index > 0)

    def save(self, state: SessionState) -> str | None:
        store = self.store
        for old_id in state.ended_ids:
            store.delete(old_id)
        data, now = state.data, time.time()
        if state.fresh_id:  # a new record: the whole session under a new id
            if not data:  # never keep an empty session; drop what the browser has
                return DELETE if state.had_cookie else None
            if state.id is None:
                state.id = new_session_id()
            values = {key: dumps(value) for key, value in data.items()}
            store.save(state.id, Changes(values, (), state.created, now), self.ttl(state, now),
                       new=True)
            return self.codec.sign(state.id)
        loaded = state.snapshot
        changed = {}
        for key, value in data.items():
            text = dumps(value)
            if loaded.get(key) != text:
                changed[key] = text
        deleted = [key for key in loaded if key not in data]
        if changed or deleted or self.touch_due(state, now):
            left = store.save(state.id, Changes(changed, deleted, state.created, now),  # type: ignore[arg-type]
                              self.ttl(state, now), new=False)
            if left is None:
                raise SessionEnded(state.id)
            if left == 0:
                return DELETE
        return self.codec.sign(state.id) if state.signed_with_old_key else None  # type: ignore[arg-type]
