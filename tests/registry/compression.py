"""Compression in its default configuration, with a negotiated coding and a streamed body.

The harness requests ``Accept-Encoding: gzip, br``; the cases also cover zstd, the identity
path (no coding accepted: header-only hook) and request decompression switched on, with a
gzip-encoded request body decoded before every behaviour.
"""

from __future__ import annotations

import gzip
import io
from functools import partial

from middleware.compression import CompressionMiddleware
from registry import Case

_REQUEST_BODY = gzip.compress(b'{"hello": "conformance"}' * 40)


def with_gzip_request(app):
    """Decompressing middleware behind a layer that gives each request a fresh gzip body."""
    middleware = CompressionMiddleware(app, decompress_requests=True)

    def wrapped(environ, start_response):
        environ.update({"wsgi.input": io.BytesIO(_REQUEST_BODY),
                        "CONTENT_LENGTH": str(len(_REQUEST_BODY)),
                        "HTTP_CONTENT_ENCODING": "gzip"})
        return middleware(environ, start_response)
    return wrapped


CASES = {
    "default": Case(CompressionMiddleware),
    "gzip_small_min_size": Case(partial(CompressionMiddleware, encodings=["gzip"], min_size=0)),
    "zstd": Case(partial(CompressionMiddleware, encodings=["zstd"]),
                 environ={"HTTP_ACCEPT_ENCODING": "zstd"}),
    "identity_request": Case(CompressionMiddleware, environ={"HTTP_ACCEPT_ENCODING": "identity"}),
    "decompress_gzip_request": Case(with_gzip_request),
}


def decode_only_with_gzip_request(app):
    """A decode-only layer (``compress_responses=False``), as placed inside authentication."""
    middleware = CompressionMiddleware(app, decompress_requests=True, compress_responses=False)

    def wrapped(environ, start_response):
        environ.update({"wsgi.input": io.BytesIO(_REQUEST_BODY),
                        "CONTENT_LENGTH": str(len(_REQUEST_BODY)),
                        "HTTP_CONTENT_ENCODING": "gzip"})
        return middleware(environ, start_response)
    return wrapped


CASES["decode_only_request"] = Case(decode_only_with_gzip_request)
