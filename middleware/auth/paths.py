"""Which requests need no login, and where a login may send the browser back to.

A path is public only if it is public *as the application will see it*. Servers decode
``%2e`` and ``%2F`` before the application sees ``PATH_INFO`` (werkzeug, wsgiref, gunicorn
and waitress all turn ``/files/%2e%2e/static/x`` into ``/files/../static/x``), and the
application's router then resolves (or not) the dot segments in its own way: Flask sends
``/files/../static/x`` to ``/files/<path:p>``. Resolving ``..`` before comparing would call
that path public while a protected view answers it. So nothing is resolved here:

* ``PATH_INFO`` is split on ``/`` and compared segment by segment, exactly as received:
  ``/health`` matches ``/health`` only (not ``/healthz``, not ``/health/``, not
  ``/health/x``); ``/static/*`` matches ``/static``, ``/static/`` and everything below it.
* A path that routers may resolve differently is never public, whatever it would resolve to:
  a ``.`` or ``..`` segment, an empty segment (``//``; only a final ``/`` is allowed), a
  ``%`` (a second round of percent-decoding), ``\\``, ``;`` (path parameters), control
  characters, or a non-ASCII segment that Unicode compatibility normalisation (NFKC) turns
  into one of those (``．．``). The same holds for the raw request target when the server
  passes it on (``REQUEST_URI``, ``RAW_URI``): ``/static/%2e%2e/admin`` stays protected even
  where ``PATH_INFO`` looked clean.

``safe_next`` accepts only same-origin relative paths (``/x?y``): not ``//host``, not
``/\\host``, no scheme (``javascript:``), no control characters or white space (browsers drop
tabs and newlines inside URLs), not encoded forms of those; anything else becomes ``/``. What
it returns is plain ASCII (other characters percent-encoded as UTF-8), so it always fits in a
``Location`` header.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote

from middleware.options import check_strings

__all__ = ["ProtectedPaths", "PublicPaths", "canonical_segments", "safe_next", "script_name"]

_AMBIGUOUS = re.compile(r"[%\\;\x00-\x1f\x7f]")
_UNSAFE_RAW = re.compile(r"[\\\x00-\x20\x7f]")
_UNSAFE_DECODED = re.compile(r"[\\\x00-\x1f\x7f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_ABSOLUTE_FORM = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]*")
# Every printable ASCII character but space stays as it is in a ``next`` value.
_URL_SAFE = "".join(chr(c) for c in range(0x21, 0x7f))
#: Where servers pass the request target on undecoded (werkzeug and gunicorn set both).
RAW_URI_KEYS = ("REQUEST_URI", "RAW_URI")


def _ambiguous(segment: str) -> bool:
    if segment in (".", "..") or _AMBIGUOUS.search(segment):
        return True
    if not _NON_ASCII.search(segment):
        return False
    # WSGI strings carry the path's bytes as latin-1; routers may see them as UTF-8 and
    # normalise compatibility forms (FULLWIDTH FULL STOP, FULLWIDTH SOLIDUS ...).
    try:
        text = segment.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        text = segment
    folded = unicodedata.normalize("NFKC", text)
    return folded in (".", "..") or "/" in folded or bool(_AMBIGUOUS.search(folded))


def canonical_segments(path: str) -> tuple[str, ...] | None:
    """The path's segments if it is in the one form every router agrees on, else ``None``.

    ``None`` for a path not starting with ``/``, with a ``.``/``..`` or empty segment (a
    final ``/`` is allowed and dropped), or with an ambiguous character in a segment.

    >>> canonical_segments("/static/app.css"), canonical_segments("/files/../static/x")
    (('static', 'app.css'), None)
    """
    if not path.startswith("/"):
        return None
    body = path[1:]
    if body.endswith("/"):
        body = body[:-1]
    if not body:
        return ()
    segments = tuple(body.split("/"))
    if any(not segment or _ambiguous(segment) for segment in segments):
        return None
    return segments


def raw_path_is_canonical(environ: Mapping[str, Any]) -> bool:
    """Whether the undecoded request target (when the server gives it) is unambiguous too."""
    for key in RAW_URI_KEYS:
        raw = environ.get(key)
        if not isinstance(raw, str) or not raw:
            continue
        path = _ABSOLUTE_FORM.sub("", raw.split("?", 1)[0].split("#", 1)[0])
        if canonical_segments(path) is None:
            return False
        if "%" in path and canonical_segments(unquote(path, "latin-1")) is None:
            return False
    return True


class PublicPaths:
    """A set of public path patterns: exact paths, and subtrees written ``/prefix/*``.

    :param patterns: paths starting with ``/``; ``/*`` (everything) is refused.

    >>> public = PublicPaths(["/health", "/static/*"])
    >>> public.match("/static/app.css"), public.match("/static/../admin")
    (True, False)
    """

    option = "public_paths"

    def __init__(self, patterns: Iterable[str]) -> None:
        option = self.option
        self.patterns = check_strings(option, patterns)
        self._exact: set[tuple[str, ...]] = set()
        self._subtrees: set[tuple[str, ...]] = set()
        for pattern in self.patterns:
            if not pattern.startswith("/"):
                raise ValueError(f"{option}: {pattern!r} must be a path starting with '/'")
            subtree = pattern.endswith("/*")
            segments = canonical_segments(pattern[:-2] or "/" if subtree else pattern)
            if segments is None or "*" in "".join(segments):
                raise ValueError(f"{option}: {pattern!r} is ambiguous ('*' only at the end; "
                                 "no '.', '..', '//', '%', '\\' or ';')")
            if subtree and not segments:
                raise ValueError(self._everything_message())
            if subtree:
                self._subtrees.add(segments)
            else:  # a trailing '/' is part of an exact entry's one spelling
                trailing = pattern != "/" and pattern.endswith("/")
                self._exact.add(segments + ("",) if trailing else segments)
        self.match = lru_cache(maxsize=2048)(self._match)

    def _match(self, path: str) -> bool:
        segments = canonical_segments(path)
        if segments is None:
            return False
        # An exact entry names one spelling: ``/health`` is not ``/health/``.
        exact = segments + ("",) if path.endswith("/") and path != "/" else segments
        if exact in self._exact:
            return True
        return any(segments[:len(prefix)] == prefix for prefix in self._subtrees)

    def match_environ(self, environ: Mapping[str, Any]) -> bool:
        """Whether the request is public: ``PATH_INFO`` matches, and the raw target is clean."""
        path = environ.get("PATH_INFO") or "/"
        return self.match(path) and raw_path_is_canonical(environ)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    @staticmethod
    def _everything_message() -> str:
        return ("public_paths: '/*' would make everything public; leave out AuthMiddleware "
                "or use allow=")


class ProtectedPaths(PublicPaths):
    """The paths that need a login under ``protect="listed"``: matched generously, since
    here a miss lets a request through. An exact entry also covers its spelling with a
    final ``/`` (``/private`` and ``/private/``); ``/admin/*`` covers ``/admin`` and all
    below. Ambiguous request paths are the middleware's business: always protected.

    >>> protected = ProtectedPaths(["/private", "/admin/*"])
    >>> protected.match("/private/"), protected.match("/admin"), protected.match("/about")
    (True, True, False)
    """

    option = "protected_paths"

    def _match(self, path: str) -> bool:
        segments = canonical_segments(path)
        if segments is None:
            return True
        if segments in self._exact or segments + ("",) in self._exact:
            return True
        return any(segments[:len(prefix)] == prefix for prefix in self._subtrees)

    @staticmethod
    def _everything_message() -> str:
        return "protected_paths: for '/*' use protect='all' (the default)"


def safe_next(value: str | None, default: str = "/") -> str:
    """``value`` if it is a same-origin relative path (non-ASCII percent-encoded), else
    ``default``.

    >>> safe_next("/admin?x=1"), safe_next("//evil.example"), safe_next("/caf\\u00e9")
    ('/admin?x=1', '/', '/caf%C3%A9')
    """
    if not value or len(value) > 2048:
        return default
    for candidate, unsafe in ((value, _UNSAFE_RAW), (unquote(value), _UNSAFE_DECODED)):
        if not candidate.startswith("/") or candidate.startswith("//") or unsafe.search(candidate):
            return default
    if _NON_ASCII.search(value):
        value = quote(value, safe=_URL_SAFE)
        if len(value) > 2048:
            return default
    return value


def script_name(environ: Mapping[str, Any]) -> str:
    """``SCRIPT_NAME`` percent-encoded, fit for a ``Location`` header (a proxy's
    ``X-Forwarded-Prefix`` makes it request data)."""
    raw = str(environ.get("SCRIPT_NAME", "")).encode("latin-1", "replace")
    return quote(raw, safe="/:@!$&'()*+,;=-._~")
