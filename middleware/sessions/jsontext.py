"""Session values as compact JSON text, without the standard library's per-call set-up.

``json.dumps`` (and ``JSONEncoder.encode``) builds a new C encoder on every call, and
``json.loads`` goes through two Python layers before the C scanner: on a session's small
values that set-up costs more than the encoding itself. Here the encoder is built once and
the scanner is called directly; the text is the same as ``json.dumps(value,
separators=(",", ":"), ensure_ascii=False)`` and :func:`loads` accepts what ``json.loads``
accepts.

No circular-reference check (``check_circular=False``): :class:`~middleware.sessions.Session`
refuses values that are not plain JSON data, so only a value made circular in place can be
circular, and that still fails when it is saved (``RecursionError`` instead of
``ValueError``).

Usage::

    text = dumps({"cart": ["book"]})    # '{"cart":["book"]}'
    loads(text)                          # {'cart': ['book']}
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any

__all__ = ["dumps", "loads"]

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False)
_raw_decode = json.JSONDecoder().raw_decode
_json_loads = json.loads
#: the C encoder behind json.dumps (not in the typing stubs; absent on some interpreters)
c_make_encoder = getattr(json.encoder, "c_make_encoder", None)

if c_make_encoder is not None:
    # the arguments JSONEncoder.iterencode passes, for the options above
    _iterencode = c_make_encoder(None, _ENCODER.default, encode_basestring, None, ":", ",",
                                 False, False, True)

    def dumps(value: Any) -> str:
        """Compact JSON text of ``value``; raises ``TypeError`` for what JSON cannot hold."""
        return "".join(_iterencode(value, 0))
else:  # pragma: no cover - interpreters without the C accelerator

    def dumps(value: Any) -> str:
        """Compact JSON text of ``value``; raises ``TypeError`` for what JSON cannot hold."""
        return _ENCODER.encode(value)


def loads(text: str | bytes) -> Any:
    """The value of the JSON ``text``; raises ``ValueError`` when it is not JSON."""
    if isinstance(text, str):
        try:
            value, end = _raw_decode(text)
        except ValueError:
            pass  # leading white space, or not JSON: json.loads says which
        else:
            if end == len(text):
                return value
    return _json_loads(text)  # trailing white space, bytes, or the error
