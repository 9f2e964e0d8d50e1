"""Reading the request's ``Cookie`` header without ever failing on what a client sends.

``werkzeug.http.parse_cookie`` decodes the header as strict UTF-8, so a client that sends a raw
byte such as ``\\x80`` makes it raise ``UnicodeDecodeError`` (a 500 from whichever middleware
asked). Every layer reads cookies through :func:`request_cookies` instead, which decodes
leniently: our own cookie values are ASCII, and a mangled foreign value does no harm.

Usage::

    from middleware.cookies import request_cookies

    token = request_cookies(environ).get("session")
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.sansio.http import parse_cookie

if TYPE_CHECKING:
    from werkzeug.datastructures import MultiDict

__all__ = ["request_cookies"]


def request_cookies(environ: Mapping[str, Any]) -> MultiDict[str, str]:
    """The request's cookies, name -> value; undecodable bytes become U+FFFD."""
    header = environ.get("HTTP_COOKIE", "")
    # WSGI hands headers over as latin-1 text: recover the bytes, then decode them as UTF-8.
    text = header.encode("latin-1", "replace").decode("utf-8", "replace")
    return parse_cookie(text)
