"""Request data made safe to write into a log line.

A value taken from the request (``PATH_INFO``, a header, a user name) can carry ``\\n`` or
``\\r`` — raw or percent-decoded by the server — and so forge a whole log line, or carry ANSI
escapes that repaint an operator's terminal. Every logger in the suite passes request data
through :func:`for_log` first.

Usage::

    from middleware.logsafe import for_log

    logger.warning("rejected %s %s", for_log(environ.get("REQUEST_METHOD")),
                   for_log(environ.get("PATH_INFO")))
"""

from __future__ import annotations

__all__ = ["MAX_LOGGED", "for_log"]

#: a logged value longer than this is cut (a 1 MB header must not become a 1 MB log line)
MAX_LOGGED = 1024

# Backslash first, so an escape the client sent literally ("\\n") stays distinguishable from
# one we wrote. C0 controls, DEL, C1 controls and the Unicode line breaks that some log viewers
# split on become \xNN / \uNNNN.
_ESCAPES = {ord("\\"): "\\\\"}
_ESCAPES.update({c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)]})
_ESCAPES.update({c: f"\\u{c:04x}" for c in (0x2028, 0x2029)})


def for_log(value: object, limit: int = MAX_LOGGED) -> str:
    """``value`` as one printable log field: control characters escaped, at most ``limit`` long.

    ``None`` is logged as ``-``, as access logs do.
    """
    if value is None:
        return "-"
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[:limit] + "..."
    return text.translate(_ESCAPES)
