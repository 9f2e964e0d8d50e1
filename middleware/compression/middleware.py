"""The :class:`CompressionMiddleware` class (see the package docstring for the user guide)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache, partial
from typing import TYPE_CHECKING

from middleware.config import as_bool, as_int, as_list, filter_app_factory
from middleware.environ import COMPRESSION_DISABLE, COMPRESSION_ENCODING
from middleware.options import check_bool, check_int, check_strings
from middleware.wsgi import (
    Body,
    OptExcInfo,
    Response,
    call_app,
    is_file_wrapper,
    simple_response,
)

from .encoders import KNOWN, Encoder, Stream, available, make_encoder
from .negotiation import negotiate
from .request_body import RequestRejected, decode_request
from .rules import (
    DEFAULT_MIME_TYPES,
    WATCHED,
    MimeTypes,
    encoded_headers,
    forbids_transform,
    weak_etag,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["DISABLE_KEY", "ENCODING_KEY", "CompressionMiddleware", "filter_factory"]

#: Set this environ key to a true value (before or while the app answers) to skip compression
#: (an alias of :data:`middleware.environ.COMPRESSION_DISABLE`).
DISABLE_KEY = COMPRESSION_DISABLE
#: The middleware records the coding it applied to the response here.
ENCODING_KEY = COMPRESSION_ENCODING


class CompressionMiddleware:
    """Compress responses with brotli, zstd or gzip, as the client accepts.

    :param app: the WSGI application to wrap.
    :param encodings: codings to offer, in server preference order; any of ``"br"``,
        ``"zstd"``, ``"gzip"`` and ``"deflate"``. ``zstd`` is skipped when the ``zstandard``
        package is not installed.
    :param min_size: bodies of known length below this many bytes are sent as they are.
    :param gzip_level: zlib level for ``gzip`` and ``deflate``, 1..9.
    :param brotli_quality: brotli quality, 0..11 (streams use at least 2).
    :param zstd_level: zstd level, 1..19 (higher levels make windows browsers refuse).
    :param mime_types: media type patterns to compress: ``type/subtype``, ``type/*``,
        ``type/*+suffix`` (default: text, JSON, JavaScript, XML, SVG, wasm, fonts that are not
        compressed already).
    :param exclude_paths: ``PATH_INFO`` values never compressed; ``"/events"`` also covers
        ``"/events/..."``.
    :param decompress_requests: decode request bodies sent with ``Content-Encoding``
        (``gzip``, ``br``, ``zstd``, ``deflate``) before the application reads them.
    :param max_decompressed_size: largest decoded request body, in bytes; larger gets 413.
    :param compress_responses: encode responses (default). ``False`` makes a layer that only
        decodes request bodies, to place inside authentication so that anonymous clients
        cannot make the server inflate anything (see docs/compression.md, "Request bodies").

    Usage::

        app = CompressionMiddleware(app, min_size=1024, exclude_paths=["/downloads"])
    """

    def __init__(self, app: WSGIApplication, encodings: Iterable[str] = ("br", "zstd", "gzip"),
                 min_size: int = 500, gzip_level: int = 6, brotli_quality: int = 4,
                 zstd_level: int = 3, mime_types: Iterable[str] = DEFAULT_MIME_TYPES,
                 exclude_paths: Iterable[str] = (), decompress_requests: bool = False,
                 max_decompressed_size: int = 10 * 1024 * 1024,
                 compress_responses: bool = True) -> None:
        if not callable(app):
            raise TypeError("app must be a WSGI callable")
        self.app = app
        self.min_size: int = check_int("min_size", min_size, low=0)
        self.gzip_level = check_int("gzip_level", gzip_level, low=1, high=9)
        self.brotli_quality = check_int("brotli_quality", brotli_quality, low=0, high=11)
        self.zstd_level = check_int("zstd_level", zstd_level, low=1, high=19)
        self.max_decompressed_size = check_int("max_decompressed_size", max_decompressed_size,
                                               low=1)
        self.decompress_requests = check_bool("decompress_requests", decompress_requests)
        check_bool("compress_responses", compress_responses)
        if not compress_responses and not decompress_requests:
            raise ValueError("compress_responses=False needs decompress_requests=True "
                             "(the layer would do nothing)")
        self.compress_responses = compress_responses
        self.encodings = self._usable_encodings(check_strings("encodings", encodings))
        self.mime_types = check_strings("mime_types", mime_types)
        self._mime = MimeTypes(self.mime_types)
        self.exclude_paths = check_strings("exclude_paths", exclude_paths)
        for path in self.exclude_paths:
            if not path.startswith("/"):
                raise ValueError(f"exclude_paths: {path!r} must start with '/'")
        self._excluded_prefixes = tuple(p.rstrip("/") + "/" for p in self.exclude_paths)
        self._encoders: dict[str, Encoder] = {
            name: make_encoder(name, gzip_level=gzip_level, brotli_quality=brotli_quality,
                               zstd_level=zstd_level)
            for name in self.encodings
        }
        self._options_to_check = (decompress_requests or not compress_responses
                                  or bool(self.exclude_paths))
        self._vary_seen: dict[tuple[str, str | None, str | None], bool] = {}
        self._header_kinds: dict[str, str] = {}
        # Clients send a handful of distinct headers: parse each once.
        self._negotiate: Callable[[str | None], str | None] = lru_cache(maxsize=256)(
            partial(negotiate, encodings=self.encodings))

    @staticmethod
    def _usable_encodings(names: tuple[str, ...]) -> tuple[str, ...]:
        wanted: list[str] = []
        for name in names:
            name = name.strip().lower()
            if name not in KNOWN:
                raise ValueError(f"encodings: unknown coding {name!r} "
                                 f"(known: {', '.join(KNOWN)})")
            if name not in wanted:
                wanted.append(name)
        usable = tuple(name for name in wanted if name in available())
        if not usable:
            raise ValueError(f"encodings: none of {list(names)!r} is usable here "
                             "(zstd needs the 'zstandard' package)")
        return usable

    def __repr__(self) -> str:
        if not self.compress_responses:
            return (f"CompressionMiddleware(compress_responses=False, decompress_requests=True, "
                    f"max_decompressed_size={self.max_decompressed_size!r})")
        return (f"CompressionMiddleware(encodings={self.encodings!r}, "
                f"min_size={self.min_size!r})")

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self._options_to_check:
            if self.decompress_requests and "HTTP_CONTENT_ENCODING" in environ:
                return self._with_decoded_request(environ, start_response)
            if not self.compress_responses or self._is_excluded(environ.get("PATH_INFO", "")):
                return self.app(environ, start_response)
        # DISABLE_KEY is read when the app starts the response (it may set it while answering)
        accept = environ.get("HTTP_ACCEPT_ENCODING")
        if accept:  # decided from Accept-Encoding first: most clients send one
            coding = self._negotiate(accept)
            if coding is not None:
                return self._respond(environ, start_response, coding)

        # A client that takes no coding: nothing is held or encoded, only ``Vary`` goes on what
        # another client would get encoded. A response whose only watched headers are one
        # Content-Type and one Cache-Control takes one look per header name, one remembered
        # _eligible answer and one new list (the application's stays its own); the others go
        # through _on_start.
        def start(status: str, headers: list[tuple[str, str]],
                  exc_info: OptExcInfo | None = None) -> Callable[[bytes], object]:
            content_type = cache_control = None
            kinds = self._header_kinds
            for name, value in headers:
                kind = kinds.get(name) or self._kind(name)
                if kind is _OTHER:
                    continue
                if kind is _CONTENT_TYPE and content_type is None:
                    content_type = value
                elif kind is _CACHE_CONTROL and cache_control is None:
                    cache_control = value
                else:  # a header to edit, or a second line of a watched one
                    response = Response(start_response,
                                        partial(self._on_start, environ, None, False))
                    return response.start_response(status, headers, exc_info)
            eligible = self._vary_seen.get((status, content_type, cache_control))
            if eligible is None:
                eligible = self._vary_rule(status, content_type, cache_control)
            if eligible and not environ.get(DISABLE_KEY):
                headers = [*headers, _VARY]
            return start_response(status, headers, exc_info)

        return self.app(environ, start)

    def _respond(self, environ: WSGIEnvironment, start_response: StartResponse,
                 coding: str) -> Iterable[bytes]:
        """Answer a client that takes ``coding``: encode what the rules allow."""
        head = environ.get("REQUEST_METHOD") == "HEAD"
        response = Response(start_response, partial(self._on_start, environ, coding, head))
        app_iter = call_app(self.app, environ, response)
        if not response.hold:
            return app_iter  # headers only (or nothing) changed: the body is the app's
        return self._encoded(environ, response, app_iter, coding)

    def _kind(self, name: str) -> str:
        """What a header name is to a response without coding, remembered per spelling:
        ``_CONTENT_TYPE``, ``_CACHE_CONTROL``, ``_EDITED`` or ``_OTHER``."""
        lowered = name.lower()
        kind = (_CONTENT_TYPE if lowered == "content-type" else
                _CACHE_CONTROL if lowered == "cache-control" else
                _EDITED if lowered in _PASS_EDITED else _OTHER)
        if len(self._header_kinds) < 1024:
            self._header_kinds[name] = kind
        return kind

    def _vary_rule(self, status: str, content_type: str | None,
                   cache_control: str | None) -> bool:
        """:meth:`_eligible` for a response with only these watched headers, remembered."""
        found = {"content-type": content_type, "cache-control": cache_control}
        eligible = self._eligible(int(status[:3]), {k: v for k, v in found.items()
                                                    if v is not None})
        if len(self._vary_seen) < 512:  # apps send a handful of distinct ones
            self._vary_seen[status, content_type, cache_control] = eligible
        return eligible

    def _with_decoded_request(self, environ: WSGIEnvironment,
                              start_response: StartResponse) -> Iterable[bytes]:
        """Decode the request body first (or refuse it), then answer as usual."""
        try:
            decoded = decode_request(environ, self.max_decompressed_size)
        except RequestRejected as rejected:
            return simple_response(start_response, rejected.status,
                                   rejected.message.encode() + b"\n", headers=rejected.headers)
        if decoded is None:
            return self(environ, start_response)
        try:
            inner = self(environ, start_response)
        except BaseException:
            decoded.close()
            raise
        return Body(inner, inner, decoded)  # removes the spooled file with the response

    def _is_excluded(self, path: str) -> bool:
        return bool(self.exclude_paths) and (
            path in self.exclude_paths or path.startswith(self._excluded_prefixes))

    @staticmethod
    def _opted_out(environ: WSGIEnvironment, response: Response, fields: dict[str, str]) -> bool:
        """The app's per-response opt-out: ``Content-Encoding: identity`` or the environ flag."""
        encoding = fields.get("content-encoding")
        if encoding is not None and encoding.strip().lower() == "identity":
            response.pop("Content-Encoding")
            return True
        return bool(environ.get(DISABLE_KEY))

    def _eligible(self, code: int, fields: dict[str, str]) -> bool:
        """Whether a response of this status and headers may be compressed at all."""
        if code < 200 or code in (204, 206) or "content-range" in fields:
            return False
        if "content-encoding" in fields or forbids_transform(fields.get("cache-control")):
            return False
        if code == 304:  # carries no body, and often no Content-Type
            return "content-type" not in fields or fields["content-type"] in self._mime
        return fields.get("content-type") in self._mime

    def _too_small(self, fields: dict[str, str]) -> bool:
        length = fields.get("content-length")
        if length is None or not length.isdigit():
            return False
        return int(length) < self.min_size

    @staticmethod
    def _weaken(response: Response, fields: dict[str, str]) -> None:
        etag = fields.get("etag")
        if etag is not None and not etag.startswith("W/"):
            weak = weak_etag(etag)
            if weak is None:
                response.pop("ETag")
            else:
                response.set("ETag", weak)

    def _on_start(self, environ: WSGIEnvironment, coding: str | None, head: bool,
                  response: Response) -> None:
        """The header rules, applied once when the app starts the response.

        ``Vary`` goes on every eligible response, encoded or not: caches must know another
        client may get another variant. A HEAD response (or a 304) gets the weak ``ETag`` its
        GET would carry, so caches holding the encoded response do not take it as a changed
        resource. A response that may be encoded is held (:attr:`Response.state` keeps the
        headers read here) until the body is in view.
        """
        response.state = None
        fields = response.fields(WATCHED)
        code = int(response.status[:3])
        if "content-encoding" in fields or "content-range" in fields or environ.get(DISABLE_KEY):
            if self._opted_out(environ, response, fields) or not self._eligible(code, fields):
                return
        else:  # only Content-Type and Cache-Control decide: the answer is remembered
            eligible = self._vary_seen.get((response.status, fields.get("content-type"),
                                            fields.get("cache-control")))
            if eligible is None:
                eligible = self._vary_rule(response.status, fields.get("content-type"),
                                           fields.get("cache-control"))
            if not eligible:
                return
        if coding is not None and not head and code != 304 and not self._too_small(fields):
            # Held: Vary goes on with the other edits, in one pass, once the body is in view.
            response.hold = True
            response.state = fields
            return
        response.vary("Accept-Encoding")
        if coding is not None and (code == 304 or not self._too_small(fields)):
            self._weaken(response, fields)  # a HEAD or a 304: the tag its GET would carry

    def _encoded(self, environ: WSGIEnvironment, response: Response,
                 app_iter: Iterable[bytes], coding: str) -> Iterable[bytes]:
        """Encode the body of a held response, one-shot when it is in memory, else streamed."""
        fields: dict[str, str] | None = response.state  # type: ignore[assignment]
        if fields is None:  # held once, but a restart with exc_info made it ineligible
            return response.send(app_iter)
        chunks = response.known_body(app_iter)
        if chunks is not None:  # in memory: one shot; the original when small or it would grow
            data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            if len(data) >= self.min_size:
                encoded = self._encoders[coding].compress(data)
                if len(encoded) < len(data):
                    self._mark_encoded(environ, response, coding, len(encoded))
                    return response.send_instead([encoded], app_iter)
            response.vary("Accept-Encoding")
            return response.send(app_iter)
        # A body whose length the app knew up front is a download, not a live feed: chunks
        # need no flush (each costs a few bytes), the compressor fills its blocks instead.
        live = "content-length" not in fields and not is_file_wrapper(app_iter, environ)
        self._mark_encoded(environ, response, coding, None)
        stream = self._encoders[coding].stream(flush=live)
        return response.send(app_iter, partial(_encode_stream, stream, response))

    @staticmethod
    def _mark_encoded(environ: WSGIEnvironment, response: Response, coding: str,
                      length: int | None) -> None:
        """The headers of the encoded variant, in one pass (:func:`encoded_headers`)."""
        response.replace_headers(response.status,
                                 encoded_headers(response.headers, coding, length))
        environ[ENCODING_KEY] = coding


#: watched headers a response without a coding may need edited (merged or removed)
_PASS_EDITED = frozenset({"content-encoding", "content-range", "vary"})
_CONTENT_TYPE, _CACHE_CONTROL, _EDITED, _OTHER = "content-type", "cache-control", "edited", "-"
_VARY = ("Vary", "Accept-Encoding")


def _encode_stream(stream: Stream, response: Response,
                   chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Encode each chunk as it comes (flushed, unless the stream says otherwise).

    An empty chunk yields an empty chunk, so the server sees every block boundary the app
    made (PEP 3333). If the app restarted the response with ``exc_info`` before any byte went
    out, its new body goes out unencoded, as its new headers say.
    """
    step = stream.step
    for chunk in chunks:
        if response.restarted:
            yield chunk
        else:
            yield step(chunk) if chunk else b""
    if not response.restarted:
        yield stream.finish()


#: PasteDeploy ``paste.filter_app_factory`` entry points ``compression`` and ``gzip``
filter_factory = filter_app_factory(CompressionMiddleware, {
    "encodings": as_list,
    "min_size": as_int,
    "gzip_level": as_int,
    "brotli_quality": as_int,
    "zstd_level": as_int,
    "mime_types": as_list,
    "exclude_paths": as_list,
    "decompress_requests": as_bool,
    "max_decompressed_size": as_int,
    "compress_responses": as_bool,
}, "compression")
