"""What every authentication backend shares: its contract, the identity it yields and the
credentials it reads.

A backend is any object that implements :class:`AuthBackend` (``BasicAuth`` and
``BearerTokenAuth`` are two)::

    class AuthBackend(Protocol):
        def extract(self, environ) -> Credentials | None: ...      # cheap parse; None = not mine
        def cached(self, credentials) -> Identity | None: ...      # recently verified?
        def authenticate(self, credentials) -> Identity | None: ... # full check; None = wrong
        def challenge(self, realm, error=None) -> str | None: ...  # WWW-Authenticate, or None

``AuthMiddleware`` checks each backend against it when it is built, and a ``TypeError``
names the methods a backend lacks. ``extract`` raises :class:`MalformedCredentials` for a
header of its scheme that cannot be parsed; the middleware answers 400. ``cached`` lets a
recently verified credential skip the password hash (the throttle is asked first either way);
return ``None`` when the backend keeps no cache.

Backends that check a user name and password, for the login form, also implement
:class:`PasswordBackend` (``check_password(user, password)`` and ``fingerprint(user)``); a
backend may add ``fingerprints(user)`` (one per configured key, newest first) and
``use_secret_key(keys)`` (to be handed ``AuthMiddleware``'s ``secret_key``).

Usage, a backend for a header set by a trusted gateway::

    class GatewayAuth:
        def extract(self, environ):
            token = environ.get("HTTP_X_GATEWAY_TOKEN")
            return Credentials("Gateway", None, token) if token else None
        def cached(self, credentials):
            return None
        def authenticate(self, credentials):
            user = lookup(credentials.secret)
            return Identity(user, "Gateway") if user else None
        def challenge(self, realm, error=None):
            return None
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["AuthBackend", "Credentials", "Identity", "MalformedCredentials", "PasswordBackend",
           "authorization", "quote_param"]


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


@runtime_checkable
class AuthBackend(Protocol):
    """What :class:`~middleware.auth.AuthMiddleware` asks of every backend (see the module
    docstring)."""

    def extract(self, environ: WSGIEnvironment) -> Credentials | None:
        """The credentials of this backend's scheme in the request, or ``None`` (absent, or
        another scheme); raise :class:`MalformedCredentials` for an unparsable header."""

    def cached(self, credentials: Credentials) -> Identity | None:
        """The identity if these credentials were verified recently, else ``None``."""

    def authenticate(self, credentials: Credentials) -> Identity | None:
        """The full check: the identity, or ``None`` for wrong credentials."""

    def challenge(self, realm: str, error: str | None = None) -> str | None:
        """A ``WWW-Authenticate`` value for a 401 (``error`` is ``"invalid_token"`` after
        this backend refused credentials), or ``None`` for no challenge."""


@runtime_checkable
class PasswordBackend(AuthBackend, Protocol):
    """A backend that checks a user name and password, usable by the login form."""

    def check_password(self, user: str, password: str) -> bool:
        """Whether ``password`` is right for ``user`` (unknown users: ``False``)."""

    def fingerprint(self, user: str) -> str | None:
        """A keyed MAC of the user's stored hash (newest key) that changes with the
        password, or ``None`` for an unknown user; a login keeps it in the session."""


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
    header: str | None = environ.get("HTTP_AUTHORIZATION")
    if not header:
        return None
    name, _, param = header.strip().partition(" ")
    if name.lower() != scheme:
        return None
    return param.strip()
