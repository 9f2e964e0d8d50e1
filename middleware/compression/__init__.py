"""Response compression: brotli, zstd and gzip, correct for streaming and for caches.

:class:`CompressionMiddleware` encodes response bodies in the best coding the client accepts
(``Accept-Encoding``, negotiated per RFC 9110 with q-values, ``identity``, ``*`` and ``q=0``).
A body the application returned as a list is encoded in one go with an exact
``Content-Length``; a streamed body (a generator) stays streamed: each chunk is encoded and
flushed as it comes, so server-sent events and progress pages reach the client at once, and
memory is bounded by the size of a chunk. (A stream whose ``Content-Length`` the app declared,
or a ``wsgi.file_wrapper``, is a download rather than a live feed: it is encoded without the
per-chunk flushes, which cost a few bytes each.)

When NOT to use it
    * Behind a proxy or CDN that already compresses (nginx ``gzip on``, Cloudflare): the work
      is done twice, or the proxy passes our encoding through and caches it per client.
    * For static files you can precompress at build time (whitenoise serves ``.br``/``.gz``
      files with maximum quality at no per-request cost; those responses carry
      ``Content-Encoding`` and are left alone here anyway).
    * For pages that mix a secret (a CSRF token) with text the attacker can choose and reflect:
      compression lets an attacker who can watch sizes guess the secret (BREACH). Mask the
      secret per response, or exclude those paths.

What is never compressed
    ``HEAD`` requests; 1xx, 204, 206 and 304 responses and any ``Content-Range``; responses
    that already have ``Content-Encoding``; ``Cache-Control: no-transform``; types outside
    ``mime_types`` (images, video, archives are compressed already); paths in
    ``exclude_paths``; bodies of known length below ``min_size``; a one-shot body whose
    encoded form would not be smaller.

Opting out per response
    The application sends ``Content-Encoding: identity`` (the middleware removes the header)
    or sets ``environ["middleware.compression.disable"] = True``.

Headers
    ``Vary: Accept-Encoding`` is merged into every response that could be encoded, including
    ones sent unencoded because of the client's header (caches must not hand the plain
    variant to every client either). A strong ``ETag`` becomes weak (``W/"..."``) on encoded
    responses, and on the 304s and HEADs of clients that accept a coding, so
    ``If-None-Match`` still matches (weak comparison) and the application keeps answering 304. ``Accept-Ranges`` is dropped from encoded responses.
    The applied coding is recorded in ``environ["middleware.compression.encoding"]``.

Options (all keyword, validated at construction)
    ``encodings=("br", "zstd", "gzip")``: offered codings in server preference order
    (``deflate`` on request; ``zstd`` only with the ``zstandard`` package installed).
    ``min_size=500``; ``gzip_level=6``; ``brotli_quality=4``; ``zstd_level=3``;
    ``mime_types=DEFAULT_MIME_TYPES`` (``type/subtype``, ``type/*``, ``type/*+suffix``);
    ``exclude_paths=()`` (``"/events"`` covers ``/events`` and ``/events/...``);
    ``decompress_requests=False`` and ``max_decompressed_size=10 MiB`` for encoded request
    bodies (see :mod:`middleware.compression.request_body`: 413 past the limit, 400 for bad
    data, 415 for unknown codings); ``compress_responses=True`` (``False`` for a layer that
    only decodes request bodies).

Request bodies are decoded before every layer inside this one runs, authentication included:
an anonymous client can make the server inflate up to ``max_decompressed_size`` per request.
When only authenticated clients send encoded bodies, decode inside authentication::

    app = (Pipeline()
           .use(ErrorPageMiddleware)
           .use(CompressionMiddleware)                      # responses
           .use(SessionMiddleware, secret_key=KEY)
           .use(AuthMiddleware, backends=[...])
           .use(CompressionMiddleware, compress_responses=False, decompress_requests=True,
                max_decompressed_size=2 * 1024 * 1024)     # request bodies, known clients only
           .wrap(api))

Usage::

    from middleware import CompressionMiddleware

    app = CompressionMiddleware(app, min_size=1024, exclude_paths=["/downloads"])

In a PasteDeploy file (``compression`` and ``gzip`` are the same filter)::

    [filter:compress]
    use = egg:wsgi-middleware-suite#compression
    encodings = br, gzip
    min_size = 1024
    exclude_paths = /downloads, /metrics
"""

from __future__ import annotations

from .encoders import available
from .middleware import DISABLE_KEY, ENCODING_KEY, CompressionMiddleware, filter_factory
from .negotiation import negotiate
from .rules import DEFAULT_MIME_TYPES

__all__ = [
    "DEFAULT_MIME_TYPES",
    "DISABLE_KEY",
    "ENCODING_KEY",
    "CompressionMiddleware",
    "available",
    "filter_factory",
    "negotiate",
]
