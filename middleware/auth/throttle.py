"""Brute-force protection: count failed logins per client address and per user name.

After ``max_failures`` failures within ``window`` seconds from the first one, further attempts
from that address, or for that user name, are answered ``429 Too Many Requests`` with
``Retry-After`` until the window ends; the password is not even checked (nor the cache of
verified passwords), so guessing stops costing the server hash time. Successful requests do
not reset the counters (a correct password from one place must not wipe out the evidence of
guessing from another).

Counting happens *before* the check, atomically: :meth:`Throttle.acquire` adds the attempt
to every counter only if none of them has reached the limit yet (one lock in memory, one Lua
script in Redis), and :meth:`Throttle.release` takes it back when the credentials were right.
So 40 guesses sent in parallel with ``max_failures=3`` reach the password check 3 times, not
40 (counting after the check let every one of them through while the first were hashing).

IPv6 clients are counted per ``/64`` (``ipv6_prefix``): one host usually holds a whole /64
and can change address for every try. IPv4-mapped IPv6 addresses count as their IPv4 address.

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

import functools
import hashlib
import ipaddress
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from middleware.contracts import require
from middleware.options import check_bool, check_int, check_number

if TYPE_CHECKING:
    from redis.client import Pipeline

__all__ = ["MemoryCounter", "RedisCounter", "Throttle", "ThrottleCounter", "ThrottleUnavailable"]

log = logging.getLogger("middleware.auth")


class ThrottleUnavailable(Exception):
    """The counter store failed and the throttle is configured to fail closed."""


class ThrottleCounter(Protocol):
    """A store of expiring counters: what :class:`Throttle` asks of its ``store``.

    :class:`MemoryCounter` and :class:`RedisCounter` implement it; any object with these four
    methods will do (checked when the :class:`Throttle` is built). Keys are short strings
    the throttle makes (an address or a hashed user name), never raw client input.
    """

    def get(self, keys: list[str]) -> list[tuple[int, float]]:
        """``(count, seconds left)`` for each key (``(0, 0)`` when absent)."""

    def incr(self, keys: list[str], window: float) -> None:
        """Add one to each key; a new key expires ``window`` seconds from now."""

    def acquire(self, keys: list[str], limit: int, window: float) -> float:
        """Atomically: if every key is below ``limit``, add one to each and return 0; else
        return the seconds left on the longest blocked key (nothing is added)."""

    def release(self, keys: list[str]) -> None:
        """Take one back from each live key (never below 0, never creating a key)."""


#: the former name of :class:`ThrottleCounter`
Counter = ThrottleCounter


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
            self._count(keys, now, window)

    def _count(self, keys: list[str], now: float, window: float) -> None:
        """Count one more failure for each key (a new window for an expired one); locked."""
        for key in keys:
            entry = self._counts.get(key)
            if entry is None or entry[1] <= now:
                self._counts[key] = [1, now + window]
            else:
                entry[0] += 1
        self._trim(now)

    def acquire(self, keys: list[str], limit: int, window: float) -> float:
        now = self.clock()
        with self._lock:
            blocked = 0.0
            for key in keys:
                entry = self._counts.get(key)
                if entry is not None and entry[1] > now and entry[0] >= limit:
                    blocked = max(blocked, entry[1] - now)
            if blocked:
                return blocked
            self._count(keys, now, window)
            return 0.0

    def release(self, keys: list[str]) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                entry = self._counts.get(key)
                if entry is not None and entry[1] > now and entry[0] > 0:
                    entry[0] -= 1

    def _trim(self, now: float) -> None:
        """Keep at most ``max_keys`` (called with the lock held)."""
        if len(self._counts) > self.max_keys:
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            for key in list(self._counts)[:len(self._counts) - self.max_keys]:
                del self._counts[key]


# Check every key, then count on all of them or none: one script, so atomic in Redis.
_ACQUIRE = """
local limit, px, wait = tonumber(ARGV[1]), tonumber(ARGV[2]), 0
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= limit then
    local left = redis.call('PTTL', key)
    if left < 0 then redis.call('PEXPIRE', key, px); left = px end
    if left > wait then wait = left end
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  redis.call('SET', key, 0, 'PX', px, 'NX')
  redis.call('INCR', key)
end
return 0
"""
# DECR keeps the key's expiry; a key that expired meanwhile is not brought back.
_RELEASE = """
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
return 0
"""


class RedisCounter:
    """Counters in Redis (Lua scripts, so check-and-count is atomic), shared by every process.

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
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._release = self._redis.register_script(_RELEASE)

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

    def acquire(self, keys: list[str], limit: int, window: float) -> float:
        try:
            wait = self._acquire(keys=[self.prefix + k for k in keys],
                                 args=[limit, max(int(window * 1000), 1)])
        except self._errors as exc:
            raise ThrottleUnavailable(str(exc)) from exc
        return int(wait) / 1000

    def release(self, keys: list[str]) -> None:
        try:
            self._release(keys=[self.prefix + k for k in keys])
        except self._errors as exc:
            raise ThrottleUnavailable(str(exc)) from exc

    def _run(self, pipe: Pipeline) -> list[Any]:
        try:
            return pipe.execute()
        except self._errors as exc:
            raise ThrottleUnavailable(str(exc)) from exc

    def __repr__(self) -> str:
        return f"RedisCounter(<{self.url.split('@')[-1]}>)"


class Throttle:
    """Failed-login throttle.

    :param store: ``"memory"`` (default), a ``redis://`` URL, or a counter object
        (:class:`MemoryCounter`, :class:`RedisCounter`, or any :class:`ThrottleCounter`: a
        ``TypeError`` names the methods one lacks).
    :param max_failures: failures allowed per address and per user within ``window``.
    :param window: seconds from the first failure until the count starts over.
    :param fail_open: when the store fails, let the password check decide (``True``) or answer
        503 (``False``).
    :param ipv6_prefix: IPv6 clients are counted per network of this prefix length.
    """

    def __init__(self, store: str | ThrottleCounter = "memory", max_failures: int = 10,
                 window: float = 300, fail_open: bool = True, ipv6_prefix: int = 64) -> None:
        check_int("ipv6_prefix", ipv6_prefix, low=1, high=128)
        check_int("max_failures", max_failures, low=1)
        check_number("window", window, positive=True)
        check_bool("fail_open", fail_open)
        if store == "memory":
            store = MemoryCounter()
        elif isinstance(store, str):
            if not store.startswith(("redis://", "rediss://", "unix://")):
                raise ValueError("store must be 'memory', a redis:// URL or a counter object")
            store = RedisCounter(store)
        else:
            store = require(store, ThrottleCounter, "store")
        self.store: ThrottleCounter = store
        self.max_failures = max_failures
        self.window = window
        self.fail_open = fail_open
        self.ipv6_prefix = ipv6_prefix

    def client(self, address: str | None) -> str:
        """The unit an address is counted in: the IPv4 address, or its IPv6 ``/64``.

        >>> Throttle().client("2001:db8::1"), Throttle().client("::ffff:192.0.2.7")
        ('2001:db8::/64', '192.0.2.7')
        """
        if not address:
            return "-"
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            # Not an address (a unix socket, a proxy's odd value): bounded and opaque.
            return "raw:" + hashlib.sha256(address.encode("utf-8", "replace")).hexdigest()[:32]
        if ip.version == 6:
            if ip.ipv4_mapped is not None:
                return str(ip.ipv4_mapped)
            plain = ipaddress.IPv6Address(int(ip))  # without a zone id
            return str(ipaddress.IPv6Network((plain, self.ipv6_prefix), strict=False))
        return str(ip)

    def _keys(self, address: str | None, user: str | None) -> list[str]:
        # Cached: every authenticated request passes the throttle, with few distinct keys.
        return list(self._cached_keys(address, user))

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - a Throttle lives as long as its app
    def _cached_keys(self, address: str | None, user: str | None) -> tuple[str, ...]:
        if user is None:
            return (f"ip:{self.client(address)}",)
        # Hashed: user names are client input of any length and alphabet.
        return (f"ip:{self.client(address)}",
                "user:" + hashlib.sha256(user.encode("utf-8", "surrogatepass")).hexdigest()[:32])

    def retry_after(self, address: str | None, user: str | None) -> int:
        """Seconds the client must wait, or 0 when it may try; may raise ThrottleUnavailable."""
        try:
            counts = self.store.get(self._keys(address, user))
        except ThrottleUnavailable as exc:
            return self._failed(exc)
        blocked = [left for count, left in counts if count >= self.max_failures]
        return max(1, math.ceil(max(blocked))) if blocked else 0

    def acquire(self, address: str | None, user: str | None) -> int:
        """Count an attempt before checking it: 0 when it may go ahead (already counted as a
        failure: :meth:`release` it if it succeeds), else the seconds to wait (not counted).
        May raise :class:`ThrottleUnavailable` (``fail_open=False``)."""
        try:
            wait = self.store.acquire(self._keys(address, user), self.max_failures, self.window)
        except ThrottleUnavailable as exc:
            return self._failed(exc)
        return max(1, math.ceil(wait)) if wait else 0

    def release(self, address: str | None, user: str | None) -> None:
        """Take back an attempt counted by :meth:`acquire` that turned out to be right."""
        try:
            self.store.release(self._keys(address, user))
        except ThrottleUnavailable as exc:
            log.error("login throttle store failed: %s", exc)

    def failure(self, address: str | None, user: str | None) -> None:
        """Count one failed attempt (for checks made without :meth:`acquire`)."""
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
                f"window={self.window}, ipv6_prefix={self.ipv6_prefix})")
