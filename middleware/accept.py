"""Which form of a page a client gets, HTML, JSON or plain text, by its ``Accept`` header.

Every page the suite makes itself (error pages, the debug page, authentication's 400/401/403/429
bodies) comes in these forms and is chosen here, by one rule:

* werkzeug parses the header (:func:`~werkzeug.http.parse_accept_header` into a
  :class:`~werkzeug.datastructures.MIMEAccept`): q-values count, ``q=0`` refuses a type, a
  malformed entry is skipped;
* the highest quality wins; on a tie the more specific entry (``text/html`` over ``text/*``
  over ``*/*``), then the server's order: plain text, HTML, JSON. So ``*/*`` (curl, scripts)
  gets text, a browser (``text/html,...,*/*;q=0.8``) HTML, ``application/json`` JSON;
* ``application/xhtml+xml`` counts as HTML and ``application/problem+json`` as JSON;
* no header, an empty one, or one that accepts none of them gets text: a page is always sent,
  never a 406.

Clients send a handful of distinct headers, so each one is parsed once (a bounded cache).

Usage::

    from middleware.accept import HTML, JSON, preferred_form

    form = preferred_form(environ.get("HTTP_ACCEPT"))
    if form == JSON:
        ...
"""

from __future__ import annotations

from functools import lru_cache

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

__all__ = ["HTML", "JSON", "TEXT", "preferred_form"]

HTML = "text/html"
JSON = "application/json"
TEXT = "text/plain"

# Server preference order: ``*/*`` matches all equally and werkzeug then takes the first.
_OFFERS = (TEXT, HTML, JSON, "application/problem+json", "application/xhtml+xml")
_FORMS = {TEXT: TEXT, HTML: HTML, "application/xhtml+xml": HTML, JSON: JSON,
          "application/problem+json": JSON}


@lru_cache(maxsize=256)
def preferred_form(accept: str | None) -> str:
    """:data:`HTML`, :data:`JSON` or :data:`TEXT` for an ``Accept`` header (never fails).

    >>> preferred_form("text/html,application/xhtml+xml,*/*;q=0.8"), preferred_form("*/*")
    ('text/html', 'text/plain')
    """
    if not accept:
        return TEXT
    best = parse_accept_header(accept, MIMEAccept).best_match(_OFFERS)
    return _FORMS[best] if best else TEXT
