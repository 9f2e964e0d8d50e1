"""Which names mark a value as secret: one vocabulary for every layer that logs or shows data.

The error pages middleware scrubs query strings and environ entries before logging them; the
debug middleware masks locals, headers, cookies and environ on its page. Both decide by the
*name* of a value, with the same words, so a secret hidden from one is hidden from the other.
Over-masking is the safe failure.

Usage::

    from middleware.scrubbing import secret_name_pattern

    pattern = secret_name_pattern(["iban"])
    pattern.search("DB_PASSWORD")   # a match: mask it

    mask_url("redis://:hunter2@cache:6379/0")   # 'redis://:***@cache:6379/0'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

__all__ = ["SECRET_WORDS", "mask_url", "secret_name_pattern"]

#: name fragments that mark a value as secret (matched anywhere in the name, any case)
SECRET_WORDS = (
    "pass", "pwd", "secret", "token", "key", "auth", "sig", "session", "sessid", "cookie",
    "csrf", "xsrf", "credential", "otp", "jwt", "bearer", "nonce", "private", "dsn", "salt",
)


def secret_name_pattern(extra: Iterable[str] = ()) -> re.Pattern[str]:
    """A case-insensitive pattern matching :data:`SECRET_WORDS` and the ``extra`` fragments."""
    words = [*SECRET_WORDS, *(w for w in extra if w)]
    return re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)


def mask_url(url: str) -> str:
    """``url`` with the password of its user-info part (``user:password@``) replaced by ``***``.

    For every ``repr`` and log line that shows a store or service URL. A URL that cannot be
    parsed is masked whole: showing it could show the password.
    """
    try:
        parts = urlsplit(url)
        if parts.password is None and "@" not in parts.netloc:
            return url
    except ValueError:
        return "***"
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
