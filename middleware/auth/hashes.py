"""Password hash formats found in htpasswd files, and how to verify each one.

Accepted (the first three are strong, the last two are legacy and logged as weak, as are
werkzeug hashes with weak parameters: ``pbkdf2`` over MD5/SHA-1 or any digest outside SHA-2/
SHA-3/BLAKE2, ``pbkdf2`` under 100 000 iterations, ``scrypt`` under N·r·p = 131 072):

* bcrypt ``$2y$`` / ``$2b$`` / ``$2a$`` (``htpasswd -B``). bcrypt only reads the first 72
  bytes of a password; longer passwords are truncated exactly as Apache's ``htpasswd`` and
  httpd do, so hashes written by the real tool keep working (never a crash).
* werkzeug ``scrypt:N:r:p$salt$hex`` and ``pbkdf2:sha256:iterations$salt$hex``
  (``generate_password_hash``).
* Apache ``$apr1$`` MD5-crypt (``htpasswd -m``): 1 000 MD5 rounds, implemented here from the
  published algorithm (no maintained library carries it).
* ``{SHA}`` unsalted SHA-1 (``htpasswd -s``).

Refused with a clear error: plaintext, ``{PLAIN}``, DES ``crypt(3)`` and the ``$1$``/``$5$``/
``$6$`` glibc crypt formats (the stdlib ``crypt`` module is gone in Python 3.13).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from typing import Any

import bcrypt
from werkzeug.security import check_password_hash, generate_password_hash

__all__ = ["PasswordHash", "UnsupportedHash", "apr1_crypt", "parse_hash"]

WEAK_SCHEMES = frozenset({"apr1", "sha"})
_STRONG_PBKDF2 = frozenset({"sha256", "sha384", "sha512", "sha512_256", "sha3_256", "sha3_384",
                            "sha3_512", "blake2b", "blake2s"})
_MIN_PBKDF2_ITERATIONS = 100_000
_MIN_SCRYPT_WORK = 16384 * 8
# werkzeug's own default when a pbkdf2 hash names no iteration count (werkzeug 3.1).
_PBKDF2_DEFAULT_ITERATIONS = 1_000_000
# Rough cost of one verification in microseconds, per unit of work (one machine, see the
# auth notes): only the order matters, to find the slowest scheme of a table.
_US_PER_BCRYPT_ROUND = 48.0
_US_PER_SCRYPT_UNIT = 0.25
_US_PER_PBKDF2_ITERATION = {"md5": 0.1, "sha1": 0.12, "sha512": 0.27}
_US_APR1 = 300.0
_US_SHA = 0.5

_BCRYPT = re.compile(r"^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$")
_APR1 = re.compile(r"^\$apr1\$([^$]{0,8})\$[./0-9A-Za-z]{22}$")
_SHA = re.compile(r"^\{SHA\}[A-Za-z0-9+/]{27}=$")
_WERKZEUG = re.compile(r"^(scrypt:\d+:\d+:\d+|pbkdf2:[a-z0-9_]+(?::\d+)?)\$[^$]+\$[0-9a-f]+$")
_DES_CRYPT = re.compile(r"^[./0-9A-Za-z]{13}$")
_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class UnsupportedHash(ValueError):
    """A stored password is in a format this module refuses; the message says which and why."""


def _to64(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ITOA64[value & 0x3F])
        value >>= 6
    return "".join(out)


def apr1_crypt(password: bytes, salt: str) -> str:
    """Apache's MD5-crypt (``$apr1$``): Poul-Henning Kamp's md5crypt with the magic ``$apr1$``.

    >>> apr1_crypt(b"P@ssw0rd!", "TrAnSlT")
    '$apr1$TrAnSlT$J0GmaEjEeu2CblfgYJfwY.'
    """
    magic, salt_bytes = b"$apr1$", salt[:8].encode("ascii")
    alternate = hashlib.md5(password + salt_bytes + password).digest()
    ctx = hashlib.md5(password + magic + salt_bytes)
    for remaining in range(len(password), 0, -16):
        ctx.update(alternate[:min(16, remaining)])
    length = len(password)
    while length:
        # The original code hashes a byte of a zeroed buffer for set bits, else the first
        # byte of the password.
        ctx.update(b"\0" if length & 1 else password[:1])
        length >>= 1
    final = ctx.digest()
    for i in range(1000):
        step = hashlib.md5(password if i & 1 else final)
        if i % 3:
            step.update(salt_bytes)
        if i % 7:
            step.update(password)
        step.update(final if i & 1 else password)
        final = step.digest()
    encoded = "".join(_to64(final[a] << 16 | final[b] << 8 | final[c], 4)
                      for a, b, c in ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)))
    return f"$apr1${salt[:8]}${encoded}{_to64(final[11], 2)}"


class PasswordHash:
    """One stored password hash, its scheme recognised and validated.

    :param value: the hash as stored (``$2y$05$...``, ``scrypt:...``, ``$apr1$...``, ``{SHA}...``).
    """

    __slots__ = ("value", "scheme")

    def __init__(self, value: str, scheme: str) -> None:
        self.value = value
        self.scheme = scheme

    @property
    def weak(self) -> bool:
        """True for hashes a leaked file gives away fast: legacy formats (``$apr1$``,
        ``{SHA}``) and werkzeug hashes with weak parameters (``pbkdf2:md5``, few iterations)."""
        if self.scheme in WEAK_SCHEMES:
            return True
        if self.scheme != "werkzeug":
            return False
        method, params = self._werkzeug_params()
        if method == "scrypt":
            return bool(params[0] * params[1] * params[2] < _MIN_SCRYPT_WORK)
        digest, iterations = params
        return bool(digest not in _STRONG_PBKDF2 or iterations < _MIN_PBKDF2_ITERATIONS)

    @property
    def kind(self) -> str:
        """Scheme and cost parameters (``bcrypt:10``, ``scrypt:32768:8:1``): equal kinds cost
        the same to verify."""
        if self.scheme == "bcrypt":
            return f"bcrypt:{self.value[4:6]}"
        if self.scheme == "werkzeug":
            return self.value.split("$", 1)[0]
        return self.scheme

    @property
    def cost(self) -> float:
        """Estimated microseconds one verification takes (to rank schemes, not to time them).

        >>> PasswordHash("{SHA}x", "sha").cost < parse_hash(_DEMO_BCRYPT).cost
        True
        """
        if self.scheme == "bcrypt":
            return float(_US_PER_BCRYPT_ROUND * 2 ** int(self.value[4:6]))
        if self.scheme == "werkzeug":
            method, params = self._werkzeug_params()
            if method == "scrypt":
                return float(_US_PER_SCRYPT_UNIT * params[0] * params[1] * params[2])
            return float(_US_PER_PBKDF2_ITERATION.get(params[0], 0.19) * params[1])
        return _US_APR1 if self.scheme == "apr1" else _US_SHA

    def _werkzeug_params(self) -> tuple[str, tuple[Any, ...]]:
        """``(method, params)``: scrypt's ``(n, r, p)`` or pbkdf2's ``(digest, iterations)``."""
        method, *params = self.value.split("$", 1)[0].split(":")
        if method == "scrypt":
            return method, tuple(int(p) for p in params)
        digest = params[0] if params else "sha256"
        iterations = int(params[1]) if len(params) > 1 else _PBKDF2_DEFAULT_ITERATIONS
        return method, (digest, iterations)

    def verify(self, password: str) -> bool:
        """Whether ``password`` matches; any malformed input is ``False``, never an exception."""
        raw = password.encode("utf-8")
        if self.scheme == "bcrypt":
            # htpasswd -B and httpd truncate at bcrypt's limit; bcrypt 5 raises instead.
            try:
                return bcrypt.checkpw(raw[:72], self.value.encode("ascii"))
            except ValueError:  # a salt bcrypt refuses ("Invalid salt") despite the shape
                return False
        if self.scheme == "werkzeug":
            try:
                return check_password_hash(self.value, password)
            except (ValueError, OverflowError, TypeError):
                return False
        if self.scheme == "apr1":
            salt = self.value.split("$")[2]
            return hmac.compare_digest(apr1_crypt(raw, salt).encode(), self.value.encode())
        digest = base64.b64encode(hashlib.sha1(raw).digest()).decode()
        return hmac.compare_digest(f"{{SHA}}{digest}".encode(), self.value.encode())

    def dummy(self) -> PasswordHash:
        """A hash of a random password with the same scheme and cost, for unknown users."""
        secret = secrets.token_urlsafe(16)
        if self.scheme == "bcrypt":
            cost = int(self.value[4:6])
            value = bcrypt.hashpw(secret.encode(), bcrypt.gensalt(rounds=cost)).decode()
        elif self.scheme == "werkzeug":
            try:
                value = generate_password_hash(secret, method=self.value.split("$", 1)[0])
            except (ValueError, OverflowError, TypeError):  # parameters hashlib refuses
                value = generate_password_hash(secret)
        elif self.scheme == "apr1":
            value = apr1_crypt(secret.encode(), secrets.token_hex(4))
        else:
            value = "{SHA}" + base64.b64encode(hashlib.sha1(secret.encode()).digest()).decode()
        return PasswordHash(value, self.scheme)

    def __repr__(self) -> str:
        return f"<PasswordHash {self.scheme}>"


_DEMO_BCRYPT = "$2b$10$" + "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"


def parse_hash(value: str) -> PasswordHash:
    """Recognise a stored hash; raise :class:`UnsupportedHash` for refused or unknown formats.

    The error message never contains the value (it may be a plaintext password).
    """
    value = value.strip()
    if _BCRYPT.match(value):
        cost = int(value[4:6])
        if not 4 <= cost <= 31:
            raise UnsupportedHash(f"bcrypt cost {cost} is out of range 4-31")
        return PasswordHash(value, "bcrypt")
    if _WERKZEUG.match(value):
        return PasswordHash(value, "werkzeug")
    if _APR1.match(value):
        return PasswordHash(value, "apr1")
    if _SHA.match(value):
        try:
            base64.b64decode(value[5:], validate=True)
        except binascii.Error:
            raise UnsupportedHash("malformed {SHA} hash") from None
        return PasswordHash(value, "sha")
    if value.startswith(("$1$", "$5$", "$6$")) or _DES_CRYPT.match(value):
        raise UnsupportedHash("crypt(3) hashes are refused; re-create the entry with "
                              "`htpasswd -B` (bcrypt)")
    raise UnsupportedHash("not a recognised password hash (plaintext passwords are refused); "
                          "use `htpasswd -B` or werkzeug's generate_password_hash")
