"""Brute-force protection: count failed logins per client address and per user name.

After ``max_failures`` failures within ``window`` seconds from the first one, further attempts
from that address, or for that user name, are answered ``429 Too Many Requests`` with
``Retry-After`` until the window ends; the password is not even checked, so guessing stops
costing the server hash time. Successful requests do not reset the counters (a correct
password from one place must not wipe out the evidence of guessing from another).

Counters live in process memory by default (one process, lost on restart), or in Redis when
given a ``redis://`` URL, so every worker and host shares them. When Redis is unreachable
the throttle fails open (logs an error, lets the password check decide) unless
``fail_open=False``, which answers 503 instead.

The address is ``REMOTE_ADDR``. Behind a reverse proxy that is the proxy's address, shared by
every client, so a few failures would lock everybody out: put werkzeug's ``ProxyFix`` (set to
the number of proxies you run) outside the auth middleware so ``REMOTE_ADDR`` is the client.

When NOT to rely on it alone: a per-user lock lets an attacker lock a known user out for a
window; keep ``window`` short, and put per-address rate limits in the proxy too.

Usage::

    Throttle()                                            # 10 failures / 5 minutes, in memory
    Throttle("redis://localhost:6379/0", max_failures=5, window=900)
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["MemoryCounter", "RedisCounter", "Throttle", "ThrottleUnavailable"]

log = logging.getLogger("middleware.auth")


class ThrottleUnavailable(Exception):
    """The counter store failed and the throttle is configured to fail closed."""


class Counter(Protocol):
    """A store of expiring counters."""

    def get(self, keys: list[str]) -> list[tuple[int, float]]:
        """``(count, seconds left)`` for each key (``(0, 0)`` when absent)."""

    def incr(self, keys: list[str], window: float) -> None:
        """Add one to each key; a new key expires ``window`` seconds from now."""


class MemoryCounter:
    """Counters in a dict, bounded by ``max_keys`` (expired keys go first, then the oldest).

    :param max_keys: most keys held.
    :param clock: a monotonic clock (tests pass a fake one to step over a window).
    """

    def __init__(self, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_keys = max_keys
        self.clock = clock
        self._counts: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def get(self, keys: list[str]) -> list[tuple[int, float]]:
        now = self.clock()
        out = []
        for key in keys:
            entry = self._counts.get(key)
            if entry is None or entry[1] <= now:
                out.append((0, 0.0))
            else:
                out.append((int(entry[0]), entry[1] - now))
        return out

    def incr(self, keys: list[str], window: float) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                entry = self._counts.get(key)
                if entry is None or entry[1] <= now:
                    self._counts[key] = [1, now + window]
                else:
                    entry[0] += 1
            if len(self._counts) > self.max_keys:
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
                for key in list(self._counts)[:len(self._counts) - self.max_keys]:
                    del self._counts[key]


class RedisCounter:
    """Counters in Redis (``INCR`` + ``PEXPIRE`` in one transaction), shared by every process.

    :param url: ``redis://host:port/db`` (or ``unix://``), passed to ``redis.Redis.from_url``.
    :param prefix: key prefix.
    :param timeout: socket timeout in seconds, so a hung Redis does not hang logins.
    """

    def __init__(self, url: str, prefix: str = "middleware.auth:fail:",
                 timeout: float = 1.0) -> None:
        import redis  # imported here: only this store needs it

        self.url = url
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=timeout,
                                           socket_connect_timeout=timeout)
        self._errors = (redis.RedisError, OSError)

    def get(self, keys: list[str]) -> list[tuple[int, float]]:
        pipe = self._redis.pipeline(transaction=False)
        for key in keys:
            pipe.get(self.prefix + key)
            pipe.pttl(self.prefix + key)
        replies = self._run(pipe)
        return [(int(replies[i] or 0), max(replies[i + 1], 0) / 1000)
                for i in range(0, len(replies), 2)]

    def incr(self, keys: list[str], window: float) -> None:
        pipe = self._redis.pipeline(transaction=True)
        for key in keys:
            # SET NX starts the window only for a new key; INCR never touches the expiry.
            pipe.set(self.prefix + key, 0, px=max(int(window * 1000), 1), nx=True)
            pipe.incr(self.prefix + key)
        self._run(pipe)

    def _run(self, pipe):
        try:
            return pipe.execute()
        except self._errors as exc:
            raise ThrottleUnavailable(str(exc)) from exc

    def __repr__(self) -> str:
        return f"RedisCounter(<{self.url.split('@')[-1]}>)"


class Throttle:
    """Failed-login throttle.

    :param store: ``"memory"`` (default), a ``redis://`` URL, or a counter object
        (:class:`MemoryCounter`, :class:`RedisCounter`).
    :param max_failures: failures allowed per address and per user within ``window``.
    :param window: seconds from the first failure until the count starts over.
    :param fail_open: when the store fails, let the password check decide (``True``) or answer
        503 (``False``).
    """

    def __init__(self, store: str | Counter = "memory", max_failures: int = 10,
                 window: float = 300, fail_open: bool = True) -> None:
        if not isinstance(max_failures, int) or isinstance(max_failures, bool) or max_failures < 1:
            raise ValueError("max_failures must be a positive integer")
        if not isinstance(window, (int, float)) or window <= 0:
            raise ValueError("window must be a positive number of seconds")
        if store == "memory":
            store = MemoryCounter()
        elif isinstance(store, str):
            if not store.startswith(("redis://", "rediss://", "unix://")):
                raise ValueError("store must be 'memory', a redis:// URL or a counter object")
            store = RedisCounter(store)
        elif not (hasattr(store, "get") and hasattr(store, "incr")):
            raise TypeError("store must be 'memory', a redis:// URL or a counter object")
        self.store = store
        self.max_failures = max_failures
        self.window = window
        self.fail_open = fail_open

    @staticmethod
    def _keys(address: str | None, user: str | None) -> list[str]:
        keys = [f"ip:{address or '-'}"]
        if user is not None:
            # Hashed: user names are client input of any length and alphabet.
            keys.append("user:" + hashlib.sha256(user.encode()).hexdigest()[:32])
        return keys

    def retry_after(self, address: str | None, user: str | None) -> int:
        """Seconds the client must wait, or 0 when it may try; may raise ThrottleUnavailable."""
        try:
            counts = self.store.get(self._keys(address, user))
        except ThrottleUnavailable as exc:
            return self._failed(exc)
        blocked = [left for count, left in counts if count >= self.max_failures]
        return max(1, math.ceil(max(blocked))) if blocked else 0

    def failure(self, address: str | None, user: str | None) -> None:
        """Count one failed attempt."""
        try:
            self.store.incr(self._keys(address, user), self.window)
        except ThrottleUnavailable as exc:
            self._failed(exc)

    def _failed(self, exc: ThrottleUnavailable) -> int:
        log.error("login throttle store failed: %s", exc)
        if self.fail_open:
            return 0
        raise exc

    def __repr__(self) -> str:
        return (f"Throttle({self.store!r}, max_failures={self.max_failures}, "
                f"window={self.window})")
