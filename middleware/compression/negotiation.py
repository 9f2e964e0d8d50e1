"""``Accept-Encoding`` negotiation per RFC 9110, section 12.5.3.

:func:`negotiate` picks the coding to use from the client's header and the server's codings in
preference order, or returns ``None`` for "send it unencoded":

* No header, or an empty one, means identity (an empty value says "no coding", and clients
  that send no header at all are mostly tools that would not decode a body).
* Each coding gets the q-value of its own entry, else the one of ``*``, else 0. ``q=0`` refuses.
  ``x-gzip`` counts as ``gzip``. Names and ``q`` are case-insensitive; white space is ignored.
* The acceptable coding with the highest q-value wins; equal q-values go to the server's
  order (``br, gzip`` with server order br, zstd, gzip picks br). An explicit ``identity``
  entry competes too: ``identity;q=1, br;q=0.5`` gets no coding. (Unlisted, identity is
  merely acceptable, not preferred, so ``gzip;q=0.5`` alone still gets gzip.)
* A malformed header (a bad q-value, a parameter other than ``q``, a value that is not a
  token, more than 2048 characters) means identity: never an error, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from werkzeug.http import parse_accept_header, parse_list_header

__all__ = ["MAX_HEADER_LENGTH", "negotiate", "parse_accept_encoding"]

#: Longer headers are not parsed (legitimate ones are a few dozen characters).
MAX_HEADER_LENGTH = 2048

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_ALIASES = {"x-gzip": "gzip"}


def parse_accept_encoding(value: str) -> dict[str, float] | None:
    """Return ``{coding: q}`` (lower case, aliases resolved), or ``None`` if malformed.

    >>> parse_accept_encoding("gzip;q=0.5, BR")
    {'br': 1, 'gzip': 0.5}
    """
    if len(value) > MAX_HEADER_LENGTH:
        return None
    accepted = parse_accept_header(value)
    # werkzeug skips items whose q is invalid: a different count means something was bad.
    if len(accepted) != len(parse_list_header(value)):
        return None
    weights: dict[str, float] = {}
    for coding, q in accepted:
        if not _TOKEN.fullmatch(coding):
            return None
        coding = coding.lower()
        coding = _ALIASES.get(coding, coding)
        # A coding listed twice keeps its best weight.
        weights[coding] = max(q, weights.get(coding, 0))
    return weights


def negotiate(value: str | None, encodings: Sequence[str]) -> str | None:
    """Return the coding from ``encodings`` (server preference order) to use, or ``None``.

    >>> negotiate("gzip, br;q=0.9", ("br", "zstd", "gzip"))
    'gzip'
    >>> negotiate("identity;q=1, *;q=0", ("br", "gzip")) is None
    True
    """
    if not value:
        return None
    weights = parse_accept_encoding(value)
    if not weights:
        return None
    star = weights.get("*", 0)
    best, best_q = None, 0.0
    for coding in encodings:
        q = weights.get(coding, star)
        if q > best_q:
            best, best_q = coding, q
    if best is None or best_q < weights.get("identity", 0):
        return None
    return best
