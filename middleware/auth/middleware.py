"""The authentication middleware: who is calling, and may they reach this path?

See :mod:`middleware.auth` for the user guide. Every request is *identified*, as repoze.who
does; only a protected one is *challenged*. Order for each request:

1. The built-in login form's own routes (``login_url``, ``logout_url``).
2. Is the request public? (``public_paths``, ``public_methods``, ``allow``, an application's
   own ``login_url`` with ``login_form=False``; with ``protect="listed"`` also every path
   outside ``protected_paths`` that is unambiguous.) One cached path lookup.
3. Who is it: a trusted proxy's user header (only from ``trusted_proxies``); else
   ``Authorization`` (and custom token headers), where the first backend that recognises the
   credentials decides: the throttle comes first, counting the attempt atomically, then a
   recently verified credential is let through, anything else gets the full check, and a
   success gives the counted attempt back; else the identity the login form kept in the
   session (read only when the request has a cookie).
4. A public request goes on with that identity, or anonymously: there nothing is refused or
   challenged. Credentials that are malformed, wrong or throttled are ignored (the wrong
   ones still count against the throttle, so public paths are no way around it), and no
   session is loaded and nothing hashed for a request without credentials and cookies.
5. A protected request without an identity: 400 for malformed credentials, 429 when
   throttled, else a 303 to ``login_url`` for browsers, or 401 with one challenge per backend
   (no ``Basic`` challenge for XHR/``fetch`` clients, so no browser dialog pops up).

An identified request gets ``REMOTE_USER``, ``AUTH_TYPE`` and ``middleware.identity``; on a
protected path ``authorize(identity, environ)`` may still answer 403 (never on a public one).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import posixpath
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal, overload
from urllib.parse import quote

from middleware.accept import JSON, preferred_form
from middleware.config import (
    as_bool,
    as_int,
    as_keys,
    as_list,
    as_optional,
    as_path,
    as_seconds,
    as_str,
    filter_app_factory,
)
from middleware.contracts import require
from middleware.environ import AUTH_LOGIN_URL, AUTH_LOGOUT_URL, IDENTITY, SESSION
from middleware.logsafe import for_log
from middleware.options import (
    check_bool,
    check_callable,
    check_choice,
    check_int,
    check_names,
    check_networks,
    check_str,
)
from middleware.sessions.store import StoreUnavailable
from middleware.wsgi import simple_response

from .base import AuthBackend, Identity, MalformedCredentials, quote_param
from .basic import BasicAuth
from .bearer import BearerTokenAuth
from .keys import SecretKeys
from .login import LoginForm, session_identity
from .paths import (
    ProtectedPaths,
    PublicPaths,
    canonical_segments,
    raw_path_is_canonical,
    safe_next,
    script_name,
)
from .throttle import Throttle, ThrottleUnavailable

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["IDENTITY_KEY", "LOGIN_URL_KEY", "LOGOUT_URL_KEY", "AuthMiddleware",
           "filter_factory"]

#: aliases of :data:`middleware.environ.IDENTITY`, ``AUTH_LOGIN_URL`` and ``AUTH_LOGOUT_URL``
IDENTITY_KEY = IDENTITY
LOGIN_URL_KEY = AUTH_LOGIN_URL
LOGOUT_URL_KEY = AUTH_LOGOUT_URL
log = logging.getLogger("middleware.auth")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]+$")
PROTECT_MODES = ("all", "listed")


class AuthMiddleware:
    """Identify every request; require an identity on every path that is not public.

    :param app: the WSGI application to protect.
    :param backends: authentication backends, tried in order (:class:`BasicAuth`,
        :class:`BearerTokenAuth`, or any object implementing :class:`AuthBackend`: a
        ``TypeError`` names the methods one lacks).
    :param realm: the realm of the challenges and the login page's title.
    :param public_paths: paths that need no login: exact (``/health``) or subtrees
        (``/static/*``), matched segment by segment on the path as the application sees
        it; ambiguous paths (dot or empty segments, ``%``, ``\\``, ``;``) are never public
        (see :mod:`.paths`). A public path is still identified; it is just never challenged.
    :param protect: ``"all"`` (the default): every path that is not public needs a login,
        so an anonymous request for a path the application does not have gets a 401 (or the
        login redirect), not the application's 404. ``"listed"``: only ``protected_paths``
        (and any ambiguous path) need one; the rest is public, so unknown paths reach the
        application's 404.
    :param protected_paths: with ``protect="listed"``, the paths that need a login: exact
        (``/private``, also covering ``/private/``) or subtrees (``/admin/*``).
    :param login_url: an application path (``/login``); browsers without an identity are
        redirected there with a safe ``next``. Needs ``SessionMiddleware`` outside this one.
    :param logout_url: the logout route of the built-in form; defaults to ``logout`` beside
        ``login_url``.
    :param login_form: serve the built-in login form at ``login_url`` (``False``: the
        application serves its own page and calls :func:`middleware.auth.login`).
    :param allow: ``allow(environ) -> bool``; ``True`` makes the request public.
    :param authorize: ``authorize(identity, environ) -> bool``; ``False`` answers 403.
    :param public_methods: request methods that need no login (e.g. ``("OPTIONS",)`` for
        CORS preflight requests, which never carry credentials).
    :param throttle: a :class:`Throttle`, ``"memory"`` (the default), a ``redis://`` URL for a
        shared counter, or ``None`` to turn brute-force protection off.
    :param trusted_proxies: addresses or networks whose ``remote_user_header`` is believed.
    :param remote_user_header: the header a trusted proxy names the user in (e.g.
        ``"X-Remote-User"``); from anyone else it is removed from the environ.
    :param max_header_length: longest ``Authorization`` header accepted (longer: 400).
    :param secret_key: the secret (or list, newest first, to rotate) that keys what a login
        stores and every process must agree on (the password fingerprint). Required with
        ``login_url``; passing the same value as ``SessionMiddleware(secret_key=...)`` is
        fine (a separate key is derived from it). Never a per-process random key: that would
        log users out on the next worker, host or restart.
    """

    def __init__(self, app: WSGIApplication, backends: Iterable[AuthBackend],
                 realm: str = "Restricted",
                 public_paths: Iterable[str] = (), login_url: str | None = None, *,
                 logout_url: str | None = None, login_form: bool = True,
                 allow: Callable[[WSGIEnvironment], bool] | None = None,
                 authorize: Callable[[Identity, WSGIEnvironment], bool] | None = None,
                 public_methods: Iterable[str] = (), throttle: Throttle | str | None = "memory",
                 trusted_proxies: Iterable[str] = (), remote_user_header: str | None = None,
                 max_header_length: int = 8192,
                 secret_key: str | bytes | list[str | bytes] | None = None,
                 protect: str = "all", protected_paths: Iterable[str] = ()) -> None:
        if not callable(app):
            raise TypeError("app must be a WSGI callable")
        given: object = backends  # checked as the user may pass anything
        if isinstance(given, (str, bytes)) or not isinstance(given, Iterable):
            raise TypeError("backends must be a list of backends, e.g. [BasicAuth(...)]")
        self.backends: list[AuthBackend] = [require(backend, AuthBackend, f"backends[{i}]")
                                            for i, backend in enumerate(backends)]
        if not self.backends and login_url is None:
            raise ValueError("backends must name at least one backend")
        try:
            quote_param(check_str("realm", realm))
        except ValueError as exc:
            raise ValueError(f"realm: {exc}") from None
        for name, url in (("login_url", login_url), ("logout_url", logout_url)):
            if check_str(name, url, optional=True) is not None and (
                    safe_next(url, "") != url or "?" in url):
                raise ValueError(f"{name} must be an application path such as '/login'")
        check_bool("login_form", login_form)
        check_callable("allow", allow, optional=True)
        check_callable("authorize", authorize, optional=True)
        if throttle is not None and not isinstance(throttle, Throttle):
            if not isinstance(throttle, str):
                raise TypeError("throttle must be a Throttle, 'memory', a redis:// URL or None")
            throttle = Throttle(throttle)
        proxies = check_networks("trusted_proxies", trusted_proxies)
        user_header = check_str("remote_user_header", remote_user_header, optional=True)
        if user_header is not None:
            if not _HEADER_NAME.match(user_header):
                raise ValueError("remote_user_header must be a header name such as "
                                 "'X-Remote-User'")
            if not proxies:
                raise ValueError("remote_user_header needs trusted_proxies: any client could "
                                 "send the header")
        check_int("max_header_length", max_header_length, low=256)
        check_choice("protect", protect, PROTECT_MODES)
        protected = ProtectedPaths(protected_paths)
        if protect == "all" and protected:
            raise ValueError("protected_paths needs protect='listed' (with protect='all' "
                             "every path that is not public is protected already)")
        if protect == "listed" and not protected:
            raise ValueError("protect='listed' needs protected_paths, e.g. ['/admin/*']")
        self.secret_keys = None if secret_key is None else SecretKeys(secret_key)
        for backend in self.backends:
            if self.secret_keys is not None and hasattr(backend, "use_secret_key"):
                backend.use_secret_key(self.secret_keys)
            if (login_url is not None and hasattr(backend, "use_secret_key")
                    and getattr(backend, "secret_keys", None) is None):
                raise ValueError("login_url needs secret_key= (e.g. the SessionMiddleware's "
                                 "secret): browser logins must verify in every worker, on "
                                 "every host and after a restart")
        self.app = app
        self.realm = realm
        self.public_paths = PublicPaths(public_paths)
        self.protect = protect
        self.protected_paths = protected
        self.login_url = login_url
        if login_url is not None and login_form and logout_url is None:
            logout_url = posixpath.join(posixpath.dirname(login_url), "logout")
        self.logout_url = logout_url
        self.login_form = login_form
        self.allow = allow
        self.authorize = authorize
        self.public_methods = frozenset(m.upper() for m in check_names("public_methods",
                                                                        public_methods))
        self.throttle = throttle
        self.trusted_proxies = proxies
        self.remote_user_header = remote_user_header
        self._proxy_key = ("HTTP_" + remote_user_header.upper().replace("-", "_")
                           if remote_user_header else None)
        self.max_header_length = max_header_length
        self._form = LoginForm(self) if login_url is not None and login_form else None
        self._routes = frozenset(u for u in (login_url, logout_url) if u is not None)

    # -- the request ---------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment,
                 start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        proxy_user = None
        if self._proxy_key is not None:
            proxy_user = environ.pop(self._proxy_key, None)
        if path in self._routes and self._form is not None:
            return self._form(environ, start_response, path)
        if self.login_url is not None:
            prefix = script_name(environ)
            environ[AUTH_LOGIN_URL] = prefix + self.login_url
            if self.logout_url is not None:
                environ[AUTH_LOGOUT_URL] = prefix + self.logout_url
        public = self.is_public(environ, path)

        identity = None
        if self._proxy_key is not None and proxy_user and self._from_trusted_proxy(environ):
            identity = Identity(proxy_user, "Proxy")
        if identity is None:
            outcome = self._from_credentials(environ, start_response, public)
            if isinstance(outcome, Identity):
                identity = outcome
            elif outcome is not None:
                return outcome
        # The cookie check first: an anonymous request without cookies never loads a session.
        if identity is None and SESSION in environ and environ.get("HTTP_COOKIE"):
            identity = self._from_session(environ, public)
        if identity is None:
            if public:
                return self.app(environ, start_response)
            return self.challenge(environ, start_response)
        if (not public and self.authorize is not None
                and not self.authorize(identity, environ)):
            return self._respond(environ, start_response, "403 Forbidden", "forbidden",
                                 "You may not access this page.")
        environ["REMOTE_USER"] = identity.user
        environ["AUTH_TYPE"] = identity.scheme
        environ[IDENTITY] = identity
        return self.app(environ, start_response)

    def is_public(self, environ: WSGIEnvironment, path: str | None = None) -> bool:
        """Whether the request goes on without an identity (it is still identified)."""
        if path is None:
            path = environ.get("PATH_INFO") or "/"
        if path in self._routes:  # the application's own login page (login_form=False)
            return True
        if (self.public_paths and self.public_paths.match_environ(environ)) or (
                environ.get("REQUEST_METHOD") in self.public_methods) or (
                self.allow is not None and self.allow(environ)):
            return True
        if self.protect == "listed":
            # Protected: a listed path, and anything a router may resolve differently.
            return not (self.protected_paths.match(path) or canonical_segments(path) is None
                        or not raw_path_is_canonical(environ))
        return False

    def _from_session(self, environ: WSGIEnvironment, public: bool) -> Identity | None:
        """The login form's identity from the session. A session store that is down fails a
        protected request (the session layer answers 503); a public one goes on anonymously,
        as it did before public paths were identified, unless the application itself needs
        the session (it then meets the same error)."""
        try:
            return session_identity(environ, self.backends)
        except StoreUnavailable as exc:
            if not public:
                raise
            exc.handled = True  # the session layer must not turn this public page into its 503
            log.warning("session store unavailable: %s %s passed on anonymously (public)",
                        for_log(environ.get("REQUEST_METHOD")),
                        for_log(environ.get("PATH_INFO")))
            return None

    def _from_credentials(self, environ: WSGIEnvironment, start_response: StartResponse,
                          public: bool = False) -> Identity | Iterable[bytes] | None:
        """An Identity, ``None`` (no usable credentials), or a finished error response.

        On a public request (``public=True``) it never answers: credentials that are too
        long, malformed, throttled or wrong give ``None`` (the wrong ones stay counted).
        """
        header = environ.get("HTTP_AUTHORIZATION")
        if header is not None and len(header) > self.max_header_length:
            if public:
                return None
            return self._respond(environ, start_response, "400 Bad Request", "bad_request",
                                 "The Authorization header is too long.")
        for backend in self.backends:
            try:
                credentials = backend.extract(environ)
            except MalformedCredentials as exc:
                if public:
                    return None
                return self._respond(environ, start_response, "400 Bad Request",
                                     "bad_request", f"Malformed credentials: {exc}.")
            if credentials is None:
                continue
            address = environ.get("REMOTE_ADDR")
            # The throttle decides first and counts this attempt before any check (the
            # verification cache included), so parallel guesses past the limit are refused
            # and a throttled client learns nothing, not even from a cache hit; on public
            # paths as well, or they would be a way to guess without the throttle.
            refused = self.throttle_attempt(environ, start_response, address, credentials.user,
                                            quiet=public)
            if refused is True or (refused is not None and public):
                return None
            if refused is not None:
                return refused
            identity = backend.cached(credentials) or backend.authenticate(credentials)
            if identity is not None:
                self.release_attempt(address, credentials.user)
                return identity
            log.info("failed %s authentication for user %s from %s%s", credentials.scheme,
                     for_log(credentials.user), for_log(address),
                     " (public path: passed on anonymously)" if public else "")
            if public:
                return None
            return self.challenge(environ, start_response, failed=backend)
        return None

    def release_attempt(self, address: str | None, user: str | None) -> None:
        """Give back the attempt counted by :meth:`throttle_attempt` (it was not a failure)."""
        if self.throttle is not None:
            self.throttle.release(address, user)

    @overload
    def throttle_attempt(self, environ: WSGIEnvironment, start_response: StartResponse,
                         address: str | None, user: str | None, *,
                         quiet: Literal[False] = False) -> Iterable[bytes] | None: ...

    @overload
    def throttle_attempt(self, environ: WSGIEnvironment, start_response: StartResponse,
                         address: str | None, user: str | None, *,
                         quiet: bool) -> Iterable[bytes] | Literal[True] | None: ...

    def throttle_attempt(self, environ: WSGIEnvironment, start_response: StartResponse,
                         address: str | None, user: str | None, *, quiet: bool = False
                         ) -> Iterable[bytes] | Literal[True] | None:
        """Count a credential check before it is made: ``None`` when it may go ahead, else
        the 429 (or 503) response that refuses it.

        ``None`` means the attempt was counted as a failure in advance; call
        :meth:`release_attempt` when the credentials turn out right. ``quiet``: the caller
        will not send the response (a public path), so none is made and a refusal is
        ``True``. The login form calls it too, so both kinds of login share one throttle.
        """
        if self.throttle is None:
            return None
        try:
            wait = self.throttle.acquire(address, user)
        except ThrottleUnavailable:
            if quiet:
                return True
            return self._respond(environ, start_response, "503 Service Unavailable",
                                 "unavailable", "Login is unavailable; try again later.")
        if not wait:
            return None
        if quiet:
            log.info("throttled credentials for user %s from %s ignored on a public path",
                     for_log(user), for_log(address))
            return True
        log.warning("login throttled for user %s from %s (%d s)", for_log(user),
                    for_log(address), wait)
        return self._respond(environ, start_response, "429 Too Many Requests",
                             "too_many_attempts", "Too many failed attempts; try again later.",
                             [("Retry-After", str(wait))])

    def _from_trusted_proxy(self, environ: WSGIEnvironment) -> bool:
        # ProxyFix rewrites REMOTE_ADDR to the client; the proxy is the original peer.
        original = environ.get("werkzeug.proxy_fix.orig") or {}
        peer = original.get("REMOTE_ADDR") or environ.get("REMOTE_ADDR") or ""
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.trusted_proxies)

    # -- responses -----------------------------------------------------------------------

    def challenge(self, environ: WSGIEnvironment, start_response: StartResponse,
                  failed: AuthBackend | None = None) -> Iterable[bytes]:
        """Ask for credentials: a redirect to the login page, or a 401 with challenges.

        ``failed`` is the backend whose credentials were just refused: its challenge carries
        ``error="invalid_token"`` where the scheme defines one (RFC 6750).
        """
        kind = client_kind(environ)
        if kind == "browser" and self.login_url is not None and failed is None:
            target = request_path(environ)
            location = (script_name(environ) + self.login_url + "?next="
                        + quote(safe_next(target), safe=""))
            return simple_response(start_response, "303 See Other", b"See Other\n",
                                   headers=[("Location", location),
                                            ("Cache-Control", "no-store")])
        headers = []
        # A Basic challenge makes the browser pop its password dialog over the page that
        # made the XHR/fetch call: those clients (and JSON ones) get the other challenges.
        no_basic = kind == "xhr" or wants_json(environ)
        for backend in self.backends:
            if no_basic and getattr(backend, "scheme", "") == "Basic":
                continue
            value = backend.challenge(self.realm, "invalid_token" if backend is failed else None)
            if value:
                headers.append(("WWW-Authenticate", value))
        return self._respond(environ, start_response, "401 Unauthorized", "unauthorized",
                             "Authentication required.", headers)

    def _respond(self, environ: WSGIEnvironment, start_response: StartResponse, status: str,
                 code: str, message: str, headers: Iterable[tuple[str, str]] = ()
                 ) -> list[bytes]:
        headers = [*headers, ("Cache-Control", "no-store")]
        if wants_json(environ):
            body = json.dumps({"error": code, "message": message}).encode()
            return simple_response(start_response, status, body, "application/json", headers)
        return simple_response(start_response, status, f"{status}\n{message}\n".encode(),
                               headers=headers)

    def __repr__(self) -> str:
        return (f"AuthMiddleware({self.app!r}, backends={self.backends!r}, "
                f"realm={self.realm!r}, public_paths={self.public_paths.patterns!r}, "
                f"login_url={self.login_url!r}, protect={self.protect!r})")


def client_kind(environ: WSGIEnvironment) -> str:
    """``"xhr"`` (script in a page), ``"browser"`` (a page navigation) or ``"other"``."""
    if environ.get("HTTP_X_REQUESTED_WITH", "").lower() == "xmlhttprequest":
        return "xhr"
    mode = environ.get("HTTP_SEC_FETCH_MODE")
    if mode is not None and mode != "navigate":
        return "xhr"
    if "text/html" in environ.get("HTTP_ACCEPT", ""):
        return "browser"
    return "other"


def wants_json(environ: WSGIEnvironment) -> bool:
    """Whether the client prefers JSON to HTML and plain text (see :mod:`middleware.accept`)."""
    return preferred_form(environ.get("HTTP_ACCEPT")) == JSON


def request_path(environ: WSGIEnvironment) -> str:
    """The request's path and query, percent-encoded, as a same-origin relative URL."""
    raw = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1",
                                                                          "replace")
    path = quote(raw, safe="/:@!$&'()*+,;=-._~")
    query = environ.get("QUERY_STRING")
    return f"{path}?{query}" if query else path


# -- PasteDeploy ---------------------------------------------------------------------------

def _build(options: dict[str, Any]) -> dict[str, Any]:
    backends: list[Any] = []
    basic = {k: options.pop(k) for k in ("cache_ttl", "reload_interval") if k in options}
    htpasswd = options.pop("htpasswd", None)
    if htpasswd:
        backends.append(BasicAuth(htpasswd=htpasswd, **basic))
    tokens = options.pop("bearer_tokens", None)
    if tokens:
        mapping = {}
        for item in tokens:
            user, sep, token = item.partition(":")
            if not sep or not user or not token:
                raise ValueError("filter 'auth': bearer_tokens entries read 'user:token' or "
                                 "'user:sha256:<hex>'")
            mapping[token.strip()] = user.strip()
        try:
            backends.append(BearerTokenAuth(tokens=mapping))
        except ValueError as exc:  # its message names ``tokens``, not the ini option
            raise ValueError(f"filter 'auth': bearer_tokens: {exc}") from None
    throttle = {k: options.pop(k) for k in ("max_failures", "throttle_window",
                                            "throttle_fail_open", "throttle_ipv6_prefix")
                if k in options}
    store = options.pop("throttle_store", "memory")
    if not options.pop("throttle", True):
        options["throttle"] = None
    else:
        options["throttle"] = Throttle(store, max_failures=throttle.get("max_failures", 10),
                                       window=throttle.get("throttle_window", 300),
                                       fail_open=throttle.get("throttle_fail_open", True),
                                       ipv6_prefix=throttle.get("throttle_ipv6_prefix", 64))
    options["backends"] = backends
    return options


filter_factory = filter_app_factory(AuthMiddleware, {
    "htpasswd": as_path,
    "bearer_tokens": as_list,
    "realm": as_str,
    "public_paths": as_list,
    "public_methods": as_list,
    "login_url": as_optional(as_str),
    "logout_url": as_optional(as_str),
    "login_form": as_bool,
    "cache_ttl": as_seconds,
    "reload_interval": as_seconds,
    "throttle": as_bool,
    "throttle_store": as_str,
    "max_failures": as_int,
    "throttle_window": as_seconds,
    "throttle_fail_open": as_bool,
    "trusted_proxies": as_list,
    "remote_user_header": as_optional(as_str),
    "max_header_length": as_int,
    "throttle_ipv6_prefix": as_int,
    "secret_key": as_keys,
    "protect": as_str,
    "protected_paths": as_list,
}, name="auth", build=_build)
