"""Which names mark a value as secret: one vocabulary for every layer that logs or shows data.

The error pages middleware scrubs query strings and environ entries before logging them or
handing them to its ``notify`` hook; the debug middleware masks locals, headers, cookies and
environ on its page; a pipeline masks options in its ``repr``. All decide by the *name* of a
value, with the same words in any case (``db_password``, ``DB_PASSWORD`` and ``dbPassword``
alike: CGI servers copy the process environment, upper-case, into the WSGI environ), so a
secret hidden from one is hidden from all. Over-masking is the safe failure.

Names are not enough for URLs: ``DATABASE_URL`` holds a password without saying so, so every
value shown is also passed through :func:`mask_urls`.

Usage::

    from middleware.scrubbing import secret_name_pattern

    pattern = secret_name_pattern(["iban"])
    pattern.search("DB_PASSWORD")   # a match: mask it

    is_secret_name("SESSION_SECRET")             # True
    mask_url("redis://:hunter2@cache:6379/0")   # 'redis://:***@cache:6379/0'
    mask_urls("retrying postgres://app:pw@db/app")  # 'retrying postgres://app:***@db/app'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

__all__ = ["NOT_SECRET", "SECRET_WHOLE_WORDS", "SECRET_WORDS", "URL_PASSWORD", "is_secret_name",
           "mask_url", "mask_urls", "secret_name_pattern"]

#: name fragments that mark a value as secret (matched anywhere in the name, any case)
SECRET_WORDS = (
    "pass", "pwd", "secret", "token", "key", "auth", "sig", "session", "sessid", "cookie",
    "csrf", "xsrf", "credential", "otp", "jwt", "bearer", "nonce", "private", "dsn", "salt",
)


#: names that are secret only as a whole word: ``DEBUG_PIN``, ``pin``, ``userPin`` (as a
#: fragment, "pin" would hide ``mapping`` and ``typing``)
SECRET_WHOLE_WORDS = ("pin",)

#: names that contain a secret word but name a file of password hashes: shown (a path)
NOT_SECRET = ("htpasswd",)

#: the ``user:password@`` part of a URL in running text (group 2 is the password, up to the
#: last ``@`` of the authority: ``redis://u:p@ss@host`` hides ``p@ss``)
URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@?#]*:)([^\s/?#]*)(?=@)")

_MASKED = "***"


def _fragment(word: str) -> str:
    """``word`` as a regex that does not fire inside a :data:`NOT_SECRET` name."""
    word = word.lower()
    guards = []
    for name in NOT_SECRET:
        start = name.find(word)
        if start > 0:
            guards.append(f"(?<!{re.escape(name[:start])})")
    return "".join(guards) + re.escape(word)


def secret_name_pattern(extra: Iterable[str] = ()) -> re.Pattern[str]:
    """A case-insensitive pattern matching :data:`SECRET_WORDS`, :data:`SECRET_WHOLE_WORDS`
    and the ``extra`` fragments anywhere in a name."""
    words = [*SECRET_WORDS, *(w for w in extra if w)]
    whole = [rf"(?<![a-z]){re.escape(w)}(?![a-z])|(?-i:(?<=[a-z]){re.escape(w.title())}(?![a-z]))"
             for w in SECRET_WHOLE_WORDS]
    return re.compile("|".join([*(_fragment(w) for w in words), *whole]), re.IGNORECASE)


_DEFAULT_PATTERN = secret_name_pattern()


def is_secret_name(name: object, pattern: re.Pattern[str] | None = None) -> bool:
    """Whether a value called ``name`` (a ``str`` or ``bytes`` key) must be masked."""
    if isinstance(name, bytes):
        name = name.decode("latin-1")
    if not isinstance(name, str):
        return False
    return bool((pattern or _DEFAULT_PATTERN).search(name))


def mask_urls(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` in it masked."""
    if "://" not in text:
        return text
    return URL_PASSWORD.sub(lambda m: m.group(1) + _MASKED, text)


def mask_url(url: str) -> str:
    """``url`` with the password of its user-info part (``user:password@``) replaced by ``***``,
    and the values of secret-named query parameters too (``redis://host?password=...``).

    For every ``repr`` and log line that shows a store or service URL. A URL that cannot be
    parsed is masked whole: showing it could show the password.
    """
    base, sep, rest = url.partition("?")
    if sep:
        query, hashmark, fragment = rest.partition("#")
        url = f"{base}?{_mask_query(query)}{hashmark}{fragment}"
    try:
        parts = urlsplit(url)
        if parts.password is None and "@" not in parts.netloc:
            return url
    except ValueError:
        return _MASKED
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{_MASKED}@{host}"))


def _mask_query(query: str) -> str:
    fields = query.split("&")
    for i, field in enumerate(fields):
        name, sep, value = field.partition("=")
        if sep and value and is_secret_name(name):
            fields[i] = f"{name}={_MASKED}"
    return "&".join(fields)
