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


# -- every valid body decodes, in bounded steps (issue 14, items 13 and 14) -----------------

def _random_text(rng, size: int) -> bytes:
    words = [bytes(rng.choice(b"abcdefghijklmnop") for _ in range(rng.randint(1, 9)))
             for _ in range(400)]
    out, total = [], 0
    while total < size:
        word = rng.choice(words)
        out.append(word)
        total += len(word) + 1
    return b" ".join(out)[:size]


def _zstd_streamed(data: bytes) -> bytes:
    out = io.BytesIO()
    with zstandard.ZstdCompressor().stream_writer(out, closefd=False) as writer:
        writer.write(data)
    return out.getvalue()


@pytest.mark.parametrize("coding", sorted(ENCODE))
def test_large_valid_bodies_decode_exactly(coding):
    """brotli bodies over about 98 KiB decoded were refused as truncated: output still inside
    the decoder after the last input was never asked for."""
    import random

    rng = random.Random(13)
    encode = _zstd_streamed if coding == "zstd" else ENCODE[coding]
    for size in (99_000, 150_000, 298_427, 700_000):
        data = _random_text(rng, size)
        app = CompressionMiddleware(lambda e, s: (s("200 OK", [("Content-Type", "text/plain")]),
                                                  [e["wsgi.input"].read()])[1],
                                    decompress_requests=True, max_decompressed_size=1 << 21)
        result = post(app, encode(data), coding)
        assert result.status.startswith("200"), (size, result.status, result.body[:120])
        assert result.body == data, size


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
@pytest.mark.parametrize("kind", ["bomb", "text", "random"])
def test_every_decoding_step_is_at_most_step_bytes(coding, kind):
    """The documented bound: one step never produces more than 64 KiB (zstd gave 2 MiB)."""
    import os

    from middleware.compression.request_body import STEP, decode_chunks

    data = {"bomb": bytes(24 << 20), "text": _random_text(__import__("random").Random(14),
                                                          3 << 20),
            "random": os.urandom(1 << 20)}[kind]
    encoded = _zstd_streamed(data) if coding == "zstd" else ENCODE[coding](data)
    total = 0
    for chunk in decode_chunks(coding, io.BytesIO(encoded).read):
        assert len(chunk) <= STEP
        total += len(chunk)
    assert total == len(data)


@pytest.mark.parametrize("cut", [1, 3, 5, 9, 100])
def test_a_truncated_zstd_body_is_refused_wherever_it_is_cut(cut):
    encoded = _zstd_streamed(PAYLOAD * 20)
    result = post(CompressionMiddleware(echo, decompress_requests=True), encoded[:-cut], "zstd")
    assert result.status.startswith("400"), result.status
    frames = zstandard.ZstdCompressor(write_checksum=True).compress(PAYLOAD)
    assert post(CompressionMiddleware(echo, decompress_requests=True), frames[:-cut],
                "zstd").status.startswith("400")


def test_concatenated_and_skippable_zstd_frames_are_one_body():
    skippable = (0x184D2A5A).to_bytes(4, "little") + (3).to_bytes(4, "little") + b"abc"
    half = len(PAYLOAD) // 2
    body = (ENCODE["zstd"](PAYLOAD[:half]) + skippable + _zstd_streamed(PAYLOAD[half:]))
    result = post(CompressionMiddleware(echo, decompress_requests=True), body, "zstd")
    assert result.status.startswith("200") and result.header("X-Body-Ok") == "True"


def test_a_decode_only_layer_inside_auth_never_inflates_for_anonymous_clients():
    """The placement the docs recommend: responses encoded outside, request bodies decoded
    only after authentication. An anonymous bomb gets 401 (decoding first would say 413)."""
    import bcrypt

    from middleware import AuthMiddleware, BasicAuth, Pipeline

    def app(environ, start_response):
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    users = {"alice": bcrypt.hashpw(b"pw-alice", bcrypt.gensalt(rounds=4)).decode()}
    stack = (Pipeline()
             .use(CompressionMiddleware)
             .use(AuthMiddleware, backends=[BasicAuth(users=users)])
             .use(CompressionMiddleware, compress_responses=False, decompress_requests=True,
                  max_decompressed_size=1 << 20)
             .wrap(app))
    bomb = brotli.compress(bytes(8 << 20))
    headers = {"Content-Encoding": "br", "Content-Type": "application/json",
               "Accept-Encoding": "gzip"}
    with serve_in_thread(stack) as url:
        anonymous = requests.post(url, data=bomb, headers=headers, timeout=10)
        known = requests.post(url, data=bomb, headers=headers, auth=("alice", "pw-alice"),
                              timeout=10)
        valid = requests.post(url, data=brotli.compress(PAYLOAD), headers=headers,
                              auth=("alice", "pw-alice"), timeout=10)
    assert anonymous.status_code == 401
    assert known.status_code == 413
    assert valid.status_code == 200 and valid.content == PAYLOAD
    assert valid.headers["Content-Encoding"] == "gzip"  # the outer layer still encodes


def test_compress_responses_false_leaves_responses_alone_and_needs_decoding():
    app = CompressionMiddleware(echo, compress_responses=False, decompress_requests=True)
    result = post(app, ENCODE["gzip"](PAYLOAD), "gzip", HTTP_ACCEPT_ENCODING="gzip")
    assert result.status.startswith("200") and result.header("X-Body-Ok") == "True"
    assert result.header("Content-Encoding") is None and result.header("Vary") is None
    with pytest.raises(ValueError, match="compress_responses"):
        CompressionMiddleware(echo, compress_responses=False)
    with pytest.raises(TypeError, match="compress_responses"):
        CompressionMiddleware(echo, compress_responses="no", decompress_requests=True)
