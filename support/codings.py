"""Undo a ``Content-Encoding`` with the real decoder of each coding.

Usage::

    from support.codings import decode, decoder

    assert decode(response.content, response.headers.get("Content-Encoding")) == PAGE
    step = decoder("br")              # incremental: each chunk as it arrives
    text = b"".join(step(chunk) for chunk in chunks)
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable

try:
    import brotli
except ImportError:  # PyPy: the same API through CFFI
    import brotlicffi as brotli
import zstandard

CODINGS = ("gzip", "br", "zstd", "deflate")


def decode(body: bytes, coding: str | None) -> bytes:
    """``body`` with ``coding`` undone; ``None``, ``""`` and ``identity`` leave it as it is.

    An unknown coding is an ``AssertionError``: a test must never read an encoded body as the
    plain one.
    """
    coding = (coding or "").strip().lower()
    if coding in ("", "identity"):
        return body
    if coding == "gzip":
        return gzip.decompress(body)
    if coding == "deflate":
        return zlib.decompress(body)
    if coding == "br":
        return brotli.decompress(body)
    if coding == "zstd":
        # a streamed frame carries no content size, which ZstdDecompressor().decompress needs
        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    raise AssertionError(f"unknown Content-Encoding {coding!r}")


def decoder(coding: str) -> Callable[[bytes], bytes]:
    """An incremental decoder: call it with each chunk as it arrives, it returns what that
    chunk decodes to (so a test can see that a streamed chunk was flushed on its own)."""
    if coding == "gzip":
        return zlib.decompressobj(31).decompress
    if coding == "deflate":
        return zlib.decompressobj().decompress
    if coding == "br":
        return brotli.Decompressor().process
    if coding == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress
    raise AssertionError(f"unknown Content-Encoding {coding!r}")
