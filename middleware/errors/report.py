"""Request ids, secret scrubbing, and reporting exceptions to the log and a ``notify`` hook.

Request ids
    Drawn only when needed: when an error is answered or logged, or when the application asks
    with :func:`current_request_id`. :func:`request_id` takes the id an outer layer already put in
    ``environ["middleware.request_id"]``, else a valid incoming header (``X-Request-ID`` by
    default: 1-128 characters of letters, digits and ``._:+=/-``, starting with a letter or
    digit, as set by nginx, Heroku or a load balancer), else a new random one (32 hex digits).
    The id is stored back in the environ so every layer logs the same id.

Scrubbing
    Query-string values and environ entries whose *names* look secret (``password``,
    ``token``, ``api_key``, ``session``, ``Authorization``, ``Cookie``...), in any case, are
    replaced by ``[scrubbed]`` before they reach the log or the ``notify`` hook: under CGI the
    process environment (``SESSION_SECRET``, ``DB_PASSWORD``) is part of the environ. Passwords
    inside URL values (``DATABASE_URL``) and the query strings of ``REQUEST_URI``, ``RAW_URI``
    and ``Referer`` are masked too. Over-scrubbing is the safe failure. The words are
    :mod:`middleware.scrubbing`'s, shared with the debug page and the pipeline's ``repr``.

Reporting
    :class:`Reporter` logs each exception once per request, with its traceback, method, path,
    scrubbed query, client address and request id (also given to the log record as ``extra``
    fields ``request_id``, ``http_method``, ``http_path``, ``http_query``, ``client_addr``), then
    calls ``notify(exc_info, environ, request_id)`` with a scrubbed copy of the environ. A
    failing ``notify`` is logged and never changes the response.
"""

from __future__ import annotations

import builtins
import logging
import os
import random
import re
import traceback
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote_plus

from middleware.environ import ERRORS_LOGGED, REQUEST_ID, REQUEST_ID_HEADER
from middleware.logsafe import for_log
from middleware.scrubbing import SECRET_WORDS as SHARED_SECRET_WORDS
from middleware.scrubbing import mask_urls, secret_name_pattern

if TYPE_CHECKING:
    from middleware.wsgi import ExcInfo

__all__ = ["SECRET_WORDS", "Notifier", "Reporter", "current_request_id", "format_exception",
           "request_id", "scrub_environ", "scrub_query", "secret_pattern"]

ENVIRON_KEY = REQUEST_ID
#: where the error layer leaves the environ key of its incoming request id header
ID_HEADER_KEY = REQUEST_ID_HEADER
DEFAULT_ID_KEY = "HTTP_X_REQUEST_ID"
_LOGGED_KEY = ERRORS_LOGGED
SCRUBBED = "[scrubbed]"
_VALID_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+=/-]{0,127}")

#: name fragments that mark a value as secret: the shared vocabulary, plus ``code`` (OAuth
#: authorisation codes travel in query strings, which is what this module scrubs)
SECRET_WORDS = (*SHARED_SECRET_WORDS, "code")

# Environ keys that may hold a whole configuration with secrets in it (PasteDeploy's).
_CONFIG_KEYS = ("config",)
# Environ values that are whole request URIs: their query strings are scrubbed like QUERY_STRING.
_URI_KEYS = ("QUERY_STRING", "REQUEST_URI", "RAW_URI", "HTTP_REFERER")
_MAX_LOGGED = 1000  # longest path or query written to one log line

# Request ids are labels, not secrets: a private generator seeded from the OS is unique enough
# and about three times cheaper per request than os.urandom. It is reseeded in a forked child
# so pre-forking servers' workers never share a sequence.
_ids = random.Random(os.urandom(32))
_bits = _ids.getrandbits
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _ids.seed(os.urandom(32)))


def request_id(environ: dict[str, Any], header_key: str | None) -> str:
    """Return the request id for ``environ`` (see the module docstring), storing it there."""
    rid = environ.get(ENVIRON_KEY)
    if isinstance(rid, str) and rid:
        return rid
    incoming = environ.get(header_key) if header_key else None
    if isinstance(incoming, str) and _VALID_ID.fullmatch(incoming):
        rid = incoming
    else:
        rid = "%032x" % _bits(128)  # noqa: UP031 - twice as fast as an f-string here
    environ[ENVIRON_KEY] = rid
    return rid


def current_request_id(environ: dict[str, Any]) -> str:
    """The id of this request, for the application to log or show (drawn on first use).

    Usage, inside an application wrapped by ``ErrorPageMiddleware``::

        from middleware.errors import current_request_id

        log.info("export started (request %s)", current_request_id(environ))

    The same id then goes on any error page, log line and ``X-Request-ID`` of the response.
    """
    return request_id(environ, environ.get(ID_HEADER_KEY, DEFAULT_ID_KEY))


def secret_pattern(extra: Iterable[str] = ()) -> re.Pattern[str]:
    """A case-insensitive pattern matching :data:`SECRET_WORDS` and ``extra`` name fragments."""
    return secret_name_pattern(["code", *extra])


def scrub_query(query: str, pattern: re.Pattern[str]) -> str:
    """Replace the values of secret-looking parameters in a raw query string."""
    if not query:
        return query
    parts = query.split("&")
    for i, part in enumerate(parts):
        name, sep, value = part.partition("=")
        if sep and value and pattern.search(unquote_plus(name)):
            parts[i] = f"{name}={SCRUBBED}"
    return "&".join(parts)


def scrub_environ(environ: Mapping[str, Any], pattern: re.Pattern[str]) -> dict[str, Any]:
    """A shallow copy of ``environ`` with secret-looking entries, query values and URL
    passwords replaced. Keys are matched in any case: ``DB_PASSWORD`` as ``db_password``."""
    copy = dict(environ)
    for key, value in copy.items():
        name = key if isinstance(key, str) else str(key)
        if pattern.search(name) or any(word in name.lower() for word in _CONFIG_KEYS):
            copy[key] = SCRUBBED
        elif isinstance(value, str):
            if name in _URI_KEYS:
                value = _scrub_uri(value, pattern, name == "QUERY_STRING")
            copy[key] = mask_urls(value)
    return copy


def _scrub_uri(value: str, pattern: re.Pattern[str], bare_query: bool) -> str:
    if bare_query:
        return scrub_query(value, pattern)
    base, sep, query = value.partition("?")
    return f"{base}{sep}{scrub_query(query, pattern)}" if sep else value


def _printable(text: str) -> str:
    """Make request text safe for one log line: UTF-8 decoded, control characters escaped."""
    try:
        # WSGI hands paths over as latin-1 decoded bytes; show them as the client meant them.
        text = text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        pass
    return for_log(text, _MAX_LOGGED)


class Notifier(Protocol):
    """The ``notify`` hook of :class:`~middleware.errors.ErrorPageMiddleware`: any callable
    taking ``(exc_info, environ, request_id)``; what it returns is ignored.

    ``environ`` is a scrubbed copy (secrets replaced), safe to send to an error tracker.
    ``ErrorPageMiddleware`` checks the hook when it is built: a ``TypeError`` says when it
    is not callable or cannot take these three arguments.

    Usage::

        def report_exception(exc_info, environ, request_id):
            sentry_sdk.capture_exception(exc_info[1], tags={"request_id": request_id})
    """

    def __call__(self, exc_info: ExcInfo, environ: dict[str, Any], request_id: str) -> object:
        """Report one exception (called after it was logged)."""


# Exception groups (Python 3.11+) are left to the standard formatter.
_GROUPS: Any = getattr(builtins, "BaseExceptionGroup", ())
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def format_exception(exc_info: ExcInfo) -> str:
    """The traceback text ``logging`` would write for ``exc_info``, without caret lines.

    Python 3.11's formatter marks the failing expression of each frame with ``^~~~`` lines;
    finding them parses and compiles every frame's source line, and reading the frames'
    column positions walks their code objects: together 40 % of a logged 500. Here the frames
    are taken without positions. Their source lines, chained causes and contexts, notes and
    the exception line are all kept. (An exception group takes the standard formatter.)
    """
    chain: list[tuple[BaseException, str]] = []  # newest first, each with the line after it
    seen: set[int] = set()
    current: BaseException | None = exc_info[1]
    after = ""
    while current is not None and id(current) not in seen:
        if isinstance(current, _GROUPS):
            return "".join(traceback.format_exception(*exc_info)).rstrip("\n")
        seen.add(id(current))
        chain.append((current, after))
        if current.__cause__ is not None:
            current, after = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, after = current.__context__, _CONTEXT
        else:
            current = None
    parts: list[str] = []
    for index, (exc, after) in enumerate(reversed(chain)):
        tb = exc_info[2] if index == len(chain) - 1 else exc.__traceback__
        if tb is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.StackSummary.extract(traceback.walk_tb(tb)).format())
        parts.extend(traceback.format_exception_only(type(exc), exc))
        parts.append(after)
    return "".join(parts).rstrip("\n")  # as logging.Formatter.formatException


def _log_exception(logger: logging.Logger | logging.LoggerAdapter[Any], msg: str,
                   args: tuple[object, ...], exc_info: ExcInfo, extra: dict[str, str]) -> None:
    """``logger.error(msg, *args, exc_info=exc_info, extra=extra)`` with the traceback text
    formatted once, here (:func:`format_exception`): the record keeps ``exc_info`` for
    handlers that read it, and its ``exc_text`` is set so formatters do not format again."""
    if not logger.isEnabledFor(logging.ERROR):
        return
    kwargs: Any = {"extra": extra, "exc_info": exc_info}
    while isinstance(logger, logging.LoggerAdapter):  # adapters may add to extra or msg
        msg, kwargs = logger.process(msg, kwargs)
        logger = logger.logger
    try:
        path, line, function, _ = logger.findCaller(False, 2)  # the reporter's call
    except ValueError:  # no frame outside logging
        path, line, function = "(unknown file)", 0, "(unknown function)"
    record = logger.makeRecord(logger.name, logging.ERROR, path, line, msg, args, exc_info,
                               function, kwargs.get("extra"))
    record.exc_text = format_exception(exc_info)
    logger.handle(record)


class Reporter:
    """Logs exceptions with request context and calls the ``notify`` hook.

    :param logger: the logger to write to.
    :param notify: ``notify(exc_info, environ, request_id)``, or ``None``.
    :param pattern: the secret-name pattern from :func:`secret_pattern`.
    """

    def __init__(self, logger: logging.Logger | logging.LoggerAdapter[Any],
                 notify: Notifier | None,
                 pattern: re.Pattern[str]) -> None:
        self.logger = logger
        self.notify = notify
        self.pattern = pattern

    def context(self, environ: Mapping[str, Any], rid: str) -> dict[str, str]:
        """The request facts for a log record (query scrubbed, text made printable)."""
        query = scrub_query(str(environ.get("QUERY_STRING") or ""), self.pattern)
        return {
            "request_id": rid,
            "http_method": _printable(str(environ.get("REQUEST_METHOD", "-"))),
            "http_path": _printable(str(environ.get("SCRIPT_NAME", ""))
                                    + str(environ.get("PATH_INFO", ""))) or "/",
            "http_query": _printable(query),
            "client_addr": _printable(str(environ.get("REMOTE_ADDR") or "-")),
        }

    def exception(self, exc_info: ExcInfo, environ: dict[str, Any], rid: str, when: str) -> None:
        """Log ``exc_info`` (once per request and exception) and notify; never raises."""
        if environ.get(_LOGGED_KEY) is exc_info[1]:
            return  # an inner error layer already reported it
        environ[_LOGGED_KEY] = exc_info[1]
        ctx = self.context(environ, rid)
        query = f"?{ctx['http_query']}" if ctx["http_query"] else ""
        try:
            _log_exception(self.logger, "Unhandled exception %s: %s %s%s (client %s, request id %s)",
                           (when, ctx["http_method"], ctx["http_path"], query, ctx["client_addr"],
                            rid), exc_info, ctx)
        except Exception:  # a broken log handler must not break the page
            logging.getLogger(__name__).exception("error logger failed (request id %s)", rid)
        if self.notify is None:
            return
        try:
            self.notify(exc_info, scrub_environ(environ, self.pattern), rid)
        except Exception:  # the reporter's failure never breaks the page
            self.logger.exception("error notify hook failed (request id %s)", rid,
                                  extra={"request_id": rid})

    def server_error(self, status: str, environ: dict[str, Any], rid: str) -> None:
        """Log (without traceback) a 5xx response the application returned itself."""
        if environ.get(_LOGGED_KEY) is not None:
            return  # the exception behind it was reported already (an inner error layer)
        ctx = self.context(environ, rid)
        query = f"?{ctx['http_query']}" if ctx["http_query"] else ""
        self.logger.warning("Application returned %s: %s %s%s (client %s, request id %s)",
                            status[:3], ctx["http_method"], ctx["http_path"], query,
                            ctx["client_addr"], rid, extra=ctx)
