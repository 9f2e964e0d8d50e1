"""Real servers for tests: serve a WSGI app on 127.0.0.1 in a thread, or run a command.

Usage::

    with serve_in_thread(app) as base_url:
        requests.get(base_url + "/")

    with run_server([PYTHON, "-m", "gunicorn", ...], port) as server:
        requests.get(server.url + "/")
        assert "Booting worker" in server.log()
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from werkzeug.serving import make_server

from support.net import free_port  # shared with the benchmarks; tests import it from here

__all__ = ["PYTHON", "Running", "free_port", "from_every_worker", "run_server",
           "serve_in_thread"]

T = TypeVar("T")


@contextlib.contextmanager
def serve_in_thread(app: Any, threaded: bool = True) -> Iterator[str]:
    """Serve ``app`` with werkzeug's server on a free port; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=threaded)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class Running:
    """A started server: its ``Popen``, base URL and log file."""

    def __init__(self, proc: subprocess.Popen, url: str, log_path: Path) -> None:
        self.proc, self.url, self.log_path = proc, url, log_path

    def log(self) -> str:
        """Everything the process wrote so far (stdout and stderr)."""
        return self.log_path.read_text(errors="replace")


def _ready(port: int | None, unix_socket: str | None) -> bool:
    if unix_socket is not None:
        if not os.path.exists(unix_socket):
            return False
        with socket.socket(socket.AF_UNIX) as sock:
            return sock.connect_ex(unix_socket) == 0
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def run_server(args: list[str], port: int | None = None, *, log_path: Path | None = None,
               unix_socket: str | None = None, env: dict[str, str] | None = None,
               cwd: str | os.PathLike[str] | None = None,
               timeout: float = 30.0) -> Iterator[Running]:
    """Run a server command until the block ends; ready once ``port`` (or ``unix_socket``)
    accepts. Its output goes to ``log_path`` (a temporary file by default: a pipe nobody reads
    would block a chatty server), and its whole process group is killed afterwards."""
    assert (port is None) != (unix_socket is None), "wait for a port or a socket"
    temporary = log_path is None
    if log_path is None:
        handle, name = tempfile.mkstemp(prefix="server-", suffix=".log")
        os.close(handle)
        log_path = Path(name)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(args, env={**os.environ, **(env or {})}, cwd=cwd,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = Running(proc, f"http://127.0.0.1:{port}", log_path)
    try:
        deadline = time.monotonic() + timeout
        while not _ready(port, unix_socket):
            if proc.poll() is not None:
                raise AssertionError(f"{args[0]} exited with {proc.returncode}:\n{server.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{args[0]} not ready after {timeout}s:\n{server.log()}")
            time.sleep(0.05)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            proc.wait(5)
        if temporary:
            log_path.unlink(missing_ok=True)



PYTHON = sys.executable


def from_every_worker(ask: Callable[[], tuple[int, T]], workers: int = 2,
                      timeout: float = 60.0) -> dict[int, set[T]]:
    """Call ``ask() -> (pid, value)`` until ``workers`` processes answered; what each said.

    Without ``--preload`` a worker may still be importing the app when the port opens, and a
    sync worker that is free takes every sequential request: so ask from four threads at once
    (a busy worker leaves the next connection to another) and keep asking for ``timeout``
    seconds rather than a fixed count.
    """
    seen: dict[int, set[T]] = {}
    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(4) as pool:
        while len(seen) < workers:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(seen)} of {workers} workers answered: {seen}")
            for pid, value in pool.map(lambda _: ask(), range(8)):
                seen.setdefault(pid, set()).add(value)
    return seen
