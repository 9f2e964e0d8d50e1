"""The default store: the whole session in a signed cookie, nothing on the server.

The session (its id, creation and last-seen times, and data) is serialised to compact JSON,
compressed with zlib when that pays (256 bytes and more, and only when shorter), and signed
with HMAC-SHA256 by every request that changes it (see :mod:`middleware.sessions.signing`).
Signed is not encrypted: the user can read (but not change) what is in the session, so keep
secrets out of it.

When NOT to use it:

* Large sessions. Browsers drop cookies over about 4 KB; a session that would not fit is
  refused with an error in the log and the previous cookie is kept (the change is lost, the
  user stays signed in). Use a server-side store for large data.
* When you need to end a session on the server (revoke a stolen cookie, "log out everywhere"):
  a cookie stays valid until it expires. ``invalidate()`` only deletes the browser's copy.
* Concurrent requests that change the session. The browser holds the whole session and keeps
  the last cookie it receives, so nothing can merge two requests' changes: the last response
  wins, whole. The server-side stores (:class:`~middleware.sessions.SQLiteStore`,
  :class:`~middleware.sessions.RedisStore`, :class:`~middleware.sessions.MemoryStore`) merge
  each request's changes key by key instead.

Usage::

    SessionMiddleware(app, secret_key=KEY)                       # store="cookie"
    SessionMiddleware(app, secret_key=KEY, store=CookieStore(max_size=3000))
"""

from __future__ import annotations

import time
from typing import Any

from middleware.options import check_bool, check_int
from middleware.sessions.backend import DELETE, BadSession, SessionBackend
from middleware.sessions.ids import is_session_id, new_session_id
from middleware.sessions.jsontext import dumps, loads
from middleware.sessions.session import SessionState
from middleware.sessions.signing import BadData, SignedSerializer

__all__ = ["CookieBackend", "CookieStore"]

#: the record format written in the cookie
_FORMAT = 1


class CookieStore:
    """Keep the session in the cookie itself (signed by the middleware's ``secret_key``).

    :param max_size: the largest ``Set-Cookie`` value (name, value and attributes) sent, in
        bytes; 4093 is what every current browser accepts.
    :param compress: zlib-compress the data when that makes the cookie shorter (sessions
        over 256 bytes); turn off only to read cookies by eye while debugging.
    """

    def __init__(self, max_size: int = 4093, compress: bool = True) -> None:
        self.max_size = check_int("max_size", max_size, low=200)
        self.compress = check_bool("compress", compress)

    def __repr__(self) -> str:
        return f"CookieStore(max_size={self.max_size}, compress={self.compress})"


class CookieBackend(SessionBackend):
    """The session in the cookie: ``[1,"<id>",<created>,<last_seen>]`` then the data's JSON.

    The data's JSON text is kept as loaded, so saving is one comparison: the cookie is sent
    again only when that text changed (also by a value changed in place), the session is new
    or regenerated, it was signed with an old key, or a rolling ``idle_timeout`` is due.

    :param store: the :class:`CookieStore` options.
    :param codec: signs and verifies the cookie.
    """

    def __init__(self, store: CookieStore, codec: SignedSerializer, max_age: float,
                 idle_timeout: float | None) -> None:
        super().__init__(max_age, idle_timeout)
        self.store = store
        self.codec = codec
        self.max_cookie_size = store.max_size

    def open(self, value: str) -> SessionState:
        try:
            text, key_index = self.codec.loads(value)
        except BadData:
            raise BadSession("a bad cookie signature") from None
        try:
            session_id, created, last_seen, data, data_text = _parse(text)
        except (KeyError, TypeError, ValueError):
            raise BadSession("a session record of an unknown format") from None
        self.check_expiry(created, last_seen, time.time())
        # positional (data, id, created, last_seen, new, fresh_id, snapshot): keywords cost
        # a dataclass call 0.2 µs more, and this is every request with a cookie
        state = SessionState(data, session_id if is_session_id(session_id) else None, created,
                             last_seen, False, False, data_text)
        state.signed_with_old_key = key_index > 0
        return state

    def save(self, state: SessionState) -> str | None:
        data = state.data
        if not data:  # never keep an empty session; drop what the browser has
            return DELETE if state.had_cookie else None
        now = time.time()
        data_text = dumps(data)
        if not (state.fresh_id or data_text != state.snapshot or state.signed_with_old_key
                or self.touch_due(state, now)):
            return None
        if state.id is None:
            state.id = new_session_id()
        # the id is URL-safe base64 and the times are JSON numbers (to the millisecond, which
        # formats in half the time of a float's repr): no encoder needed
        return self.codec.dumps(f'[1,"{state.id}",{state.created:.3f},{now:.3f}]{data_text}')


def _parse(text: str) -> tuple[Any, float, float, dict[str, Any], str | None]:
    """``(id, created, last_seen, data, data's JSON text)`` from a cookie's text."""
    if text.startswith("{"):  # the format before 2.0: one object
        record = loads(text)
        if record["v"] != _FORMAT:
            raise ValueError(record["v"])
        session_id, created, last_seen, data = record["i"], record["c"], record["t"], record["d"]
        data_text = None  # written again in the current format by the next response
    else:
        # the header is written by save() alone (and signed): split it, no JSON decoder
        cut = text.index("]") + 1
        version, quoted_id, created, last_seen = text[1:cut - 1].split(",")
        if version != "1" or quoted_id[:1] != '"' or quoted_id[-1:] != '"':
            raise ValueError(version)
        session_id = quoted_id[1:-1]
        data_text = text[cut:]
        data = loads(data_text)
    if not isinstance(data, dict):
        raise TypeError(type(data))
    return session_id, float(created), float(last_seen), data, data_text
