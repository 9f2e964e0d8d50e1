"""The peers: what a user would pick instead of us, on exactly the same workload.

* errors: Paste's ``ErrorMiddleware`` (``debug=False``) and ``paste.errordocument.forward``;
* debug: werkzeug's ``DebuggedApplication`` (``evalex=False``);
* sessions: Beaker's ``SessionMiddleware`` (signed cookie, memory, file, ext:redis);
* auth: repoze.who with its Basic plugin and an htpasswd file (``{SHA}``: its fastest format);
* compression: Paste's ``gzipper``, flask-compress (over bare Flask), Django's
  ``GZipMiddleware`` (over bare Django);
* the full stack: Paste errors + Paste gzip + Beaker cookie + repoze.who.

Each peer runs with its defaults except where the row says so; the options that must match ours
to be fair (gzip level 6, brotli quality 4, zstd level 3) are the peers' defaults too.
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.cases import Case
from benchmarks.cases.frameworks import django_app, flask_app
from benchmarks.cases.ours import SIZES, primed_session
from benchmarks.cases.stacks import beaker_config, peer_stack, repoze_who, sha1_htpasswd
from benchmarks.cases.workload import (
    BODY_2K,
    ERROR_PAGE_BODY,
    USER,
    OneRequest,
    WSGIApp,
    basic_credentials,
    driver,
    failing_app,
    fetch,
    generator_app,
    list_app,
    make_environ,
    not_found_app,
    session_app,
    user_app,
)


def _plain(app: WSGIApp, status: int = 200, body: bytes | None = BODY_2K, path: str = "/",
           headers: dict[str, str] | None = None, encoding: str = "",
           **expect: str) -> OneRequest:
    environ = make_environ(path, headers)
    fetch(app, environ).expect(status, body, encoding, **expect)
    return driver(app, environ)


def paste_errors(app: WSGIApp) -> WSGIApp:
    from paste.exceptions.errormiddleware import ErrorMiddleware

    return ErrorMiddleware(app, {}, debug=False)


def paste_error_document() -> OneRequest:
    from paste.errordocument import forward

    app = forward(not_found_app, codes={404: "/404.html"})
    return _plain(app, 404, ERROR_PAGE_BODY, "/missing")


def werkzeug_debugger(app: WSGIApp) -> WSGIApp:
    from werkzeug.debug import DebuggedApplication

    return DebuggedApplication(app, evalex=False)


def werkzeug_traceback() -> OneRequest:
    app = werkzeug_debugger(failing_app)
    environ = make_environ()
    reply = fetch(app, environ).expect(500)
    if b"BenchmarkError" not in reply.body:
        raise AssertionError("the traceback page does not name the exception")
    return driver(app, environ)


def beaker(app: WSGIApp, session_type: str, signed_id: bool = False) -> WSGIApp:
    from beaker.middleware import SessionMiddleware

    return SessionMiddleware(app, beaker_config(session_type, signed_id))


def beaker_read_write(session_type: str, signed_id: bool = False) -> OneRequest:
    app = beaker(session_app("beaker.session", save=True), session_type, signed_id)
    return primed_session(app, "beaker")


def repoze_basic(users: int) -> OneRequest:
    app = repoze_who(user_app(), sha1_htpasswd(users))
    return _plain(app, headers={"Authorization": basic_credentials()}, X_User=USER)


def repoze_challenge() -> OneRequest:
    app = repoze_who(user_app(), sha1_htpasswd(1))
    return _plain(app, 401, None)


def paste_gzip(size: str, encoding: str = "gzip") -> OneRequest:
    from paste.gzipper import middleware as GzipMiddleware

    body = SIZES[size]
    app = GzipMiddleware(list_app(body), compress_level=6)
    headers = {"Accept-Encoding": encoding} if encoding else {}
    return _plain(app, body=body, headers=headers, encoding=encoding)


def flask_compressed(size: str, encoding: str) -> OneRequest:
    body = SIZES[size]
    app = flask_app(body, {"COMPRESS_ALGORITHM": [encoding]})
    return _plain(app, body=body, headers={"Accept-Encoding": encoding}, encoding=encoding)


def django_gzip() -> OneRequest:
    return _plain(django_app(gzip=True), headers={"Accept-Encoding": "gzip"}, encoding="gzip")


def peer_full_stack() -> OneRequest:
    headers = {"Authorization": basic_credentials(), "Accept-Encoding": "gzip"}
    return primed_session(peer_stack(), "beaker", headers, "gzip")


def _wrapped(wrap: Callable[[WSGIApp], WSGIApp], app: WSGIApp) -> Callable[[], OneRequest]:
    return lambda: _plain(wrap(app))


BARE = {"2k": "bare.list", "100k": "bare.100k"}


def _compression_cases() -> list[Case]:
    cases = [Case("gzip.paste.pass", "compression 2 KB",
                  "Paste gzipper, client accepts nothing (pass-through)", "peer",
                  lambda: paste_gzip("2k", ""), "bare.list")]
    for size, section in (("2k", "compression 2 KB"), ("100k", "compression 100 KB")):
        label_size = size.upper().replace("K", " KB")
        cases.append(Case(f"gzip.paste.{size}", section, f"Paste gzipper, gzip 6, {label_size}",
                          "peer", lambda s=size: paste_gzip(s), BARE[size],
                          floor=f"floor.gzip.{size}"))
        for encoding in ("gzip", "br", "zstd"):
            cases.append(Case(
                f"{encoding}.flask.{size}", section,
                f"flask-compress, {encoding}, {label_size} (over bare Flask)", "peer",
                lambda s=size, e=encoding: flask_compressed(s, e), f"bare.flask.{size}",
                floor=f"floor.{encoding}.{size}"))
    cases.append(Case("gzip.django.2k", "compression 2 KB",
                      "Django GZipMiddleware, 2 KB (over bare Django)", "peer", django_gzip,
                      "bare.django.2k", floor="floor.gzip.2k"))
    return cases


CASES = [
    Case("errors.paste.list", "errors", "Paste ErrorMiddleware, list body", "peer",
         _wrapped(paste_errors, list_app()), "bare.list"),
    Case("errors.paste.generator", "errors", "Paste ErrorMiddleware, generator body", "peer",
         _wrapped(paste_errors, generator_app()), "bare.generator"),
    Case("errors.paste.404", "errors", "Paste errordocument.forward, 404 -> error document",
         "peer", paste_error_document, "bare.404"),
    Case("errors.paste.500", "errors", "Paste ErrorMiddleware, exception -> 500 page", "peer",
         lambda: _plain(paste_errors(failing_app), 500, None), "bare.list"),
    Case("debug.werkzeug.pass", "debug", "werkzeug DebuggedApplication, pass-through", "peer",
         _wrapped(werkzeug_debugger, list_app()), "bare.list"),
    Case("debug.werkzeug.traceback", "debug",
         "werkzeug DebuggedApplication, exception -> traceback page", "peer",
         werkzeug_traceback, "bare.list"),
    Case("sessions.beaker.untouched", "sessions", "Beaker cookie session, never touched",
         "peer", _wrapped(lambda app: beaker(app, "cookie"), list_app()), "bare.list"),
    Case("sessions.beaker.cookie", "sessions", "Beaker signed cookie, read+write 1 key", "peer",
         lambda: beaker_read_write("cookie"), "bare.list", floor="floor.itsdangerous"),
    Case("sessions.beaker.memory", "sessions", "Beaker memory, read+write 1 key", "peer",
         lambda: beaker_read_write("memory"), "bare.list"),
    Case("sessions.beaker.memory_signed", "sessions",
         "Beaker memory + secret (signed id), read+write 1 key", "peer",
         lambda: beaker_read_write("memory", signed_id=True), "bare.list"),
    Case("sessions.beaker.file", "sessions", "Beaker file store, read+write 1 key", "peer",
         lambda: beaker_read_write("file"), "bare.list"),
    Case("sessions.beaker.redis", "sessions", "Beaker ext:redis (127.0.0.1 TCP), read+write",
         "peer", lambda: beaker_read_write("redis"), "bare.list"),
    Case("auth.repoze.basic1", "auth", "repoze.who Basic, {SHA} htpasswd 1 user", "peer",
         lambda: repoze_basic(1), "bare.list"),
    Case("auth.repoze.basic20", "auth", "repoze.who Basic, {SHA} htpasswd 20 users", "peer",
         lambda: repoze_basic(20), "bare.list"),
    Case("auth.repoze.challenge", "auth", "repoze.who, no credentials -> 401", "peer",
         repoze_challenge, "bare.list"),
    *_compression_cases(),
    Case("stack.peers", "full stack",
         "Paste errors+gzipper, Beaker cookie r/w, repoze.who Basic, 2 KB", "peer",
         peer_full_stack, "bare.list"),
]
