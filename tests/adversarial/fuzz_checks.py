"""The properties every fuzzed request must hold, and the stacks they run through.

:func:`check` drives one request through a middleware (alone or the full pipeline) with
``wsgiref.validate.validator`` on both sides, on the strict server of ``tests/harness.py``, and
asserts:

* no exception escapes (neither from the call nor while the body is iterated);
* the status is not a 5xx unless the test expects one (an app that raises on purpose), and
  every exception the error page logged is the app's own (so a 500 is never from our code);
* every header name and value is a latin-1 ``str`` without CR, LF or NUL;
* no secret (keys, passwords, tokens, hashes) and no internal string (a traceback, a source
  path of the package) appears in the body, decoded first when it is compressed;
* the application's iterable was closed exactly once, and never read after ``close()``.

The full pipeline is the recommended order of ``recipes/demo/demo.ini`` with every middleware:
errors -> compression (also decoding request bodies) -> session -> auth -> debug -> app.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import logging
import os
import warnings
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.validate import validator

import bcrypt
import brotli
import zstandard

import middleware
from harness import (
    HTML,
    AppError,
    Result,
    TrackedIterable,
    TrackedList,
    Tracker,
    make_environ,
    serve,
)
from middleware import (
    AuthMiddleware,
    BasicAuth,
    BearerTokenAuth,
    CompressionMiddleware,
    DebugMiddleware,
    ErrorPageMiddleware,
    Pipeline,
    SessionMiddleware,
)
from support.codings import decode

SESSION_KEY = "fuzz-session-key-5e1f0c9a7b3d2e4f"
PASSWORD = "correct-horse-battery-staple"
PASSWORD_HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
TOKEN = "fuzz-bearer-token-9f8e7d6c5b4a3210"
#: what a local variable of the raising app holds: it must never reach a page
APP_SECRET = "app-local-secret-never-on-a-page"
PACKAGE_DIR = os.path.dirname(middleware.__file__)
SECRETS = (SESSION_KEY, PASSWORD, PASSWORD_HASH, TOKEN, APP_SECRET, PACKAGE_DIR,
           "Traceback (most recent call last)", "AppError", "AssertionError")
BASIC = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
#: an address that is neither allowed to see debug pages nor a trusted proxy
REMOTE = "203.0.113.7"
#: request bodies decoded past this size are refused (413)
MAX_BODY = 64 * 1024


#: fuzzed cases tried per input, printed by the conftest at the end of the run
CASES: Counter[str] = Counter()


def fuzzed(input_name: str) -> None:
    """Count one fuzzed case of ``input_name`` (call it first in every property test)."""
    CASES[input_name] += 1


class Recorder(logging.Handler):
    """Keeps the exception types of the records it sees; used as the error page's logger."""

    def __init__(self) -> None:
        super().__init__()
        self.exc_types: list[type[BaseException]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[0] is not None:
            self.exc_types.append(record.exc_info[0])


def quiet_logger(name: str) -> tuple[logging.Logger, Recorder]:
    """A logger that records exception types and prints nothing."""
    logger = logging.getLogger(f"tests.adversarial.{name}")
    logger.propagate = False
    logger.handlers[:] = []
    recorder = Recorder()
    logger.addHandler(recorder)
    logger.setLevel(logging.DEBUG)
    return logger, recorder


ERRORS_LOG, ERRORS_SEEN = quiet_logger("errors")
DEBUG_LOG, _ = quiet_logger("debug")


# -- apps ----------------------------------------------------------------------------------

def touching_app(tracker: Tracker, streamed: bool = True) -> Callable[..., Iterable[bytes]]:
    """Reads the request body and changes the session; answers an HTML page that ends with the
    SHA-256 of the body it read (so a test can tell what the app was handed)."""
    def app(environ, start_response):
        session = environ.get("middleware.session")
        if session is not None:
            session["n"] = session.get("n", 0) + 1
        length = int(environ.get("CONTENT_LENGTH") or 0)
        data = environ["wsgi.input"].read(length) if length else b""
        body = HTML + b"<!--" + hashlib.sha256(data).hexdigest().encode() + b"-->"
        if streamed:
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return TrackedIterable(iter([body[:300], body[300:]]), tracker)
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Content-Length", str(len(body)))])
        return TrackedList([body], tracker)
    return app


def raising_app(tracker: Tracker) -> Callable[..., Iterable[bytes]]:
    """Raises before ``start_response`` with a secret in a local variable."""
    def app(environ, start_response):
        secret = APP_SECRET  # noqa: F841 - must not reach any page
        raise AppError("the app fails on purpose")
    return app


def not_found_app(tracker: Tracker) -> Callable[..., Iterable[bytes]]:
    """Answers a bare plain-text 404 (the error page replaces it)."""
    def app(environ, start_response):
        start_response("404 Not Found", [("Content-Type", "text/plain"),
                                         ("Content-Length", "9")])
        return TrackedList([b"Not Found"], tracker)
    return app


# -- stacks --------------------------------------------------------------------------------

def auth_backends() -> list[Any]:
    return [BasicAuth(users={"alice": PASSWORD_HASH}), BearerTokenAuth(tokens={TOKEN: "bot"})]


def full_stack(app, store: Any = "cookie", throttle: Any = "memory"):
    """Every middleware, outermost first, as in the demo."""
    return (Pipeline()
            .use(ErrorPageMiddleware, logger=ERRORS_LOG)
            .use(CompressionMiddleware, min_size=0, decompress_requests=True,
                 max_decompressed_size=MAX_BODY)
            .use(SessionMiddleware, secret_key=SESSION_KEY, store=store)
            .use(AuthMiddleware, backends=auth_backends(), public_paths=["/public/*"],
                 login_url="/login", throttle=throttle, trusted_proxies=["10.0.0.0/8"],
                 remote_user_header="X-Remote-User", secret_key=SESSION_KEY)
            .use(DebugMiddleware, allowed_ips=["127.0.0.1"], trusted_proxies=["10.0.0.0/8"],
                 logger=DEBUG_LOG)
            .wrap(app))


# -- the properties ------------------------------------------------------------------------

def decoded_body(result: Result) -> bytes:
    """The body with its ``Content-Encoding`` undone."""
    return decode(result.body, result.header("Content-Encoding"))


def check(factory: Callable[[Any], Any], make_app: Callable[[Tracker], Any] = touching_app,
          *, expect_5xx: bool = False, secrets: Iterable[str] = SECRETS,
          **environ: Any) -> Result:
    """Serve one request through ``factory(app)`` and assert every property (module doc)."""
    tracker = Tracker()
    app = validator(factory(validator(make_app(tracker))))
    env = make_environ(**{"REMOTE_ADDR": REMOTE, **environ})
    ERRORS_SEEN.exc_types.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            result = serve(app, env, tracker=tracker)
        except AppError:
            assert expect_5xx, "the app's exception escaped a request that should not raise"
            assert tracker.closed == (1 if tracker.returned else 0)
            return Result(status="500 (raised)")
    assert result.error is None, f"exception while iterating: {result.error!r}"
    code = int(result.status[:3])
    assert 100 <= code < 600
    if not expect_5xx:
        assert code < 500, (result.status, result.body[:300])
    assert all(t is AppError for t in ERRORS_SEEN.exc_types), ERRORS_SEEN.exc_types
    for name, value in result.headers:
        assert isinstance(name, str) and isinstance(value, str)
        value.encode("latin-1")
        name.encode("latin-1")
        assert not any(c in value for c in "\r\n\0"), (name, value)
    body = decoded_body(result)
    for secret in secrets:
        assert secret.encode() not in body, f"{secret!r} in the body of {result.status}"
    if tracker.returned:
        assert tracker.closed == 1, f"close() called {tracker.closed} times"
    assert not tracker.iterated_after_close
    return result


def encode(coding: str, data: bytes) -> bytes:
    """``data`` in a request-body coding (``gzip``, ``deflate``, ``br``, ``zstd``)."""
    if coding in ("gzip", "x-gzip"):
        return gzip.compress(data, mtime=0)
    if coding == "deflate":
        return zlib.compress(data)
    if coding == "br":
        return brotli.compress(data)
    if coding == "zstd":
        out = io.BytesIO()
        with zstandard.ZstdCompressor().stream_writer(out, closefd=False) as writer:
            writer.write(data)
        return out.getvalue()
    raise ValueError(coding)
