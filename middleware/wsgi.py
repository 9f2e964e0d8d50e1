"""Shared WSGI plumbing: the one way a middleware touches a response.

Every middleware in this package sees and changes the response through :class:`Response`, so
the PEP 3333 rules are implemented once:

* ``close()`` of the application's iterable is called exactly once on every path: normal end,
  an exception while iterating, a client that went away (the server closes early), or a
  middleware generator that was abandoned half way.
* ``exc_info`` is honoured: an application that calls ``start_response`` again with
  ``exc_info`` after the headers went out gets its exception re-raised, as the server would.
* Applications that use the ``write()`` callable keep working.
* Streaming stays streaming: nothing is buffered unless a middleware holds the response, and
  then only what the application gives before it returns.
* ``wsgi.file_wrapper`` responses (and any other iterable) are returned to the server
  untouched when the middleware does not change the body.

One mechanism, fast by construction: a :class:`Response` is the ``start_response`` the
application calls. Its headers are the application's own WSGI list, read and edited by name
(:meth:`~Response.get`, :meth:`~Response.set`, :meth:`~Response.add`, :meth:`~Response.pop`,
:meth:`~Response.vary`); the list is copied on the first edit only, and nothing else is built.

* ``on_start(response)``, if given, runs when the application calls ``start_response``: it
  edits the headers, and may set :attr:`~Response.hold` when it needs the body in view.
* Not held, the call goes on to the server at once (``write()`` streams; the application's
  iterable is returned untouched).
* Held, the status and headers wait for :meth:`~Response.send`, which the middleware calls
  with the body it decided on (the application's, a transformed one, or a replacement).

:func:`peek` and :func:`resume` are the one "guard until the first chunk" of the error and
debug layers: pull the body up to its first non-empty chunk (where a failure can still become
an error page), then hand the rest on.

Example, a middleware that upper-cases text bodies::

    from middleware.wsgi import Response, call_app

    def shout(app):
        def hold_text(response):
            response.hold = (response.get("Content-Type") or "").startswith("text/")

        def wrapped(environ, start_response):
            response = Response(start_response, hold_text)
            app_iter = call_app(app, environ, response)
            if not response.hold:
                return app_iter
            response.pop("Content-Length")
            return response.send(app_iter, lambda chunks: (c.upper() for c in chunks))
        return wrapped

Not for: request-side work (reading ``wsgi.input``); werkzeug's ``Request`` does that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from types import TracebackType
from typing import TYPE_CHECKING

from middleware.headers import fields, merge_vary

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: an exception being handled, as ``sys.exc_info()`` gives it (typeshed's ``ExcInfo``)
ExcInfo = tuple[type[BaseException], BaseException, TracebackType]
#: what an application may pass as ``start_response``'s ``exc_info`` (PEP 3333)
OptExcInfo = ExcInfo | tuple[None, None, None]
HeaderList = list[tuple[str, str]]
BodyTransform = Callable[[Iterator[bytes]], Iterable[bytes]]

__all__ = [
    "Body",
    "Response",
    "call_app",
    "check_restart",
    "close_once",
    "is_file_wrapper",
    "peek",
    "resume",
    "simple_response",
    "status_code",
]


def is_file_wrapper(app_iter: object, environ: WSGIEnvironment) -> bool:
    """Whether ``app_iter`` is the server's ``wsgi.file_wrapper`` (keep it for sendfile)."""
    wrapper = environ.get("wsgi.file_wrapper")
    return isinstance(wrapper, type) and isinstance(app_iter, wrapper)


def check_restart(started: object, exc_info: OptExcInfo | None) -> None:
    """PEP 3333: once a response was started, only a call with ``exc_info`` may start it again.

    Every layer that wraps ``start_response`` itself (rather than through :class:`Response`)
    calls this on a second call, so the rule and its error live here only.
    """
    if started and exc_info is None:
        raise AssertionError("start_response called a second time without exc_info")


def status_code(status: str) -> int:
    """Return the integer code of a WSGI status line (``"404 Not Found"`` -> ``404``)."""
    return int(status[:3])


def _close_all(objects: Iterable[object]) -> None:
    """Close each object that has ``close()``, in order, even if one raises; re-raise the first
    exception after all were attempted."""
    error: BaseException | None = None
    for target in objects:
        close = getattr(target, "close", None)
        if close is not None:
            try:
                close()
            except BaseException as exc:  # noqa: BLE001 - re-raised below after the rest closed
                error = error or exc
    if error is not None:
        raise error


def close_once(*objects: object) -> Callable[[], None]:
    """Return a callable that closes each object once, in order, even if one close raises.

    The first exception raised by a ``close()`` is re-raised after all were attempted.
    """
    pending = [objects]

    def close() -> None:
        if pending:
            _close_all(pending.pop())

    return close


class Body:
    """The iterable a middleware hands back to the server.

    Iterating it iterates ``chunks``; ``close()`` closes ``chunks`` (when it is a generator of
    the middleware) and then every object in ``closables`` (the application's iterable),
    each exactly once. ``__iter__`` delegates to the inner iterator so there is no Python-level
    ``__next__`` per chunk, and nothing is worked out before the server calls ``close()``.
    """

    __slots__ = ("_chunks", "_closables")

    def __init__(self, chunks: Iterable[bytes], *closables: object) -> None:
        self._chunks = chunks
        self._closables: tuple[object, ...] | None = closables

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks)

    def close(self) -> None:
        """Close what the body holds, once (a second call does nothing)."""
        closables, self._closables = self._closables, None
        if closables is None:
            return
        chunks = self._chunks
        for closable in closables:
            if closable is chunks:  # identity: never ``==``
                break
        else:
            if hasattr(chunks, "close"):  # a generator of the middleware (a list: nothing)
                closables = (chunks, *closables)
        _close_all(closables)


class Response:
    """One response on its way out: the ``start_response`` the application calls.

    :param start_response: the server's (or the next outer layer's) ``start_response``.
    :param on_start: ``on_start(response)``, run when the application starts the response
        (again on a restart with ``exc_info``); it edits the headers and may set :attr:`hold`.
    :param hold: hold every response until :meth:`send` (the layer decides after the
        application returned).

    :ivar status: the WSGI status line (``""`` until the application started the response).
    :ivar headers: the WSGI header list: the application's own until the first edit through
        the methods below, then a copy. Read it freely; edit it only through the methods.
    :ivar exc_info: what the application passed to ``start_response``, or ``None``.
    :ivar hold: set by ``on_start`` (or the constructor) to keep the response for :meth:`send`.
    :ivar sent: true once the status and headers went on to ``start_response``.
    :ivar restarted: true once the application called ``start_response`` again with
        ``exc_info`` after they went on: the server then holds the application's new headers,
        not the middleware's, so a body transform must stop changing the body.
    :ivar written: what the application gave the ``write()`` callable while held.
    :ivar state: free for the layer: what its ``on_start`` decided, for after the app returned.
    """

    __slots__ = ("status", "headers", "exc_info", "hold", "sent", "restarted", "written",
                 "state", "_server", "_on_start", "_own")

    def __init__(self, start_response: StartResponse,
                 on_start: Callable[[Response], object] | None = None,
                 hold: bool = False) -> None:
        self._server = start_response
        self._on_start = on_start
        self.hold = hold
        self.status = ""
        self.exc_info: ExcInfo | None = None
        self.sent = self.restarted = False
        self.written: list[bytes] = []
        self.state: object = None

    @classmethod
    def held(cls, start_response: StartResponse, status: str, headers: HeaderList,
             exc_info: ExcInfo | None = None, written: list[bytes] | None = None) -> Response:
        """A response the application already started, held for the layer to edit and send
        (for a layer that captured the ``start_response`` call itself)."""
        response = cls(start_response, hold=True)
        response.status, response.headers, response._own = status, headers, False
        response.exc_info = exc_info
        if written:
            response.written = written
        return response

    @property
    def status_code(self) -> int:
        """The integer status code."""
        return int(self.status[:3])

    def start_response(self, status: str, headers: HeaderList,
                       exc_info: OptExcInfo | None = None) -> Callable[[bytes], object]:
        """The ``start_response`` the wrapped application sees."""
        if exc_info is not None:
            if self.sent:
                # The server has the headers: it replaces them, or re-raises once they are on
                # the wire (PEP 3333); the layer's edits no longer apply.
                self.restarted = True
                return self._server(status, headers, exc_info)
        elif self.status:
            check_restart(self.status, exc_info)  # raises: a second start needs exc_info
        self.status, self.headers, self._own = status, headers, False
        self.exc_info = None if exc_info is None or exc_info[0] is None else exc_info
        if self._on_start is not None:
            held = self.hold
            self._on_start(self)
            self.hold = self.hold or held  # once held (write() data kept), always held
        if self.hold:
            return self.written.append
        self.sent = True
        return self._server(self.status, self.headers, exc_info)

    # -- headers, by name, on the raw list ------------------------------------------------

    def get(self, name: str) -> str | None:
        """The value of header ``name`` (any case); several lines are joined with ``", "``."""
        lowered = name.lower()
        found = [v for k, v in self.headers if k.lower() == lowered]
        if not found:
            return None
        return found[0] if len(found) == 1 else ", ".join(found)

    def fields(self, names: frozenset[str]) -> dict[str, str]:
        """The headers named in ``names`` (lower case) in one pass, by lower-case name."""
        return fields(self.headers, names)

    def _edit(self) -> HeaderList:
        if not self._own:  # the first edit copies: the list is the application's
            self.headers, self._own = list(self.headers), True
        return self.headers

    def add(self, name: str, value: str) -> None:
        """Add one header line."""
        self._edit().append((name, value))

    def pop(self, name: str) -> str | None:
        """Remove every ``name`` line; return the first value (``None``: there was none)."""
        lowered = name.lower()
        if not any(k.lower() == lowered for k, _ in self.headers):
            return None
        headers = self._edit()
        first = next(v for k, v in headers if k.lower() == lowered)
        headers[:] = [(k, v) for k, v in headers if k.lower() != lowered]
        return first

    def set(self, name: str, value: str) -> None:
        """Set header ``name`` to one line with ``value``, in the place of the first one."""
        lowered = name.lower()
        headers = self._edit()
        for i, (key, _) in enumerate(headers):
            if key.lower() == lowered:
                headers[i] = (name, value)
                if any(k.lower() == lowered for k, _ in headers[i + 1:]):
                    headers[i + 1:] = [(k, v) for k, v in headers[i + 1:]
                                       if k.lower() != lowered]
                return
        headers.append((name, value))

    def replace_headers(self, status: str, headers: HeaderList) -> None:
        """Answer with ``status`` and a new header list (the layer's own)."""
        self.status, self.headers, self._own = status, headers, True

    def vary(self, name: str) -> None:
        """Add ``name`` to ``Vary`` (merged into one line, never twice; ``*`` is kept)."""
        values = [v for k, v in self.headers if k.lower() == "vary"]
        if not values:
            self._edit().append(("Vary", name))
            return
        merged = merge_vary(values, name)
        if merged is not None:
            self.set("Vary", merged)

    # -- the body ---------------------------------------------------------------------------

    def known_body(self, app_iter: Iterable[bytes]) -> list[bytes] | None:
        """The whole body when it is in memory (a list or tuple), with ``write()`` data first;
        ``None`` for a generator or file, which is never read."""
        if isinstance(app_iter, (list, tuple)):
            if not self.written and type(app_iter) is list:
                return app_iter  # the common case, without a copy
            return [*self.written, *app_iter]
        return None

    def send(self, app_iter: Iterable[bytes],
             transform: BodyTransform | None = None) -> Iterable[bytes]:
        """Start the response (once) and return the body for the server.

        Without ``transform``, an application iterable is returned as is (a
        ``wsgi.file_wrapper`` keeps its fast path, nothing is added per chunk). With
        ``transform``, the chunks (``write()`` data first) pass through
        ``transform(iterator)``. Either way the application's iterable is closed exactly once
        when the server closes the body.
        """
        if not self.sent:
            self.sent = True
            self._server(self.status, self.headers, self.exc_info)
        if transform is None:
            if not self.written:
                return app_iter
            return Body(chain(self.written, app_iter), app_iter)
        return Body(transform(chain(self.written, app_iter)), app_iter)

    def send_instead(self, body: list[bytes], app_iter: Iterable[bytes]) -> Iterable[bytes]:
        """Start the response and send ``body`` instead of the application's (still closed;
        ``body`` itself when there is nothing to close)."""
        if not self.sent:
            self.sent = True
            self._server(self.status, self.headers, self.exc_info)
        if not hasattr(app_iter, "close"):
            return body
        return Body(body, app_iter)


def call_app(app: WSGIApplication, environ: WSGIEnvironment,
             response: Response) -> Iterable[bytes]:
    """Run ``app`` with ``response`` as its ``start_response``; return its iterable.

    If the application returns before calling ``start_response`` (a generator that calls it on
    first iteration), chunks are pulled until it does; they stay at the front of the body.
    Exceptions from the application propagate, after its iterable was closed.
    """
    app_iter = app(environ, response.start_response)
    if response.status:
        return app_iter
    iterator = iter(app_iter)
    head: list[bytes] = []
    try:
        for chunk in iterator:
            head.append(chunk)
            if _started(response):
                break
    except BaseException:
        _close_all((app_iter,))
        raise
    if not _started(response):
        _close_all((app_iter,))
        raise RuntimeError("the application returned without calling start_response")
    return Body(chain(head, iterator), app_iter)


def _started(response: Response) -> bool:
    """Whether ``start_response`` was called: a call, so a type checker does not keep what it
    learnt of ``response.status`` before the application ran."""
    return bool(response.status)


def peek(app_iter: Iterable[bytes]) -> tuple[list[bytes], Iterator[bytes]]:
    """Pull ``app_iter`` up to and including its first non-empty chunk.

    Returns the chunks pulled and the iterator of the rest. The server sends no header before
    the first byte, so a failure here (it propagates; the caller closes ``app_iter``) can still
    be answered with an error page by ``start_response(..., exc_info)``.
    """
    iterator = iter(app_iter)
    head: list[bytes] = []
    for chunk in iterator:
        head.append(chunk)
        if chunk:
            break
    return head, iterator


def resume(head: list[bytes], rest: Iterator[bytes], app_iter: Iterable[bytes],
           on_error: Callable[[], object] | None = None) -> Iterable[bytes]:
    """The body after :func:`peek`: ``head`` then ``rest``, closing ``app_iter`` once.

    ``on_error()``, if given, runs (inside the ``except``) when the rest fails mid-stream,
    before the exception goes on to the server, which cuts the response. Without it the
    chunks pass through ``chain`` (no Python code per chunk).
    """
    if on_error is None:
        return Body(chain(head, rest), app_iter)
    return _Watched(head, rest, app_iter, on_error)


class _Watched:
    """:func:`resume` with ``on_error``: one generator per response, one ``close()``."""

    __slots__ = ("_head", "_rest", "_app_iter", "_on_error")

    def __init__(self, head: list[bytes], rest: Iterator[bytes], app_iter: Iterable[bytes],
                 on_error: Callable[[], object]) -> None:
        self._head, self._rest, self._on_error = head, rest, on_error
        self._app_iter: Iterable[bytes] | None = app_iter

    def __iter__(self) -> Iterator[bytes]:
        yield from self._head  # a list: nothing of the application's to close
        try:
            # Not ``yield from``: closing this generator would then close the application's
            # iterable too, and it must be closed exactly once, by ``close()``.
            for chunk in self._rest:  # noqa: UP028
                yield chunk
        except Exception:
            self._on_error()
            raise

    def close(self) -> None:
        """Close the application's iterable, once (a second call does nothing)."""
        app_iter, self._app_iter = self._app_iter, None
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()


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
