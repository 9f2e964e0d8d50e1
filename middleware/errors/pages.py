"""Error pages: templates, the form by ``Accept``, and rendering.

A page is chosen per status code and rendered in one of three forms:

* HTML (``text/html``) from a template: a custom one from ``pages`` or ``template_dir``, else
  the built-in ``middleware/templates/error.html``;
* ``application/problem+json`` (RFC 9457) with ``type``, ``title``, ``status``, ``detail`` and
  the extension member ``request_id``;
* ``text/plain`` for everything else (``curl``, ``*/*``, no ``Accept``).

The form is the one :func:`middleware.accept.preferred_form` picks, as for every page of the
suite.

HTML templates use :class:`string.Template` placeholders, which cannot reach attributes or run
code: ``$status`` (``404``), ``$title`` (``Not Found``), ``$message`` (a friendly sentence) and
``$request_id``. Every value is HTML-escaped. ``$$`` is a literal dollar sign; any other
``$name`` is refused when the middleware is built, so a typo fails at start-up. A lone ``$``
(``$5``) is left as it is.

Template lookup for a status, first match wins: ``pages[404]``, ``404.html``, ``pages["4xx"]``,
``4xx.html``, ``pages["default"]``, ``default.html``, then the built-in page. Files are read
once, when the middleware is built.

Nothing from the request or the exception ever reaches a page: the values are the status, its
standard reason phrase, a fixed message and the request id (which is validated).
"""

from __future__ import annotations

import json
import logging
import os
import re
import string
from collections.abc import Mapping
from html import escape
from importlib import resources
from typing import Any, NamedTuple

from werkzeug.http import HTTP_STATUS_CODES

from middleware import accept

__all__ = ["MESSAGES", "PLACEHOLDERS", "Page", "PageSet", "negotiate"]

#: the placeholders a template may use
PLACEHOLDERS = frozenset({"status", "title", "message", "request_id"})

HTML = "text/html; charset=utf-8"
PROBLEM_JSON = "application/problem+json"
TEXT = "text/plain; charset=utf-8"

_CONTENT_TYPES = {accept.TEXT: TEXT, accept.HTML: HTML, accept.JSON: PROBLEM_JSON}

#: friendly messages per status; others fall back to a generic client or server message
MESSAGES: dict[int, str] = {
    400: "The request could not be understood. Please check it and try again.",
    401: "You need to sign in to see this page.",
    403: "You do not have permission to see this page.",
    404: "The page you asked for could not be found. Please check the address.",
    405: "This address does not accept that kind of request.",
    406: "The page is not available in a format your client accepts.",
    408: "The request took too long to arrive. Please try again.",
    409: "The request conflicts with the current state of the resource.",
    410: "The page you asked for has been removed.",
    413: "The request is larger than the server accepts.",
    414: "The address is longer than the server accepts.",
    415: "The request is in a format the server does not accept.",
    422: "The request was understood, but some of its content is not valid.",
    429: "Too many requests. Please wait a moment and try again.",
    431: "The request headers are larger than the server accepts.",
    500: "Something went wrong on our side. The error has been logged; please try again later.",
    501: "The server does not support this request.",
    502: "An upstream server sent an invalid response. Please try again later.",
    503: "The service is temporarily unavailable. Please try again later.",
    504: "An upstream server did not answer in time. Please try again later.",
}
_CLIENT_MESSAGE = "The request could not be completed."
_SERVER_MESSAGE = "Something went wrong on our side. Please try again later."

_BUILT_IN = "built-in"
# Request ids made of these characters come out of every form unescaped, so a page rendered
# once around a marker can take any of them.
_PLAIN_ID = re.compile(r"[A-Za-z0-9._:+=/-]+")
_MARKER = "rid0marker0a5e1f"


class Page(NamedTuple):
    """A rendered page: the status line, the ``Content-Type`` and the body."""

    status: str
    content_type: str
    body: bytes


def negotiate(header: str | None) -> str:
    """The ``Content-Type`` of the error page for an ``Accept`` header (never fails):
    :func:`middleware.accept.preferred_form`'s choice, JSON as ``application/problem+json``."""
    return _CONTENT_TYPES[accept.preferred_form(header)]


def title_for(code: int) -> str:
    """The standard reason phrase (never the application's own, which may carry details)."""
    return HTTP_STATUS_CODES.get(code) or ("Client Error" if code < 500 else "Server Error")


def message_for(code: int) -> str:
    """A friendly sentence for ``code``."""
    return MESSAGES.get(code) or (_CLIENT_MESSAGE if code < 500 else _SERVER_MESSAGE)


def check_template(text: str, where: str) -> string.Template:
    """Compile ``text``; raise ``ValueError`` naming ``where`` for an unknown placeholder."""
    template = string.Template(text)
    for match in template.pattern.finditer(text):
        name = match.group("named") or match.group("braced")
        if name is not None and name not in PLACEHOLDERS:
            known = ", ".join(f"${p}" for p in sorted(PLACEHOLDERS))
            raise ValueError(f"{where}: unknown placeholder ${name} (known: {known}; "
                             f"write $$ for a literal dollar sign)")
    return template


def _page_key(key: int | str) -> str:
    """Normalise a ``pages`` key: ``404``/``"404"``, ``"4xx"``, ``"5xx"`` or ``"default"``."""
    if isinstance(key, bool) or not isinstance(key, (int, str)):
        raise TypeError(f"pages: keys must be status codes or '4xx', '5xx', 'default', "
                        f"not {type(key).__name__}")
    text = str(key).strip().lower()
    if text in ("4xx", "5xx", "default") or (text.isdigit() and 400 <= int(text) <= 599):
        return str(int(text)) if text.isdigit() else text
    raise ValueError(f"pages: key {key!r} is not a status code from 400 to 599, "
                     f"'4xx', '5xx' or 'default'")


class PageSet:
    """The HTML templates per status plus the JSON and text forms.

    :param pages: a mapping of status code (or ``"4xx"``, ``"5xx"``, ``"default"``) to an HTML
        template string.
    :param template_dir: a directory of ``<code>.html``, ``4xx.html``, ``5xx.html`` and
        ``default.html`` files (UTF-8). A file that cannot be used (unreadable, not UTF-8,
        empty, an unknown placeholder) is logged as an error on ``logger`` and left out, so its
        statuses get the next page in the lookup order, at worst the built-in one: a broken
        deploy of one page never takes the error pages down.
    :param logger: where those errors go.
    """

    def __init__(self, pages: Mapping[int | str, str] | None = None,
                 template_dir: str | os.PathLike[str] | None = None,
                 logger: logging.Logger | logging.LoggerAdapter[Any] | None = None) -> None:
        self.templates: dict[str, string.Template] = {}
        if template_dir is not None:
            self.templates.update(_load_dir(template_dir, logger or logging.getLogger(
                "middleware.errors")))
        if pages is not None:
            if not isinstance(pages, Mapping):
                raise TypeError(f"pages must be a mapping of status to template, "
                                f"not {type(pages).__name__}")
            for key, text in pages.items():
                name = _page_key(key)
                if not isinstance(text, str):
                    raise TypeError(f"pages[{key!r}] must be a str, not {type(text).__name__}")
                self.templates[name] = check_template(text, f"pages[{key!r}]")
        built_in = resources.files("middleware").joinpath("templates/error.html")
        self.templates[_BUILT_IN] = check_template(built_in.read_text("utf-8"), "error.html")
        self._cache: dict[tuple[int, str], tuple[str, list[bytes]]] = {}

    def template_for(self, code: int) -> string.Template:
        """The HTML template for ``code`` (see the lookup order in the module docstring)."""
        family = "4xx" if code < 500 else "5xx"
        for name in (str(code), family, "default", _BUILT_IN):
            template = self.templates.get(name)
            if template is not None:
                return template
        raise AssertionError("the built-in template is always present")

    def render(self, code: int, content_type: str, request_id: str) -> Page:
        """Render the page for ``code`` as ``content_type`` (one of :func:`negotiate`'s).

        Each (status, form) is rendered once and kept split around the request id, the only
        value that changes per request; an id with characters any form would escape is
        rendered in full.
        """
        if not _PLAIN_ID.fullmatch(request_id):
            return self._render(code, content_type, request_id)
        cached = self._cache.get((code, content_type))
        if cached is None:
            page = self._render(code, content_type, _MARKER)
            cached = (page.status, page.body.split(_MARKER.encode()))
            if len(self._cache) < 512:
                self._cache[code, content_type] = cached
        status, parts = cached
        return Page(status, content_type, request_id.encode().join(parts))

    def _render(self, code: int, content_type: str, request_id: str) -> Page:
        title, message = title_for(code), message_for(code)
        status = f"{code} {title}"
        if content_type == HTML:
            values = {"status": str(code), "title": title, "message": message,
                      "request_id": request_id}
            escaped = {key: escape(value, quote=True) for key, value in values.items()}
            body = self.template_for(code).safe_substitute(escaped).encode("utf-8")
        elif content_type == PROBLEM_JSON:
            problem = {"type": "about:blank", "title": title, "status": code,
                       "detail": message, "request_id": request_id}
            body = json.dumps(problem).encode("utf-8")
        else:
            body = f"{status}\n\n{message}\n\nRequest ID: {request_id}\n".encode()
        return Page(status, content_type, body)


def _load_dir(template_dir: str | os.PathLike[str],
              logger: logging.Logger | logging.LoggerAdapter[Any]) -> dict[str, string.Template]:
    """Read the usable templates of ``template_dir`` (unknown file names are ignored)."""
    if not isinstance(template_dir, (str, os.PathLike)):
        raise TypeError(f"template_dir must be a path, not {type(template_dir).__name__}")
    if not os.path.isdir(template_dir):
        raise ValueError(f"template_dir {os.fspath(template_dir)!r} is not a directory")
    templates = {}
    for entry in sorted(os.scandir(template_dir), key=lambda e: e.name):
        stem, ext = os.path.splitext(entry.name)
        if ext != ".html" or not entry.is_file():
            continue
        try:
            name = _page_key(stem)
        except ValueError:
            continue
        try:
            templates[name] = _read_template(entry)
        except ValueError as exc:
            logger.error("error page %s not used, the built-in page stands in: %s",
                         entry.path, exc)
    return templates


def _read_template(entry: os.DirEntry[str]) -> string.Template:
    """One template file, checked; ``ValueError`` says why it cannot be used."""
    try:
        with open(entry.path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"template_dir: cannot read {entry.name}: {exc}") from None
    if not text.strip():  # a truncated deploy: it would serve a blank error page
        raise ValueError(f"template_dir: {entry.name} is empty")
    return check_template(text, f"template_dir: {entry.name}")
