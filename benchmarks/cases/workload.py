"""The shared workload: bodies, request environs, the apps under the middlewares, and the driver.

Every case, ours or a peer's, serves the same bytes to the same request, so the only thing that
differs between two rows of the table is the middleware. The pieces:

* :data:`BODY_2K` / :data:`BODY_100K`: deterministic pseudo-HTML (seeded words and tags), about
  as compressible as a real page (gzip shrinks it 3-4x), never a run of one repeated byte that
  would flatter the compressors.
* :func:`make_environ`: a full request environ built once by werkzeug's ``EnvironBuilder``
  outside the timed loop; the driver gives each request a shallow copy, as a server would give
  a fresh dict.
* The apps: a list body, a generator body, a 404, an app that raises, and apps that read and
  write the session, each as cheap as possible so the middleware dominates.
* :func:`driver`: the timed unit, one request: call the app, consume the body, ``close()`` it.
* :func:`fetch` / :class:`Reply`: the untimed check each case runs once before it is timed, so a
  misconfigured case fails loudly instead of timing the wrong thing.
"""

from __future__ import annotations

import base64
import logging
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from werkzeug.test import EnvironBuilder

from support.codings import decode

WSGIApp = Callable[..., Iterable[bytes]]
OneRequest = Callable[[], None]

HTML_TYPE = "text/html; charset=utf-8"
USER = "alice"
PASSWORD = "correct horse battery staple"
SECRET = "benchmark-secret-key-0123456789abcdef"
BEARER_TOKEN = "tok_3c5e0f7a9b1d2e4f6a8c0e2d4b6f8a1c"

_WORDS = (
    "the a of to and in is it you that he was for on are with as his they be at one have this "
    "from or had by word but what some we can out other were all there when up use your how "
    "said an each she which do their time if will way about many then them write would like so "
    "these her long make thing see him two has look more day could go come did number sound no "
    "most people my over know water than call first who may down side been now find any new "
    "work part take get place made live where after back little only round man year came show "
    "every good me give our under name very through just form sentence great think say help"
).split()
_TAGS = ("p", "li", "span", "em", "strong", "a", "td", "h3")


def make_html(size: int, seed: int = 8) -> bytes:
    """A deterministic HTML page of exactly ``size`` bytes, built from seeded words and tags."""
    rng = random.Random(seed)
    parts = ['<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
             "<title>Benchmark page</title></head>\n<body>\n"]
    length = len(parts[0])
    while length < size:
        tag = rng.choice(_TAGS)
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 18)))
        attrs = f' class="c{rng.randint(0, 40)}"' if rng.random() < 0.5 else ""
        piece = f"<{tag}{attrs}>{words.capitalize()}.</{tag}>\n"
        parts.append(piece)
        length += len(piece)
    page = "".join(parts).encode()[: size - len(b"</body></html>\n")]
    return page + b"</body></html>\n"


BODY_2K = make_html(2048)
BODY_100K = make_html(102400)
NOT_FOUND_BODY = b"Not Found\n"
ERROR_PAGE_BODY = b"<!doctype html><title>Not found</title><h1>Not found</h1>\n"


class NullWriter:
    """A ``wsgi.errors`` that accepts and drops everything (peers log exceptions there)."""

    def write(self, data: str) -> int:
        return len(data)

    def writelines(self, lines: Iterable[str]) -> None:
        for _ in lines:
            pass

    def flush(self) -> None:
        return None


def silence_logging() -> None:
    """Format every log record as usual, then drop it (for benchmark worker processes).

    Middlewares log exceptions (ours through :mod:`logging`, Paste and werkzeug into
    ``wsgi.errors``): formatting the record is part of their cost, printing it is not.
    """
    logging.getLogger().handlers[:] = [logging.StreamHandler(NullWriter())]  # type: ignore[arg-type]


def make_environ(path: str = "/", headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A GET request from 127.0.0.1 with ``headers``; built once, copied per request."""
    all_headers = {"Accept": "text/html", "User-Agent": "benchmarks/1.0", **(headers or {})}
    environ = EnvironBuilder(path=path, method="GET", headers=all_headers).get_environ()
    environ["REMOTE_ADDR"] = "127.0.0.1"
    environ["wsgi.errors"] = NullWriter()
    return environ


def basic_credentials(user: str = USER, password: str = PASSWORD) -> str:
    """The ``Authorization`` value for HTTP Basic."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def html_headers(body: bytes, *extra: tuple[str, str]) -> list[tuple[str, str]]:
    return [("Content-Type", HTML_TYPE), ("Content-Length", str(len(body))), *extra]


def list_app(body: bytes = BODY_2K) -> WSGIApp:
    """An app that returns ``body`` as a one-item list with a ``Content-Length``."""
    headers = html_headers(body)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", list(headers))
        return [body]

    return app


def generator_app(body: bytes = BODY_2K) -> WSGIApp:
    """An app whose body is a generator (the case a pass-through layer must not slow down)."""
    headers = html_headers(body)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        start_response("200 OK", list(headers))
        yield body

    return app


def not_found_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """404 for everything except ``/404.html``, the error document Paste forwards to."""
    if environ.get("PATH_INFO") == "/404.html":
        start_response("200 OK", html_headers(ERROR_PAGE_BODY))
        return [ERROR_PAGE_BODY]
    start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8"),
                                     ("Content-Length", str(len(NOT_FOUND_BODY)))])
    return [NOT_FOUND_BODY]


class BenchmarkError(RuntimeError):
    """What :func:`failing_app` raises: an unhandled application error."""


def failing_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """An app with a few frames of locals that raises, for the error and debug pages."""
    user = {"name": USER, "roles": ["admin", "editor"]}
    return _load_profile(user, environ.get("PATH_INFO", "/"))


def _load_profile(user: dict[str, Any], path: str) -> list[bytes]:
    attempts = 3
    raise BenchmarkError(f"profile store unavailable for {user['name']} at {path} ({attempts})")


def session_app(key: str, save: bool = False, body: bytes = BODY_2K) -> WSGIApp:
    """An app that increments ``n`` in the session at ``environ[key]`` and echoes it in ``X-N``.

    ``save`` calls ``session.save()`` (Beaker needs it; ours saves on modification).
    """

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        session = environ[key]
        n = session.get("n", 0) + 1
        session["n"] = n
        if save:
            session.save()
        start_response("200 OK", html_headers(body, ("X-N", str(n))))
        return [body]

    return app


def user_app(body: bytes = BODY_2K) -> WSGIApp:
    """A protected app: echoes ``REMOTE_USER`` in ``X-User``, answers 401 without one.

    The 401 is what makes repoze.who challenge (it only acts on the app's 401); ours answers
    unauthenticated requests itself, before the app.
    """

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        user = environ.get("REMOTE_USER")
        if not user:
            start_response("401 Unauthorized", [("Content-Type", "text/plain"),
                                                ("Content-Length", "13")])
            return [b"Unauthorized\n"]
        start_response("200 OK", html_headers(body, ("X-User", user)))
        return [body]

    return app


STREAM_CHUNK = 64 * 1024


def stream_app(total: int, session_key: str | None = None, save: bool = False) -> WSGIApp:
    """An app that streams ``total`` bytes of HTML in 64 KB chunks with no ``Content-Length``.

    Four distinct chunks cycle, so the compressors do real work (no run longer than their
    window repeats). With ``session_key`` it also writes the session first, so the session
    layer saves while the body streams; ``save`` calls ``session.save()`` (Beaker).
    """
    chunks = [make_html(STREAM_CHUNK, seed) for seed in range(4)]

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        if session_key is not None:
            session = environ[session_key]
            session["n"] = session.get("n", 0) + 1
            if save:
                session.save()
        start_response("200 OK", [("Content-Type", HTML_TYPE)])
        sent = 0
        while sent < total:
            chunk = chunks[(sent // STREAM_CHUNK) % 4][: total - sent]
            sent += len(chunk)
            yield chunk

    return app


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    return _discard


def _discard(data: bytes) -> None:
    return None


def driver(app: WSGIApp, environ: dict[str, Any]) -> OneRequest:
    """Return the timed unit: one request through ``app``, body consumed and closed."""

    def one_request() -> None:
        body = app(environ.copy(), _start_response)
        try:
            for _chunk in body:
                pass
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return one_request


@dataclass
class Reply:
    """One untimed response, for the checks a case makes before it is timed."""

    status: str
    headers: list[tuple[str, str]]
    raw: bytes
    written: list[bytes] = field(default_factory=list)

    def header(self, name: str, default: str = "") -> str:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return default

    @property
    def body(self) -> bytes:
        """The body with any ``Content-Encoding`` undone."""
        return decode(self.raw, self.header("Content-Encoding"))

    def cookie(self, name: str) -> str:
        """``name=value`` from this reply's ``Set-Cookie``, ready for a ``Cookie`` header."""
        for key, value in self.headers:
            if key.lower() == "set-cookie":
                jar: SimpleCookie = SimpleCookie()
                jar.load(value)
                if name in jar:
                    return f"{name}={jar[name].coded_value}"
        raise AssertionError(f"no {name!r} cookie set; headers: {self.headers}")

    def expect(self, status: int = 200, body: bytes | None = None, encoding: str = "",
               **headers: str) -> Reply:
        """Assert the status, decoded body, ``Content-Encoding`` and headers (``X_N="2"``)."""
        if not self.status.startswith(str(status)):
            raise AssertionError(f"status {self.status!r}, expected {status}")
        if self.header("Content-Encoding") != encoding:
            raise AssertionError(f"Content-Encoding {self.header('Content-Encoding')!r}, "
                                 f"expected {encoding!r}")
        if body is not None and self.body != body:
            raise AssertionError(f"body differs ({len(self.body)} bytes, expected {len(body)})")
        for name, value in headers.items():
            actual = self.header(name.replace("_", "-"))
            if actual != value:
                raise AssertionError(f"{name} is {actual!r}, expected {value!r}")
        return self


def fetch(app: WSGIApp, environ: dict[str, Any]) -> Reply:
    """Run one request outside the timed loop and keep everything it produced."""
    reply = Reply("", [], b"")

    def start_response(status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        reply.status, reply.headers = status, list(headers)
        return reply.written.append

    body = app(environ.copy(), start_response)
    try:
        reply.raw = b"".join([*reply.written, *body])
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return reply
