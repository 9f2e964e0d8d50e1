"""What every authentication backend shares: the identity it yields and the credentials it reads.

A backend is any object with these methods (``BasicAuth`` and ``BearerTokenAuth`` are two)::

    extract(environ) -> Credentials | None   # cheap parse; None = "not my scheme"
    cached(credentials) -> Identity | None   # recently verified? (skips throttle and hash)
    authenticate(credentials) -> Identity | None   # full check; None = wrong credentials
    challenge(realm, error=None) -> str | None     # a WWW-Authenticate value, or None

``extract`` raises :class:`MalformedCredentials` for a header of its scheme that cannot be
parsed; the middleware answers 400. Backends that check a user name and password (for the
login form) also have ``check_password(user, password)`` and ``fingerprint(user)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Credentials", "Identity", "MalformedCredentials", "authorization", "quote_param"]


@dataclass(frozen=True)
class Identity:
    """Who made the request, as put in ``environ["middleware.identity"]``.

    :param user: the user name (also ``environ["REMOTE_USER"]``).
    :param scheme: how they proved it: ``"Basic"``, ``"Bearer"``, ``"Form"``, ``"Proxy"``.
    :param claims: extra facts from the backend (token claims, roles); read-only.
    """

    user: str
    scheme: str
    claims: Mapping[str, Any] = field(default_factory=dict)


class Credentials:
    """What a client presented. The secret never shows in ``repr`` (it may reach a log).

    :param scheme: the backend's scheme name.
    :param user: the claimed user name, or ``None`` (a bearer token names no user).
    :param secret: the password or token.
    """

    __slots__ = ("scheme", "user", "secret")

    def __init__(self, scheme: str, user: str | None, secret: str) -> None:
        self.scheme = scheme
        self.user = user
        self.secret = secret

    def __repr__(self) -> str:
        return f"Credentials(scheme={self.scheme!r}, user={self.user!r}, secret='***')"


class MalformedCredentials(ValueError):
    """An ``Authorization`` header of a backend's scheme that cannot be parsed (answered 400)."""


def quote_param(value: str) -> str:
    """Quote an auth-param value (RFC 9110 quoted-string); refuse control characters."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("header values may not contain control characters (CR, LF, ...)")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def authorization(environ: Mapping[str, Any], scheme: str) -> str | None:
    """The parameter of an ``Authorization`` header in ``scheme`` (any case), stripped;
    ``None`` when there is no header or it names another scheme.

    >>> authorization({"HTTP_AUTHORIZATION": "Bearer  abc "}, "bearer")
    'abc'
    """
    header = environ.get("HTTP_AUTHORIZATION")
    if not header:
        return None
    name, _, param = header.strip().partition(" ")
    if name.lower() != scheme:
        return None
    return param.strip()
