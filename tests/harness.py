"""Conformance harness: a matrix of WSGI app behaviours and a strict mini server to drive them.

Every middleware in the registry (``tests/registry/``) runs against every behaviour here, with
``wsgiref.validate.validator`` on both sides and werkzeug's ``LintMiddleware`` outside, and the
app's iterable must be closed exactly once. A middleware's own tests can call
:func:`check_conformance` directly.

Each behaviour is a function ``make(tracker) -> app``; the :class:`Tracker` counts ``close()``
calls and how far the app got, so the harness can tell a dropped ``close()`` and a buffered
stream apart from a correct middleware.
"""

from __future__ import annotations

import io
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from wsgiref.util import FileWrapper
from wsgiref.validate import validator

from werkzeug.middleware.lint import LintMiddleware
from werkzeug.test import EnvironBuilder

App = Callable[..., Iterable[bytes]]
Factory = Callable[[App], App]

STREAM_CHUNKS = 8
HTML = b"<!doctype html><title>t</title><p>" + b"hello conformance " * 60 + b"</p>"


class AppError(Exception):
    """The exception the misbehaving apps raise; anything else escaping is a middleware bug."""


@dataclass
class Tracker:
    """What happened to one app's response."""

    returned: bool = False
    closed: int = 0
    produced: int = 0
    finished: bool = False
    iterated_after_close: bool = False


class TrackedIterable:
    """An app iterable whose ``close()`` is counted; refuses to be read after close."""

    def __init__(self, chunks: Iterable[bytes], tracker: Tracker) -> None:
        self._chunks = chunks
        self._iterator: Iterator[bytes] | None = None
        self._tracker = tracker
        tracker.returned = True

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._tracker.closed:
            self._tracker.iterated_after_close = True
            raise AssertionError("body iterated after close()")
        if self._iterator is None:
            self._iterator = iter(self._chunks)
        return next(self._iterator)

    def close(self) -> None:
        self._tracker.closed += 1
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


class TrackedList(list):
    """A list body (length known) whose ``close()`` is counted."""

    def __init__(self, chunks: Iterable[bytes], tracker: Tracker) -> None:
        super().__init__(chunks)
        self._tracker = tracker
        tracker.returned = True

    def close(self) -> None:
        self._tracker.closed += 1


class TrackedFile(io.BytesIO):
    def __init__(self, data: bytes, tracker: Tracker) -> None:
        super().__init__(data)
        self._tracker = tracker
        tracker.returned = True

    def close(self) -> None:
        self._tracker.closed += 1
        super().close()


def _html_headers(length: int | None = None) -> list[tuple[str, str]]:
    headers = [("Content-Type", "text/html; charset=utf-8")]
    if length is not None:
        headers.append(("Content-Length", str(length)))
    return headers


def list_body(t: Tracker) -> App:
    def app(environ, start_response):
        start_response("200 OK", _html_headers(len(HTML)))
        return TrackedList([HTML], t)
    return app


def generator(t: Tracker) -> App:
    def app(environ, start_response):
        start_response("200 OK", _html_headers())

        def body():
            for part in (HTML[:200], HTML[200:600], HTML[600:]):
                t.produced += 1
                yield part
            t.finished = True
        return TrackedIterable(body(), t)
    return app


def stream(t: Tracker) -> App:
    """Many chunks; the harness checks the first arrives before the app has finished."""
    def app(environ, start_response):
        start_response("200 OK", _html_headers())

        def body():
            for i in range(STREAM_CHUNKS):
                t.produced += 1
                yield b"data: event %d " % i + b"x" * 700 + b"\n\n"
            t.finished = True
        return TrackedIterable(body(), t)
    return app


def late_start_response(t: Tracker) -> App:
    def app(environ, start_response):
        def body():
            start_response("200 OK", _html_headers())
            t.produced += 1
            yield HTML
            t.finished = True
        return TrackedIterable(body(), t)
    return app


def write_callable(t: Tracker) -> App:
    def app(environ, start_response):
        write = start_response("200 OK", _html_headers())
        write(HTML[:300])
        write(HTML[300:])
        return TrackedList([b"<p>tail</p>"], t)
    return app


def file_wrapper(t: Tracker) -> App:
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/css"), ("Content-Length", str(len(HTML)))])
        return environ["wsgi.file_wrapper"](TrackedFile(HTML, t), 1024)
    return app


def empty_body(t: Tracker) -> App:
    def app(environ, start_response):
        start_response("200 OK", _html_headers(0))
        return TrackedList([], t)
    return app


def head_request(t: Tracker) -> App:
    def app(environ, start_response):
        assert environ["REQUEST_METHOD"] == "HEAD"
        start_response("200 OK", _html_headers(len(HTML)))
        return TrackedList([HTML], t)  # the server drops a HEAD body; simple apps send it
    return app


def no_content(t: Tracker) -> App:
    def app(environ, start_response):
        start_response("204 No Content", [("Content-Length", "0")])  # lint wants it
        return TrackedList([], t)
    return app


def not_modified(t: Tracker) -> App:
    def app(environ, start_response):
        start_response("304 Not Modified", [("ETag", '"v1"')])
        return TrackedList([], t)
    return app


def not_found(t: Tracker) -> App:
    def app(environ, start_response):
        body = b"Not Found"
        start_response("404 Not Found", [("Content-Type", "text/plain"),
                                         ("Content-Length", str(len(body)))])
        return TrackedList([body], t)
    return app


def raise_before_start(t: Tracker) -> App:
    def app(environ, start_response):
        raise AppError("raised before start_response")
    return app


def raise_mid_iteration(t: Tracker) -> App:
    def app(environ, start_response):
        start_response("200 OK", _html_headers())

        def body():
            t.produced += 1
            yield HTML
            raise AppError("raised while iterating")
        return TrackedIterable(body(), t)
    return app


def exc_info_before_send(t: Tracker) -> App:
    """Starts a 200, fails before its first chunk, restarts as a 500 with exc_info."""
    def app(environ, start_response):
        start_response("200 OK", _html_headers())

        def body():
            try:
                raise AppError("failed before the first chunk")
            except AppError:
                start_response("500 Internal Server Error",
                               [("Content-Type", "text/plain")], sys.exc_info())
            yield b"failed"
        return TrackedIterable(body(), t)
    return app


def exc_info_after_send(t: Tracker) -> App:
    """Fails after its first chunk and calls start_response with exc_info: it must re-raise."""
    def app(environ, start_response):
        start_response("200 OK", _html_headers())

        def body():
            yield HTML
            try:
                raise AppError("failed after the first chunk")
            except AppError:
                start_response("500 Internal Server Error",
                               [("Content-Type", "text/plain")], sys.exc_info())
            yield b"never sent"
        return TrackedIterable(body(), t)
    return app


def strict_close(t: Tracker) -> App:
    """A body that must not be consumed after close(): the client goes away after one chunk."""
    def app(environ, start_response):
        start_response("200 OK", _html_headers())
        return TrackedIterable(iter([HTML] * 4), t)
    return app


BEHAVIOURS: dict[str, Callable[[Tracker], App]] = {
    "list_body": list_body,
    "generator": generator,
    "stream": stream,
    "late_start_response": late_start_response,
    "write_callable": write_callable,
    "file_wrapper": file_wrapper,
    "empty_body": empty_body,
    "head_request": head_request,
    "no_content": no_content,
    "not_modified": not_modified,
    "not_found": not_found,
    "raise_before_start": raise_before_start,
    "raise_mid_iteration": raise_mid_iteration,
    "exc_info_before_send": exc_info_before_send,
    "exc_info_after_send": exc_info_after_send,
    "strict_close": strict_close,
}

#: behaviours after which the client goes away early (the server closes after one chunk)
CLIENT_GONE = {"strict_close": 1}


@dataclass
class Result:
    """What the mini server saw."""

    status: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    error: BaseException | None = None
    produced_at_first_chunk: int | None = None

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def serve(app: App, environ: dict[str, Any], *, stop_after: int | None = None,
          tracker: Tracker | None = None) -> Result:
    """Drive ``app`` as a strict server would: headers before body, ``close()`` always.

    Exceptions from ``app(...)`` itself propagate; exceptions during iteration are recorded in
    ``result.error`` (a server logs them and drops the connection).
    """
    result = Result()
    sent = False

    def start_response(status, headers, exc_info=None):
        if exc_info is not None:
            try:
                if sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif result.status:
            raise AssertionError("start_response called twice without exc_info")
        result.status, result.headers = status, list(headers)
        return write

    def write(data: bytes) -> None:
        nonlocal sent
        assert result.status, "write() before start_response"
        sent = True
        result.chunks.append(data)

    body = app(environ, start_response)
    try:
        for chunk in body:
            if not chunk:
                continue
            assert result.status, "body chunk before start_response"
            if tracker is not None and result.produced_at_first_chunk is None:
                result.produced_at_first_chunk = tracker.produced
            sent = True
            result.chunks.append(chunk)
            if stop_after is not None and len(result.chunks) >= stop_after:
                break
    except Exception as exc:  # noqa: BLE001 - a server logs it and ends the response
        result.error = exc
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return result


def make_environ(behaviour: str = "", **extra: Any) -> dict[str, Any]:
    """A complete request environ (GET / from 127.0.0.1) with a ``wsgi.file_wrapper``."""
    method = "HEAD" if behaviour == "head_request" else "GET"
    environ = EnvironBuilder(path="/", method=method, headers={
        "Accept": "text/html", "Accept-Encoding": "gzip, br",
        "User-Agent": "conformance/1.0"}).get_environ()
    environ["wsgi.file_wrapper"] = FileWrapper
    environ["REMOTE_ADDR"] = "127.0.0.1"
    environ.update(extra)
    return environ


def check_conformance(factory: Factory, behaviour: str, environ: dict[str, Any] | None = None,
                      *, lint: bool = True) -> Result:
    """Run one behaviour through ``factory`` (a middleware constructor) and assert PEP 3333.

    Runs twice: with ``wsgiref.validate.validator`` on both sides of the middleware, then (with
    ``lint``) with werkzeug's ``LintMiddleware`` on both sides. Asserts each time: the app's
    iterable is closed exactly once when the app returned one, it is never read after close,
    no exception other than the app's own escapes, and a streamed body reaches the client
    before the app has finished. Returns the validator run's result.
    """
    wrappers = [validator] + ([LintMiddleware] if lint else [])
    results = [_check_once(factory, behaviour, environ or {}, wrap) for wrap in wrappers]
    return results[0]


def _check_once(factory: Factory, behaviour: str, environ: dict[str, Any],
                wrap: Callable[[App], App]) -> Result:
    tracker = Tracker()
    app = wrap(factory(wrap(BEHAVIOURS[behaviour](tracker))))
    env = make_environ(behaviour, **environ)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            result = serve(app, env, stop_after=CLIENT_GONE.get(behaviour), tracker=tracker)
        except AppError as exc:
            result = Result(error=exc)
    where = f"{behaviour} under {getattr(wrap, '__name__', wrap)}"
    if result.error is not None and not isinstance(result.error, AppError):
        raise AssertionError(f"{where}: the middleware raised {result.error!r}") from result.error
    if tracker.returned:
        assert tracker.closed == 1, f"{where}: close() called {tracker.closed} times"
    assert not tracker.iterated_after_close, f"{where}: body read after close()"
    if behaviour == "stream" and result.status.startswith("200"):
        assert result.produced_at_first_chunk is not None, "stream: nothing reached the client"
        assert result.produced_at_first_chunk < STREAM_CHUNKS, (
            f"{where}: the first chunk reached the client only after the app produced all "
            f"{STREAM_CHUNKS} chunks (the middleware buffers the stream)")
    return result
