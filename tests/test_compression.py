"""CompressionMiddleware: negotiation, encodings, skip rules and header rules, in process.

Every encoded body is decoded with the real decoder of its coding (gzip, brotli, zstandard).
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import zlib
from wsgiref.util import FileWrapper

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response as WerkzeugResponse

from harness import make_environ, serve
from middleware.compression import CompressionMiddleware, negotiate
from middleware.compression.negotiation import parse_accept_encoding
from support.codings import decode, decoder

PAGE = b"<!doctype html><title>page</title>" + b"<p>compress me, please</p>\n" * 200
SERVER_ORDER = ("br", "zstd", "gzip")


def app_for(body=PAGE, status="200 OK", content_type="text/html; charset=utf-8",
            headers=(), length=True, stream=False):
    """An app answering ``body`` as a list (with Content-Length) or as a generator."""
    def app(environ, start_response):
        response_headers = [("Content-Type", content_type)] if content_type else []
        if length and not stream:
            response_headers.append(("Content-Length", str(len(body))))
        response_headers.extend(headers)
        start_response(status, response_headers)
        if stream:
            return iter([body[i:i + 1000] for i in range(0, len(body), 1000)])
        return [body]
    return app


def get(app, accept="gzip, deflate, br, zstd", **extra):
    environ = make_environ(**extra)
    if accept is None:
        environ.pop("HTTP_ACCEPT_ENCODING", None)
    else:
        environ["HTTP_ACCEPT_ENCODING"] = accept
    return serve(app, environ)


# -- negotiation ---------------------------------------------------------------------------

@pytest.mark.parametrize(("header", "expected"), [
    ("gzip", "gzip"),
    ("GZIP", "gzip"),
    ("x-gzip", "gzip"),
    ("  gzip ;  q=0.5 ,  br ; q=0.4", "gzip"),
    ("gzip, br", "br"),                                # a tie goes to the server's order
    ("gzip, zstd", "zstd"),
    ("zstd;q=0.8, br;q=0.9, gzip;q=0.5", "br"),        # the highest q wins
    ("deflate, br;q=0.999", "br"),                     # deflate is not offered
    ("gzip;q=0", None),                                # q=0 refuses
    ("gzip;Q=0", None),
    ("br;q=0, gzip", "gzip"),
    ("*", "br"),
    ("*;q=0", None),
    ("*;q=0, gzip", "gzip"),
    ("gzip;q=0, *", "br"),                             # an explicit entry beats *
    ("identity", None),
    ("identity;q=1, br;q=0.5, *;q=0", None),           # identity preferred
    ("identity;q=1, *;q=0", None),                     # Chrome's Range requests
    ("identity;q=0.5, gzip", "gzip"),
    ("identity;q=0, gzip;q=0.1", "gzip"),
    ("compress, lzma", None),                          # nothing we have
    ("", None),                                        # empty: no coding wanted
    ("gzip;q=2", None),                                # malformed q
    ("gzip;q=foo, br", None),                          # malformed anything: identity
    ("gzip;level=9", None),                            # parameters other than q
    ("gzip br", None),                                 # not a token
    ("gzip, " + "x" * 3000, None),                     # absurdly long
    (",,gzip,,", "gzip"),                              # empty list items are allowed
])
def test_negotiation_follows_rfc_9110(header, expected):
    assert negotiate(header, SERVER_ORDER) == expected


@given(st.text(alphabet=st.sampled_from(list("gzipbrstd*xy-;=q0.1 ,\t\"")), max_size=40))
def test_any_accept_encoding_negotiates_without_error(header):
    assert negotiate(header, SERVER_ORDER) in (None, *SERVER_ORDER)


def test_negotiation_without_a_header_means_identity():
    assert negotiate(None, SERVER_ORDER) is None


def test_parse_accept_encoding_keeps_the_best_weight_of_a_repeated_coding():
    assert parse_accept_encoding("gzip;q=0.2, x-gzip;q=0.7") == {"gzip": 0.7}


def test_malformed_accept_encoding_is_answered_uncompressed_not_with_an_error():
    result = get(CompressionMiddleware(app_for()), accept='gzip;q="; br;;q=x, \x00')
    assert result.status == "200 OK"
    assert result.header("Content-Encoding") is None
    assert result.body == PAGE


# -- encodings: one shot ------------------------------------------------------------------

@pytest.mark.parametrize("coding", ["br", "zstd", "gzip", "deflate"])
def test_list_body_is_encoded_in_one_shot_with_exact_content_length(coding):
    app = CompressionMiddleware(app_for(), encodings=[coding])
    result = get(app, accept=coding)
    assert result.header("Content-Encoding") == coding
    assert int(result.header("Content-Length")) == len(result.body) < len(PAGE)
    assert decode(result.body, coding) == PAGE
    assert result.header("Vary") == "Accept-Encoding"


def test_server_preference_order_is_configurable():
    app = CompressionMiddleware(app_for(), encodings=["gzip", "br"])
    assert get(app, accept="br, gzip").header("Content-Encoding") == "gzip"


def test_default_order_prefers_brotli_then_zstd():
    app = CompressionMiddleware(app_for())
    assert get(app, accept="gzip, zstd, br").header("Content-Encoding") == "br"
    assert get(app, accept="gzip, zstd").header("Content-Encoding") == "zstd"


def test_write_callable_output_is_encoded_with_the_rest_of_the_body():
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(PAGE[:100])
        return [PAGE[100:]]
    result = get(CompressionMiddleware(app), accept="gzip")
    assert gzip.decompress(result.body) == PAGE
    assert int(result.header("Content-Length")) == len(result.body)


def test_gzip_output_is_deterministic():
    app = CompressionMiddleware(app_for(), encodings=["gzip"])
    first, second = get(app).body, get(app).body
    assert first == second
    assert first[4:8] == b"\0\0\0\0"  # mtime 0


def test_levels_change_the_output():
    sizes = {level: len(get(CompressionMiddleware(app_for(), encodings=["gzip"],
                                                  gzip_level=level)).body) for level in (1, 9)}
    assert sizes[9] < sizes[1]
    bodies = {q: get(CompressionMiddleware(app_for(), encodings=["br"],
                                           brotli_quality=q)).body for q in (0, 11)}
    assert bodies[0] != bodies[11]


# -- encodings: streams -------------------------------------------------------------------

@pytest.mark.parametrize("coding", ["br", "zstd", "gzip", "deflate"])
def test_each_streamed_chunk_decodes_on_its_own_as_soon_as_it_is_sent(coding):
    events = [b"data: event %d\n\n" % i for i in range(5)]
    seen = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        for event in events:
            seen.append(event)
            yield event

    body = CompressionMiddleware(app, encodings=[coding])(
        make_environ(HTTP_ACCEPT_ENCODING=coding), lambda status, headers, exc_info=None: None)
    feed = decoder(coding)
    try:
        for index, chunk in enumerate(body):
            if index < len(events):
                # The app has produced exactly this event, and its bytes decode to it.
                assert len(seen) == index + 1
                assert feed(chunk) == events[index]
            else:
                assert feed(chunk) == b""  # the end of the stream carries no data
    finally:
        body.close()


@pytest.mark.parametrize("coding", ["br", "zstd", "gzip"])
def test_streamed_body_loses_content_length_and_decodes_to_the_whole(coding):
    app = CompressionMiddleware(app_for(stream=True, headers=[("Content-Length",
                                                                 str(len(PAGE)))]))
    result = get(app, accept=coding)
    assert result.header("Content-Encoding") == coding
    assert result.header("Content-Length") is None
    assert decode(result.body, coding) == PAGE


@pytest.mark.parametrize("coding", ["br", "zstd", "gzip"])
def test_an_empty_stream_is_still_a_valid_encoded_body(coding):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield from ()
    result = get(CompressionMiddleware(app), accept=coding)
    assert result.header("Content-Encoding") == coding
    assert decode(result.body, coding) == b""


def test_empty_chunks_pass_through_as_empty_chunks():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b""
        yield b"x" * 600
        yield b""
    body = list(CompressionMiddleware(app, encodings=["gzip"])(
        make_environ(HTTP_ACCEPT_ENCODING="gzip"), lambda *a: None))
    assert body[0] == b"" and body[2] == b""
    assert gzip.decompress(b"".join(body)) == b"x" * 600


def test_streamed_zstd_frames_never_declare_a_window_browsers_refuse():
    app = CompressionMiddleware(app_for(stream=True, body=os.urandom(50) * 4000),
                                encodings=["zstd"], zstd_level=19)
    body = get(app, accept="zstd").body
    assert zstandard.get_frame_parameters(body).window_size <= 8 * 1024 * 1024


def test_stream_of_declared_length_is_encoded_without_per_chunk_flushes():
    live = get(CompressionMiddleware(app_for(stream=True)), accept="gzip").body
    declared = app_for(stream=True, headers=[("Content-Length", str(len(PAGE)))])
    result = get(CompressionMiddleware(declared), accept="gzip")
    assert result.header("Content-Length") is None
    assert gzip.decompress(result.body) == PAGE
    assert len(result.body) < len(live)


def test_file_wrapper_body_is_encoded_without_per_chunk_flushes():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/css"),
                                  ("Content-Length", str(len(PAGE)))])
        return environ["wsgi.file_wrapper"](io.BytesIO(PAGE), 512)
    flushed = get(CompressionMiddleware(app_for(stream=True)), accept="gzip").body
    result = get(CompressionMiddleware(app), accept="gzip", **{"wsgi.file_wrapper": FileWrapper})
    assert result.header("Content-Length") is None
    assert gzip.decompress(result.body) == PAGE
    assert len(result.body) < len(flushed)


def test_exc_info_restart_before_any_byte_sends_the_error_body_unencoded():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html")])

        def body():
            try:
                raise KeyError("boom")
            except KeyError:
                start_response("500 Internal Server Error",
                               [("Content-Type", "text/plain")], sys.exc_info())
            yield b"failed"
        return body()
    result = get(CompressionMiddleware(app), accept="gzip")
    assert result.status == "500 Internal Server Error"
    assert result.header("Content-Encoding") is None
    assert result.body == b"failed"


def test_app_iterable_is_closed_once_when_compressed():
    closed = []

    class Body(list):
        def close(self):
            closed.append(True)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html")])
        return Body([PAGE])
    result = get(CompressionMiddleware(app), accept="gzip")
    assert gzip.decompress(result.body) == PAGE
    assert closed == [True]


# -- skip rules ---------------------------------------------------------------------------

def assert_untouched(result, body=PAGE):
    assert result.header("Content-Encoding") in (None, "deflate")
    assert result.body == body


@pytest.mark.parametrize("content_type", ["image/png", "image/jpeg", "video/mp4",
                                          "application/zip", "application/gzip",
                                          "font/woff2", "application/octet-stream", None])
def test_types_outside_mime_types_are_not_encoded_and_get_no_vary(content_type):
    result = get(CompressionMiddleware(app_for(content_type=content_type)))
    assert_untouched(result)
    assert result.header("Vary") is None


@pytest.mark.parametrize("content_type", [
    "text/css", "TEXT/HTML; charset=UTF-8", "application/json", "application/problem+json",
    "application/javascript", "application/xml", "application/atom+xml", "image/svg+xml",
    "application/wasm", "text/event-stream"])
def test_compressible_types_are_encoded(content_type):
    result = get(CompressionMiddleware(app_for(content_type=content_type)), accept="gzip")
    assert result.header("Content-Encoding") == "gzip"


def test_custom_mime_types_replace_the_defaults():
    app = CompressionMiddleware(app_for(content_type="application/x-custom"),
                                mime_types=["application/x-custom"])
    assert get(app, accept="gzip").header("Content-Encoding") == "gzip"
    app = CompressionMiddleware(app_for(), mime_types=["application/json"])
    assert get(app, accept="gzip").header("Content-Encoding") is None


def test_response_that_already_has_content_encoding_is_left_alone():
    compressed = gzip.compress(PAGE)
    app = app_for(body=compressed, headers=[("Content-Encoding", "gzip")])
    result = get(CompressionMiddleware(app), accept="br")
    assert result.header("Content-Encoding") == "gzip"
    assert result.body == compressed


def test_cache_control_no_transform_is_respected():
    app = app_for(headers=[("Cache-Control", "public, No-Transform")])
    assert_untouched(get(CompressionMiddleware(app)))


def test_cache_control_without_no_transform_still_compresses():
    app = app_for(headers=[("Cache-Control", 'public, x-note="no-transform"')])
    assert get(CompressionMiddleware(app)).header("Content-Encoding") == "br"


def test_head_is_not_encoded_but_gets_the_get_headers():
    app = app_for(headers=[("ETag", '"v1"')])
    result = get(CompressionMiddleware(app), REQUEST_METHOD="HEAD")
    assert result.header("Content-Encoding") is None
    assert result.header("Content-Length") == str(len(PAGE))
    assert result.header("Vary") == "Accept-Encoding"
    assert result.header("ETag") == 'W/"v1"'


@pytest.mark.parametrize("status", ["204 No Content", "206 Partial Content"])
def test_no_content_and_partial_content_are_not_encoded(status):
    headers = [("Content-Range", "bytes 0-99/5000")] if status.startswith("206") else []
    result = get(CompressionMiddleware(app_for(status=status, headers=headers)))
    assert_untouched(result)


def test_any_content_range_prevents_encoding():
    app = app_for(status="416 Range Not Satisfiable", headers=[("Content-Range", "bytes */9")])
    assert_untouched(get(CompressionMiddleware(app)))


def test_error_statuses_are_encoded_too():
    result = get(CompressionMiddleware(app_for(status="404 Not Found")), accept="gzip")
    assert gzip.decompress(result.body) == PAGE


def test_known_length_below_min_size_is_not_encoded_but_varies():
    small = b"<p>small</p>"
    result = get(CompressionMiddleware(app_for(body=small)))
    assert_untouched(result, small)
    assert result.header("Vary") == "Accept-Encoding"
    streamed = app_for(body=small, stream=True, headers=[("Content-Length", str(len(small)))])
    assert_untouched(get(CompressionMiddleware(streamed)), small)


def test_list_body_without_content_length_below_min_size_is_not_encoded():
    assert_untouched(get(CompressionMiddleware(app_for(body=b"tiny", length=False))), b"tiny")


def test_min_size_zero_encodes_everything_that_shrinks():
    body = b"a" * 100
    result = get(CompressionMiddleware(app_for(body=body), min_size=0), accept="gzip")
    assert gzip.decompress(result.body) == body


def test_incompressible_body_is_sent_as_is_when_encoding_would_not_shrink_it():
    noise = os.urandom(4000)
    result = get(CompressionMiddleware(app_for(body=noise, content_type="text/plain")),
                 accept="gzip")
    assert_untouched(result, noise)
    assert result.header("Content-Length") == "4000"


@pytest.mark.parametrize(("path", "encoded"), [
    ("/downloads", False), ("/downloads/a.txt", False), ("/downloadsx", True),
    ("/events/", False), ("/", True)])
def test_exclude_paths_cover_the_path_and_below(path, encoded):
    app = CompressionMiddleware(app_for(), exclude_paths=["/downloads", "/events/"])
    result = get(app, PATH_INFO=path)
    assert (result.header("Content-Encoding") is not None) is encoded


def test_app_opts_out_with_content_encoding_identity_which_is_stripped():
    app = CompressionMiddleware(app_for(headers=[("Content-Encoding", "identity")]))
    for accept in ("gzip", "identity"):
        result = get(app, accept=accept)
        assert result.header("Content-Encoding") is None
        assert result.body == PAGE


def test_app_opts_out_with_the_environ_flag():
    inner = app_for()

    def app(environ, start_response):
        environ["middleware.compression.disable"] = True
        return inner(environ, start_response)
    assert_untouched(get(CompressionMiddleware(app)))


def test_pass_through_returns_the_app_iterable_itself():
    body = [PAGE]

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "image/png")])
        return body
    middleware = CompressionMiddleware(app)
    assert middleware(make_environ(), lambda *a: None) is body
    assert middleware(make_environ(HTTP_ACCEPT_ENCODING="identity"), lambda *a: None) is body


# -- header rules -------------------------------------------------------------------------

@pytest.mark.parametrize(("vary", "expected"), [
    (["Cookie"], "Cookie, Accept-Encoding"),
    (["accept-encoding"], "accept-encoding"),
    (["Cookie, Accept-Encoding"], "Cookie, Accept-Encoding"),
    (["Cookie", "Accept-Language"], "Cookie, Accept-Language, Accept-Encoding"),
    (["*"], "*"),
])
def test_vary_is_merged_never_duplicated(vary, expected):
    app = app_for(headers=[("Vary", v) for v in vary])
    for accept in ("gzip", "identity", None):
        result = get(CompressionMiddleware(app), accept=accept)
        assert [v for k, v in result.headers if k.lower() == "vary"] == [expected]


def test_vary_is_added_when_the_client_accepts_no_coding():
    result = get(CompressionMiddleware(app_for()), accept=None)
    assert result.header("Content-Encoding") is None
    assert result.header("Vary") == "Accept-Encoding"


def test_vary_without_a_coding_leaves_the_apps_header_list_alone():
    shared = [("Content-Type", "text/html"), ("Content-Length", str(len(PAGE)))]

    def app(environ, start_response):
        start_response("200 OK", shared)  # one list for every response (allowed)
        return [PAGE]

    middleware = CompressionMiddleware(app)
    for _ in range(2):
        result = get(middleware, accept=None)
        assert [v for k, v in result.headers if k == "Vary"] == ["Accept-Encoding"]
    assert shared == [("Content-Type", "text/html"), ("Content-Length", str(len(PAGE)))]


@pytest.mark.parametrize("accept", [None, "identity"])
def test_no_transform_on_a_second_cache_control_line_means_no_vary(accept):
    app = app_for(headers=[("Cache-Control", "public"), ("cache-control", "no-transform")])
    result = get(CompressionMiddleware(app), accept=accept)
    assert result.header("Vary") is None


@pytest.mark.parametrize("accept", [None, "identity"])
def test_an_opt_out_without_a_coding_is_removed_and_gets_no_vary(accept):
    app = app_for(headers=[("Content-Encoding", "identity")])
    result = get(CompressionMiddleware(app), accept=accept)
    assert result.header("Content-Encoding") is None and result.header("Vary") is None


@pytest.mark.parametrize(("etag", "expected"), [
    ('"v1"', 'W/"v1"'), ('W/"v1"', 'W/"v1"'), ("v1", 'W/"v1"')])
def test_etag_of_an_encoded_response_is_weak(etag, expected):
    result = get(CompressionMiddleware(app_for(headers=[("ETag", etag)])))
    assert result.header("Content-Encoding") == "br"
    assert result.header("ETag") == expected


def test_etag_of_an_unencoded_response_stays_strong():
    result = get(CompressionMiddleware(app_for(headers=[("ETag", '"v1"')])), accept="identity")
    assert result.header("ETag") == '"v1"'


def test_accept_ranges_is_dropped_from_encoded_responses():
    result = get(CompressionMiddleware(app_for(headers=[("Accept-Ranges", "bytes")])))
    assert result.header("Accept-Ranges") is None
    plain = get(CompressionMiddleware(app_for(headers=[("Accept-Ranges", "bytes")])),
                accept=None)
    assert plain.header("Accept-Ranges") == "bytes"


@Request.application
def conditional_app(request):
    response = WerkzeugResponse(PAGE, content_type="text/html")
    response.set_etag("page-v1")
    return response.make_conditional(request)


def test_if_none_match_with_the_weakened_etag_still_gets_the_apps_304():
    app = CompressionMiddleware(conditional_app)
    first = get(app, accept="gzip")
    assert first.header("ETag") == 'W/"page-v1"'
    again = get(app, accept="gzip", HTTP_IF_NONE_MATCH=first.header("ETag"))
    assert again.status.startswith("304")
    assert again.body == b""
    assert again.header("Content-Encoding") is None
    assert again.header("ETag") == 'W/"page-v1"'  # the same tag the cache holds
    assert again.header("Vary") == "Accept-Encoding"


# -- options ------------------------------------------------------------------------------

@pytest.mark.parametrize(("options", "error", "name"), [
    ({"encodings": ["lzma"]}, ValueError, "encodings"),
    ({"encodings": "gzip"}, TypeError, "encodings"),
    ({"encodings": []}, ValueError, "encodings"),
    ({"min_size": -1}, ValueError, "min_size"),
    ({"min_size": "500"}, TypeError, "min_size"),
    ({"gzip_level": 0}, ValueError, "gzip_level"),
    ({"gzip_level": 10}, ValueError, "gzip_level"),
    ({"brotli_quality": 12}, ValueError, "brotli_quality"),
    ({"zstd_level": 22}, ValueError, "zstd_level"),
    ({"zstd_level": True}, TypeError, "zstd_level"),
    ({"mime_types": "text/html"}, TypeError, "mime_types"),
    ({"mime_types": ["html"]}, ValueError, "mime_types"),
    ({"mime_types": ["text/ht*ml"]}, ValueError, "mime_types"),
    ({"exclude_paths": ["static"]}, ValueError, "exclude_paths"),
    ({"exclude_paths": "/static"}, TypeError, "exclude_paths"),
    ({"decompress_requests": "yes"}, TypeError, "decompress_requests"),
    ({"max_decompressed_size": 0}, ValueError, "max_decompressed_size"),
])
def test_invalid_options_fail_at_construction_naming_the_option(options, error, name):
    with pytest.raises(error, match=name):
        CompressionMiddleware(app_for(), **options)


def test_options_are_plain_attributes():
    middleware = CompressionMiddleware(app_for(), encodings=["GZIP", "br", "gzip"], min_size=7)
    assert middleware.encodings == ("gzip", "br")
    assert middleware.min_size == 7
    assert middleware.gzip_level == 6 and middleware.brotli_quality == 4
    assert middleware.zstd_level == 3
    assert "text/*" in middleware.mime_types
    assert middleware.exclude_paths == ()
    assert middleware.decompress_requests is False


def test_deflate_is_not_offered_unless_configured():
    assert_untouched(get(CompressionMiddleware(app_for()), accept="deflate"))
    result = get(CompressionMiddleware(app_for(), encodings=["deflate"]), accept="deflate")
    assert zlib.decompress(result.body) == PAGE


def test_head_below_min_size_keeps_its_strong_etag():
    app = app_for(body=b"tiny", headers=[("ETag", '"t"')])
    result = get(CompressionMiddleware(app), REQUEST_METHOD="HEAD")
    assert result.header("ETag") == '"t"'
    assert result.header("Vary") == "Accept-Encoding"
