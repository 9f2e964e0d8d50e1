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

__all__ = ["add_vary", "fields", "merge_vary"]


def fields(headers: list[tuple[str, str]], names: frozenset[str]) -> dict[str, str]:
    """The headers named in ``names`` (lower case) in one pass, by lower-case name; several
    lines of one name are joined with ``", "``.

    >>> fields([("Content-Type", "text/html"), ("X-A", "1")], frozenset({"content-type"}))
    {'content-type': 'text/html'}
    """
    found: dict[str, str] = {}
    for key, value in headers:
        key = key.lower()
        if key in names:
            found[key] = f"{found[key]}, {value}" if key in found else value
    return found


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
