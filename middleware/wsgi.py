"""Shared WSGI plumbing: the one place that intercepts ``start_response`` and wraps bodies.

Every middleware in this package sees and changes the response through these helpers, so the
PEP 3333 rules are implemented once:

* ``close()`` of the application's iterable is called exactly once on every path: normal end,
  an exception while iterating, a client that went away (the server closes early), or a
  middleware generator that was abandoned half way.
* ``exc_info`` is honoured: an application that calls ``start_response`` again with
  ``exc_info`` after the headers went out gets its exception re-raised, as the server would.
* Applications that use the ``write()`` callable keep working.
* Streaming stays streaming: nothing is buffered unless a middleware asks for it
  (:meth:`Response.read_bounded`), and then only up to a limit.
* ``wsgi.file_wrapper`` responses (and any other iterable) are returned to the server
  untouched when the middleware does not change the body.

Two levels, cheapest first:

:func:`hook_start_response`
    For a middleware that only edits the status or headers (a session cookie, a ``Vary``
    header). The hook runs when the application calls ``start_response``; the call is forwarded
    at once, so ``write()`` streams and the body is never wrapped.

:func:`rewrite_start_response`
    The same on the raw WSGI header list, for a layer that mostly reads headers or appends one
    line (no ``Headers`` is built).

:func:`call_app`
    For a middleware that must decide with the body in view (compression, error pages). It
    runs the application and returns a :class:`Response` holding the status, a werkzeug
    :class:`~werkzeug.datastructures.Headers`, and the body still to send. The middleware edits
    it and hands it on with :meth:`Response.send`, optionally through a body transform.

Example, a middleware that upper-cases text bodies::

    from middleware.wsgi import call_app

    def shout(app):
        def wrapped(environ, start_response):
            response = call_app(app, environ, start_response)
            if not response.headers.get("Content-Type", "").startswith("text/"):
                return response.send()
            response.headers.pop("Content-Length", None)
            return response.send(lambda chunks: (c.upper() for c in chunks))
        return wrapped

Not for: request-side work (reading ``wsgi.input``); werkzeug's ``Request`` does that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING

from werkzeug.datastructures import Headers

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
HeaderHook = Callable[[str, Headers], str]
BodyTransform = Callable[[Iterator[bytes]], Iterable[bytes]]

__all__ = [
    "Body",
    "BodyTooLarge",
    "Response",
    "call_app",
    "close_once",
    "hook_start_response",
    "is_file_wrapper",
    "rewrite_start_response",
    "simple_response",
    "status_code",
]


def is_file_wrapper(app_iter: object, environ: WSGIEnvironment) -> bool:
    """Whether ``app_iter`` is the server's ``wsgi.file_wrapper`` (keep it for sendfile)."""
    wrapper = environ.get("wsgi.file_wrapper")
    return isinstance(wrapper, type) and isinstance(app_iter, wrapper)


def status_code(status: str) -> int:
    """Return the integer code of a WSGI status line (``"404 Not Found"`` -> ``404``)."""
    return int(status[:3])


class _Closer:
    """Calls ``close()`` of one object at most once, whoever asks first."""

    __slots__ = ("_target",)

    def __init__(self, target: object) -> None:
        self._target = getattr(target, "close", None)

    def __call__(self) -> None:
        target, self._target = self._target, None
        if target is not None:
            target()


def close_once(*objects: object) -> Callable[[], None]:
    """Return a callable that closes each object once, in order, even if one close raises.

    The first exception raised by a ``close()`` is re-raised after all were attempted.
    """
    closers = [_Closer(o) for o in objects]

    def close() -> None:
        error: BaseException | None = None
        for closer in closers:
            try:
                closer()
            except BaseException as exc:  # noqa: BLE001 - re-raised below after the rest closed
                error = error or exc
        if error is not None:
            raise error

    return close


class Body:
    """The iterable a middleware hands back to the server.

    Iterating it iterates ``chunks``; ``close()`` closes ``chunks`` (when it is a generator of
    the middleware) and then every object in ``closables`` (the application's iterable),
    each exactly once. ``__iter__`` delegates to the inner iterator so there is no Python-level
    ``__next__`` per chunk.
    """

    __slots__ = ("_chunks", "close")

    def __init__(self, chunks: Iterable[bytes], *closables: object) -> None:
        self._chunks = chunks
        if any(chunks is closable for closable in closables):  # identity: never ``==``
            self.close = close_once(*closables)
        else:
            self.close = close_once(chunks, *closables)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks)


def hook_start_response(start_response: StartResponse, hook: HeaderHook,
                        when: Callable[[], bool] | None = None) -> StartResponse:
    """Return a ``start_response`` that lets ``hook(status, headers)`` edit the response first.

    ``headers`` is a werkzeug ``Headers``; the hook changes it in place and returns the status
    (the same or a new one). The call is forwarded immediately, so the ``write()`` callable and
    ``exc_info`` behave exactly as the server implements them.

    ``when``, if given, is asked first: when it returns false the call is forwarded untouched,
    without building a ``Headers`` (the cost of a response the middleware has nothing to add to,
    such as an untouched session, stays that of a function call).
    """

    def hooked(status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None):
        if when is not None and not when():
            return start_response(status, headers, exc_info)
        h = Headers(headers)
        status = hook(status, h)
        return start_response(status, h.to_wsgi_list(), exc_info)

    return hooked


RawHeaderHook = Callable[[str, list[tuple[str, str]]], tuple[str, list[tuple[str, str]]]]


def rewrite_start_response(start_response: StartResponse,
                           rewrite: RawHeaderHook) -> StartResponse:
    """Like :func:`hook_start_response`, on the WSGI header list itself: no ``Headers`` built.

    ``rewrite(status, headers)`` returns ``(status, headers)``; it must not change the list it
    was given (the application's) but return a new one, e.g. ``[*headers, ("Vary", "Cookie")]``.
    For a layer that usually only reads the headers or appends one line, this saves building
    and flattening a werkzeug ``Headers`` on every response.
    """

    def rewritten(status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None):
        status, headers = rewrite(status, headers)
        return start_response(status, headers, exc_info)

    return rewritten


class BodyTooLarge(Exception):
    """Raised by :meth:`Response.read_bounded` when the body is larger than the limit."""


class Response:
    """A captured response: status, headers and the body still to send.

    Made by :func:`call_app`. Change :attr:`status` and :attr:`headers` freely until
    :meth:`send` (or :meth:`start`) is called; after that the server has them.

    :ivar status: the WSGI status line.
    :ivar headers: a werkzeug ``Headers``, built on first access: a middleware that only looks
        at the status forwards the application's own header list untouched (building and
        flattening a ``Headers`` costs microseconds per response).
    :ivar exc_info: what the application passed to ``start_response``, or ``None``.
    :ivar restarted: true once the application called ``start_response`` again with
        ``exc_info`` after :meth:`start`: the server then holds the application's new headers,
        not the middleware's, so a body transform must stop changing the body.
    """

    __slots__ = ("status", "_headers", "_raw", "exc_info", "restarted", "_start_response",
                 "_sent", "_original",
                 "_close", "_written", "_head", "_rest")

    def __init__(self, start_response: StartResponse) -> None:
        self.status = ""
        self._raw: list[tuple[str, str]] = []
        self._headers: Headers | None = None
        self.exc_info: ExcInfo | None = None
        self.restarted = False
        self._start_response = start_response
        self._sent = False
        self._original: Iterable[bytes] = ()
        self._close: Callable[[], None] = _noop
        self._written: list[bytes] = []  # data the application gave to write()
        self._head: list[bytes] = []  # chunks already pulled from the iterable
        self._rest: Iterable[bytes] = ()  # what is left to iterate

    @property
    def status_code(self) -> int:
        """The integer status code."""
        return status_code(self.status)

    @property
    def headers(self) -> Headers:
        """The response headers (see the class docstring)."""
        if self._headers is None:
            self._headers = Headers(self._raw)
        return self._headers

    @headers.setter
    def headers(self, headers: Headers) -> None:
        self._headers = headers

    @property
    def raw_headers(self) -> list[tuple[str, str]]:
        """The headers as a WSGI list, to read without building a ``Headers``; do not mutate."""
        return self._raw if self._headers is None else self._headers.to_wsgi_list()

    def add_header(self, name: str, value: str) -> None:
        """Add a header line, without building a ``Headers`` when none was built yet."""
        if self._headers is None:
            self._raw = [*self._raw, (name, value)]  # a copy: the list is the app's
        else:
            self._headers.add(name, value)

    @property
    def app_iter(self) -> Iterable[bytes]:
        """The application's own iterable, e.g. to recognise a ``wsgi.file_wrapper``."""
        return self._original

    def known_body(self) -> list[bytes] | None:
        """Return the whole body as a list when it is already in memory, else ``None``.

        The body is known when the application returned a list or tuple (the common case for
        frameworks) or after :meth:`read_bounded`; a generator or file wrapper is never read.
        """
        rest = self._rest
        if isinstance(rest, (list, tuple)):
            if type(rest) is list and not self._written and not self._head:
                return rest  # the common case, without a copy
            return [*self._written, *self._head, *rest]
        return None

    def iter_chunks(self) -> Iterator[bytes]:
        """Iterate the body still to send, in order (``write()`` data first)."""
        yield from self._written
        yield from self._head
        # Not ``yield from``: closing this generator would then close the application's
        # iterable too, and it must be closed exactly once, by :meth:`close`.
        for chunk in self._rest:  # noqa: UP028
            yield chunk

    def read_bounded(self, limit: int) -> list[bytes]:
        """Read the whole body into memory, at most ``limit`` bytes, and keep it for sending.

        Raises :class:`BodyTooLarge` past the limit; what was read stays in front of the rest,
        so the response can still be sent unchanged, streaming the remainder.
        """
        known = self.known_body()
        if known is not None:
            if sum(map(len, known)) > limit:
                raise BodyTooLarge(limit)
            return known
        read = [*self._written, *self._head]
        size = sum(map(len, read))
        iterator = iter(self._rest)
        self._written, self._head, self._rest = [], read, iterator
        if size > limit:
            # Already past the limit: pulling another chunk would only delay a stream.
            raise BodyTooLarge(limit)
        for chunk in iterator:
            read.append(chunk)
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(limit)
        self._rest = []
        return read

    def replace_body(self, chunks: Iterable[bytes]) -> None:
        """Send ``chunks`` instead of the application's body (which is still closed)."""
        self._written, self._head, self._rest = [], [], chunks

    def close(self) -> None:
        """Close the application's iterable (once). :meth:`send` arranges this for you."""
        self._close()

    def start(self) -> None:
        """Forward status and headers to the server's ``start_response`` (once)."""
        if not self._sent:
            self._sent = True
            headers = self._raw if self._headers is None else self._headers.to_wsgi_list()
            self._start_response(self.status, headers, self.exc_info)

    def send(self, transform: BodyTransform | None = None) -> Iterable[bytes]:
        """Start the response and return the body for the server.

        Without ``transform``, an untouched application iterable is returned as is (so a
        ``wsgi.file_wrapper`` keeps its fast path and nothing is added per chunk). With
        ``transform``, the chunks pass through ``transform(iterator)``. Either way the
        application's iterable is closed exactly once when the server closes the body.
        """
        self.start()
        if transform is None:
            if self._rest is self._original and not self._written and not self._head:
                return self._original
            return Body(self.iter_chunks(), self)
        return Body(transform(self.iter_chunks()), self)

    def _capture(self, status: str, headers: list[tuple[str, str]],
                 exc_info: ExcInfo | None = None) -> Callable[[bytes], None]:
        """The ``start_response`` the wrapped application sees."""
        if exc_info is not None and self._sent:
            # The server has the headers: it re-raises once they are on the wire (PEP 3333).
            self.restarted = True
            return self._start_response(status, headers, exc_info)
        if self.status and exc_info is None:
            raise AssertionError("start_response called a second time without exc_info")
        self.status = status
        self._raw, self._headers = headers, None
        self.exc_info = exc_info
        return self._written.append


def _noop() -> None:
    return None


def call_app(app: WSGIApplication, environ: WSGIEnvironment,
             start_response: StartResponse) -> Response:
    """Run ``app`` and capture its response without sending anything.

    If the application returns before calling ``start_response`` (a generator that calls it on
    first iteration), chunks are pulled until it does; they stay at the front of the body.
    Exceptions from the application propagate, after its iterable was closed.
    """
    response = Response(start_response)
    app_iter = app(environ, response._capture)
    response._original = response._rest = app_iter
    response._close = _Closer(app_iter)
    if not response.status:
        iterator = iter(app_iter)
        response._rest = iterator
        try:
            for chunk in iterator:
                response._head.append(chunk)
                if response.status:
                    break
        except BaseException:
            response._close()
            raise
        if not response.status:
            response._close()
            raise RuntimeError("the application returned without calling start_response")
    return response


def simple_response(start_response: StartResponse, status: str, body: bytes,
                    content_type: str = "text/plain; charset=utf-8",
                    headers: Iterable[tuple[str, str]] = (),
                    exc_info: ExcInfo | None = None) -> list[bytes]:
    """Send a small complete response with ``Content-Type``, ``Content-Length`` and ``headers``.

    Example: ``return simple_response(start_response, "403 Forbidden", b"Forbidden\\n")``.
    """
    response_headers = [("Content-Type", content_type), ("Content-Length", str(len(body))),
                        *headers]
    start_response(status, response_headers, exc_info)
    return [body]
