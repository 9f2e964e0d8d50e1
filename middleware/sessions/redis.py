"""Redis session store: server-side sessions shared by several hosts.

Each session is one Redis string ``<prefix><id>`` holding the JSON record, with a time to live
so Redis itself forgets expired sessions (no sweeping). A load is one ``GET``, a save one
``SET ... EX`` (``XX`` for an existing session, so a session deleted by a concurrent logout is
not brought back), a delete one ``DEL``: one round trip each, over one connection pool per
store, with connect and read timeouts so a hung Redis fails fast into a 503 instead of tying
up every worker.

Needs the ``redis`` package (``pip install wsgi-middleware-suite[redis]``). For one host,
:class:`~middleware.sessions.SQLiteStore` needs no extra service.

Usage::

    SessionMiddleware(app, secret_key=KEY, store=RedisStore("redis://cache:6379/0"))
    SessionMiddleware(app, secret_key=KEY, store="redis://cache:6379/0")

``rediss://`` (TLS) and ``unix:///run/redis.sock?db=0`` URLs work as in redis-py.
"""

from __future__ import annotations

from typing import Any

from middleware.sessions.base import StoreUnavailable

__all__ = ["RedisStore"]


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

    def __repr__(self) -> str:
        return f"RedisStore({self.url!r}, prefix={self.prefix!r})"

    def load(self, session_id: str) -> str | None:
        try:
            value = self.client.get(self.prefix + session_id)
        except self._errors as exc:
            raise StoreUnavailable(self, "load", exc) from exc
        if isinstance(value, bytes):
            # undecodable bytes are left for the middleware to reject as a bad record
            return value.decode("utf-8", "replace")
        return value

    def save(self, session_id: str, data: str, ttl: int, *, new: bool) -> bool:
        try:
            done = self.client.set(self.prefix + session_id, data, ex=max(1, int(ttl)),
                                   xx=not new)
        except self._errors as exc:
            raise StoreUnavailable(self, "save", exc) from exc
        return bool(done)

    def delete(self, session_id: str) -> None:
        try:
            self.client.delete(self.prefix + session_id)
        except self._errors as exc:
            raise StoreUnavailable(self, "delete", exc) from exc
