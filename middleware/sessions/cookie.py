"""The default store: the whole session in a signed cookie, nothing on the server.

The session record (data, id, creation and last-seen times) is serialised to JSON, compressed
with zlib when that makes it shorter, and signed with itsdangerous (HMAC-SHA256, timestamped,
every key of ``secret_key`` accepted, the newest used to sign). Signed is not encrypted: the
user can read (but not change) what is in the session, so keep secrets out of it.

When NOT to use it:

* Large sessions. Browsers drop cookies over about 4 KB; a session that would not fit is
  refused with an error in the log and the previous cookie is kept (the change is lost, the
  user stays signed in). Use a server-side store for large data.
* When you need to end a session on the server (revoke a stolen cookie, "log out everywhere"):
  a cookie stays valid until it expires. ``invalidate()`` only deletes the browser's copy.
* Concurrent requests that both change the session: each response carries a whole cookie and
  the browser keeps the last one it receives (last write wins).

Usage::

    SessionMiddleware(app, secret_key=KEY)                       # store="cookie"
    SessionMiddleware(app, secret_key=KEY, store=CookieStore(max_size=3000))
"""

from __future__ import annotations

__all__ = ["CookieStore"]


class CookieStore:
    """Keep the session in the cookie itself (signed by the middleware's ``secret_key``).

    :param max_size: the largest ``Set-Cookie`` value (name, value and attributes) sent, in
        bytes; 4093 is what every current browser accepts.
    :param compress: zlib-compress the data when that makes the cookie shorter (sessions
        over 256 bytes); turn off only to read cookies by eye while debugging.
    """

    #: the middleware signs and stores the record in the cookie instead of calling a store
    client_side = True

    def __init__(self, max_size: int = 4093, compress: bool = True) -> None:
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 200:
            raise ValueError(f"max_size must be an integer of at least 200, got {max_size!r}")
        if not isinstance(compress, bool):
            raise TypeError(f"compress must be a bool, got {compress!r}")
        self.max_size = max_size
        self.compress = compress

    def __repr__(self) -> str:
        return f"CookieStore(max_size={self.max_size}, compress={self.compress})"
