"""Browser login: a small built-in form and logout route, keeping the identity in the session.

For people in browsers, where the Basic dialog cannot log out and looks hostile. The form
checks the user name and password with the same backends as Basic (any backend with
``check_password``), under the same throttle, and stores the identity in the session of
:class:`~middleware.sessions.SessionMiddleware`, which must wrap ``AuthMiddleware`` (be
outside it). The session id is regenerated at login and the session invalidated at logout.

Safety: both forms carry a CSRF token kept in the session (no login CSRF, no forced logout);
``next`` is checked by :func:`~middleware.auth.paths.safe_next` (and percent-encoded to ASCII,
so any ``next`` fits in the ``Location`` header); the pages are sent with
``Cache-Control: no-store, no-transform`` and a CSP that allows no scripts and no framing.
Pages that carry the CSRF token are never compressed (BREACH: the login page reflects
``next`` and the user name beside the token): they set ``middleware.compression.disable``,
which :class:`~middleware.compression.CompressionMiddleware` honours, and ``no-transform``
for proxies. A login attempt passes the throttle (counted before the password check) like
a Basic one. A session login remembers a fingerprint of the user's stored hash, keyed from
``secret_key`` so every worker, host and restart agrees, and changing the password or
removing the user ends every browser session of that user at its next request.

Applications with their own login page pass ``login_form=False`` and call :func:`login` and
:func:`logout` themselves::

    from middleware.auth import login, logout
    if backend.check_password(name, password):
        login(environ, name, fingerprint=backend.fingerprint(name))
"""

from __future__ import annotations

import hmac
import html
import secrets
from collections.abc import Iterable, Mapping
from string import Template
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from middleware.environ import COMPRESSION_DISABLE, SESSION
from middleware.wsgi import simple_response

from .base import AuthBackend, Identity, PasswordBackend
from .paths import safe_next, script_name

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from middleware.sessions import Session

    from .middleware import AuthMiddleware

__all__ = ["SESSION_KEY", "LoginForm", "csrf_token", "login", "logout", "session_identity"]

SESSION_KEY = "middleware.auth"
CSRF_KEY = "middleware.auth.csrf"
MAX_FORM_BYTES = 16 * 1024
#: The per-response opt-out that CompressionMiddleware honours.
NO_COMPRESSION_KEY = COMPRESSION_DISABLE
_PAGE_HEADERS = [
    ("Cache-Control", "no-store, no-transform"),
    ("Content-Security-Policy",
     "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
     "frame-ancestors 'none'; base-uri 'none'"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
]


def _session(environ: WSGIEnvironment) -> Session:
    from middleware.sessions import get_session

    return get_session(environ)


def login(environ: WSGIEnvironment, user: str, *, scheme: str = "Form",
          claims: Mapping[str, Any] | None = None, fingerprint: str | None = None) -> None:
    """Log ``user`` in for the rest of the session: new session id, identity stored.

    ``fingerprint`` (a backend's ``fingerprint(user)``) ties the login to the stored password
    hash, so it ends when the password changes.
    """
    session = _session(environ)
    session.regenerate()
    session[SESSION_KEY] = {"user": user, "scheme": scheme, "claims": dict(claims or {}),
                            "fp": fingerprint}
    session.pop(CSRF_KEY, None)


def csrf_token(environ: WSGIEnvironment) -> str:
    """The session's CSRF token for the built-in forms (made on first use).

    For an application page with its own "Sign out" button, which must POST it to
    ``logout_url`` as ``csrf_token``. Such a page must not be compressed (BREACH): set
    ``environ["middleware.compression.disable"] = True`` when rendering it::

        token = html.escape(csrf_token(environ))
        button = ('<form method="post" action="/logout">'
                  f'<input type="hidden" name="csrf_token" value="{token}">'
                  '<button>Sign out</button></form>')
    """
    session = _session(environ)
    token = session.get(CSRF_KEY)
    if not isinstance(token, str):
        token = session[CSRF_KEY] = secrets.token_urlsafe(32)
    return token


def logout(environ: WSGIEnvironment) -> None:
    """End the session: data and id dropped, cookie deleted."""
    _session(environ).invalidate()


def session_identity(environ: WSGIEnvironment,
                     backends: Iterable[AuthBackend]) -> Identity | None:
    """The identity the session holds, if it is still valid (user known, password unchanged)."""
    session = _session(environ)
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict) or not isinstance(data.get("user"), str):
        return None
    user, fingerprint = data["user"], data.get("fp")
    if fingerprint is not None:
        match = _fingerprint_match(backends, user, str(fingerprint))
        if match is None:
            del session[SESSION_KEY]
            return None
        if match != fingerprint:  # made with an older secret_key: re-key with the newest
            session[SESSION_KEY] = {**data, "fp": match}
    claims = data.get("claims")
    if not isinstance(claims, dict):
        claims = {}
    return Identity(user, str(data.get("scheme") or "Form"), claims)


def _fingerprint_match(backends: Iterable[AuthBackend], user: str, given: str) -> str | None:
    """The newest fingerprint of ``user`` if ``given`` is one of its fingerprints, else None."""
    for backend in backends:
        if hasattr(backend, "fingerprints"):
            candidates = [str(f) for f in backend.fingerprints(user)]
        elif hasattr(backend, "fingerprint"):
            candidates = [str(backend.fingerprint(user) or "")]
        else:
            continue
        if any(c and hmac.compare_digest(c.encode(), given.encode("utf-8", "replace"))
               for c in candidates):
            return candidates[0]
    return None


class LoginForm:
    """The built-in login and logout pages of an :class:`~middleware.auth.AuthMiddleware`.

    :param auth: the middleware (its backends, throttle, realm and URLs are used).
    """

    def __init__(self, auth: AuthMiddleware) -> None:
        if auth.login_url is None or auth.logout_url is None:
            raise ValueError("the login form needs login_url (and logout_url)")
        self.auth = auth
        self.login_url: str = auth.login_url
        self.logout_url: str = auth.logout_url

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse,
                 route: str) -> Iterable[bytes]:
        if SESSION not in environ:
            raise RuntimeError("the login form needs SessionMiddleware outside AuthMiddleware")
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD", "POST"):
            return simple_response(start_response, "405 Method Not Allowed",
                                   b"Method Not Allowed\n", headers=[("Allow", "GET, POST")])
        if route == self.logout_url:
            return self._logout(environ, start_response, method)
        if method == "POST":
            return self._login(environ, start_response)
        query = parse_qs(environ.get("QUERY_STRING", ""))
        return self._page(environ, start_response, "200 OK",
                          safe_next(query.get("next", ["/"])[0]))

    def _login(self, environ: WSGIEnvironment,
               start_response: StartResponse) -> Iterable[bytes]:
        form = _read_form(environ)
        if form is None:
            return simple_response(start_response, "400 Bad Request",
                                   b"Bad Request: not a small urlencoded form\n")
        target = safe_next(form.get("next"))
        if not self._csrf_ok(environ, form):
            return self._page(environ, start_response, "400 Bad Request", target,
                              "The form expired; please try again.")
        user, password = form.get("username", ""), form.get("password", "")
        address = environ.get("REMOTE_ADDR")
        # Counted before the check (atomically), taken back only on success.
        refused = self.auth.throttle_attempt(environ, start_response, address, user)
        if refused is not None:
            return refused
        for backend in self.auth.backends:
            if (user and isinstance(backend, PasswordBackend)
                    and backend.check_password(user, password)):
                self.auth.release_attempt(address, user)
                login(environ, user, fingerprint=backend.fingerprint(user))
                return simple_response(start_response, "303 See Other", b"See Other\n",
                                       headers=[("Location", _absolute(environ, target)),
                                                ("Cache-Control", "no-store")])
        return self._page(environ, start_response, "200 OK", target,
                          "Wrong user name or password.", user)

    def _logout(self, environ: WSGIEnvironment, start_response: StartResponse,
                method: str) -> list[bytes]:
        if method == "POST":
            form = _read_form(environ) or {}
            if self._csrf_ok(environ, form):
                logout(environ)
                location = _absolute(environ, self.login_url)
                return simple_response(start_response, "303 See Other", b"See Other\n",
                                       headers=[("Location", location),
                                                ("Cache-Control", "no-store")])
        body = _LOGOUT.substitute(title=html.escape(self.auth.realm),
                              action=html.escape(_absolute(environ, self.logout_url)),
                              csrf=html.escape(self._csrf_token(environ)))
        environ[NO_COMPRESSION_KEY] = True
        return simple_response(start_response, "200 OK", body.encode(),
                               "text/html; charset=utf-8", _PAGE_HEADERS)

    def _page(self, environ: WSGIEnvironment, start_response: StartResponse, status: str,
              target: str, error: str = "", user: str = "") -> list[bytes]:
        message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
        body = _LOGIN.substitute(title=html.escape(self.auth.realm), error=message,
                             action=html.escape(_absolute(environ, self.login_url)),
                             next=html.escape(target), user=html.escape(user),
                             csrf=html.escape(self._csrf_token(environ)))
        # The page holds the CSRF token beside reflected input (next, user name): never
        # compressed, or its size would let an observer guess the token (BREACH).
        environ[NO_COMPRESSION_KEY] = True
        return simple_response(start_response, status, body.encode(),
                               "text/html; charset=utf-8", _PAGE_HEADERS)

    @staticmethod
    def _csrf_token(environ: WSGIEnvironment) -> str:
        return csrf_token(environ)

    @staticmethod
    def _csrf_ok(environ: WSGIEnvironment, form: Mapping[str, str]) -> bool:
        expected = _session(environ).get(CSRF_KEY)
        given = form.get("csrf_token", "")
        return isinstance(expected, str) and hmac.compare_digest(expected.encode(),
                                                                given.encode())


def _absolute(environ: WSGIEnvironment, path: str) -> str:
    return script_name(environ) + path


def _read_form(environ: WSGIEnvironment) -> dict[str, str] | None:
    """The urlencoded form body (first value of each field), or ``None`` if unusable."""
    content_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not 0 <= length <= MAX_FORM_BYTES:
        return None
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        fields = parse_qs(raw.decode("ascii"), keep_blank_values=True, max_num_fields=20,
                          encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None
    return {key: values[0] for key, values in fields.items()}


_STYLE = """<style>
body{font:16px/1.4 system-ui,sans-serif;background:#f4f5f7;margin:0;display:flex;
min-height:100vh;align-items:center;justify-content:center}
form{background:#fff;padding:2rem;border-radius:8px;box-shadow:0 2px 12px #0002;width:18rem}
h1{font-size:1.3rem;margin:0 0 1rem}label{display:block;margin:.8rem 0 .2rem}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;
font:inherit}button{margin-top:1.2rem;width:100%;padding:.6rem;font:inherit;cursor:pointer}
.error{color:#b00020;margin:0 0 .5rem}
</style>"""

_LOGIN = Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in: $title</title>""" + _STYLE + """</head>
<body><form method="post" action="$action">
<h1>$title</h1>$error
<input type="hidden" name="csrf_token" value="$csrf">
<input type="hidden" name="next" value="$next">
<label for="username">User name</label>
<input type="text" id="username" name="username" value="$user" autocomplete="username"
 autocapitalize="none" required autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form></body></html>
""")

_LOGOUT = Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log out: $title</title>""" + _STYLE + """</head>
<body><form method="post" action="$action">
<h1>$title</h1>
<input type="hidden" name="csrf_token" value="$csrf">
<button type="submit">Log out</button>
</form></body></html>
""")
