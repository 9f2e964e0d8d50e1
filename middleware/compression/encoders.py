"""Content codings: one-shot and streaming compressors for ``gzip``, ``br``, ``zstd``, ``deflate``.

Each coding is an :class:`Encoder` with two ways to compress:

* :meth:`Encoder.compress` turns a whole body into one complete encoded body (used when the
  application returned a list, so the length is known and ``Content-Length`` can be exact);
* :meth:`Encoder.stream` returns a :class:`Stream` that encodes chunk by chunk. With
  ``flush=True`` every chunk's output is complete and decodable on its own as soon as it is
  sent (what server-sent events need); :meth:`Stream.finish` ends the encoded stream.

Levels are the caller's choice; the few rules that keep browsers working are enforced here:
zstd levels stay within 1..19 so a streamed frame never declares a window above 8 MiB (browsers
reject larger ones, RFC 9659), and brotli streams use quality >= 2 (qualities 0 and 1 compress
every ``process()`` call on its own, so small chunks would hardly shrink).
"""

from __future__ import annotations

import importlib
import sys
import threading
import zlib
from collections.abc import Callable
from functools import partial
from typing import Any

try:
    import brotli as brotli  # (as brotli: re-exported for request bodies)
except ImportError:  # PyPy and others where brotli cannot build: the same API through CFFI
    import brotlicffi as brotli

try:
    import zstandard as zstandard
except ImportError:  # the optional "zstd" extra is not installed
    zstandard = None  # type: ignore[assignment]

#: The standard library's zstd module (Python 3.14+, or its ``backports.zstd`` package), used
#: for responses when ``zstandard`` is absent. Request bodies still need ``zstandard``.
stdlib_zstd: Any = None
if zstandard is None:
    for _module in ("compression.zstd", "backports.zstd"):
        try:
            stdlib_zstd = importlib.import_module(_module)
            break
        except ImportError:
            pass

__all__ = [
    "BrotliEncoder",
    "Encoder",
    "GzipEncoder",
    "StdlibZstdEncoder",
    "Stream",
    "ZstdEncoder",
    "available",
    "compressor_stream",
    "make_encoder",
]

#: Coding names this module knows, whether or not their library is installed.
KNOWN = ("br", "zstd", "gzip", "deflate")


class Stream:
    """An encoder for one streamed response.

    :param step: ``step(chunk) -> bytes`` encodes one chunk (flushed or not).
    :param finish: ``finish() -> bytes`` returns the end of the encoded stream.
    """

    __slots__ = ("step", "finish")

    def __init__(self, step: Callable[[bytes], bytes], finish: Callable[[], bytes]) -> None:
        self.step = step
        self.finish = finish


def compressor_stream(compressor: Any, flush_mode: int | None) -> Stream:
    """The :class:`Stream` of a compressor with ``compress(chunk)`` and ``flush([mode])``
    (zlib's and zstandard's): with ``flush_mode``, each chunk is flushed with it, so the
    client can decode it at once; without, the compressor fills its blocks."""
    encode, end = compressor.compress, compressor.flush
    if flush_mode is None:
        return Stream(encode, end)

    def step(chunk: bytes) -> bytes:
        return encode(chunk) + end(flush_mode)

    return Stream(step, end)


class Encoder:
    """A content coding. Subclasses set :attr:`name` and implement both methods."""

    name = ""

    def compress(self, data: bytes) -> bytes:
        """Encode a whole body at once."""
        raise NotImplementedError

    def stream(self, flush: bool = True) -> Stream:
        """Start encoding a body chunk by chunk; ``flush`` makes each chunk decodable at once."""
        raise NotImplementedError


class GzipEncoder(Encoder):
    """gzip (RFC 1952) through zlib. The header's mtime is 0, so output is deterministic.

    :param level: 1 (fastest) .. 9 (smallest).
    :param wbits: 31 for gzip; :class:`DeflateEncoder` uses 15 (the zlib format).
    """

    name = "gzip"
    wbits = 31

    def __init__(self, level: int = 6) -> None:
        self.level = level
        if sys.version_info >= (3, 11):  # zlib.compress takes no wbits before Python 3.11
            # One-shot straight into zlib: no Python frame between the layer and the compressor.
            self.compress = partial(  # type: ignore[method-assign]
                zlib.compress, level=level, wbits=self.wbits)

    def compress(self, data: bytes) -> bytes:
        compressor = zlib.compressobj(self.level, zlib.DEFLATED, self.wbits)
        return compressor.compress(data) + compressor.flush()

    def stream(self, flush: bool = True) -> Stream:
        compressor = zlib.compressobj(self.level, zlib.DEFLATED, self.wbits)
        return compressor_stream(compressor, zlib.Z_SYNC_FLUSH if flush else None)


class DeflateEncoder(GzipEncoder):
    """``deflate``, which HTTP defines as the zlib format (RFC 9110 8.4.1.2), not raw deflate.

    Not offered by default: some old clients expected raw deflate, and the name is ambiguous.
    """

    name = "deflate"
    wbits = 15


class BrotliEncoder(Encoder):
    """Brotli (RFC 7932).

    :param quality: 0 (fastest) .. 11 (smallest); 11 is far too slow to use on the fly.
    """

    name = "br"

    def __init__(self, quality: int = 4) -> None:
        self.quality = quality
        # Qualities 0-1 encode each process() call separately: streamed chunks barely shrink.
        self.stream_quality = max(quality, 2)

    def compress(self, data: bytes) -> bytes:
        return brotli.compress(data, quality=self.quality)

    def stream(self, flush: bool = True) -> Stream:
        compressor = brotli.Compressor(quality=self.stream_quality)
        process = compressor.process
        if not flush:
            return Stream(process, compressor.finish)
        flush_ = compressor.flush

        def step(chunk: bytes) -> bytes:
            return process(chunk) + flush_()

        return Stream(step, compressor.finish)


class ZstdEncoder(Encoder):
    """Zstandard (RFC 8878), through the optional ``zstandard`` package.

    :param level: 1 .. 19 (higher levels declare windows that browsers refuse).

    One-shot frames record the content size; a compression context is reused per thread,
    which saves about a quarter of the time on small bodies. A stream gets its own context
    because it lives across yields, when another request on the same thread may compress.
    """

    name = "zstd"

    def __init__(self, level: int = 3) -> None:
        if zstandard is None:
            raise RuntimeError("zstd needs the 'zstandard' package (the 'zstd' extra)")
        self.level = level
        self._local = threading.local()

    def _context(self) -> zstandard.ZstdCompressor:
        context = getattr(self._local, "context", None)
        if context is None:
            context = self._local.context = zstandard.ZstdCompressor(level=self.level)
        return context

    def compress(self, data: bytes) -> bytes:
        return self._context().compress(data)

    def stream(self, flush: bool = True) -> Stream:
        compressor = zstandard.ZstdCompressor(level=self.level).compressobj()
        return compressor_stream(compressor, zstandard.COMPRESSOBJ_FLUSH_BLOCK if flush else None)


class StdlibZstdEncoder(Encoder):
    """Zstandard through the standard library's ``compression.zstd`` (Python 3.14+).

    :func:`make_encoder` picks it when ``zstandard`` is not installed. Same levels and
    framing as :class:`ZstdEncoder`.
    """

    name = "zstd"

    def __init__(self, level: int = 3) -> None:
        if stdlib_zstd is None:
            raise RuntimeError("zstd needs the 'zstandard' package or Python 3.14+")
        self.level = level

    def compress(self, data: bytes) -> bytes:
        return stdlib_zstd.compress(data, self.level)

    def stream(self, flush: bool = True) -> Stream:
        compressor = stdlib_zstd.ZstdCompressor(level=self.level)
        encode, end = compressor.compress, compressor.flush
        if not flush:
            return Stream(encode, end)
        block = compressor.FLUSH_BLOCK

        def step(chunk: bytes) -> bytes:
            return encode(chunk, block)

        return Stream(step, end)


def available() -> tuple[str, ...]:
    """The coding names that can be used here (``zstd`` needs ``zstandard`` or 3.14+)."""
    has_zstd = zstandard is not None or stdlib_zstd is not None
    return tuple(name for name in KNOWN if name != "zstd" or has_zstd)


def make_encoder(name: str, *, gzip_level: int = 6, brotli_quality: int = 4,
                 zstd_level: int = 3) -> Encoder:
    """Build the encoder for coding ``name`` with the given levels."""
    if name == "gzip":
        return GzipEncoder(gzip_level)
    if name == "deflate":
        return DeflateEncoder(gzip_level)
    if name == "br":
        return BrotliEncoder(brotli_quality)
    if name == "zstd":
        return (ZstdEncoder if zstandard is not None else StdlibZstdEncoder)(zstd_level)
    raise ValueError(f"unknown content coding {name!r} (known: {', '.join(KNOWN)})")
