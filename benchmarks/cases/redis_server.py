"""The Redis server of the Redis session rows: one per benchmark process, started on first use.

A :class:`support.redis.RedisServer` (persistence off) in a temporary folder, stopped when the
process exits and, on Linux, when it is killed (a worker killed for overrunning its budget
leaves no server behind). Without the binary the Redis rows are "not available".
"""

from __future__ import annotations

import atexit
import shutil
import tempfile

from benchmarks.cases import NotAvailable
from support.redis import RedisServer

_url: str | None = None


def redis_url() -> str:
    """``redis://127.0.0.1:PORT/0`` of this process's server, started on first use."""
    global _url
    if _url is None:
        directory = tempfile.mkdtemp(prefix="bench-redis-")
        atexit.register(shutil.rmtree, directory, True)
        try:
            redis = RedisServer(directory).start(die_with_parent=True)
        except (ImportError, RuntimeError, TimeoutError) as exc:
            raise NotAvailable(f"no Redis server: {exc}") from None
        atexit.register(redis.stop)
        _url = redis.url
    return _url
