"""Redis session store: server-side sessions shared by several hosts.

Each session is one Redis string ``<prefix><id>``: a JSON object ``{"c": created, "t":
last_seen, "d": {key: value's JSON text}}``, with a time to live so Redis itself forgets
expired sessions (no sweeping). A load is one ``GET``. A save is one server-side script,
atomic in Redis: it merges the keys the request set and removed into the stored object, keeps
every other key as other requests left it, renews the TTL, and does nothing when the session
no longer exists (a concurrent logout is not undone). A delete is one ``DEL``. One round trip
each, the same as a plain ``GET`` and ``SET``, over one connection pool per store, with
connect and read timeouts so a hung Redis fails fast into a 503 instead of tying up every
worker.

Needs the ``redis`` package (``pip install wsgi-middleware-suite[redis]``). For one host,
:class:`~middleware.sessions.SQLiteStore` needs no extra service.

Usage::

    SessionMiddleware(app, secret_key=KEY, store=RedisStore("redis://cache:6379/0"))
    SessionMiddleware(app, secret_key=KEY, store="redis://cache:6379/0")

``rediss://`` (TLS) and ``unix:///run/redis.sock?db=0`` URLs work as in redis-py.
"""

from __future__ import annotations

import json
from typing import Any

from middleware.scrubbing import mask_url
from middleware.sessions.base import Changes, Record, StoreUnavailable

__all__ = ["RedisStore"]

# KEYS[1]: the session. ARGV: new (1/0), ttl, created, last_seen, how many keys are set,
# then key/value pairs, then the keys deleted. Returns 0 when no key is left (the session is
# deleted), -1 when an update finds no session (not recreated), else 1. The times stay
# strings, so they keep every digit (cjson prints numbers with 14).
_SAVE = """
local key = KEYS[1]
local record
if ARGV[1] == "1" then
  record = {c = ARGV[3], d = {}}
else
  local text = redis.call("GET", key)
  if not text then
    return -1
  end
  local ok, decoded = pcall(cjson.decode, text)
  if not ok or type(decoded) ~= "table" or type(decoded.d) ~= "table" then
    return -1
  end
  record = decoded
end
record.t = ARGV[4]
local data = record.d
local last = 5 + 2 * tonumber(ARGV[5])
for i = 6, last, 2 do
  data[ARGV[i]] = ARGV[i + 1]
end
for i = last + 1, #ARGV do
  data[ARGV[i]] = nil
end
if next(data) == nil then
  redis.call("DEL", key)
  return 0
end
redis.call("SET", key, cjson.encode(record), "EX", ARGV[2])
return 1
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

    def __repr__(self) -> str:
        url = None if self.url is None else mask_url(self.url)
        return f"RedisStore({url!r}, prefix={self.prefix!r})"

    def load(self, session_id: str) -> Record | None:
        try:
            text = self.client.get(self.prefix + session_id)
        except self._errors as exc:
            raise StoreUnavailable(self, "load", exc) from exc
        if text is None:
            return None
        try:
            record = json.loads(text)
            return Record(record["d"], float(record["c"]), float(record["t"]))
        except (KeyError, TypeError, ValueError):
            return None  # not a record of ours: an unknown session

    def save(self, session_id: str, changes: Changes, ttl: int, *, new: bool) -> int | None:
        args: list[str | int] = ["1" if new else "0", max(1, int(ttl)), repr(changes.created),
                                 repr(changes.last_seen), len(changes.set)]
        for key, value in changes.set.items():
            args += (key, value)
        args += changes.deleted
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

