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

Decoders never produce more than 64 KiB per step (:data:`STEP`), so memory stays bounded
whatever the ratio: zlib and brotli are asked for bounded output and drained until they have
nothing left; zstd is read through a bounded reader, with the frame layout checked on the side
because that reader does not report a truncated frame.

Order matters: the body is decoded when the request reaches this layer, before any layer inside
it runs, authentication included. An anonymous client can make the server inflate up to
``max_decompressed_size`` bytes per request (a 165-byte brotli body inflates to 10 MiB in about
30 ms of CPU). Put the decoding layer inside authentication when only known clients send
encoded bodies (see docs/compression.md, "Request bodies").
"""

from __future__ import annotations

import tempfile
import zlib
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING

from werkzeug.http import parse_list_header
from werkzeug.wsgi import get_input_stream

from middleware.environ import COMPRESSION_REQUEST_ENCODING

from .encoders import brotli, zstandard

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["STEP", "RequestRejected", "decode_chunks", "decode_request", "decodable"]

#: the most one decoding step produces
STEP = 64 * 1024
SPOOL_SIZE = 1024 * 1024
# brotli's output buffer grows in blocks (32,752 then 65,520 bytes): asking for at most 16 KiB
# keeps every step within one block, well under STEP.
_BROTLI_LIMIT = 16 * 1024
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


class _Malformed(ValueError):
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
                output = decoder.decompress(data, STEP)
                yield output
                # A full step may leave output inside zlib even when all input was taken
                # (the rest of a long match): ask again until a step comes back short.
                while decoder.unconsumed_tail or (len(output) == STEP and not decoder.eof):
                    output = decoder.decompress(decoder.unconsumed_tail, STEP)
                    yield output
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
            yield from _brotli_drain(decoder, data)
    except brotli.error as exc:
        raise _Malformed(str(exc)) from None
    if started and not decoder.is_finished():
        raise _Malformed("the compressed body is truncated")


def _brotli_drain(decoder: brotli.Decompressor, data: bytes) -> Iterator[bytes]:
    """Feed ``data`` and take every byte of output it makes, one bounded step at a time.

    ``can_accept_more_data()`` says True while output is still pending once the input is
    consumed, so it cannot tell when to stop: a decoder is drained when a call with no input
    returns nothing.
    """
    output = decoder.process(data, output_buffer_limit=_BROTLI_LIMIT)
    while output:
        yield output
        if decoder.is_finished():
            return
        output = decoder.process(b"", output_buffer_limit=_BROTLI_LIMIT)


def _zstd_chunks(read: Reader) -> Iterator[bytes]:
    # The decompression object returns all the output of its input at once, and four bytes
    # (an RLE block) can stand for 128 KiB; the reader returns at most what is asked for.
    frames = ZstdFrames()

    class _Tapped:
        def read(self, size: int = -1) -> bytes:
            data = read(STEP if size is None or size < 0 else min(size, STEP))
            frames.feed(data)
            return data

    context = zstandard.ZstdDecompressor(max_window_size=1 << 23)  # RFC 9659's 8 MiB limit
    # zstandard reads any object with read(); its stubs ask for a full IO[bytes]
    reader = context.stream_reader(_Tapped(), read_size=STEP,  # type: ignore[arg-type]
                                   read_across_frames=True)
    try:
        while True:
            chunk = reader.read(STEP)
            if not chunk:
                break
            yield chunk
    except zstandard.ZstdError as exc:
        raise _Malformed(str(exc)) from None
    frames.check()


_ZSTD_MAGIC = 0xFD2FB528
_SKIPPABLE = 0x184D2A50  # the upper 28 bits of a skippable frame's magic


class ZstdFrames:
    """Follows the frame layout of a zstd stream (RFC 8878 3.1) without decoding it.

    Only the headers are read; block contents are skipped by their declared sizes. After the
    last byte, :meth:`check` says whether the stream ended on a frame boundary: the bounded
    reader stops quietly at the end of its input, so this is how a truncated body is caught.
    Content errors are the decoder's to find.
    """

    def __init__(self) -> None:
        self._skip = 0
        self._buf = b""
        self._need = 4
        self._state = "magic"
        self._frames = 0
        self._checksum = False

    def feed(self, data: bytes) -> None:
        """Account for the next ``data`` of the stream."""
        view = memoryview(data)
        while view:
            if self._skip:
                taken = min(self._skip, len(view))
                self._skip -= taken
                view = view[taken:]
                continue
            taken = min(self._need - len(self._buf), len(view))
            self._buf += bytes(view[:taken])
            view = view[taken:]
            if len(self._buf) == self._need:
                header, self._buf = self._buf, b""
                self._advance(header)

    def _expect(self, state: str, need: int, skip: int = 0) -> None:
        self._state, self._need, self._skip = state, need, skip

    def _advance(self, header: bytes) -> None:
        if self._state == "magic":
            magic = int.from_bytes(header, "little")
            if magic == _ZSTD_MAGIC:
                self._expect("descriptor", 1)
            elif magic & 0xFFFFFFF0 == _SKIPPABLE:
                self._expect("skippable", 4)
            else:
                raise _Malformed("not a zstd frame")
        elif self._state == "skippable":
            self._frames += 1
            self._expect("magic", 4, int.from_bytes(header, "little"))
        elif self._state == "descriptor":
            flags = header[0]
            single_segment = bool(flags & 0x20)
            self._checksum = bool(flags & 0x04)
            size_field = (0, 2, 4, 8)[flags >> 6] or (1 if single_segment else 0)
            rest = (0 if single_segment else 1) + (0, 1, 2, 4)[flags & 0x03] + size_field
            self._expect("block", 3, rest)
        elif self._state == "block":
            value = int.from_bytes(header, "little")
            last, kind, size = value & 1, (value >> 1) & 3, value >> 3
            if kind == 3:
                raise _Malformed("reserved zstd block type")
            content = 1 if kind == 1 else size
            if not last:
                self._expect("block", 3, content)
            else:
                self._frames += 1
                self._expect("magic", 4, content + (4 if self._checksum else 0))

    def check(self) -> None:
        """Raise :class:`_Malformed` unless the stream ended right after a whole frame."""
        if self._frames == 0 and self._state == "magic" and not self._buf and not self._skip:
            return  # no body at all: nothing was encoded, nothing is missing
        if self._state != "magic" or self._buf or self._skip:
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


def decode_chunks(coding: str, read: Reader) -> Iterator[bytes]:
    """Decode the body ``read(n)`` returns, in steps of at most :data:`STEP` bytes.

    ``coding`` is one of :func:`decodable`. Raises ``ValueError`` (the ``_Malformed``
    subclass) for invalid or truncated data, when the step that meets it runs.

    Usage::

        for chunk in decode_chunks("br", io.BytesIO(encoded).read):
            sink.write(chunk)
    """
    return _DECODERS[coding](read)


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
        for chunk in decode_chunks(coding, stream.read):
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
    environ[COMPRESSION_REQUEST_ENCODING] = coding
    del environ["HTTP_CONTENT_ENCODING"]
    return body
