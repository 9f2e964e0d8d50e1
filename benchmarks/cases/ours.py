"""Our middlewares, alone in their common configurations and as the full stack.

Every case is written against the public API with default options unless the row says
otherwise, so the numbers are what a user gets out of the box. Each ``build`` imports the
middleware it needs: until that module exists the row reads "not available" instead of failing
the run.
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.cases import Case, Goal
from benchmarks.cases.stacks import bcrypt_htpasswd, ours_stack, quiet_logger, workdir
from benchmarks.cases.workload import (
    BEARER_TOKEN,
    BODY_2K,
    BODY_100K,
    NOT_FOUND_BODY,
    SECRET,
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

SIZES = {"2k": BODY_2K, "100k": BODY_100K}


def _pass_through(wrap: Callable[[WSGIApp], WSGIApp], body_app: WSGIApp) -> OneRequest:
    app = wrap(body_app)
    environ = make_environ()
    fetch(app, environ).expect(200, BODY_2K)
    return driver(app, environ)


def errors_pass_through(generator: bool) -> OneRequest:
    from middleware import ErrorPageMiddleware

    inner = generator_app() if generator else list_app()
    return _pass_through(lambda app: ErrorPageMiddleware(app, logger=quiet_logger()), inner)


def errors_404() -> OneRequest:
    from middleware import ErrorPageMiddleware

    app = ErrorPageMiddleware(not_found_app, logger=quiet_logger())
    environ = make_environ("/missing")
    reply = fetch(app, environ).expect(404)
    if reply.body == NOT_FOUND_BODY:
        raise AssertionError("the 404 was not replaced by an error page")
    return driver(app, environ)


def errors_500() -> OneRequest:
    from middleware import ErrorPageMiddleware

    app = ErrorPageMiddleware(failing_app, logger=quiet_logger())
    environ = make_environ()
    fetch(app, environ).expect(500)
    return driver(app, environ)


def debug_pass_through() -> OneRequest:
    from middleware import DebugMiddleware

    return _pass_through(lambda app: DebugMiddleware(app, logger=quiet_logger()), list_app())


def debug_traceback() -> OneRequest:
    from middleware import DebugMiddleware

    app = DebugMiddleware(failing_app, logger=quiet_logger())
    environ = make_environ()
    reply = fetch(app, environ).expect(500)
    if b"BenchmarkError" not in reply.body:
        raise AssertionError("the traceback page does not name the exception")
    return driver(app, environ)


def primed_session(app: WSGIApp, cookie_name: str, headers: dict[str, str] | None = None,
                   encoding: str = "") -> OneRequest:
    """Time requests that carry a session cookie from a first request: load and re-save."""
    headers = headers or {}
    first = fetch(app, make_environ(headers=headers)).expect(200, BODY_2K, encoding, X_N="1")
    environ = make_environ(headers={**headers, "Cookie": first.cookie(cookie_name)})
    fetch(app, environ).expect(200, BODY_2K, encoding, X_N="2")
    return driver(app, environ)


def session_untouched() -> OneRequest:
    from middleware import SessionMiddleware

    app = SessionMiddleware(list_app(), secret_key=SECRET)
    environ = make_environ()
    reply = fetch(app, environ).expect(200, BODY_2K)
    if reply.header("Set-Cookie"):
        raise AssertionError("an untouched session set a cookie")
    return driver(app, environ)


def session_read_write(store: str) -> OneRequest:
    from middleware import SessionMiddleware

    if store == "sqlite":
        from middleware.sessions import SQLiteStore

        backend: object = SQLiteStore(str(workdir() / "ours-sessions.db"))
    elif store == "redis":
        from benchmarks.cases.redis_server import redis_url
        from middleware.sessions import RedisStore

        backend = RedisStore(redis_url())
    else:
        backend = store
    app = SessionMiddleware(session_app("middleware.session"), secret_key=SECRET, store=backend)
    return primed_session(app, "session")


def basic_auth(users: int) -> OneRequest:
    """Valid Basic credentials against a bcrypt htpasswd; the check run warms the cache."""
    from middleware import AuthMiddleware, BasicAuth

    backend = BasicAuth(htpasswd=str(bcrypt_htpasswd(users)))
    app = AuthMiddleware(user_app(), backends=[backend])
    environ = make_environ(headers={"Authorization": basic_credentials()})
    fetch(app, environ).expect(200, BODY_2K, X_User=USER)
    return driver(app, environ)


def basic_auth_challenge() -> OneRequest:
    from middleware import AuthMiddleware, BasicAuth

    app = AuthMiddleware(user_app(), backends=[BasicAuth(htpasswd=str(bcrypt_htpasswd(1)))])
    environ = make_environ()
    reply = fetch(app, environ).expect(401)
    if "basic" not in reply.header("WWW-Authenticate").lower():
        raise AssertionError("no Basic challenge in WWW-Authenticate")
    return driver(app, environ)


def bearer_auth() -> OneRequest:
    from middleware import AuthMiddleware, BearerTokenAuth

    app = AuthMiddleware(user_app(), backends=[BearerTokenAuth(tokens={BEARER_TOKEN: USER})])
    environ = make_environ(headers={"Authorization": f"Bearer {BEARER_TOKEN}"})
    fetch(app, environ).expect(200, BODY_2K, X_User=USER)
    return driver(app, environ)


def compressed(size: str, encoding: str) -> OneRequest:
    """Our compression with default options; ``encoding`` is the only one the client accepts."""
    from middleware import CompressionMiddleware

    body = SIZES[size]
    app = CompressionMiddleware(list_app(body))
    environ = make_environ(headers={"Accept-Encoding": encoding} if encoding else {})
    fetch(app, environ).expect(200, body, encoding)
    return driver(app, environ)


def full_stack() -> OneRequest:
    headers = {"Authorization": basic_credentials(), "Accept-Encoding": "gzip"}
    return primed_session(ours_stack(), "session", headers, "gzip")


def _compression_cases() -> list[Case]:
    peers = {
        ("gzip", "2k"): ("gzip.paste.2k", "gzip.flask.2k", "gzip.django.2k"),
        ("gzip", "100k"): ("gzip.paste.100k", "gzip.flask.100k"),
        ("br", "2k"): ("br.flask.2k",),
        ("br", "100k"): ("br.flask.100k",),
        ("zstd", "2k"): ("zstd.flask.2k",),
        ("zstd", "100k"): ("zstd.flask.100k",),
    }
    goals = {
        ("gzip", "2k"): Goal("<= raw + 3 us", 3.0, "over_floor"),
        ("gzip", "100k"): Goal("<= 1.02x raw", 1.02, "floor_ratio"),
        ("br", "100k"): Goal("<= 1.03x raw", 1.03, "floor_ratio"),
    }
    cases = [Case("gzip.ours.pass", "compression 2 KB",
                  "ours CompressionMiddleware, client accepts nothing (pass-through)", "ours",
                  lambda: compressed("2k", ""), "bare.list", ("gzip.paste.pass",))]
    for size, section, bare in (("2k", "compression 2 KB", "bare.list"),
                                ("100k", "compression 100 KB", "bare.100k")):
        for encoding in ("gzip", "br", "zstd"):
            cases.append(Case(
                f"{encoding}.ours.{size}", section,
                f"ours CompressionMiddleware, {encoding}, {size.upper().replace('K', ' KB')}",
                "ours", lambda s=size, e=encoding: compressed(s, e), bare,
                peers[encoding, size], f"floor.{encoding}.{size}", goals.get((encoding, size))))
    return cases


CASES = [
    Case("errors.ours.list", "errors", "ours ErrorPageMiddleware, pass-through, list body",
         "ours", lambda: errors_pass_through(False), "bare.list", ("errors.paste.list",),
         goal=Goal("<= 0.3 us added", 0.3)),
    Case("errors.ours.generator", "errors",
         "ours ErrorPageMiddleware, pass-through, generator body", "ours",
         lambda: errors_pass_through(True), "bare.generator", ("errors.paste.generator",),
         goal=Goal("<= 1.0 us added", 1.0)),
    Case("errors.ours.404", "errors", "ours ErrorPageMiddleware, app's 404 replaced by a page",
         "ours", errors_404, "bare.404", ("errors.paste.404",)),
    Case("errors.ours.500", "errors", "ours ErrorPageMiddleware, exception -> 500 page (logged)",
         "ours", errors_500, "bare.list", ("errors.paste.500",)),
    Case("debug.ours.pass", "debug", "ours DebugMiddleware, pass-through", "ours",
         debug_pass_through, "bare.list", ("debug.werkzeug.pass",),
         goal=Goal("<= 0.5 us added", 0.5)),
    Case("debug.ours.traceback", "debug", "ours DebugMiddleware, exception -> traceback page",
         "ours", debug_traceback, "bare.list", ("debug.werkzeug.traceback",)),
    Case("sessions.ours.untouched", "sessions", "ours SessionMiddleware, session never touched",
         "ours", session_untouched, "bare.list", ("sessions.beaker.untouched",)),
    Case("sessions.ours.cookie", "sessions",
         "ours SessionMiddleware, signed cookie, read+write 1 key", "ours",
         lambda: session_read_write("cookie"), "bare.list", ("sessions.beaker.cookie",),
         "floor.itsdangerous", Goal("<= 10 us added", 10.0)),
    Case("sessions.ours.memory", "sessions", "ours SessionMiddleware, memory store, read+write",
         "ours", lambda: session_read_write("memory"), "bare.list",
         ("sessions.beaker.memory", "sessions.beaker.memory_signed")),
    Case("sessions.ours.sqlite", "sessions", "ours SessionMiddleware, SQLite store, read+write",
         "ours", lambda: session_read_write("sqlite"), "bare.list", ("sessions.beaker.file",)),
    Case("sessions.ours.redis", "sessions",
         "ours SessionMiddleware, Redis store (127.0.0.1 TCP), read+write", "ours",
         lambda: session_read_write("redis"), "bare.list", ("sessions.beaker.redis",)),
    Case("auth.ours.basic1", "auth",
         "ours AuthMiddleware, valid Basic, bcrypt htpasswd 1 user (warm cache)", "ours",
         lambda: basic_auth(1), "bare.list", ("auth.repoze.basic1",), "floor.bcrypt",
         Goal("<= 4 us added", 4.0)),
    Case("auth.ours.basic20", "auth",
         "ours AuthMiddleware, valid Basic, bcrypt htpasswd 20 users (warm cache)", "ours",
         lambda: basic_auth(20), "bare.list", ("auth.repoze.basic20",), "floor.bcrypt",
         Goal("<= 4 us added (flat in users)", 4.0)),
    Case("auth.ours.challenge", "auth", "ours AuthMiddleware, no credentials -> 401", "ours",
         basic_auth_challenge, "bare.list", ("auth.repoze.challenge",)),
    Case("auth.ours.bearer", "auth", "ours AuthMiddleware, valid static Bearer token", "ours",
         bearer_auth, "bare.list"),
    *_compression_cases(),
    Case("stack.ours", "full stack",
         "ours errors+gzip+session(cookie r/w)+auth(Basic), 2 KB", "ours", full_stack,
         "bare.list", ("stack.peers",), goal=Goal("<= 40 us added", 40.0)),
]
