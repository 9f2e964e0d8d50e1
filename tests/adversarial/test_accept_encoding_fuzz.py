"""Any ``Accept-Encoding``: compression alone and the full pipeline hold every property, and
an encoded body decodes to exactly what the app sent, in a coding the client accepted."""

from __future__ import annotations

from functools import partial

from fuzz_checks import HTML, check, decoded_body, full_stack, fuzzed, touching_app
from hypothesis import given
from hypothesis import strategies as st

from middleware import CompressionMiddleware
from middleware.compression import negotiate

CODINGS = ["gzip", "br", "zstd", "deflate", "identity", "*", "x-gzip", "compress", "GZIP", ""]
PARAMS = ["", ";q=0", ";q=1", ";q=0.5", ";q=0.001", ";q=1.0000", ";q=2", ";q=-1", ";q=abc",
          ";q=", ";Q=0.3", ";level=1", ";q=0.5;q=0", ";;", " ; q = 0.7"]
ENTRY = st.tuples(st.sampled_from(CODINGS), st.sampled_from(PARAMS)).map("".join)
STRUCTURED = st.lists(ENTRY, max_size=8).map(", ".join)
LATIN1 = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=200)
HEADER = st.one_of(STRUCTURED, LATIN1, st.just("gzip, " * 1000))
STACKS = {
    "compression": partial(CompressionMiddleware, min_size=0,
                           encodings=("br", "zstd", "gzip", "deflate")),
    "pipeline": full_stack,
}


@given(header=HEADER, stack=st.sampled_from(sorted(STACKS)), streamed=st.booleans())
def test_any_accept_encoding_holds_the_properties(header, stack, streamed):
    fuzzed("Accept-Encoding")
    result = check(STACKS[stack], lambda t: touching_app(t, streamed), HTTP_ACCEPT_ENCODING=header,
                   PATH_INFO="/public/page")
    assert result.status.startswith("200")
    body = decoded_body(result)
    assert body.startswith(HTML)
    coding = result.header("Content-Encoding")
    if coding is not None:
        assert coding in {"gzip", "br", "zstd", "deflate"}
        assert negotiate(header, (coding,)) == coding, (header, coding)


@given(header=HEADER)
def test_negotiate_returns_an_offered_coding_or_none(header):
    fuzzed("Accept-Encoding")
    offered = ("br", "zstd", "gzip")
    assert negotiate(header, offered) in (*offered, None)
