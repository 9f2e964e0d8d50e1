"""Request body decompression: hand the application the decoded body of an encoded request.

Off by default (``decompress_requests=False``): a client cannot know a server accepts encoded
request bodies, so this is for APIs whose clients are told so (log shippers, sync clients).

When on, a request with ``Content-Encoding: gzip``, ``x-gzip``, ``deflate``, ``br`` or ``zstd``
is decoded *before* the application runs, into a spooled temporary file (memory up to 1 MiB,
disk beyond), and the environ is rewritten: ``wsgi.input`` is the decoded body,
``CONTENT_LENGTH`` its length, ``HTTP_CONTENT_ENCODING`` is removed and
``middleware.compression.request_encoding`` records the coding. Deciding first means a bad
body is answered with a clean 4xx instead of an exception in the middle of the application:

* decoded size above ``max_decompressed_size`` (a "zip bomb"): 413 Content Too Large;
* undecodable or truncated data: 400 Bad Request;
* an unknown coding, or more than one: 415 Unsupported Media Type with ``Accept-Encoding``
  listing what is understood (RFC 9110 12.5.3);
* no ``Content-Length`` and a server that does not mark the input as terminated: 411.

Decoders never produce more than 64 KiB per step, so memory stays bounded whatever the ratio.
"""

from __future__ import annotations

import tempfile
import zlib
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING

from werkzeug.http import parse_list_header
from werkzeug.wsgi import get_input_stream

from .encoders import brotli, zstandard

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["RequestRejected", "decode_request", "decodable"]

STEP = 64 * 1024
SPOOL_SIZE = 1024 * 1024
# A zstd block can expand one input byte roughly 32768 times; small feeds bound each step.
_ZSTD_FEED = 64
_ALIASES = {"x-gzip": "gzip"}

Reader = Callable[[int], bytes]


class RequestRejected(Exception):
    """The request body cannot be handed to the application.

    :param status: the WSGI status line to answer with.
    :param message: a short plain-text explanation for the client.
    :param headers: extra response headers.
    """

    def __init__(self, status: str, message: str,
                 headers: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


class _Malformed(Exception):
    """The encoded body is invalid or truncated."""


def _zlib_chunks(read: Reader, wbits: int, members: bool) -> Iterator[bytes]:
    decoder = zlib.decompressobj(wbits)
    started = False
    while True:
        data = read(STEP)
        if not data:
            break
        while data:
            if decoder.eof:
                if not members:
                    raise _Malformed("data after the end of the compressed body")
                decoder = zlib.decompressobj(wbits)  # gzip allows several members
            started = True
            try:
                yield decoder.decompress(data, STEP)
                while decoder.unconsumed_tail:
                    yield decoder.decompress(decoder.unconsumed_tail, STEP)
            except zlib.error as exc:
                raise _Malformed(str(exc)) from None
            data = decoder.unused_data
    if started and not decoder.eof:
        raise _Malformed("the compressed body is truncated")


def _brotli_chunks(read: Reader) -> Iterator[bytes]:
    decoder = brotli.Decompressor()
    started = False
    try:
        while True:
            data = read(STEP)
            if not data:
                break
            if decoder.is_finished():
                raise _Malformed("data after the end of the compressed body")
            started = True
            yield decoder.process(data, output_buffer_limit=STEP)
            while not decoder.can_accept_more_data():
                yield decoder.process(b"", output_buffer_limit=STEP)
    except brotli.error as exc:
        raise _Malformed(str(exc)) from None
    if started and not decoder.is_finished():
        raise _Malformed("the compressed body is truncated")


def _zstd_chunks(read: Reader) -> Iterator[bytes]:
    context = zstandard.ZstdDecompressor(max_window_size=1 << 23)  # RFC 9659's 8 MiB limit
    decoder = context.decompressobj()
    started = False
    try:
        while True:
            data = read(STEP)
            if not data:
                break
            for start in range(0, len(data), _ZSTD_FEED):
                piece = data[start:start + _ZSTD_FEED]
                while piece:
                    if decoder.eof:
                        decoder = context.decompressobj()  # the next frame
                    started = True
                    yield decoder.decompress(piece)
                    piece = decoder.unused_data if decoder.eof else b""
    except zstandard.ZstdError as exc:
        raise _Malformed(str(exc)) from None
    if started and not decoder.eof:
        raise _Malformed("the compressed body is truncated")


def _decoders() -> dict[str, Callable[[Reader], Iterator[bytes]]]:
    decoders: dict[str, Callable[[Reader], Iterator[bytes]]] = {
        "gzip": lambda read: _zlib_chunks(read, 31, True),
        "deflate": lambda read: _zlib_chunks(read, 15, False),
        "br": _brotli_chunks,
    }
    if zstandard is not None:
        decoders["zstd"] = _zstd_chunks
    return decoders


_DECODERS = _decoders()


def decodable() -> tuple[str, ...]:
    """The request codings this installation can decode."""
    return tuple(_DECODERS)


def decode_request(environ: WSGIEnvironment, max_size: int) -> IO[bytes] | None:
    """Replace an encoded request body in ``environ`` by its decoded form.

    Returns the new ``wsgi.input`` (a spooled temporary file the caller closes when the
    response is done), or ``None`` when the request has no ``Content-Encoding`` other than
    ``identity``. Raises :class:`RequestRejected` for a body that must not reach the app.
    """
    header = environ.get("HTTP_CONTENT_ENCODING")
    if header is None:
        return None
    codings = [c.lower() for c in parse_list_header(header) if c.lower() != "identity"]
    if not codings:
        del environ["HTTP_CONTENT_ENCODING"]
        return None
    coding = _ALIASES.get(codings[0], codings[0])
    if len(codings) > 1 or coding not in _DECODERS:
        raise RequestRejected(
            "415 Unsupported Media Type",
            f"Content-Encoding {header!r} is not supported for request bodies.",
            (("Accept-Encoding", ", ".join(_DECODERS)),))
    if not environ.get("CONTENT_LENGTH") and not environ.get("wsgi.input_terminated"):
        raise RequestRejected("411 Length Required",
                              "An encoded request body needs a Content-Length.")
    stream = get_input_stream(environ, safe_fallback=True)
    body: IO[bytes] = tempfile.SpooledTemporaryFile(SPOOL_SIZE)
    size = 0
    try:
        for chunk in _DECODERS[coding](stream.read):
            size += len(chunk)
            if size > max_size:
                raise RequestRejected(
                    "413 Content Too Large",
                    f"The decoded request body is larger than {max_size} bytes.")
            body.write(chunk)
    except _Malformed as exc:
        body.close()
        raise RequestRejected("400 Bad Request",
                              f"The {coding} request body cannot be decoded: {exc}.") from None
    except BaseException:
        body.close()
        raise
    body.seek(0)
    environ["wsgi.input"] = body
    environ["wsgi.input_terminated"] = True
    environ["CONTENT_LENGTH"] = str(size)
    environ["middleware.compression.request_encoding"] = coding
    del environ["HTTP_CONTENT_ENCODING"]
    return body
