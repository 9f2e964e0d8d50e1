"""The demo app: a page, a JSON endpoint, a streamed response, a route that raises.

Shipped in the package so that the demo and the recipes run from an installed package, not
only from a checkout: ``use = egg:wsgi-middleware-suite#demo`` in an ini file.

It is a plain WSGI app (no framework) so every middleware's effect is visible: the session
counter on the page, compressed responses, who is signed in (on every page, public ones
included), a "Sign in" link to the login form and a "Sign out" button, the login on
``/private``, the error page on ``/boom``.

``app_factory`` is its PasteDeploy entry (``use = egg:wsgi-middleware-suite#demo``);
with ``htpasswd = PATH`` it creates that file on first run with a user ``demo`` and a random
password, printed once to the console.
"""

from __future__ import annotations

import html
import json
import os
import secrets
import time
from typing import TYPE_CHECKING

import bcrypt
from werkzeug.wrappers import Request, Response

from middleware.environ import AUTH_LOGIN_URL, AUTH_LOGOUT_URL, COMPRESSION_DISABLE, SESSION

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from middleware.sessions import Session

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wsgi-middleware-suite demo</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}}
code{{background:#f3f3f3;padding:0 .2em}}li{{margin:.3em 0}}</style></head>
<body><h1>wsgi-middleware-suite demo</h1>
<p>You have seen this page <strong id="visits">{visits}</strong> time(s) in this session.</p>
<p>Signed in as: <strong id="user">{user}</strong> {account}</p>
<p>Served by process <strong id="process">{process}</strong> (several processes share the session).</p>
<ul>
<li><a href="/api">/api</a>: JSON, compressed when your client accepts it</li>
<li><a href="/stream">/stream</a>: a streamed response, compressed chunk by chunk</li>
<li><a href="/private">/private</a>: needs a login (see the console for the password)</li>
<li><a href="/boom">/boom</a>: raises an exception: you get the error page, not a traceback</li>
<li><a href="/missing">/missing</a>: a 404 page</li>
</ul>
{filler}
</body></html>
"""


def _session(environ: WSGIEnvironment) -> Session | None:
    session: Session | None = environ.get(SESSION)
    return session


def account_links(environ: WSGIEnvironment) -> str:
    """A "Sign in" link, or a "Sign out" button (a POST with the form's CSRF token)."""
    login_url = environ.get(AUTH_LOGIN_URL)
    logout_url = environ.get(AUTH_LOGOUT_URL)
    if not environ.get("REMOTE_USER"):
        target = f"{login_url}?next=/" if login_url else "/private"
        return f'<a id="sign-in" href="{html.escape(target)}">Sign in</a>'
    if environ.get("AUTH_TYPE") != "Form" or not logout_url:
        return ""  # Basic: the browser keeps the password until it closes
    from middleware.auth import csrf_token

    # The token is in this page: never compress it (BREACH).
    environ[COMPRESSION_DISABLE] = True
    return (f'<form method="post" action="{html.escape(logout_url)}" style="display:inline">'
            f'<input type="hidden" name="csrf_token" value="{html.escape(csrf_token(environ))}">'
            '<button id="sign-out" type="submit">Sign out</button></form>')


def index(request: Request) -> Response:
    session = _session(request.environ)
    visits = 0
    if session is not None:
        session["visits"] = visits = session.get("visits", 0) + 1
    user = html.escape(request.environ.get("REMOTE_USER") or "nobody")
    # Enough text that compression has something to do on the home page too.
    filler = "<p hidden>" + "demo " * 200 + "</p>"
    return Response(PAGE.format(visits=visits, user=user, filler=filler,
                                account=account_links(request.environ),
                                process=os.getpid()), mimetype="text/html")


def api(request: Request) -> Response:
    data = {"time": time.time(), "user": request.environ.get("REMOTE_USER"),
            "process": os.getpid(),
            "items": [{"id": i, "name": f"item {i}"} for i in range(50)]}
    return Response(json.dumps(data), mimetype="application/json")


def stream(request: Request) -> Response:
    def events() -> Iterator[str]:
        for i in range(10):
            yield f"data: event {i}\n\n"
            time.sleep(0.2)
    return Response(events(), mimetype="text/event-stream")


def private(request: Request) -> Response:
    user = html.escape(request.environ.get("REMOTE_USER") or "nobody")
    return Response(f"<!doctype html><title>private</title><p>Hello {user}.</p>",
                    mimetype="text/html")


def boom(request: Request) -> Response:
    password = "must-never-be-shown"  # noqa: F841 - the error page must not leak locals
    raise RuntimeError("the demo route /boom raises on purpose")


ROUTES = {"/": index, "/api": api, "/stream": stream, "/private": private, "/boom": boom}


def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """The demo WSGI app."""
    request = Request(environ)
    view = ROUTES.get(request.path)
    if view is None:
        response = Response("Not Found", status=404, mimetype="text/plain")
    else:
        response = view(request)
    return response(environ, start_response)


def ensure_htpasswd(path: str, user: str = "demo") -> None:
    """Create ``path`` with ``user`` and a random password, printed once, if it is missing.

    Several processes may start at once (gunicorn workers without ``--preload``): the file is
    written aside and linked into place, which fails if it exists, so exactly one process
    creates it and prints its password, and nobody ever reads a half-written file.
    """
    if os.path.exists(path):
        return
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    password = secrets.token_urlsafe(12)
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()
    aside = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    with open(aside, "w") as file:
        file.write(f"{user}:{hashed}\n")
    try:
        os.link(aside, path)
    except FileExistsError:
        return  # another process was first: its password is the one printed
    finally:
        os.unlink(aside)
    print(f"\n  Demo login created: user {user!r}, password {password!r} (in {path})\n",
          flush=True)


def app_factory(global_conf: Mapping[str, str], htpasswd: str = "",
                **local_conf: str) -> WSGIApplication:
    """PasteDeploy ``paste.app_factory``."""
    if htpasswd:
        here = global_conf.get("here", ".")
        ensure_htpasswd(htpasswd if os.path.isabs(htpasswd) else os.path.join(here, htpasswd))
    return application
