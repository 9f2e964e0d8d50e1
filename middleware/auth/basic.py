"""HTTP Basic authentication (RFC 7617) against password hashes or an Apache htpasswd file.

When to use: scripts, ``curl``, internal tools, anything behind TLS that can send a user name
and password with every request. When NOT to: over plain HTTP (the password is only base64
encoded), or for browser users who need to log out (browsers cache Basic credentials; use the
login form of :class:`~middleware.auth.AuthMiddleware` instead).

Verifying a strong hash costs 50-200 ms, so successful verifications are remembered for
``cache_ttl`` seconds under an HMAC of (user, password, stored hash) with a per-process key
(a cache may differ between processes): the cache holds no plaintext, and changing the stored
hash invalidates it. Failures are never cached (the throttle deals with them, and is asked
before the cache).

Response time does not tell which names exist: an unknown user name is checked against a
dummy hash of the *slowest* scheme and cost in the table, and a known user whose hash is
cheaper than that one pays the same dummy check on top of their own, so with ``{SHA}``,
bcrypt and scrypt users mixed, every check costs what the scrypt one costs.

``fingerprint(user)`` (what a browser login keeps, so a password change ends it) is an HMAC
of the stored hash under a key derived from ``secret_key``, configuration every worker, host
and restart shares; ``AuthMiddleware(secret_key=...)`` hands its key to backends without one.

Credentials are decoded as UTF-8 (the challenge advertises ``charset="UTF-8"``), falling back
to latin-1 for old clients. Malformed headers (bad base64, no colon, control characters) raise
:class:`~middleware.auth.base.MalformedCredentials`, answered 400 by the middleware.

Usage::

    BasicAuth(htpasswd="/etc/app/users.htpasswd")      # htpasswd -B -c users.htpasswd alice
    BasicAuth(users={"alice": generate_password_hash("secret")})
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from middleware.options import check_int, check_number

from .base import Credentials, Identity, MalformedCredentials, authorization, quote_param
from .hashes import PasswordHash, UnsupportedHash, parse_hash
from .htpasswd import HtpasswdFile, warn_weak
from .keys import SecretKeys

if TYPE_CHECKING:
    import os

    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["BasicAuth"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BasicAuth:
    """Basic authentication backend.

    :param users: a mapping of user name to password hash (any format of :mod:`.hashes`).
    :param htpasswd: path of an Apache htpasswd file; re-read when it changes. Users in
        ``users`` take precedence over the file.
    :param cache_ttl: seconds a verified (user, password) pair is trusted without re-hashing;
        0 disables the cache.
    :param cache_size: most entries in the verification cache.
    :param reload_interval: seconds between checks of the htpasswd file for changes.
    :param secret_key: the secret (or list, newest first) the login fingerprints are keyed
        with; by default the one of the enclosing :class:`~middleware.auth.AuthMiddleware`.
    """

    scheme = "Basic"

    def __init__(self, users: Mapping[str, str] | None = None,
                 htpasswd: str | os.PathLike[str] | None = None, *, cache_ttl: float = 300,
                 cache_size: int = 10_000, reload_interval: float = 1.0,
                 secret_key: str | bytes | list[str | bytes] | None = None) -> None:
        if users is None and htpasswd is None:
            raise ValueError("BasicAuth needs users= (a mapping) or htpasswd= (a file path)")
        if users is not None and not isinstance(users, Mapping):
            raise TypeError("users must be a mapping of user name to password hash")
        check_number("cache_ttl", cache_ttl, low=0)
        check_int("cache_size", cache_size, low=1)
        self.users: dict[str, PasswordHash] = {}
        for user, stored in (users or {}).items():
            if not isinstance(user, str) or not user or ":" in user or _CONTROL.search(user):
                raise ValueError(f"users: invalid user name {user!r}")
            try:
                self.users[user] = parse_hash(stored)
            except UnsupportedHash as exc:
                raise ValueError(f"users[{user!r}]: {exc}") from None
        warn_weak(self.users, "BasicAuth users")
        self.htpasswd = None if htpasswd is None else HtpasswdFile(htpasswd, reload_interval)
        self.cache_ttl = cache_ttl
        self.cache_size = cache_size
        self._key = secrets.token_bytes(32)
        self._cache: dict[bytes, float] = {}
        self._cache_lock = threading.Lock()
        self._dummies: dict[str, PasswordHash] = {}
        self._slowest: tuple[object, PasswordHash] | None = None
        self.secret_keys = None if secret_key is None else SecretKeys(secret_key)

    def use_secret_key(self, keys: SecretKeys) -> None:
        """Key the fingerprints with ``keys`` unless this backend was given its own."""
        if self.secret_keys is None:
            self.secret_keys = keys

    def lookup(self, user: str) -> PasswordHash | None:
        """The stored hash of ``user``, or ``None``."""
        stored = self.users.get(user)
        if stored is None and self.htpasswd is not None:
            stored = self.htpasswd.users().get(user)
        return stored

    def extract(self, environ: WSGIEnvironment) -> Credentials | None:
        """Parse ``Authorization: Basic``; ``None`` for other schemes or no header."""
        param = authorization(environ, "basic")
        if param is None:
            return None
        try:
            raw = base64.b64decode(param + "=" * (-len(param) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise MalformedCredentials("Basic credentials are not valid base64") from None
        user_raw, sep, password_raw = raw.partition(b":")
        if not sep:
            raise MalformedCredentials("Basic credentials have no ':' between user and password")
        user, password = _decode(user_raw), _decode(password_raw)
        if _CONTROL.search(user) or _CONTROL.search(password):
            raise MalformedCredentials("Basic credentials contain control characters")
        return Credentials(self.scheme, user, password)

    def _cache_key(self, user: str, password: str, stored: PasswordHash) -> bytes:
        user_raw, password_raw = user.encode(), password.encode()
        # Length-prefixed, so ("ab", "c") and ("a", "bc") never share a key.
        message = b"%d:%d:" % (len(user_raw), len(password_raw))
        return hmac.digest(self._key, message + user_raw + password_raw + stored.value.encode(),
                           "sha256")

    def cached(self, credentials: Credentials) -> Identity | None:
        """The identity if these credentials were verified less than ``cache_ttl`` ago."""
        if not self.cache_ttl or credentials.user is None:
            return None
        stored = self.lookup(credentials.user)
        if stored is None:
            return None
        expires = self._cache.get(self._cache_key(credentials.user, credentials.secret, stored))
        if expires is not None and expires > time.monotonic():
            return Identity(credentials.user, self.scheme)
        return None

    def authenticate(self, credentials: Credentials) -> Identity | None:
        """Verify the password (a full hash); remember a success in the cache."""
        user = credentials.user or ""
        if self.check_password(user, credentials.secret):
            return Identity(user, self.scheme)
        return None

    def check_password(self, user: str, password: str) -> bool:
        """Whether ``password`` is right for ``user``; every call costs what the slowest hash
        of the table costs (unknown users: a dummy of that kind; cheaper known users: their
        own hash plus that dummy)."""
        stored = self.lookup(user)
        dummy = self.dummy_hash()
        if stored is None:
            dummy.verify(password)
            return False
        if stored.cost < dummy.cost:
            dummy.verify(password)
        if not stored.verify(password):
            return False
        if self.cache_ttl:
            self._remember(self._cache_key(user, password, stored))
        return True

    def fingerprint(self, user: str) -> str | None:
        """A short MAC of the user's stored hash (newest key): it changes when the password
        changes, and is the same in every process configured with the same ``secret_key``."""
        found = self.fingerprints(user)
        return found[0] if found else None

    def fingerprints(self, user: str) -> list[str]:
        """The fingerprint under each configured key, newest first (``[]``: unknown user)."""
        stored = self.lookup(user)
        if stored is None:
            return []
        if self.secret_keys is None:
            raise RuntimeError("BasicAuth fingerprints need a configured key: pass "
                               "secret_key= to AuthMiddleware or to BasicAuth")
        return self.secret_keys.sign_all("fingerprint", stored.value.encode())

    def challenge(self, realm: str, error: str | None = None) -> str:
        """``Basic realm="...", charset="UTF-8"``."""
        return f'Basic realm={quote_param(realm)}, charset="UTF-8"'

    def _remember(self, key: bytes) -> None:
        now = time.monotonic()
        with self._cache_lock:
            if len(self._cache) >= self.cache_size:
                self._cache = {k: v for k, v in self._cache.items() if v > now}
                if len(self._cache) >= self.cache_size:
                    self._cache.clear()
            self._cache[key] = now + self.cache_ttl

    def dummy_hash(self) -> PasswordHash:
        """The hash unknown users are checked against: a random password's hash of the same
        kind as the slowest stored hash (bcrypt cost 10 for an empty table)."""
        table = self.htpasswd.users() if self.htpasswd is not None else None
        slowest = self._slowest
        if slowest is not None and slowest[0] is table:
            return slowest[1]
        stored = list(self.users.values()) + list((table or {}).values())
        template = max(stored, key=lambda h: h.cost, default=_DEFAULT_TEMPLATE)
        dummy = self._dummies.get(template.kind)
        if dummy is None:
            dummy = self._dummies[template.kind] = template.dummy()
        self._slowest = (table, dummy)
        return dummy

    def __repr__(self) -> str:
        source = f"htpasswd={self.htpasswd.path!r}" if self.htpasswd else ""
        users = f"users=<{len(self.users)} users>" if self.users else ""
        return f"BasicAuth({', '.join(p for p in (users, source) if p)})"


# The template of the dummy hash for a table with no users at all: bcrypt, cost 10.
_DEFAULT_TEMPLATE = PasswordHash("$2b$10$" + "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
                                 "bcrypt")


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
