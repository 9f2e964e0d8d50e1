"""Which requests need no login, and where a login may send the browser back to.

Public paths are matched on the normalised path, whole segments at a time. Servers decode
``%2e`` and ``%2F`` before the application sees ``PATH_INFO`` (werkzeug, wsgiref and waitress
all turn ``/public/%2e%2e/admin`` into ``/public/../admin``), and many applications then resolve
the dot segments, so a prefix test on the raw string is an authentication bypass. Here:

* ``.`` and ``..`` segments are resolved and empty segments dropped, then entries compare
  segment by segment: ``/health`` matches ``/health`` only (not ``/healthz``, not
  ``/health/x``); ``/static/*`` matches ``/static`` and everything below it.
* A path with anything ambiguous in a segment (``%``, ``\\``, ``;``, control characters) is
  never public: whatever an application makes of it, it stays behind the login.

``safe_next`` accepts only same-origin relative paths (``/x?y``): not ``//host``, not
``/\\host``, no scheme (``javascript:``), no control characters or white space (browsers drop
tabs and newlines inside URLs), not encoded forms of those; anything else becomes ``/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import unquote

__all__ = ["PublicPaths", "normalise", "safe_next"]

_AMBIGUOUS = re.compile(r"[%\\;\x00-\x1f\x7f]")
_UNSAFE_RAW = re.compile(r"[\\\x00-\x20\x7f]")
_UNSAFE_DECODED = re.compile(r"[\\\x00-\x1f\x7f]")


def normalise(path: str) -> tuple[str, ...] | None:
    """Resolve dot segments and drop empty ones; ``None`` if a segment is ambiguous."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        if _AMBIGUOUS.search(segment):
            return None
        segments.append(segment)
    return tuple(segments)


class PublicPaths:
    """A set of public path patterns: exact paths, and subtrees written ``/prefix/*``.

    :param patterns: paths starting with ``/``; ``/*`` (everything) is refused.
    """

    def __init__(self, patterns: Iterable[str]) -> None:
        if isinstance(patterns, str):
            raise TypeError("public_paths must be a list of paths, not a string")
        self.patterns = tuple(patterns)
        self._exact: set[tuple[str, ...]] = set()
        self._subtrees: set[tuple[str, ...]] = set()
        for pattern in self.patterns:
            if not isinstance(pattern, str) or not pattern.startswith("/"):
                raise ValueError(f"public_paths: {pattern!r} must be a path starting with '/'")
            subtree = pattern.endswith("/*")
            segments = normalise(pattern[:-2] if subtree else pattern)
            if segments is None or "*" in "".join(segments):
                raise ValueError(f"public_paths: {pattern!r} is ambiguous ('*' only at the end)")
            if subtree and not segments:
                raise ValueError("public_paths: '/*' would make everything public; "
                                 "leave out AuthMiddleware or use allow=")
            (self._subtrees if subtree else self._exact).add(segments)
        self.match = lru_cache(maxsize=2048)(self._match)

    def _match(self, path: str) -> bool:
        segments = normalise(path)
        if segments is None:
            return False
        if segments in self._exact:
            return True
        return any(segments[:len(prefix)] == prefix for prefix in self._subtrees)

    def __bool__(self) -> bool:
        return bool(self.patterns)


def safe_next(value: str | None, default: str = "/") -> str:
    """``value`` if it is a same-origin relative path, else ``default``."""
    if not value or len(value) > 2048:
        return default
    for candidate, unsafe in ((value, _UNSAFE_RAW), (unquote(value), _UNSAFE_DECODED)):
        if not candidate.startswith("/") or candidate.startswith("//") or unsafe.search(candidate):
            return default
    return value
