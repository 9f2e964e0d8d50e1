"""Real Redis fixtures for tests (the server itself: :mod:`support.redis`).

Fixtures (import the ones you use into your test module; each module that imports
``redis_server`` gets its own server for the session)::

    from redis_server import redis_server, redis_url  # noqa: F401

    def test_something(redis_url):          # "redis://127.0.0.1:<port>/0", flushed per test
        store = RedisStore(redis_url)

* ``redis_server`` (session scope): a :class:`~support.redis.RedisServer` with ``.url``,
  ``.port``, ``.unix_socket``, ``.unix_url`` and ``.client()`` (a ``redis.Redis``, closed at
  the end).
* ``redis_url`` (function scope): ``redis_server.url`` after a ``FLUSHALL``, so tests do not
  see each other's keys.

To test an outage, start a server of your own and stop it half way::

    with start_redis(tmp_path) as server:
        ...
        server.stop()          # later commands fail with redis.ConnectionError
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.redis import RedisServer, start_redis

__all__ = ["redis_server", "redis_url", "start_redis"]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real Redis server for the whole test session (see the module docstring)."""
    with start_redis() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The server's ``redis://`` URL, after ``FLUSHALL`` so each test starts empty."""
    redis_server.admin.flushall()
    return redis_server.url
