"""Keys that every process must agree on, derived from configured secrets (never random).

A login made by one gunicorn worker is checked by another, by another host, and by the same
app after a restart, so whatever the login stores that is keyed (the fingerprint of the
user's password hash) must be keyed from configuration. :class:`SecretKeys` takes the secret
as ``SessionMiddleware`` does (a string, bytes, or a list of them, newest first, to rotate
without logging everybody out) and derives one key per purpose with HMAC-SHA256, so the same
secret can serve sessions and authentication without one use weakening the other.

Per-process random keys remain right for what may differ between processes: the cache of
verified passwords (:class:`~middleware.auth.BasicAuth`) keys its entries with one.

Usage::

    keys = SecretKeys([NEW_SECRET, OLD_SECRET])
    tag = keys.sign("fingerprint", b"data")        # with the newest key
    keys.verify("fingerprint", b"data", tag)       # 0 (newest), 1 (older), or None
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from middleware.options import check_keys

__all__ = ["SecretKeys"]

_LENGTH = 32  # hex characters kept of each MAC (128 bits)


class SecretKeys:
    """Configured secrets, newest first, and the per-purpose keys derived from them.

    :param secret_key: a string, bytes, or a non-empty list of them (newest first).
    """

    def __init__(self, secret_key: str | bytes | Sequence[str | bytes]) -> None:
        keys = check_keys("secret_key", secret_key)
        self._secrets = [k.encode() if isinstance(k, str) else bytes(k) for k in keys]
        self._derived: dict[str, list[bytes]] = {}

    def keys(self, purpose: str) -> list[bytes]:
        """The keys for ``purpose``, newest first."""
        derived = self._derived.get(purpose)
        if derived is None:
            label = b"middleware.auth." + purpose.encode()
            derived = self._derived[purpose] = [hmac.digest(s, label, "sha256")
                                                for s in self._secrets]
        return derived

    def sign_all(self, purpose: str, message: bytes) -> list[str]:
        """The MAC of ``message`` under each key, newest first."""
        return [hmac.new(k, message, hashlib.sha256).hexdigest()[:_LENGTH]
                for k in self.keys(purpose)]

    def sign(self, purpose: str, message: bytes) -> str:
        """The MAC of ``message`` under the newest key."""
        return self.sign_all(purpose, message)[0]

    def verify(self, purpose: str, message: bytes, tag: str) -> int | None:
        """Index of the key that made ``tag`` (0 = newest), or ``None``."""
        given = tag.encode("utf-8", "replace")
        found = None
        for index, expected in enumerate(self.sign_all(purpose, message)):
            if hmac.compare_digest(expected.encode(), given) and found is None:
                found = index
        return found

    def __repr__(self) -> str:
        return f"SecretKeys(<{len(self._secrets)} keys>)"
