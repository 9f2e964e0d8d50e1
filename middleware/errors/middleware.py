"""The :class:`ErrorPageMiddleware` itself (the user guide is in ``middleware.errors``)."""

from __future__ import annotations

import logging
import os
import pkgutil
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException

from middleware.config import as_bool, as_list, as_optional, as_path, as_str, filter_app_factory
from middleware.contracts import require
from middleware.environ import ERROR_PAGE
from middleware.errors.pages import HTML, PageSet, negotiate
from middleware.errors.report import (
    DEFAULT_ID_KEY,
    ID_HEADER_KEY,
    Notifier,
    Reporter,
    request_id,
    secret_pattern,
)
from middleware.headers import merge_vary
from middleware.options import check_bool, check_names, check_str, check_type
from middleware.wsgi import (
    ExcInfo,
    OptExcInfo,
    Response,
    check_restart,
    close_once,
    is_file_wrapper,
    peek,
    resume,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["DEFAULT_CSP", "DEFAULT_KEEP_HEADERS", "OPT_OUT_ENVIRON", "OPT_OUT_HEADER",
           "ErrorPageMiddleware", "filter_factory"]

#: headers of an application's error response that survive its replacement by a page
#: (a trailing ``*`` matches a prefix)
DEFAULT_KEEP_HEADERS = ("Allow", "WWW-Authenticate", "Proxy-Authenticate", "Retry-After",
                        "Set-Cookie", "Content-Range", "Vary", "Access-Control-*")

#: for HTML pages: no scripts, no requests out, inline styles only, never framed
DEFAULT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

#: a response header by which an application keeps its own error body (value ``off``)
OPT_OUT_HEADER = "X-Error-Page"
#: the environ key by which an application keeps its own error body (value ``False``;
#: an alias of :data:`middleware.environ.ERROR_PAGE`)
OPT_OUT_ENVIRON = ERROR_PAGE

_REPLACEABLE_TYPES = frozenset({"", "text/plain", "text/html"})
_BEFORE = "before the response started"
_STREAMING = "while sending the body"

#: the type of the ``notify`` hook (the former name of :class:`~middleware.errors.Notifier`)
Notify = Notifier


class ErrorPageMiddleware:
    """Friendly, leak-free error pages, exception logging and request ids.

    :param app: the WSGI application to wrap.
    :param pages: HTML templates by status: ``{404: "<h1>$title</h1>...", "5xx": ...}``; keys
        are codes 400-599, ``"4xx"``, ``"5xx"`` or ``"default"``.
    :param template_dir: a directory of ``404.html``, ``4xx.html``, ``5xx.html``,
        ``default.html`` templates; ``pages`` wins over a file for the same key.
    :param intercept: replace the body of error responses (status >= 400) that the application
        returns itself when that body is empty, plain text or HTML. JSON and other bodies are
        kept, and so is any response marked ``X-Error-Page: off`` or sent after
        ``environ["middleware.error_page"] = False``.
    :param logger: a ``logging.Logger`` (or adapter) or a logger name; default
        ``"middleware.errors"``.
    :param notify: ``notify(exc_info, environ, request_id)`` called after logging each
        exception, with a scrubbed copy of the environ (Sentry-style reporting); a callable
        or a ``"module:name"`` string. Its own exceptions are logged and ignored.
    :param request_id_header: the header an incoming request id is taken from (when valid) and
        the header that echoes the id on error responses; ``None`` to always generate the id
        and never echo it (it is still on the page and in ``environ``).
    :param keep_headers: headers of a replaced response to keep (case-insensitive; ``"X-*"``
        keeps a prefix).
    :param scrub: extra name fragments whose query values are hidden in logs and ``notify``.
    :param content_security_policy: the ``Content-Security-Policy`` of HTML pages; ``None``
        for none (custom templates that load your stylesheets need ``"default-src 'self'"``).
    """

    def __init__(self, app: WSGIApplication, pages: Mapping[int | str, str] | None = None,
                 template_dir: str | os.PathLike[str] | None = None, intercept: bool = True,
                 logger: logging.Logger | logging.LoggerAdapter[Any] | str | None = None, *,
                 notify: Notify | str | None = None,
                 request_id_header: str | None = "X-Request-ID",
                 keep_headers: Iterable[str] = DEFAULT_KEEP_HEADERS,
                 scrub: Iterable[str] = (),
                 content_security_policy: str | None = DEFAULT_CSP) -> None:
        if not callable(app):
            raise TypeError("app must be a WSGI callable")
        check_bool("intercept", intercept)
        self.app = app
        self.logger = _logger(logger)
        self._pages = PageSet(pages, template_dir, self.logger)
        self.pages = pages
        self.template_dir = template_dir
        self.intercept = intercept
        self.notify = _notify(notify)
        self.request_id_header = _header_name(request_id_header)
        self.keep_headers = check_names("keep_headers", keep_headers)
        self.scrub = check_names("scrub", scrub)
        self.content_security_policy = check_str("content_security_policy",
                                                 content_security_policy, empty=True,
                                                 optional=True)
        self._environ_id_key = (None if self.request_id_header is None else
                                "HTTP_" + self.request_id_header.upper().replace("-", "_"))
        self._publish_id_key = self._environ_id_key != DEFAULT_ID_KEY
        self._keep_exact = frozenset(n.lower() for n in self.keep_headers if not n.endswith("*"))
        self._keep_prefixes = tuple(n[:-1].lower() for n in self.keep_headers if n.endswith("*"))
        self._reporter = Reporter(self.logger, self.notify, secret_pattern(self.scrub))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # A success goes on to the server at once, as if this layer were not there (write()
        # streams, nothing is copied or read); an error status is held, to become a page. No
        # byte leaves before the first body chunk (PEP 3333), so a failure up to that chunk
        # is still answered with a 500 page: start_response(..., exc_info) replaces a success.
        if self._publish_id_key:
            environ[ID_HEADER_KEY] = self._environ_id_key  # for current_request_id()
        held: Any = None  # the status of a success passed on, or a held error's tuple

        def capture(status: str, headers: list[tuple[str, str]],
                    exc_info: OptExcInfo | None = None) -> Callable[[bytes], object]:
            nonlocal held
            if held is not None:
                check_restart(held, exc_info)
                if type(held) is str:
                    # The server has a success: it replaces it, or re-raises if it is out.
                    write = start_response(status, headers, exc_info)
                    if status[0] not in "45":
                        return write
            if status[0] in "45":
                written: list[bytes] = []
                held = (status, headers, exc_info, written)
                return written.append
            held = status
            return start_response(status, headers, exc_info)

        try:
            app_iter = self.app(environ, capture)
        except Exception:  # noqa: BLE001 - logged by _fail, answered with a 500 page
            return self._fail(environ, start_response, sys.exc_info())  # type: ignore[arg-type]
        if isinstance(app_iter, (list, tuple)) or is_file_wrapper(app_iter, environ):
            if type(held) is str:
                return app_iter  # a success, started already
            head: list[bytes] | None = None
            rest: Iterator[bytes] | None = None
        else:
            try:
                if type(held) is tuple and any(held[3]):
                    head, rest = [], iter(app_iter)  # held write() data is the first byte
                else:
                    # A generator that starts the response on its first step is started here.
                    head, rest = peek(app_iter)
            except Exception:  # noqa: BLE001 - logged by _fail, answered with a 500 page
                self._close_quietly(app_iter, environ)
                return self._fail(environ, start_response,
                                  sys.exc_info())  # type: ignore[arg-type]
            if type(held) is str:
                return resume(head, rest, app_iter, lambda: self._streaming(environ))
        if held is None:
            return self._not_started(environ, start_response, app_iter)
        return self._error_response(Response.held(start_response, *held), app_iter, head, rest,
                                    environ)

    def _not_started(self, environ: WSGIEnvironment, start_response: StartResponse,
                     app_iter: Iterable[bytes]) -> list[bytes]:
        """The application returned (and its first chunk came) without ``start_response``."""
        self._close_quietly(app_iter, environ)
        try:
            raise RuntimeError("the application returned without calling start_response")
        except RuntimeError:
            return self._fail(environ, start_response, sys.exc_info())  # type: ignore[arg-type]

    def _error_response(self, response: Response, app_iter: Iterable[bytes],
                        head: list[bytes] | None, rest: Iterator[bytes] | None,
                        environ: WSGIEnvironment) -> Iterable[bytes]:
        """An error status from the application: log it, replace its body or tag it."""
        code = response.status_code
        rid = self.request_id(environ)
        if response.exc_info is not None:
            # The application caught its own exception and restarted with exc_info: log it.
            self._reporter.exception(response.exc_info, environ, rid, _BEFORE)
        elif code >= 500:
            self._reporter.server_error(response.status, environ, rid)
        if head is None:
            body = response.known_body(app_iter)
        else:
            body = None if any(head) else [*response.written]
        if self._replaceable(response, body, environ):
            return self._replace(response, app_iter, code, environ, rid)
        if self.request_id_header is not None:
            response.set(self.request_id_header, rid)
        if head is None:
            return response.send(app_iter)
        return response.send(resume(head, rest, app_iter,  # type: ignore[arg-type]
                                    lambda: self._streaming(environ)))

    def request_id(self, environ: WSGIEnvironment) -> str:
        """The request id (drawn on first use, then kept in ``environ``)."""
        return request_id(environ, self._environ_id_key)

    def _replaceable(self, response: Response, body: list[bytes] | None,
                     environ: WSGIEnvironment) -> bool:
        """Whether the application's error response gets the configured page instead."""
        opt_out = response.pop(OPT_OUT_HEADER)
        if not self.intercept or environ.get(OPT_OUT_ENVIRON) is False:
            return False
        if opt_out is not None and opt_out.strip().lower() == "off":
            return False
        media = (response.get("Content-Type") or "").partition(";")[0].strip().lower()
        if media in _REPLACEABLE_TYPES:
            return True
        # Any other type is the application's structured answer (JSON, XML...): keep it
        # unless it is empty.
        if body is not None:
            return not any(body)
        return (response.get("Content-Length") or "").strip() == "0"

    def _page_headers(self, content_type: str, length: int, rid: str,
                      kept: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The headers of a page: the kept ones first, then ours."""
        headers = [*kept, ("Content-Type", content_type), ("Content-Length", str(length)),
                   ("Cache-Control", "no-store"),  # pages carry a per-request id
                   ("X-Content-Type-Options", "nosniff")]
        vary = [v for k, v in kept if k.lower() == "vary"]
        if vary:
            merged = merge_vary(vary, "Accept")
            if merged is not None:
                headers = [(k, v) for k, v in headers if k.lower() != "vary"]
                headers.append(("Vary", merged))
        else:
            headers.append(("Vary", "Accept"))
        if content_type == HTML and self.content_security_policy:
            headers.append(("Content-Security-Policy", self.content_security_policy))
        if self.request_id_header is not None:
            headers.append((self.request_id_header, rid))
        return headers

    def _keep(self, name: str) -> bool:
        lowered = name.lower()
        return lowered in self._keep_exact or lowered.startswith(self._keep_prefixes)

    def _replace(self, response: Response, app_iter: Iterable[bytes], code: int,
                 environ: WSGIEnvironment, rid: str) -> Iterable[bytes]:
        """Send the page for ``code`` in place of the application's body (still closed)."""
        page = self._pages.render(code, negotiate(environ.get("HTTP_ACCEPT")), rid)
        kept = [(k, v) for k, v in response.headers if self._keep(k)]
        response.replace_headers(page.status,
                                 self._page_headers(page.content_type, len(page.body), rid, kept))
        return response.send_instead([page.body], app_iter)

    def _fail(self, environ: WSGIEnvironment, start_response: StartResponse,
              exc_info: ExcInfo) -> list[bytes]:
        """Answer an exception raised before anything was sent with an error page."""
        rid = self.request_id(environ)
        exc = exc_info[1]
        code, kept = 500, []
        if isinstance(exc, HTTPException) and exc.code and 400 <= exc.code <= 599:
            # A werkzeug HTTP error nobody turned into a response: it is an answer, not a
            # crash. Keep its Allow / WWW-Authenticate / Retry-After.
            code = exc.code
            kept = [(k, v) for k, v in exc.get_headers(environ) if self._keep(k)]
        page = self._pages.render(code, negotiate(environ.get("HTTP_ACCEPT")), rid)
        headers = self._page_headers(page.content_type, len(page.body), rid, kept)
        when = _BEFORE
        try:
            # exc_info: a success the application started is replaced; if its headers are out
            # already (it used write()), the server re-raises and cuts the response (PEP 3333).
            start_response(page.status, headers, exc_info)
        except BaseException as raised:
            if raised is exc:
                when = _STREAMING
            raise
        finally:
            if code >= 500:
                self._reporter.exception(exc_info, environ, rid, when)
        return [page.body]

    def _streaming(self, environ: WSGIEnvironment) -> None:
        """A failure after the headers went out: log it (the server then cuts the response).

        Nothing can be sent any more: re-raising makes the server drop the connection, so the
        client sees a truncated response rather than one that looks complete.
        """
        self._reporter.exception(sys.exc_info(), environ,  # type: ignore[arg-type]
                                 self.request_id(environ), _STREAMING)

    def _close_quietly(self, app_iter: Iterable[bytes], environ: WSGIEnvironment) -> None:
        """Close the application's iterable after a failure; a second failure is only logged."""
        try:
            close_once(app_iter)()
        except Exception:  # noqa: BLE001 - logged; the first failure is the one to answer
            self._reporter.exception(sys.exc_info(), environ,  # type: ignore[arg-type]
                                     self.request_id(environ), "while closing the body")


def _logger(logger: object) -> logging.Logger | logging.LoggerAdapter[Any]:
    if logger is None:
        return logging.getLogger("middleware.errors")
    if isinstance(logger, str):
        return logging.getLogger(check_str("logger", logger).strip())
    checked: logging.Logger | logging.LoggerAdapter[Any] = check_type(
        "logger", logger, (logging.Logger, logging.LoggerAdapter),
        "a logging.Logger or a logger name")
    return checked


def _notify(notify: object) -> Notify | None:
    if isinstance(notify, str):
        try:
            notify = pkgutil.resolve_name(notify.strip())
        except (ImportError, AttributeError, ValueError) as exc:
            raise ValueError(f"notify: cannot import {notify!r}: {exc}") from None
    if notify is None:
        return None
    return require(notify, Notifier, "notify")


def _header_name(value: object) -> str | None:
    name: str | None = check_str("request_id_header", value, optional=True)
    if name is None:
        return None
    name = name.strip()
    if not all(c.isalnum() or c == "-" for c in name):
        raise ValueError(f"request_id_header {name!r} is not a valid header name")
    return name


#: PasteDeploy ``paste.filter_app_factory`` entry point, name ``errors``
filter_factory = filter_app_factory(ErrorPageMiddleware, {
    "template_dir": as_path,
    "intercept": as_bool,
    "logger": as_optional(as_str),
    "notify": as_optional(as_str),
    "request_id_header": as_optional(as_str),
    "keep_headers": as_list,
    "scrub": as_list,
    "content_security_policy": as_optional(as_str),
}, name="errors")
