"""Redis session store: server-side sessions shared by several hosts.

Each session is one Redis hash ``<prefix><id>``: a field ``k:<key>`` per session key holding
its value's JSON text, and ``m:created`` / ``m:seen``, with a time to live so Redis itself
forgets expired sessions (no sweeping). A load is one ``HGETALL``. A save is one server-side
script, atomic in Redis: it writes the fields the request changed, deletes the ones it
removed, leaves every other field as other requests left it and renews the TTL, and it does
nothing when the session no longer exists (a concurrent logout is not undone). A delete is
one ``DEL``. One round trip each, over one connection pool per store, with connect and read
timeouts so a hung Redis fails fast into a 503 instead of tying up every worker.

Needs the ``redis`` package (``pip install wsgi-middleware-suite[redis]``). For one host,
:class:`~middleware.sessions.SQLiteStore` needs no extra service.

Usage::

    SessionMiddleware(app, secret_key=KEY, store=RedisStore("redis://cache:6379/0"))
    SessionMiddleware(app, secret_key=KEY, store="redis://cache:6379/0")

``rediss://`` (TLS) and ``unix:///run/redis.sock?db=0`` URLs work as in redis-py.
"""

from __future__ import annotations

from typing import Any

from middleware.scrubbing import mask_url
from middleware.sessions.base import Changes, Record, StoreUnavailable

__all__ = ["RedisStore"]

_CREATED, _SEEN, _KEY = "m:created", "m:seen", "k:"

# KEYS[1]: the hash. ARGV: new (1/0), ttl, created, last_seen, number of fields set,
# then field/value pairs, then the fields to delete. Returns the number of session keys
# left (0: deleted), or -1 when an update finds no session.
_SAVE = """
local key = KEYS[1]
local nset = tonumber(ARGV[5])
if ARGV[1] == "1" then
  redis.call("DEL", key)
  redis.call("HSET", key, "m:created", ARGV[3])
elseif redis.call("TYPE", key).ok ~= "hash" then
  return -1
end
redis.call("HSET", key, "m:seen", ARGV[4])
for i = 6, 5 + 2 * nset, 2 do
  redis.call("HSET", key, ARGV[i], ARGV[i + 1])
end
for i = 6 + 2 * nset, #ARGV do
  redis.call("HDEL", key, ARGV[i])
end
local left = redis.call("HLEN", key) - 2
if left <= 0 then
  redis.call("DEL", key)
  return 0
end
redis.call("EXPIRE", key, ARGV[2])
return left
"""


class RedisStore:
    """Sessions in Redis, one key per session with a TTL.

    :param url: a redis-py URL: ``redis://[:password@]host:port/db``, ``rediss://...``,
        ``unix:///path.sock?db=0``.
    :param prefix: put in front of every key, to share a database with other data.
    :param socket_timeout: seconds to wait for a reply before the request fails with a 503.
    :param connect_timeout: seconds to wait for a connection.
    :param client: an existing ``redis.Redis`` client to use instead of ``url``.
    """

    def __init__(self, url: str | None = None, prefix: str = "session:",
                 socket_timeout: float = 2.0, connect_timeout: float = 2.0,
                 client: Any = None) -> None:
        try:
            import redis
        except ImportError:  # pragma: no cover - the test environment has redis
            raise ImportError("RedisStore needs the redis package: "
                              "pip install 'wsgi-middleware-suite[redis]'") from None
        if client is None and (not isinstance(url, str) or not url):
            raise ValueError(f"url must be a redis:// URL, got {url!r}")
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a string, got {prefix!r}")
        for name, value in (("socket_timeout", socket_timeout),
                            ("connect_timeout", connect_timeout)):
            if not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        self.url = url
        self.prefix = prefix
        self.socket_timeout = socket_timeout
        self.connect_timeout = connect_timeout
        self._errors = (redis.RedisError, OSError)
        if client is None:
            try:
                client = redis.Redis.from_url(url, socket_timeout=socket_timeout,
                                              socket_connect_timeout=connect_timeout)
            except ValueError as exc:
                raise ValueError(f"url: {exc}") from None
        self.client = client
        self._save = client.register_script(_SAVE)
        self._wrong_type = redis.ResponseError

    def __repr__(self) -> str:
        url = None if self.url is None else mask_url(self.url)
        return f"RedisStore({url!r}, prefix={self.prefix!r})"

    def load(self, session_id: str) -> Record | None:
        try:
            fields = self.client.hgetall(self.prefix + session_id)
        except self._wrong_type as exc:
            if "WRONGTYPE" in str(exc):  # a record of the format before 2.0: unknown
                return None
            raise StoreUnavailable(self, "load", exc) from exc
        except self._errors as exc:
            raise StoreUnavailable(self, "load", exc) from exc
        if not fields:
            return None
        # undecodable bytes are left for the backend to reject as a bad record
        text = {_text(k): _text(v) for k, v in fields.items()}
        try:
            created, last_seen = float(text.pop(_CREATED)), float(text.pop(_SEEN))
        except (KeyError, ValueError):
            return None
        skip = len(_KEY)
        return Record({k[skip:]: v for k, v in text.items() if k.startswith(_KEY)}, created,
                      last_seen)

    def save(self, session_id: str, changes: Changes, ttl: int, *, new: bool) -> int | None:
        args: list[str | float | int] = ["1" if new else "0", max(1, int(ttl)),
                                         repr(changes.created), repr(changes.last_seen),
                                         len(changes.set)]
        for key, value in changes.set.items():
            args += (_KEY + key, value)
        args += [_KEY + key for key in changes.deleted]
        try:
            left = self._save(keys=[self.prefix + session_id], args=args)
        except self._errors as exc:
            raise StoreUnavailable(self, "save", exc) from exc
        return None if left < 0 else int(left)

    def delete(self, session_id: str) -> None:
        try:
            self.client.delete(self.prefix + session_id)
        except self._errors as exc:
            raise StoreUnavailable(self, "delete", exc) from exc

    def ping(self) -> None:
        """One ``PING``; :class:`StoreUnavailable` when Redis cannot be reached."""
        try:
            self.client.ping()
        except self._errors as exc:
            raise StoreUnavailable(self, "ping", exc) from exc


def _text(value: bytes | str) -> str:
    """A reply as text (bytes unless the client was made with ``decode_responses=True``)."""
    return value if isinstance(value, str) else value.decode("utf-8", "replace")
