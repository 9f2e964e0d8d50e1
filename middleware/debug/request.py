"""The request section of a debug report: method, URL, headers, cookies, query, form, environ.

Everything is masked through the report's :class:`~middleware.debug.scrub.Masker`; cookie
values are always masked (they are session identifiers far more often than not). The request
body is never read here: the application may have consumed ``wsgi.input`` already, and reading
it again can block on a keep-alive connection. Form keys are shown only when a werkzeug
``Request`` in the environ already parsed them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from werkzeug.datastructures import Authorization
from werkzeug.wsgi import get_current_url

from middleware.cookies import request_cookies
from middleware.debug.scrub import MASK, Masker

MAX_ENVIRON = 200


@dataclass
class RequestInfo:
    """The request, ready to show: every value is a masked, bounded string."""

    method: str
    url: str
    remote_addr: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    cookies: list[tuple[str, str]] = field(default_factory=list)
    query: list[tuple[str, str]] = field(default_factory=list)
    form: list[str] = field(default_factory=list)
    environ: list[tuple[str, str]] = field(default_factory=list)


_CREDENTIAL_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION")
_COOKIE_SEPARATORS = ".:|!$"


def learn_secrets(environ: Mapping[str, Any], masker: Masker) -> None:
    """Remember the secret values a request carries (before anything is rendered).

    Besides the values under secret names, every credential of the request is remembered in
    the form an application holds it: the *decoded* Basic password (and ``user:password``),
    bearer and other tokens, each cookie value, unquoted and split at the separators of signed
    cookies (``payload.signature``). A local or any value equal to one is masked, however
    short; longer ones are also masked inside other text.
    """
    masker.scan(environ)
    for key in _CREDENTIAL_HEADERS:
        header = environ.get(key)
        if isinstance(header, str):
            _learn_authorization(header, masker)
    for value in request_cookies(environ).values():
        _learn_cookie(value, masker)
    for key, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
        if masker.scrubber.is_secret(key):
            masker.remember(value)
    form = _parsed_form(environ)
    if form is not None:
        for key, value in form.items(multi=True):
            if masker.scrubber.is_secret(key):
                masker.remember(value)


def _learn_authorization(header: str, masker: Masker) -> None:
    masker.remember(header)
    try:
        auth = Authorization.from_header(header)
    except Exception:  # noqa: BLE001 - a garbled header still gets a page
        auth = None
    if auth is None:
        return
    if auth.token:
        masker.remember(auth.token)
    password = auth.parameters.get("password") if auth.type == "basic" else None
    if password:
        masker.remember(password)
        masker.remember(f"{auth.parameters.get('username', '')}:{password}")
    for name, value in auth.parameters.items():
        if name != "username" and isinstance(value, str):
            masker.remember(value)  # digest "response", "cnonce" and the like


def _learn_cookie(value: str, masker: Masker) -> None:
    masker.remember(value)
    unquoted = unquote(value)
    if unquoted != value:
        masker.remember(unquoted)
    pieces = [unquoted]
    for separator in _COOKIE_SEPARATORS:
        pieces = [part for piece in pieces for part in piece.split(separator)]
    for piece in pieces:
        if piece != unquoted:
            masker.remember(piece, exact_only=len(piece) < 8)


def _parsed_form(environ: Mapping[str, Any]) -> Any:
    """The form of a werkzeug ``Request`` that already parsed it, else ``None``."""
    request = environ.get("werkzeug.request")
    if request is not None and "form" in getattr(request, "__dict__", {}):
        return request.form
    return None


def _header_name(key: str) -> str:
    return key[5:].replace("_", "-").title() if key.startswith("HTTP_") else \
        key.replace("_", "-").title()


def collect_request(environ: Mapping[str, Any], masker: Masker) -> RequestInfo:
    """Describe ``environ``; call :func:`learn_secrets` first."""
    try:
        url = get_current_url(environ)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - a malformed environ still gets a page
        url = environ.get("PATH_INFO", "")
    query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    info = RequestInfo(
        method=masker.string("", str(environ.get("REQUEST_METHOD", ""))),
        url=masker.text(_mask_query_in_url(url, query, masker)),
        remote_addr=masker.string("", str(environ.get("REMOTE_ADDR", ""))),
    )
    for key in sorted(environ):
        if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            info.headers.append((_header_name(key), masker.string(key, str(environ[key]))))
    info.cookies = [(name, MASK) for name in request_cookies(environ)]
    info.query = [(k, masker.string(k, v)) for k, v in query[:MAX_ENVIRON]]
    form = _parsed_form(environ)
    if form is not None:
        info.form = [masker.text(str(k)) for k in list(form)[:MAX_ENVIRON]]
    for key in sorted(environ, key=str)[:MAX_ENVIRON]:
        value = environ[key]
        shown = masker.string(key, value) if isinstance(value, str) else masker.value(key, value)
        info.environ.append((str(key), shown))
    return info


def _mask_query_in_url(url: str, query: list[tuple[str, str]], masker: Masker) -> str:
    if "?" not in url or not any(masker.scrubber.is_secret(k) for k, _ in query):
        return url
    base = url.split("?", 1)[0]
    parts = [f"{k}={MASK if masker.scrubber.is_secret(k) else v}" for k, v in query]
    return base + "?" + "&".join(parts)
