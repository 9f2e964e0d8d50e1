"""Apache htpasswd files: parse, validate every hash at start-up, re-read when the file changes.

One ``user:hash`` per line; blank lines and lines starting with ``#`` are skipped; when a user
appears twice the first entry wins (as in Apache). Hash formats: see :mod:`.hashes`.

Reloading: at most every ``reload_interval`` seconds the file's ``(mtime, size, inode)`` is
compared with the last load (size and inode too, because mtime alone is unreliable on network
file systems); a change re-reads the file. While the file's mtime is within a couple of
seconds of now, its content digest is compared as well: file time stamps are coarse, so an
edit made in the same clock tick as the last load would otherwise go unnoticed (Git's "racily
clean" problem). A file that fails to parse on reload, or vanishes,
keeps the last good table in service and logs an error; at start-up the same problems raise
``ValueError`` so a broken deployment does not start.

Usage::

    table = HtpasswdFile("/etc/app/users.htpasswd")
    table.users()["alice"].verify("secret")
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time

from .hashes import PasswordHash, UnsupportedHash, parse_hash

__all__ = ["HtpasswdFile", "parse_htpasswd"]

log = logging.getLogger("middleware.auth")

# How long after a write the metadata alone is not trusted (coarse file time stamps).
_RACY_NS = 2_000_000_000


def parse_htpasswd(text: str, source: str = "htpasswd") -> dict[str, PasswordHash]:
    """Parse htpasswd content into ``{user: PasswordHash}``; ``ValueError`` names line and user."""
    users: dict[str, PasswordHash] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, stored = line.partition(":")
        if not sep or not user:
            raise ValueError(f"{source} line {number}: expected 'user:hash'")
        if not stored.startswith(("scrypt:", "pbkdf2:")):
            # Apache ignores fields after the hash; werkzeug hashes contain ':' themselves.
            stored = stored.split(":", 1)[0]
        try:
            parsed = parse_hash(stored)
        except UnsupportedHash as exc:
            raise ValueError(f"{source} line {number} (user {user!r}): {exc}") from None
        if user in users:
            log.warning("%s line %d: duplicate user %r ignored (the first entry wins)",
                        source, number, user)
            continue
        users[user] = parsed
    return users


def warn_weak(users: dict[str, PasswordHash], source: str) -> None:
    """Log the users whose hashes are legacy formats (names only, never hashes)."""
    weak = sorted(user for user, stored in users.items() if stored.weak)
    if weak:
        log.warning("%s: weak password hashes ($apr1$, {SHA}, or werkzeug hashes with weak "
                    "parameters such as pbkdf2:md5) for %s; re-create them with `htpasswd -B`",
                    source, ", ".join(repr(u) for u in weak))


class HtpasswdFile:
    """An htpasswd file kept in memory and re-read when it changes.

    :param path: the file.
    :param reload_interval: seconds between checks of the file's metadata (0 = every call).
    """

    def __init__(self, path: str | os.PathLike[str], reload_interval: float = 1.0) -> None:
        if not isinstance(reload_interval, (int, float)) or reload_interval < 0:
            raise ValueError("reload_interval must be a number of seconds >= 0")
        self.path = os.fspath(path)
        self.reload_interval = reload_interval
        self._lock = threading.Lock()
        try:
            signature = self._signature()
            data = self._load_bytes()
        except OSError as exc:
            raise ValueError(f"htpasswd: cannot read {self.path!r}: {exc.strerror}") from None
        self._users = self._parse(data)
        self._signature_seen, self._digest = signature, hashlib.sha256(data).digest()
        self._next_check = time.monotonic() + reload_interval

    def _signature(self) -> tuple[int, int, int]:
        st = os.stat(self.path)
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _load_bytes(self) -> bytes:
        with open(self.path, "rb") as f:
            return f.read()

    def _parse(self, data: bytes) -> dict[str, PasswordHash]:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{self.path}: not UTF-8 text") from None
        users = parse_htpasswd(text, self.path)
        warn_weak(users, self.path)
        return users

    def users(self) -> dict[str, PasswordHash]:
        """The current table, re-read first if the file changed (checked every interval)."""
        now = time.monotonic()
        if now >= self._next_check and self._lock.acquire(blocking=False):
            try:
                self._next_check = now + self.reload_interval
                self._maybe_reload()
            finally:
                self._lock.release()
        return self._users

    def _maybe_reload(self) -> None:
        try:
            signature = self._signature()
            recent = time.time_ns() - signature[0] < _RACY_NS
            if signature == self._signature_seen and not recent:
                return
            data = self._load_bytes()
            digest = hashlib.sha256(data).digest()
            if digest == self._digest:
                self._signature_seen = signature
                return
            users = self._parse(data)
        except (OSError, ValueError) as exc:
            log.error("htpasswd %s not reloaded, keeping the previous users: %s", self.path, exc)
            return
        self._users, self._signature_seen, self._digest = users, signature, digest
        log.info("htpasswd %s reloaded: %d users", self.path, len(users))

    def __repr__(self) -> str:
        return f"HtpasswdFile({self.path!r})"
