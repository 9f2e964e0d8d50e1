"""SQLite session store: server-side sessions shared by the worker processes of one host.

The embedded default for server-side sessions: no extra service, sessions survive restarts,
and every worker process of a server (gunicorn ``-w 4``) sees the same sessions. The database
runs in WAL mode, so readers never wait for the writer; each thread (and each forked process)
opens its own connection. Expired rows are deleted every ``purge_interval`` seconds by
whichever process saves a session next.

One row per session (table ``session_records``): ``data`` is a JSON object mapping each key
to its value's JSON text. A save merges one request's changes into the row in one
``BEGIN IMMEDIATE`` transaction, so requests of one session running in several processes at
once each keep what they changed.

Do NOT use it when the application runs on several hosts (a network file system breaks
SQLite's locking): use :class:`~middleware.sessions.RedisStore` there.

Usage::

    SessionMiddleware(app, secret_key=KEY, store=SQLiteStore("/var/lib/myapp/sessions.db"))
    SessionMiddleware(app, secret_key=KEY, store="sqlite:////var/lib/myapp/sessions.db")

In the URL form, as in SQLAlchemy, ``sqlite:///sessions.db`` is relative to the working
directory and ``sqlite:////var/lib/...`` (four slashes) is absolute.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from middleware.options import check_number
from middleware.sessions.store import Changes, Record, StoreUnavailable

__all__ = ["SQLiteStore"]

T = TypeVar("T")

_INHERITED: list[sqlite3.Connection] = []

logger = logging.getLogger("middleware.sessions")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS session_records (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    created REAL NOT NULL,
    last_seen REAL NOT NULL,
    expires REAL NOT NULL
)"""

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _inode(path: str) -> int | None:
    """The inode of ``path``, ``None`` when it is missing."""
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


class SQLiteStore:
    """Sessions in one SQLite database file.

    :param path: the database file; created (with its table) when missing. Its directory must
        exist and be writable (SQLite keeps ``-wal`` and ``-shm`` files beside it).
    :param timeout: seconds a writer waits for another process's write lock before the
        request fails with a 503.
    :param purge_interval: seconds between sweeps of expired rows.
    """

    def __init__(self, path: str | os.PathLike[str], timeout: float = 5.0,
                 purge_interval: float = 300.0) -> None:
        path = os.fspath(path)
        if not isinstance(path, str) or not path or path == ":memory:":
            raise ValueError(f"path must be a database file path, got {path!r}")
        check_number("timeout", timeout, positive=True)
        check_number("purge_interval", purge_interval, positive=True)
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            # Found now, not as a 503 on the first request that saves a session.
            raise ValueError(f"path: the folder {folder!r} of the session database does not exist")
        self.path = path
        self.timeout = timeout
        self.purge_interval = purge_interval
        self._local = threading.local()
        self._next_purge = 0.0

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    def _connect(self) -> sqlite3.Connection:
        """This thread's connection; a new one after a fork (connections do not survive it)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            inherited = getattr(local, "conn", None)
            if inherited is not None and getattr(local, "pid", None) is not None:
                # opened before a fork: closing it here could disturb the parent's WAL and
                # locks (SQLite's "do not carry a connection across fork"), so never close it
                _INHERITED.append(inherited)
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            local.conn, local.pid, local.inode = conn, os.getpid(), _inode(self.path)
        elif _inode(self.path) != local.inode:
            # the file was removed or replaced: this connection would keep writing to one
            # that no other worker sees and that is gone at the next restart
            logger.error("session database %s was removed or replaced; reopening it (the "
                         "sessions in the old file are lost)", self.path)
            local.conn.close()
            local.pid = None
            return self._connect()
        current: sqlite3.Connection = local.conn
        return current

    def _run(self, operation: str, work: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return work(self._connect())
        except sqlite3.Error as exc:
            # a broken connection is dropped so the next request opens a fresh one
            self._local.pid = None
            raise StoreUnavailable(self, operation, exc) from exc

    def load(self, session_id: str) -> Record | None:
        row = self._run("load", lambda conn: conn.execute(
            "SELECT data, created, last_seen FROM session_records WHERE id = ? AND expires > ?",
            (session_id, time.time())).fetchone())
        if row is None:
            return None
        values = _values(row[0])
        return None if values is None else Record(values, row[1], row[2])

    def save(self, session_id: str, changes: Changes, ttl: int, *, new: bool) -> int | None:
        now = time.time()

        def create(conn: sqlite3.Connection) -> int:
            conn.execute("INSERT OR REPLACE INTO session_records VALUES (?, ?, ?, ?, ?)",
                         (session_id, _dumps(dict(changes.set)), changes.created,
                          changes.last_seen, now + ttl))
            return len(changes.set)

        def merge(conn: sqlite3.Connection) -> int | None:
            # IMMEDIATE takes the write lock before the read: no other process can change
            # the row between our read and our write, and no deadlock upgrading a read lock
            conn.execute("BEGIN IMMEDIATE")
            try:
                left = _merge(conn, session_id, changes, ttl, now)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return left

        saved = self._run("save", create if new else merge)
        if now >= self._next_purge:
            self._next_purge = now + self.purge_interval
            self.purge()
        return saved

    def delete(self, session_id: str) -> None:
        self._run("delete", lambda conn: conn.execute(
            "DELETE FROM session_records WHERE id = ?", (session_id,)))

    def ping(self) -> None:
        """Open (or reuse) this thread's connection and run a trivial query."""
        self._run("ping", lambda conn: conn.execute("SELECT 1").fetchone())

    def purge(self) -> int:
        """Delete expired rows now; return how many went."""
        cursor = self._run("purge", lambda conn: conn.execute(
            "DELETE FROM session_records WHERE expires <= ?", (time.time(),)))
        return cursor.rowcount


def _values(text: str) -> dict[str, str] | None:
    """The ``data`` column as a dict, ``None`` when it is not a JSON object."""
    try:
        values = json.loads(text)
    except ValueError:
        return None
    return values if isinstance(values, dict) else None


def _merge(conn: sqlite3.Connection, session_id: str, changes: Changes, ttl: int,
           now: float) -> int | None:
    """Apply ``changes`` to the live row (inside the caller's transaction)."""
    row = conn.execute("SELECT data FROM session_records WHERE id = ? AND expires > ?",
                       (session_id, now)).fetchone()
    values = None if row is None else _values(row[0])
    if values is None:  # ended meanwhile (or unreadable): never brought back
        return None
    values.update(changes.set)
    for key in changes.deleted:
        values.pop(key, None)
    if not values:
        conn.execute("DELETE FROM session_records WHERE id = ?", (session_id,))
        return 0
    conn.execute("UPDATE session_records SET data = ?, last_seen = ?, expires = ? WHERE id = ?",
                 (_dumps(values), changes.last_seen, now + ttl, session_id))
    return len(values)
