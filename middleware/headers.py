"""Response-header rules shared by the layers, on the raw WSGI header list.

The one ``Vary`` merge lives here (compression, sessions and error pages all add to ``Vary``);
:class:`middleware.wsgi.Response` applies it to a response, :func:`add_vary` to a werkzeug
``Headers``.

Usage::

    from middleware.headers import merge_vary

    merge_vary(["Accept-Encoding"], "Cookie")   # -> "Accept-Encoding, Cookie"
    merge_vary(["*"], "Cookie")                 # -> None: nothing to change
"""

from __future__ import annotations

from werkzeug.datastructures import Headers
from werkzeug.http import parse_set_header

__all__ = ["add_vary", "merge_vary"]


def merge_vary(values: list[str], name: str) -> str | None:
    """The one ``Vary`` value for ``values`` (the existing lines) plus ``name``.

    Merged case-insensitively, never twice; ``Vary: *`` already covers everything. Returns
    ``None`` when a single existing line needs no change.
    """
    if not values:
        return name
    vary = parse_set_header(", ".join(values))
    if "*" in vary or name in vary:
        return vary.to_header() if len(values) > 1 else None
    vary.add(name)
    return vary.to_header()


def add_vary(headers: Headers, name: str) -> None:
    """Add ``name`` to ``Vary`` of a werkzeug ``Headers`` (see :func:`merge_vary`)."""
    merged = merge_vary(headers.getlist("Vary"), name)
    if merged is not None:
        headers["Vary"] = merged
