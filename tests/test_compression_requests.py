"""Request body decompression: decoded for the app when enabled, bombs and garbage refused."""

from __future__ import annotations

import gzip
import io
import json
import zlib

import brotli
import pytest
import requests
import zstandard
from werkzeug.test import EnvironBuilder

from harness import serve
from middleware.compression import CompressionMiddleware
from servers import serve_in_thread

PAYLOAD = json.dumps([{"id": i, "name": f"item {i}", "tags": ["a", "b"]}
                      for i in range(300)]).encode()

ENCODE = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": zstandard.ZstdCompressor().compress,
}


def echo(environ, start_response):
    """Answers what it read, the Content-Length and Content-Encoding it saw."""
    body = environ["wsgi.input"].read()
    report = json.dumps({
        "length": environ.get("CONTENT_LENGTH"),
        "encoding": environ.get("HTTP_CONTENT_ENCODING"),
        "decoded_from": environ.get("middleware.compression.request_encoding"),
        "read": len(body),
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(report))), ("X-Body-Ok",
                                                                     str(body == PAYLOAD))])
    return [report]


def post(app, data: bytes, encoding: str | None, **extra):
    headers = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
    if encoding is not None:
        headers["Content-Encoding"] = encoding
    environ = EnvironBuilder(method="POST", path="/", data=data, headers=headers).get_environ()
    environ.update(extra)
    return serve(app, environ)


@pytest.mark.parametrize("coding", sorted(ENCODE))
def test_encoded_request_body_reaches_the_app_decoded(coding):
    app = CompressionMiddleware(echo, decompress_requests=True)
    result = post(app, ENCODE[coding](PAYLOAD), coding)
    assert result.status == "200 OK"
    assert result.header("X-Body-Ok") == "True"
    seen = json.loads(result.body)
    assert seen["length"] == str(len(PAYLOAD))
    assert seen["encoding"] is None
    assert seen["decoded_from"] == ("gzip" if coding == "x-gzip" else coding)


def test_request_decompression_is_off_by_default():
    compressed = gzip.compress(PAYLOAD)
    result = post(CompressionMiddleware(echo), compressed, "gzip")
    seen = json.loads(result.body)
    assert seen == {"length": str(len(compressed)), "encoding": "gzip", "decoded_from": None,
                    "read": len(compressed)}


def test_gzip_body_of_several_members_is_decoded_whole():
    half = len(PAYLOAD) // 2
    body = gzip.compress(PAYLOAD[:half]) + gzip.compress(PAYLOAD[half:])
    result = post(CompressionMiddleware(echo, decompress_requests=True), body, "gzip")
    assert result.header("X-Body-Ok") == "True"


def test_identity_request_encoding_is_just_removed():
    result = post(CompressionMiddleware(echo, decompress_requests=True), PAYLOAD, "identity")
    assert result.header("X-Body-Ok") == "True"
    assert json.loads(result.body)["encoding"] is None


def test_request_without_content_encoding_is_untouched():
    result = post(CompressionMiddleware(echo, decompress_requests=True), PAYLOAD, None)
    assert result.header("X-Body-Ok") == "True"


def zstd_bomb(size: int) -> bytes:
    out = io.BytesIO()
    with zstandard.ZstdCompressor(level=19).stream_writer(out, closefd=False) as writer:
        for _ in range(size // (1 << 20)):
            writer.write(bytes(1 << 20))
    return out.getvalue()


BOMB_SIZE = 64 * 1024 * 1024


@pytest.mark.parametrize(("coding", "bomb"), [
    ("gzip", lambda: gzip.compress(bytes(BOMB_SIZE), 9)),
    ("br", lambda: brotli.compress(bytes(BOMB_SIZE), quality=5)),
    ("zstd", lambda: zstd_bomb(BOMB_SIZE)),
])
def test_decompression_bomb_gets_413_before_the_app_runs(coding, bomb):
    called = []

    def app(environ, start_response):
        called.append(True)
        return echo(environ, start_response)
    payload = bomb()
    assert len(payload) < 200_000  # 64 MiB of zeros in a small body
    middleware = CompressionMiddleware(app, decompress_requests=True,
                                       max_decompressed_size=1024 * 1024)
    result = post(middleware, payload, coding)
    assert result.status.startswith("413")
    assert not called


def test_body_exactly_at_the_limit_is_accepted():
    middleware = CompressionMiddleware(echo, decompress_requests=True,
                                       max_decompressed_size=len(PAYLOAD))
    assert post(middleware, gzip.compress(PAYLOAD), "gzip").status == "200 OK"
    middleware.max_decompressed_size = len(PAYLOAD) - 1
    assert post(middleware, gzip.compress(PAYLOAD), "gzip").status.startswith("413")


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_truncated_body_gets_400(coding):
    encoded = ENCODE[coding](PAYLOAD)
    result = post(CompressionMiddleware(echo, decompress_requests=True), encoded[:-8], coding)
    assert result.status.startswith("400")


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_garbage_body_gets_400(coding):
    result = post(CompressionMiddleware(echo, decompress_requests=True),
                  b"this is not compressed at all" * 10, coding)
    assert result.status.startswith("400")
    assert b"cannot be decoded" in result.body


@pytest.mark.parametrize("coding", ["deflate", "br", "zstd"])
def test_trailing_data_after_the_compressed_body_gets_400(coding):
    result = post(CompressionMiddleware(echo, decompress_requests=True),
                  ENCODE[coding](PAYLOAD) + b"junk after the end", coding)
    assert result.status.startswith("400")


@pytest.mark.parametrize("header", ["compress", "gzip, br", "lzma"])
def test_unknown_or_stacked_request_coding_gets_415_listing_what_is_understood(header):
    result = post(CompressionMiddleware(echo, decompress_requests=True), PAYLOAD, header)
    assert result.status.startswith("415")
    assert result.header("Accept-Encoding") == "gzip, deflate, br, zstd"


def test_encoded_body_without_length_on_an_unterminated_input_gets_411():
    environ = EnvironBuilder(method="POST", data=gzip.compress(PAYLOAD),
                             headers={"Content-Encoding": "gzip"}).get_environ()
    del environ["CONTENT_LENGTH"]
    result = serve(CompressionMiddleware(echo, decompress_requests=True), environ)
    assert result.status.startswith("411")


def test_real_server_decodes_a_gzip_post_and_compresses_the_answer():
    def app(environ, start_response):
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    with serve_in_thread(CompressionMiddleware(app, decompress_requests=True)) as url:
        response = requests.post(url, data=gzip.compress(PAYLOAD), headers={
            "Content-Encoding": "gzip", "Content-Type": "application/json",
            "Accept-Encoding": "br"})
        bomb = requests.post(url, data=gzip.compress(bytes(20 * 1024 * 1024)),
                             headers={"Content-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "br"
    assert response.content == PAYLOAD  # requests decoded the brotli answer
    assert bomb.status_code == 413


def test_real_server_decodes_a_chunked_upload_without_content_length():
    def app(environ, start_response):
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    encoded = zstandard.ZstdCompressor().compress(PAYLOAD)
    pieces = (encoded[i:i + 100] for i in range(0, len(encoded), 100))
    with serve_in_thread(CompressionMiddleware(app, decompress_requests=True)) as url:
        response = requests.post(url, data=pieces, headers={
            "Content-Encoding": "zstd", "Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.content == PAYLOAD
