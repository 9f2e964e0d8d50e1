"""Which names mark a value as secret: one vocabulary for every layer that logs or shows data.

The error pages middleware scrubs query strings and environ entries before logging them; the
debug middleware masks locals, headers, cookies and environ on its page. Both decide by the
*name* of a value, with the same words, so a secret hidden from one is hidden from the other.
Over-masking is the safe failure.

Usage::

    from middleware.scrubbing import secret_name_pattern

    pattern = secret_name_pattern(["iban"])
    pattern.search("DB_PASSWORD")   # a match: mask it
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["SECRET_WORDS", "secret_name_pattern"]

#: name fragments that mark a value as secret (matched anywhere in the name, any case)
SECRET_WORDS = (
    "pass", "pwd", "secret", "token", "key", "auth", "sig", "session", "sessid", "cookie",
    "csrf", "xsrf", "credential", "otp", "jwt", "bearer", "nonce", "private", "dsn", "salt",
)


def secret_name_pattern(extra: Iterable[str] = ()) -> re.Pattern[str]:
    """A case-insensitive pattern matching :data:`SECRET_WORDS` and the ``extra`` fragments."""
    words = [*SECRET_WORDS, *(w for w in extra if w)]
    return re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
