"""Small response-header helpers shared by the layers (one ``Vary`` merge, not three).

Usage::

    from middleware.headers import add_vary

    add_vary(headers, "Cookie")   # Vary: Accept-Encoding  ->  Vary: Accept-Encoding, Cookie
"""

from __future__ import annotations

from werkzeug.datastructures import Headers
from werkzeug.http import parse_set_header

__all__ = ["add_vary"]


def add_vary(headers: Headers, name: str) -> None:
    """Add ``name`` to ``Vary``: merged into one header, case-insensitively, never twice.

    ``Vary: *`` already covers everything and is left alone. Several ``Vary`` lines from the
    app are folded into one.
    """
    values = headers.getlist("Vary")
    if not values:
        headers["Vary"] = name
        return
    vary = parse_set_header(", ".join(values))
    if "*" in vary or name in vary:
        if len(values) > 1:
            headers["Vary"] = vary.to_header()
        return
    vary.add(name)
    headers["Vary"] = vary.to_header()
