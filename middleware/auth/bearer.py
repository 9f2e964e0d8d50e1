"""Bearer tokens (RFC 6750): static API tokens stored as SHA-256 digests, or a verify callable.

When to use: service-to-service calls and API clients with long random tokens. When NOT to:
short or human-chosen secrets (a fast hash is fine only for high-entropy tokens; use
:class:`~middleware.auth.BasicAuth` with a slow hash for passwords).

Static tokens are hashed at construction; the plaintext is not kept. A presented token is
hashed and looked up by digest (the lookup's timing can only reveal digest bits, which say
nothing usable about a token), then compared with :func:`hmac.compare_digest`. Entries may be
given already hashed as ``"sha256:<hex>"`` so a config file need not hold the token itself.

``verify(token)`` covers JWTs, OAuth introspection and database tokens without a dependency:
it returns ``None`` for a bad token, or the user name, an :class:`~middleware.auth.Identity`, or
a mapping of claims with ``"sub"`` (or ``"user"``). Fix the JWT algorithms in your callable;
never take them from the token header. Exceptions it raises propagate.

Usage::

    BearerTokenAuth(tokens={"3f1c...long random...": "ci-bot"})
    BearerTokenAuth(tokens={"sha256:9b74c9897bac770ffc029102a200c5de": "ci-bot"})
    BearerTokenAuth(verify=lambda token: my_jwt_claims_or_none(token))
    BearerTokenAuth(tokens=..., header="X-API-Key")    # the raw token in its own header
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from middleware.options import check_callable, check_int, check_str

from .base import Credentials, Identity, MalformedCredentials, authorization, quote_param

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["BearerTokenAuth"]

#: ``verify(token)``: a user name, an :class:`Identity`, a mapping of claims with ``"sub"``
#: (or ``"user"``), or ``None`` for a bad token
Verify = Callable[[str], "str | Identity | Mapping[str, Any] | None"]

_TOKEN68 = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class BearerTokenAuth:
    """Bearer token backend.

    :param tokens: a mapping of token (or ``"sha256:<hex>"`` digest) to user name.
    :param verify: a callable ``verify(token) -> user | Identity | claims | None``, tried when
        the token is not one of ``tokens``.
    :param header: read the raw token from this header (e.g. ``"X-API-Key"``) instead of
        ``Authorization: Bearer``.
    :param max_length: longest token accepted (a longer one is a 400).
    """

    scheme = "Bearer"

    def __init__(self, tokens: Mapping[str, str] | None = None,
                 verify: Verify | None = None, *, header: str | None = None,
                 max_length: int = 4096) -> None:
        if tokens is None and verify is None:
            raise ValueError("BearerTokenAuth needs tokens= (a mapping) or verify= (a callable)")
        if tokens is not None and not isinstance(tokens, Mapping):
            raise TypeError("tokens must be a mapping of token to user name")
        check_callable("verify", verify, optional=True)
        header_name = check_str("header", header, optional=True)
        if header_name is not None and not re.fullmatch(r"[A-Za-z0-9-]+", header_name):
            raise ValueError("header must be a header name such as 'X-API-Key'")
        check_int("max_length", max_length, low=16)
        self._digests: dict[bytes, tuple[bytes, str]] = {}
        for token, user in (tokens or {}).items():
            if not isinstance(token, str) or not isinstance(user, str) or not user:
                raise ValueError("tokens: each entry maps a token string to a user name")
            if _DIGEST.match(token):
                digest = bytes.fromhex(token[7:])
            elif _TOKEN68.match(token) and len(token) >= 16:
                digest = hashlib.sha256(token.encode()).digest()
            else:
                raise ValueError(f"tokens: the token of user {user!r} is not a token68 string "
                                 "of at least 16 characters nor 'sha256:<hex>'")
            self._digests[digest] = (digest, user)
        self.verify = verify
        self.header = header
        self.max_length = max_length
        self._environ_key = ("HTTP_" + header.upper().replace("-", "_")) if header else None

    def extract(self, environ: WSGIEnvironment) -> Credentials | None:
        """Read the token; ``None`` if absent, :class:`MalformedCredentials` if not token68."""
        if self._environ_key is not None:
            token = environ.get(self._environ_key, "").strip()
            if not token:
                return None
        else:
            token = authorization(environ, "bearer")
            if token is None:
                return None
        if len(token) > self.max_length or not _TOKEN68.match(token):
            raise MalformedCredentials("the bearer token is not a token68 string")
        return Credentials(self.scheme, None, token)

    def cached(self, credentials: Credentials) -> Identity | None:
        """Static tokens need no cache (a SHA-256 is cheap): always ``None``."""
        return None

    def authenticate(self, credentials: Credentials) -> Identity | None:
        """Look the token up among the static tokens, then ask ``verify``."""
        digest = hashlib.sha256(credentials.secret.encode()).digest()
        entry = self._digests.get(digest)
        if entry is not None and hmac.compare_digest(entry[0], digest):
            return Identity(entry[1], self.scheme)
        if self.verify is None:
            return None
        return _identity(self.verify(credentials.secret), self.scheme)

    def challenge(self, realm: str, error: str | None = None) -> str | None:
        """``Bearer realm="..."`` (plus ``error="invalid_token"`` after a bad token)."""
        if self._environ_key is not None:
            return None
        value = f"Bearer realm={quote_param(realm)}"
        if error:
            value += f", error={quote_param(error)}"
        return value

    def __repr__(self) -> str:
        verify = f", verify={getattr(self.verify, '__name__', 'callable')}" if self.verify else ""
        return f"BearerTokenAuth(tokens=<{len(self._digests)} tokens>{verify})"


def _identity(result: object, scheme: str) -> Identity | None:
    if result is None or result is False:
        return None
    if isinstance(result, Identity):
        return result
    if isinstance(result, str):
        return Identity(result, scheme) if result else None
    if isinstance(result, Mapping):
        user = result.get("sub") or result.get("user")
        if isinstance(user, str) and user:
            return Identity(user, scheme, dict(result))
        return None
    raise TypeError(f"verify() returned {type(result).__name__}; expected a user name, an "
                    "Identity, a mapping of claims or None")
