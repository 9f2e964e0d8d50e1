"""In-process session store: a dictionary with expiry, for tests and single-process servers.

Every worker process has its own dictionary, so do NOT use it behind a multi-process server
(gunicorn ``-w 4``, uWSGI): a user whose requests land on another worker loses the session.
Sessions also vanish on restart. Use :class:`~middleware.sessions.SQLiteStore` for several
processes on one host and :class:`~middleware.sessions.RedisStore` for several hosts.

Saves merge a request's changes into the stored record under a lock; a record is never
changed in place but replaced, so a load needs no lock.

Usage::

    SessionMiddleware(app, secret_key=KEY, store=MemoryStore())   # or store="memory"
"""

from __future__ import annotations

import threading
import time

from middleware.options import check_int
from middleware.sessions.store import Changes, Record

__all__ = ["MemoryStore"]


class MemoryStore:
    """Sessions in a thread-safe dictionary; expired entries are purged as new ones arrive.

    :param max_entries: the most sessions kept; when full, the ones closest to expiry are
        dropped first (a bound, so a flood of new sessions cannot exhaust memory).
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        check_int("max_entries", max_entries, low=1)
        self.max_entries = max_entries
        self._data: dict[str, tuple[float, Record]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryStore(max_entries={self.max_entries})"

    def __len__(self) -> int:
        return len(self._data)

    def load(self, session_id: str) -> Record | None:
        entry = self._data.get(session_id)
        if entry is None or entry[0] <= time.time():
            return None
        return entry[1]

    def save(self, session_id: str, changes: Changes, ttl: int, *, new: bool) -> int | None:
        now = time.time()
        with self._lock:
            if new:
                if len(self._data) >= self.max_entries:
                    self._make_room(now)
                values = dict(changes.set)
                created = changes.created
            else:
                entry = self._data.get(session_id)
                if entry is None or entry[0] <= now:
                    return None
                values = {**entry[1].values, **changes.set}
                for key in changes.deleted:
                    values.pop(key, None)
                created = entry[1].created
            if not values:
                self._data.pop(session_id, None)
                return 0
            self._data[session_id] = (now + ttl, Record(values, created, changes.last_seen))
            return len(values)

    def delete(self, session_id: str) -> None:
        with self._lock:
            self._data.pop(session_id, None)

    def ping(self) -> None:
        """Always reachable (it is in this process)."""

    def _make_room(self, now: float) -> None:
        """Drop expired entries; if still full, the tenth closest to expiry (lock held)."""
        for key in [k for k, (expires, _) in self._data.items() if expires <= now]:
            del self._data[key]
        if len(self._data) >= self.max_entries:
            by_expiry = sorted(self._data, key=lambda k: self._data[k][0])
            for key in by_expiry[:max(1, self.max_entries // 10)]:
                del self._data[key]
