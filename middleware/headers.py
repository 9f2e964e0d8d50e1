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

__all__ = ["add_vary", "merge_vary"]


def merge_vary(values: list[str], name: str) -> str | None:
    """The one ``Vary`` value for ``values`` (the existing lines) plus ``name``.

    Merged case-insensitively, never twice; ``Vary: *`` already covers everything. Returns
    ``None`` when a single existing line needs no change. ``Vary`` is a list of tokens
    (RFC 9110 12.5.5), so a split on commas is its whole grammar: no parser is built.
    """
    if not values:
        return name
    tokens: list[str] = []
    seen: set[str] = set()
    for value in values:
        for token in value.split(","):
            token = token.strip()
            if token and token.lower() not in seen:
                seen.add(token.lower())
                tokens.append(token)
    if "*" in seen or name.lower() in seen:
        return ", ".join(tokens) if len(values) > 1 else None
    tokens.append(name)
    return ", ".join(tokens)


def add_vary(headers: Headers, name: str) -> None:
    """Add ``name`` to ``Vary`` of a werkzeug ``Headers`` (see :func:`merge_vary`)."""
    merged = merge_vary(headers.getlist("Vary"), name)
    if merged is not None:
        headers["Vary"] = merged
