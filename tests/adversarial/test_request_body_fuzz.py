"""Compressed request bodies of any shape (valid, truncated, concatenated, garbage appended,
bombs past the limit, the wrong or an unknown ``Content-Encoding``): a clean 4xx or the app
gets exactly the decoded body; never an exception, never a 500."""

from __future__ import annotations

import hashlib
import io
from functools import partial

from fuzz_checks import MAX_BODY, check, decoded_body, encode, full_stack, fuzzed
from hypothesis import given
from hypothesis import strategies as st

from middleware import CompressionMiddleware

CODINGS = ["gzip", "x-gzip", "deflate", "br", "zstd"]
LABELS = st.one_of(st.sampled_from([*CODINGS, "GZIP", " br ", "identity", "compress",
                                    "gzip, br", "gzip,gzip", "", "*", "x-unknown"]),
                   st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=30))
PAYLOAD = st.one_of(st.binary(max_size=2000),
                    st.text(max_size=500).map(lambda s: s.encode() * 8))
STACKS = {
    "compression": partial(CompressionMiddleware, decompress_requests=True,
                           max_decompressed_size=MAX_BODY),
    "pipeline": full_stack,
}


@st.composite
def bodies(draw):
    """``(shape, label, body, payload)``: payload is what a correct decoder must hand the app, or
    ``None`` when the body is not a valid encoding of anything under that label."""
    coding = draw(st.sampled_from(CODINGS))
    payload = draw(PAYLOAD)
    encoded = encode(coding, payload)
    shape = draw(st.sampled_from(["valid", "truncated", "concatenated", "garbage_after",
                                  "wrong_label", "raw", "bomb"]))
    if shape == "valid":
        return shape, coding, encoded, payload
    if shape == "truncated":
        return shape, coding, encoded[:draw(st.integers(0, max(len(encoded) - 1, 0)))], None
    if shape == "concatenated":
        return shape, coding, encoded + encoded, payload * 2 if coding in ("gzip", "x-gzip") else None
    if shape == "garbage_after":
        return shape, coding, encoded + draw(st.binary(min_size=1, max_size=50)), None
    if shape == "wrong_label":
        return shape, draw(LABELS), encoded, None
    if shape == "bomb":
        size = MAX_BODY + draw(st.integers(1, 4 * MAX_BODY))
        return shape, coding, encode(coding, b"\0" * size), None
    return shape, draw(LABELS), draw(st.binary(max_size=500)), None


@given(body=bodies(), stack=st.sampled_from(sorted(STACKS)),
       declared=st.sampled_from(["exact", "none", "short"]))
def test_any_encoded_request_body_holds_the_properties(body, stack, declared):
    fuzzed("compressed request body")
    shape, label, data, payload = body
    length = {"exact": str(len(data)), "none": "", "short": str(max(len(data) - 3, 0))}[declared]
    result = check(STACKS[stack], REQUEST_METHOD="POST", PATH_INFO="/public/upload",
                   HTTP_CONTENT_ENCODING=label, HTTP_ACCEPT_ENCODING="identity",
                   CONTENT_LENGTH=length, CONTENT_TYPE="application/octet-stream",
                   **{"wsgi.input": io.BytesIO(data)})
    code = int(result.status[:3])
    assert code in {200, 400, 411, 413, 415}, result.status
    if payload is not None and declared == "exact":
        assert code == 200, (label, result.status, result.body[:200])
        digest = hashlib.sha256(payload).hexdigest().encode()
        assert decoded_body(result).endswith(b"<!--" + digest + b"-->")
    if declared == "exact" and shape == "bomb":
        assert code == 413, result.status
    if declared == "exact" and shape in ("truncated", "garbage_after") and data:
        assert code == 400, (label, result.status)
