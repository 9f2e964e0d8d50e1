"""Authentication: Basic (htpasswd), bearer tokens and a browser login form, safe by default.

:class:`AuthMiddleware` asks every request "who are you?" and lets it reach the application
only with an answer, unless it is public. Public requests are identified too (bad credentials
there are ignored, never refused); they are just not challenged. Public paths are matched as
the application will see them: paths with dot segments, empty segments, ``%``, ``\\`` or ``;``
are never public (see :mod:`.paths`). By default (``protect="all"``) every other path is
protected, unknown ones included; ``protect="listed"`` protects only ``protected_paths`` (and
ambiguous paths), so unknown paths reach the application's 404. It sets
``environ["REMOTE_USER"]``,
``environ["AUTH_TYPE"]`` and ``environ["middleware.identity"]`` (an :class:`Identity` with
``user``, ``scheme`` and ``claims``).

Backends, tried in order (the first that recognises the presented credentials decides):

* :class:`BasicAuth` — RFC 7617 user name and password, from a mapping of hashes or an Apache
  htpasswd file (bcrypt, werkzeug ``scrypt:``/``pbkdf2:``; legacy ``$apr1$`` and ``{SHA}``
  accepted with a warning; plaintext and ``crypt`` refused), re-read when the file changes,
  with a short cache of successful verifications.
* :class:`BearerTokenAuth` — static tokens stored as SHA-256 digests, or a ``verify`` callable.

Answers: 401 with one ``WWW-Authenticate`` challenge per backend (none of them ``Basic`` for
XHR/``fetch`` clients, so no browser dialog), or for browsers a 303 to ``login_url`` carrying a
safe ``next``; 400 for a malformed ``Authorization`` header; 403 when ``authorize`` says no;
429 with ``Retry-After`` after too many failures per address (IPv6: per /64) or user name
(:class:`Throttle`, in memory or in Redis, counted atomically before any cache or password
check). The login form needs ``secret_key`` (the session's secret will do), so a login holds
on every worker, host and restart.

When NOT to use it: for fine-grained permissions (write them in the application, or in
``authorize``); for single sign-on protocols (OpenID Connect, SAML: use a dedicated library, and
plug its token check into ``BearerTokenAuth(verify=...)``); over plain HTTP (Basic sends the
password in clear; TLS is assumed).

Usage::

    from middleware import AuthMiddleware, BasicAuth, BearerTokenAuth, SessionMiddleware

    app = AuthMiddleware(app, backends=[BasicAuth(htpasswd="users.htpasswd"),
                                        BearerTokenAuth(tokens={TOKEN: "ci-bot"})],
                         realm="Admin", public_paths=["/health", "/static/*"],
                         login_url="/login", secret_key=KEY)
    app = SessionMiddleware(app, secret_key=KEY)     # outside: the login form needs it

PasteDeploy filter ``auth``::

    [filter:auth]
    use = egg:wsgi-middleware-suite#auth
    htpasswd = users.htpasswd
    realm = Admin
    public_paths = /health, /static/*
    login_url = /login
    secret_key = env:SESSION_SECRET
    throttle_store = redis://127.0.0.1:6379/0
    max_failures = 10
    throttle_window = 5m

Other ini keys: ``bearer_tokens`` (``user:sha256:<hex>`` entries, or ``env:NAME``),
``logout_url``, ``login_form``, ``protect``, ``protected_paths``, ``public_methods``, ``cache_ttl``, ``reload_interval``,
``throttle_fail_open`` (``false``: a 503 while the throttle's Redis is down),
``throttle`` (``false`` turns it off), ``throttle_ipv6_prefix``, ``trusted_proxies``, ``remote_user_header``,
``max_header_length``.
"""

from __future__ import annotations

from .base import AuthBackend, Credentials, Identity, MalformedCredentials, PasswordBackend
from .basic import BasicAuth
from .bearer import BearerTokenAuth
from .login import csrf_token, login, logout
from .middleware import IDENTITY_KEY, AuthMiddleware, filter_factory
from .paths import PublicPaths, safe_next
from .throttle import MemoryCounter, RedisCounter, Throttle, ThrottleCounter

__all__ = [
    "IDENTITY_KEY",
    "AuthBackend",
    "AuthMiddleware",
    "BasicAuth",
    "BearerTokenAuth",
    "Credentials",
    "Identity",
    "MalformedCredentials",
    "MemoryCounter",
    "PasswordBackend",
    "PublicPaths",
    "RedisCounter",
    "Throttle",
    "ThrottleCounter",
    "csrf_token",
    "filter_factory",
    "login",
    "logout",
    "safe_next",
]
