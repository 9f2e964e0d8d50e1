"""The :class:`DebugMiddleware` WSGI wrapper (see :mod:`middleware.debug` for the guide)."""

from __future__ import annotations

import logging
import secrets
import sys
from collections.abc import Iterable
from types import FrameType
from typing import TYPE_CHECKING, Any, NamedTuple

from middleware.accept import JSON, TEXT, preferred_form
from middleware.config import as_bool, as_int, as_list, as_optional, as_str, filter_app_factory
from middleware.debug import page
from middleware.debug.access import DEFAULT_TRUSTED_HOSTS, AccessRule
from middleware.debug.console import Console
from middleware.debug.frames import ExceptionInfo, collect
from middleware.debug.request import RequestInfo, collect_request, learn_secrets
from middleware.debug.scrub import Scrubber
from middleware.environ import ERROR_PAGE
from middleware.logsafe import for_log
from middleware.options import check_bool, check_int, check_str, check_type
from middleware.wsgi import ExcInfo, close_once, is_file_wrapper, peek, resume, simple_response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["PLAIN_500", "STATUS", "DebugMiddleware", "Report", "filter_factory"]

STATUS = "500 Internal Server Error"
PLAIN_500 = b"Internal Server Error\n"
_COMMON_HEADERS = [("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")]


class Report(NamedTuple):
    """One failed request, masked and ready to render."""

    exception: ExceptionInfo
    request: RequestInfo
    text: str
    frames: list[FrameType]


class DebugMiddleware:
    """Show allowed clients a full traceback page when the application raises.

    :param app: the WSGI application to wrap.
    :param allowed_ips: addresses and CIDR ranges (``"10.0.0.0/8"``) of clients that may see
        tracebacks. Everyone else gets a plain ``500`` with nothing inside. Loopback only by
        default.
    :param evalex: offer an interactive Python console in every frame, behind a PIN that is
        logged at start-up. Never on a machine others can reach.
    :param scrub: more name fragments whose values are masked (``password``, ``secret``,
        ``token``, ``key``, ``cookie``, ``auth``, ``session`` and others always are).
    :param trusted_proxies: addresses/ranges of reverse proxies whose ``X-Forwarded-For`` is
        believed. Empty by default: forwarded headers are ignored.
    :param trusted_hosts: Host names under which the page is served (a leading dot accepts
        subdomains); IP-literal hosts always are. Guards against DNS rebinding.
    :param pin: the console PIN (digits; dashes allowed); random per process by default.
    :param max_tracebacks: with ``evalex``, how many recent errors keep their frames.
    :param console_path: URL path prefix of the console's endpoints.
    :param logger: where exceptions and the start-up warning go
        (default ``logging.getLogger("middleware.debug")``).

    Usage::

        app = DebugMiddleware(app, allowed_ips=["127.0.0.1", "::1", "10.0.0.0/8"],
                              scrub=["iban"])

    The report is built only when something fails; a request that succeeds costs a call and
    a ``try`` (list and file-wrapper bodies are returned as they are).
    """

    def __init__(self, app: WSGIApplication, allowed_ips: Iterable[str] = ("127.0.0.1", "::1"),
                 evalex: bool = False, scrub: Iterable[str] = (), *,
                 trusted_proxies: Iterable[str] = (),
                 trusted_hosts: Iterable[str] = DEFAULT_TRUSTED_HOSTS,
                 pin: str | None = None, max_tracebacks: int = 5,
                 console_path: str = "/__debug__",
                 logger: logging.Logger | None = None) -> None:
        if not callable(app):
            raise TypeError("app must be a WSGI callable")
        check_bool("evalex", evalex)
        digits = check_str("pin", pin, optional=True)
        if digits is not None and (
                len(digits.replace("-", "")) < 6 or not digits.replace("-", "").isdigit()):
            raise ValueError("pin must be a string of at least 6 digits (dashes allowed)")
        check_int("max_tracebacks", max_tracebacks, low=1)
        if not check_str("console_path", console_path).startswith("/") \
                or console_path.endswith("/"):
            raise ValueError("console_path must start with '/' and not end with one, "
                             f"got {console_path!r}")
        if logger is not None:
            check_type("logger", logger, logging.Logger, "a logging.Logger")
        self.app = app
        self.access = AccessRule(allowed_ips, trusted_proxies, trusted_hosts)
        self.allowed_ips = tuple(str(n) for n in self.access.allowed)
        self.trusted_proxies = tuple(str(n) for n in self.access.proxies)
        self.trusted_hosts = self.access.hosts
        self.scrubber = Scrubber(scrub)
        self.scrub = self.scrubber.extra
        self.evalex = evalex
        self.max_tracebacks = max_tracebacks
        self.console_path = console_path
        self.logger = logger or logging.getLogger("middleware.debug")
        self.console = Console(pin, max_tracebacks, console_path) if evalex else None
        self._console_prefix = console_path + "/"
        self._warned_multiprocess = False
        self.logger.warning(
            "DebugMiddleware is ON: tracebacks with source code and local variables are shown "
            "to clients in %s. Never enable it in production.", ", ".join(self.allowed_ips))
        if self.console is not None:
            self.logger.warning("DebugMiddleware console is ON (evalex). Debugger PIN: %s",
                                self.console.pin)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        __traceback_hide__ = True  # read by the traceback model: this frame is ours
        if self.console is not None and environ.get("PATH_INFO", "").startswith(
                self._console_prefix) and self._may_debug(environ):
            return self.console(environ, start_response)
        app_iter: Iterable[bytes] | None = None
        try:
            app_iter = self.app(environ, start_response)
            if isinstance(app_iter, (list, tuple)) or is_file_wrapper(app_iter, environ):
                return app_iter  # nothing left to fail (a file keeps the server's sendfile)
            # Up to the first byte a failure can still become the page (the server sends no
            # header before it); after it the server logs the error and cuts the response.
            head, rest = peek(app_iter)
        except Exception:  # noqa: BLE001 - becomes the debug page (and is logged)
            exc_info = sys.exc_info()
            if app_iter is not None:
                self._close_quietly(app_iter)
            return self._error(environ, start_response, exc_info)  # type: ignore[arg-type]
        return resume(head, rest, app_iter)

    def _close_quietly(self, app_iter: Iterable[bytes]) -> None:
        """Close the application's iterable after a failure; a second failure is only logged."""
        try:
            close_once(app_iter)()
        except Exception:
            self.logger.exception("DebugMiddleware: closing the body failed as well")

    def _may_debug(self, environ: WSGIEnvironment) -> bool:
        return self.access.client_allowed(environ) and self.access.host_allowed(environ)

    def _error(self, environ: WSGIEnvironment, start_response: StartResponse,
               exc_info: ExcInfo) -> list[bytes]:
        """Log the exception and answer with the debug page or, for others, a plain 500.

        ``start_response`` gets ``exc_info``: when the headers already went out (``write()``
        was used) the server re-raises and the response is cut, as PEP 3333 requires.
        """
        try:
            try:
                report = self.report(environ, exc_info[1])
            except Exception:  # a bug here must not hide the app's error
                self.logger.exception("DebugMiddleware could not build its report")
                report = None
            if report is None:
                self.logger.error("Exception on %s %s", for_log(environ.get("REQUEST_METHOD")),
                                  for_log(environ.get("PATH_INFO")), exc_info=exc_info)
            else:  # the log gets the masked text too: logs are read by more people than pages
                self.logger.error("Exception on %s", page.render_log(report.exception,
                                                                     report.request))
            allowed = self.access.client_allowed(environ)
            if allowed and not self.access.host_allowed(environ):
                self.logger.warning("Debug page withheld: Host %s is not in trusted_hosts",
                                    for_log(environ.get("HTTP_HOST")))
                allowed = False
            if not allowed or report is None:
                return simple_response(start_response, STATUS, PLAIN_500,
                                       headers=_COMMON_HEADERS, exc_info=exc_info)
            body, content_type, headers = self.render(environ, report)
            # An ErrorPageMiddleware outside must not replace the page it is there to show.
            environ[ERROR_PAGE] = False
            return simple_response(start_response, STATUS, body, content_type,
                                   [*_COMMON_HEADERS, *headers], exc_info)
        finally:
            del exc_info  # frames hold every local: do not keep them alive through a cycle

    def report(self, environ: WSGIEnvironment, exc: BaseException) -> Report:
        """Build the masked model of ``exc`` and the request."""
        masker = self.scrubber.session()
        learn_secrets(environ, masker)
        model, frames = collect(exc, masker, keep_frames=self.console is not None)
        request = collect_request(environ, masker)
        return Report(model, request, page.render_text(model, request), frames)

    def render(self, environ: WSGIEnvironment,
               report: Report) -> tuple[bytes, str, list[tuple[str, str]]]:
        """Format ``report`` as ``(body, content_type, extra_headers)``, negotiated by the
        request's ``Accept``."""
        form = preferred_form(environ.get("HTTP_ACCEPT"))
        headers = [("Vary", "Accept")]
        if form == TEXT:
            return report.text.encode("utf-8", "replace"), "text/plain; charset=utf-8", headers
        if form == JSON:
            body = page.render_json(report.exception, report.request, report.text)
            return body.encode("utf-8", "replace"), "application/json", headers
        console: dict[str, Any] | None = None
        if self.console is not None:
            if environ.get("wsgi.multiprocess") and not self._warned_multiprocess:
                self._warned_multiprocess = True
                self.logger.warning("DebugMiddleware console on a multi-process server: a "
                                    "console call reaching another process finds no frames")
            console = {"base": environ.get("SCRIPT_NAME", "") + self.console_path,
                       "tb": self.console.keep(report.frames), "secret": self.console.token}
        nonce = secrets.token_urlsafe(16)
        html = page.render_html(report.exception, report.request, report.text, nonce, console)
        headers += [
            ("Content-Security-Policy",
             f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
             "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'self'; "
             "frame-ancestors 'none'"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
        ]
        return html.encode("utf-8", "replace"), "text/html; charset=utf-8", headers


#: PasteDeploy ``paste.filter_app_factory`` entry point, name ``debug``
filter_factory = filter_app_factory(DebugMiddleware, {
    "allowed_ips": as_list,
    "evalex": as_bool,
    "scrub": as_list,
    "trusted_proxies": as_list,
    "trusted_hosts": as_list,
    "pin": as_optional(as_str),
    "max_tracebacks": as_int,
    "console_path": as_str,
}, name="debug")
