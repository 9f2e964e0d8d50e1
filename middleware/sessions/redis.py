"""Redis session store: server-side sessions shared by several hosts.

Each session is one Redis hash ``<prefix><id>``: a field ``key:<key>`` per session key
holding its value's JSON text and a field ``times`` holding ``"<created> <last_seen>"``, with
a time to live so Redis itself forgets expired sessions (no sweeping). A load is one
``HGETALL``. A save is one ``EVALSHA`` of a short script (its SHA computed once; loaded again
only if Redis answers that it does not know it, e.g. after a restart),
atomic in Redis: it does nothing when the session no longer exists (a concurrent logout is
not undone), else ``HSET`` the keys the request changed, ``HDEL`` those it removed (and
deletes the session when none is left), and renews the TTL; every other key stays as other
requests left it. Its cost grows with what the request changed, not with the session. A
delete is one ``DEL``. One round trip each, the same as Beaker's ``GET`` and ``SET``, over
one connection pool per store, with connect and read timeouts so a hung Redis fails fast into
a 503 instead of tying up every worker.

Needs the ``redis`` package (``pip install wsgi-middleware-suite[redis]``). For one host,
:class:`~middleware.sessions.SQLiteStore` needs no extra service.

Usage::

    SessionMiddleware(app, secret_key=KEY, store=RedisStore("redis://cache:6379/0"))
    SessionMiddleware(app, secret_key=KEY, store="redis://cache:6379/0")

``rediss://`` (TLS) and ``unix:///run/redis.sock?db=0`` URLs work as in redis-py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from middleware.options import check_number, check_str
from middleware.scrubbing import mask_url
from middleware.sessions.store import Changes, Record, StoreUnavailable

if TYPE_CHECKING:
    import redis

__all__ = ["RedisStore"]

#: where a session key starts in its hash field's name (``key:<key>``)
_KEY_AT = len("key:")

# KEYS[1]: the session. ARGV: new ("1"/"0"), ttl, "<created> <last_seen>", how many keys are
# set, then key/value pairs, then the keys deleted. Returns 0 when no key is left (the session
# is deleted), -1 when an update finds no session (not recreated), else 1. unpack() hands Lua
# at most a few thousand values at once: the keys go in slices of 500. No cjson: decoding and
# re-encoding a whole record cost about twice this script's time in Redis, and grew with the
# session.
_SAVE = """
local key = KEYS[1]
if ARGV[1] == "1" then
  redis.call("DEL", key)
elseif redis.call("EXISTS", key) == 0 then
  return -1
end
local last = 4 + 2 * tonumber(ARGV[4])
local first = 5
repeat
  local upto = math.min(first + 999, last)
  redis.call("HSET", key, "times", ARGV[3], unpack(ARGV, first, upto))
  first = upto + 1
until first > last
if #ARGV > last then
  for i = last + 1, #ARGV, 1000 do
    redis.call("HDEL", key, unpack(ARGV, i, math.min(i + 999, #ARGV)))
  end
  if redis.call("HLEN", key) == 1 then
    redis.call("DEL", key)
    return 0
  end
end
redis.call("EXPIRE", key, ARGV[2])
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
                 client: redis.Redis | None = None) -> None:
        try:
            import redis
        except ImportError:  # pragma: no cover - the test environment has redis
            raise ImportError("RedisStore needs the redis package: "
                              "pip install 'wsgi-middleware-suite[redis]'") from None
        if client is None and (not isinstance(url, str) or not url):
            raise ValueError(f"url must be a redis:// URL, got {url!r}")
        check_str("prefix", prefix, empty=True)
        check_number("socket_timeout", socket_timeout, positive=True)
        check_number("connect_timeout", connect_timeout, positive=True)
        self.url = url
        self.prefix = prefix
        self.socket_timeout = socket_timeout
        self.connect_timeout = connect_timeout
        self._errors = (redis.RedisError, OSError)
        if client is None:
            try:
                # str(): checked above to be a non-empty str
                client = redis.Redis.from_url(str(url), socket_timeout=socket_timeout,
                                              socket_connect_timeout=connect_timeout)
            except ValueError as exc:
                raise ValueError(f"url: {exc}") from None
        self.client = client
        # redis types execute_command without annotations: say what it is
        self._command: Callable[..., Any] = client.execute_command
        self._no_script = redis.exceptions.NoScriptError
        # computed here, not asked of Redis: building the store needs no connection
        self._sha = hashlib.sha1(_SAVE.encode()).hexdigest()
        encoder = getattr(client, "get_encoder", None)
        self._decoded = bool(encoder and getattr(encoder(), "decode_responses", False))

    def __repr__(self) -> str:
        url = None if self.url is None else mask_url(self.url)
        return f"RedisStore({url!r}, prefix={self.prefix!r})"

    def load(self, session_id: str) -> Record | None:
        try:
            fields = self._command("HGETALL", self.prefix + session_id)
        except self._errors as exc:
            if "WRONGTYPE" in str(exc):  # not a record of this format: an unknown session
                return None
            raise StoreUnavailable(self, "load", exc) from exc
        if not fields:
            return None
        try:
            if self._decoded:
                created, last_seen = fields.pop("times").split()
                values = {field[_KEY_AT:]: value for field, value in fields.items()}
            else:
                created, last_seen = fields.pop(b"times").split()
                values = {field[_KEY_AT:].decode(): value.decode()
                          for field, value in fields.items()}
            return Record(values, float(created), float(last_seen))
        except (KeyError, ValueError):
            return None  # not a record of ours: an unknown session

    def save(self, session_id: str, changes: Changes, ttl: int, *, new: bool) -> int | None:
        args: list[str | int] = [
            self._sha, 1, self.prefix + session_id, "1" if new else "0", max(1, int(ttl)),
            f"{changes.created:.3f} {changes.last_seen:.3f}", len(changes.set)]
        for key, value in changes.set.items():
            args += ("key:" + key, value)
        args += ["key:" + key for key in changes.deleted]
        try:
            try:
                left = self._command("EVALSHA", *args)
            except self._no_script:  # Redis restarted, or flushed its scripts: load it again
                self._command("SCRIPT LOAD", _SAVE)
                left = self._command("EVALSHA", *args)
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

