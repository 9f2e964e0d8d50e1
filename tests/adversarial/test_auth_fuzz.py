"""Any Authorization header, path or next value: the auth middleware answers 2xx/3xx/4xx, never
raises, and never lets a path outside the public ones through."""

from __future__ import annotations

import base64
import io
import ipaddress
import re
import threading
from urllib.parse import urlencode

import bcrypt
from fuzz_checks import fuzzed
from hypothesis import given
from hypothesis import strategies as st

from harness import make_environ, serve
from middleware.auth import (
    AuthMiddleware,
    BasicAuth,
    BearerTokenAuth,
    MemoryCounter,
    Throttle,
    safe_next,
)
from middleware.auth.paths import canonical_segments
from middleware.sessions import SessionMiddleware

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


SEGMENTS = ["public", "..", ".", "", "admin", "health", "%2e%2e", "..;", "public\\..",
            "healthz", "%2E.", ".%2e", "..%2f", "x;y", "\xef\xbc\x8e\xef\xbc\x8e", "caf\xc3\xa9"]


@given(path=st.lists(st.sampled_from(SEGMENTS), max_size=6).map(lambda p: "/" + "/".join(p)),
       raw=st.one_of(st.none(), st.lists(st.sampled_from(SEGMENTS), max_size=6).map(
           lambda p: "/" + "/".join(p))))
def test_a_path_is_public_only_if_public_as_the_app_sees_it(path, raw):
    fuzzed("request path (auth)")
    extra = {"REQUEST_URI": raw} if raw is not None else {}
    result = serve(APP, make_environ(PATH_INFO=path, **extra))
    segments = canonical_segments(path)
    inside = segments is not None and (segments[:1] == ("public",) or (
        segments == ("health",) and not path.endswith("/")))
    raw_clean = raw is None or canonical_segments(raw) is not None
    assert result.status.startswith("200") == (inside and raw_clean), (path, raw,
                                                                       result.status)
    if ".." in path.split("/") or "." in path.split("/") or "//" in path:
        assert not result.status.startswith("200"), path


@given(value=st.one_of(LATIN1, st.text(max_size=100).map(lambda t: "/" + t)))
def test_safe_next_returns_a_same_origin_ascii_path(value):
    fuzzed("login next=")
    target = safe_next(value)
    assert target == "/" or target == value or not value.isascii()
    assert target.isascii() and target.startswith("/") and not target.startswith(("//", "/\\"))
    assert not any(ord(c) <= 32 for c in target)


KEY = "fuzz-auth-key-0123456789abcdef"
LOGIN = SessionMiddleware(AuthMiddleware(ok, [BasicAuth(users={"alice": HASH})],
                                         login_url="/login", secret_key=KEY, throttle=None),
                          secret_key=KEY, store="memory")


@given(next_=st.text(max_size=60), script=st.text(
    st.characters(min_codepoint=0x20, max_codepoint=255), max_size=20).map(lambda t: "/" + t))
def test_non_ascii_next_and_script_name_never_break_the_login_redirect(next_, script):
    fuzzed("login POST next= (non-ASCII)")
    page = serve(LOGIN, make_environ(PATH_INFO="/login", SCRIPT_NAME=script))
    cookie = page.header("Set-Cookie").split(";")[0]
    csrf = re.search(rb'name="csrf_token" value="([^"]+)"', page.body).group(1).decode()
    body = urlencode({"username": "alice", "password": "pw", "csrf_token": csrf,
                      "next": next_}).encode()
    result = serve(LOGIN, make_environ(
        PATH_INFO="/login", SCRIPT_NAME=script, REQUEST_METHOD="POST", HTTP_COOKIE=cookie,
        CONTENT_TYPE="application/x-www-form-urlencoded", CONTENT_LENGTH=str(len(body)),
        **{"wsgi.input": io.BytesIO(body)}))
    assert result.error is None and result.status.startswith("303"), result.status
    location = result.header("Location")
    assert location.isascii() and not any(ord(c) <= 32 for c in location), location


@given(limit=st.integers(1, 5), clients=st.integers(2, 12))
def test_parallel_attempts_never_pass_the_limit(limit, clients):
    fuzzed("parallel throttle attempts")
    throttle = Throttle(MemoryCounter(), max_failures=limit, window=60)
    barrier = threading.Barrier(clients)
    allowed = []

    def attempt():
        barrier.wait(10)
        if throttle.acquire("192.0.2.1", "alice") == 0:
            allowed.append(1)

    threads = [threading.Thread(target=attempt) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(allowed) == min(limit, clients)


@given(a=st.integers(0, 2**64 - 1), b=st.integers(0, 2**64 - 1), net=st.integers(0, 2**64 - 1))
def test_addresses_of_one_ipv6_64_share_one_counter(a, b, net):
    fuzzed("throttle IPv6 address")
    throttle = Throttle()
    first, second = (str(ipaddress.IPv6Address(net << 64 | x)) for x in (a, b))
    assert throttle.client(first) == throttle.client(second)
    assert throttle.client(first).endswith("/64")
