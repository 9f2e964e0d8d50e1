"""Any Authorization header, path or next value: the auth middleware answers 2xx/3xx/4xx, never
raises, and never lets a path outside the public ones through."""

from __future__ import annotations

import base64

import bcrypt
from fuzz_checks import fuzzed
from hypothesis import given
from hypothesis import strategies as st

from harness import make_environ, serve
from middleware.auth import AuthMiddleware, BasicAuth, BearerTokenAuth, safe_next
from middleware.auth.paths import normalise

HASH = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()


def ok(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


APP = AuthMiddleware(ok, [BasicAuth(users={"alice": HASH}),
                          BearerTokenAuth(tokens={"t" * 20: "bot"})],
                     public_paths=["/public/*", "/health"], throttle=None)
LATIN1 = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=300)
SCHEMES = st.sampled_from(["Basic ", "basic ", "Bearer ", "BEARER ", "Digest ", ""])
BASIC_PAYLOADS = st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode("ascii"))


@given(header=st.one_of(LATIN1, st.tuples(SCHEMES, st.one_of(LATIN1, BASIC_PAYLOADS)).map(
    "".join)))
def test_any_authorization_header_gets_a_4xx_never_an_exception(header):
    fuzzed("Authorization")
    result = serve(APP, make_environ(HTTP_AUTHORIZATION=header, PATH_INFO="/admin"))
    assert result.error is None
    assert result.status[:3] in {"400", "401"}, (header, result.status)


@given(path=st.lists(st.sampled_from(["public", "..", ".", "", "admin", "health", "%2e%2e",
                                      "..;", "public\\..", "healthz"]), max_size=6).map(
    lambda parts: "/" + "/".join(parts)))
def test_a_path_is_public_only_if_it_resolves_inside_a_public_one(path):
    fuzzed("request path (auth)")
    result = serve(APP, make_environ(PATH_INFO=path))
    segments = normalise(path)
    inside = segments is not None and (segments[:1] == ("public",) or segments == ("health",))
    assert result.status.startswith("200") == inside, (path, result.status)


@given(value=LATIN1)
def test_safe_next_returns_a_same_origin_path(value):
    fuzzed("login next=")
    target = safe_next(value)
    assert target == "/" or target == value
    assert target.startswith("/") and not target.startswith(("//", "/\\"))
    assert not any(ord(c) <= 32 for c in target)
