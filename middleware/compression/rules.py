"""The header rules of response compression: which types to compress, ``Vary``, ``ETag``.

Small pure functions on header values, so each rule can be read and tested on its own; the
middleware applies them to the response through :class:`middleware.wsgi.Response`.
"""

from __future__ import annotations

from collections.abc import Iterable

from werkzeug.http import parse_list_header, quote_etag, unquote_etag

from middleware.headers import merge_vary

__all__ = [
    "DEFAULT_MIME_TYPES",
    "MimeTypes",
    "encoded_headers",
    "forbids_transform",
    "weak_etag",
]

#: The response headers the rules look at, lower case.
WATCHED = frozenset({"content-type", "content-length", "content-encoding", "content-range",
                     "cache-control", "vary", "etag", "accept-ranges"})

#: Types worth compressing. Images, audio, video, fonts in WOFF and archives are already
#: compressed: encoding them again costs time and often makes them larger.
DEFAULT_MIME_TYPES: tuple[str, ...] = (
    "text/*",
    "application/json",
    "application/*+json",
    "application/x-ndjson",
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "application/xml",
    "application/*+xml",
    "application/wasm",
    "application/yaml",
    "application/toml",
    "application/graphql",
    "application/x-sh",
    "application/rtf",
    "application/vnd.ms-fontobject",
    "font/ttf",
    "font/otf",
    "font/collection",
    "image/svg+xml",
    "image/bmp",
    "image/x-icon",
    "image/vnd.microsoft.icon",
)


class MimeTypes:
    """A set of media type patterns: ``type/subtype``, ``type/*`` or ``type/*+suffix``.

    Matching ignores parameters (``; charset=utf-8``) and case.

    :param patterns: the patterns; anything else raises ``ValueError``.
    """

    def __init__(self, patterns: Iterable[str]) -> None:
        if isinstance(patterns, str):
            raise TypeError("mime_types must be a list of patterns, not a single string")
        self.exact: set[str] = set()
        self.major: set[str] = set()
        self.suffix: set[str] = set()
        self.patterns: tuple[str, ...] = tuple(patterns)
        for pattern in self.patterns:
            if not isinstance(pattern, str):
                raise TypeError(f"mime_types: {pattern!r} is not a string")
            kind, _, sub = pattern.strip().lower().partition("/")
            if not kind or not sub or "/" in sub or kind == "*" or ";" in sub:
                raise ValueError(f"mime_types: {pattern!r} is not type/subtype, type/* "
                                 "or type/*+suffix")
            if sub == "*":
                self.major.add(kind)
            elif sub.startswith("*+") and len(sub) > 2:
                self.suffix.add(f"{kind}/+{sub[2:]}")
            elif "*" in sub:
                raise ValueError(f"mime_types: {pattern!r}: '*' only as type/* or type/*+suffix")
            else:
                self.exact.add(f"{kind}/{sub}")

        # An app sends a handful of distinct Content-Type values: remember the answers.
        self._seen: dict[str, bool] = {}

    def __contains__(self, content_type: object) -> bool:
        if not isinstance(content_type, str):
            return False
        seen = self._seen.get(content_type)
        if seen is None:
            seen = self._match(content_type)
            if len(self._seen) < 256:
                self._seen[content_type] = seen
        return seen

    def _match(self, content_type: str) -> bool:
        mime = content_type.partition(";")[0].strip().lower()
        if mime in self.exact:
            return True
        kind, _, sub = mime.partition("/")
        if kind in self.major:
            return bool(sub)
        plus = sub.rfind("+")
        return plus > 0 and f"{kind}/{sub[plus:]}" in self.suffix

    def __repr__(self) -> str:
        return f"MimeTypes({list(self.patterns)!r})"


def weak_etag(value: str) -> str | None:
    """The weak form of a strong ``ETag`` value (``"x"`` -> ``W/"x"``), ``None`` to drop it.

    The encoded body differs byte for byte from the one the application tagged, so the tag can
    no longer be strong; a weak tag still matches ``If-None-Match`` (weak comparison, RFC 9110
    13.1.2), so conditional requests keep getting their 304. An unquoted tag is quoted; one
    that cannot be represented is dropped rather than left strong.
    """
    if value.startswith("W/"):
        return value
    tag, _ = unquote_etag(value)
    try:
        return quote_etag(tag or "", weak=True)
    except ValueError:
        return None


def forbids_transform(cache_control: str | None) -> bool:
    """Whether a ``Cache-Control`` value has ``no-transform`` (names are case-insensitive)."""
    if not cache_control or "no-transform" not in cache_control.lower():
        return False
    items = parse_list_header(cache_control)
    return any(item.partition("=")[0].strip().lower() == "no-transform" for item in items)


# Headers of the application's response that the encoded variant does not keep as they are.
_REWRITTEN = frozenset({"content-length", "accept-ranges", "etag", "vary"})


def encoded_headers(headers: list[tuple[str, str]], coding: str,
                    length: int | None) -> list[tuple[str, str]]:
    """The header list of the encoded variant of a response, built in one pass.

    ``Content-Encoding`` is added (the rules made sure there was none), ``Content-Length`` is
    the encoded ``length`` (none when the body streams), a strong ``ETag`` becomes weak (see
    :func:`weak_etag`), ``Accept-Ranges`` goes (byte ranges would point into the encoded
    body) and ``Vary`` gets ``Accept-Encoding`` (one merged line). The rest is kept in order.
    """
    kept: list[tuple[str, str]] = []
    vary: list[str] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered not in _REWRITTEN:
            kept.append((name, value))
        elif lowered == "etag":
            weak = weak_etag(value)
            if weak is not None:
                kept.append((name, weak))
        elif lowered == "vary":
            vary.append(value)
    kept.append(("Content-Encoding", coding))
    if length is not None:
        kept.append(("Content-Length", str(length)))
    kept.append(("Vary", merge_vary(vary, "Accept-Encoding") or vary[0]))
    return kept
