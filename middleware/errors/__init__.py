"""Error pages: friendly, leak-free 4xx/5xx pages, exception logging and request ids.

:class:`ErrorPageMiddleware` is the outermost safety net of a production stack:

* An unhandled exception from the application (raised before ``start_response``, in the first
  chunk, or while the body streams) is caught and logged once, with its traceback, the method,
  path, query (secrets scrubbed), client address and a request id. If nothing was sent yet the
  client gets a clean 500 page; if the headers are already out, the response is ended as
  PEP 3333 asks (the exception is re-raised so the server drops the connection and the client
  sees a truncated response, never a second set of headers). ``close()`` is always called.
* Error responses the application returns itself (a bare 404 from a router, a framework's 500
  page) get the configured page instead of their body when that body is empty, plain text or
  HTML. JSON and other structured bodies are kept. Status and the headers that matter
  (``Allow``, ``WWW-Authenticate``, ``Retry-After``, ``Set-Cookie``...) are kept.
* Pages are negotiated by ``Accept``: HTML for browsers, ``application/problem+json``
  (RFC 9457) for API clients, ``text/plain`` otherwise. They show only the status, its standard
  title, a fixed friendly message and the request id: never a traceback, the exception text,
  the path or anything else from the request.
* Every error gets a request id: a valid incoming ``X-Request-ID`` or a new random one. It is
  put in ``environ["middleware.request_id"]`` for other layers to log, shown on the page and
  echoed in the ``X-Request-ID`` header of every error response (status >= 400). It is drawn
  only when needed: an application that wants it for a success calls
  ``current_request_id(environ)``, and then the same id is used throughout.

When NOT to use it: in development, where you want tracebacks. Use
:class:`middleware.debug.DebugMiddleware` instead (inside this layer, its traceback page is an
HTML 500 and gets replaced by the 500 page unless it opts out as below). It does not catch the
errors of layers outside it, so put it first (outermost) in the pipeline. It is not a request
logger: successful requests are not logged.

Options (see :class:`ErrorPageMiddleware` for all):

``pages``
    HTML templates by status code (or ``"4xx"``, ``"5xx"``, ``"default"``), with the
    placeholders ``$status``, ``$title``, ``$message`` and ``$request_id`` (HTML-escaped).
``template_dir``
    The same as files: ``404.html``, ``5xx.html``, ``default.html``... A file that cannot be
    used (unreadable, not UTF-8, empty, an unknown placeholder) is logged as an error at
    start-up and left out: its statuses get the next page, at worst the built-in one. A
    template given in ``pages`` in code is checked strictly (``ValueError``).
``intercept``
    Replace the app's own error bodies (default ``True``). One response can opt out with the
    header ``X-Error-Page: off`` (removed before sending) or with
    ``environ["middleware.error_page"] = False``.
``logger``, ``notify``
    Where exceptions go: a logger (default ``middleware.errors``) and an optional
    ``notify(exc_info, environ, request_id)`` hook (the environ is a scrubbed copy). A failing
    hook is logged and never breaks the page.
``request_id_header``
    Default ``"X-Request-ID"``; ``None`` to ignore incoming ids and send none.
``keep_headers``, ``scrub``, ``content_security_policy``
    Headers a replaced response keeps (:data:`DEFAULT_KEEP_HEADERS`), extra secret name
    fragments for the logs (:data:`SECRET_WORDS` always apply), and the CSP of HTML pages
    (:data:`DEFAULT_CSP`: no scripts, no outside requests, inline styles only).

A werkzeug ``HTTPException`` (``NotFound``, ``MethodNotAllowed``...) that escapes the app is an
answer, not a crash: it gets its own status page, keeps its ``Allow`` / ``WWW-Authenticate`` /
``Retry-After`` headers, and is logged only when it is a 5xx. Log records carry the ``extra``
fields ``request_id``, ``http_method``, ``http_path``, ``http_query`` and ``client_addr``, and
``exc_info``; their traceback text (``exc_text``) is formatted once by the layer, as
``logging`` would but without Python 3.11's ``^~~~`` marker lines, which cost more than the
rest of the 500 together.

Usage::

    from middleware import ErrorPageMiddleware

    app = ErrorPageMiddleware(app, template_dir="templates/errors",
                              notify="myapp.monitoring:report_exception")

PasteDeploy::

    [filter:errors]
    use = egg:wsgi-middleware-suite#errors
    template_dir = templates/errors
    logger = myapp.errors
    notify = myapp.monitoring:report_exception

Cost: a successful response goes on to the server as the application starts it (its
``write()`` streams) and a list (or ``wsgi.file_wrapper``) body is returned untouched: one
closure and a look at the status's first digit, about what Paste's ``ErrorMiddleware`` adds.
A streamed body is read up to its first non-empty chunk before it is returned (a failure up
to there still gets the 500 page) and then passes through one generator that logs a failure
while streaming.
"""

from __future__ import annotations

from middleware.errors.middleware import (
    DEFAULT_CSP,
    DEFAULT_KEEP_HEADERS,
    OPT_OUT_ENVIRON,
    OPT_OUT_HEADER,
    ErrorPageMiddleware,
    filter_factory,
)
from middleware.errors.pages import MESSAGES, negotiate
from middleware.errors.report import (
    SECRET_WORDS,
    Notifier,
    current_request_id,
    scrub_environ,
    scrub_query,
)

__all__ = [
    "current_request_id",
    "DEFAULT_CSP",
    "DEFAULT_KEEP_HEADERS",
    "MESSAGES",
    "Notifier",
    "OPT_OUT_ENVIRON",
    "OPT_OUT_HEADER",
    "SECRET_WORDS",
    "ErrorPageMiddleware",
    "filter_factory",
    "negotiate",
    "scrub_environ",
    "scrub_query",
]
