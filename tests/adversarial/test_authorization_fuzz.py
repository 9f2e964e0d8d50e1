"""Any ``Authorization`` (Basic and Bearer, any bytes, any length), through the auth middleware
alone and the full pipeline: every property holds, the answer is 400/401/429 unless the
credentials are the right ones, and the right ones still get in."""

from __future__ import annotations

import base64
from functools import partial

from fuzz_checks import BASIC, PASSWORD, TOKEN, auth_backends, check, full_stack, fuzzed
from hypothesis import given
from hypothesis import strategies as st

from middleware import AuthMiddleware

LATIN1 = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=400)
SCHEMES = st.sampled_from(["Basic ", "basic ", "BASIC  ", "Bearer ", "bearer ", "Digest ",
                           "Negotiate ", "", " ", "Basic\t"])
USERPASS = st.tuples(st.sampled_from(["alice", "", "bob", "alice\x00", "al:ice", "ålice", "a" * 300]),
                     st.sampled_from([":", "", "::"]),
                     st.one_of(st.just(PASSWORD), st.text(max_size=100))).map("".join)
BASIC_PAYLOAD = st.one_of(
    st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode("ascii")),
    USERPASS.map(lambda s: base64.b64encode(s.encode("utf-8")).decode("ascii")),
    USERPASS.map(lambda s: base64.b64encode(s.encode("latin-1", "replace")).decode("ascii")),
    st.text(st.sampled_from("ABCabc0189+/=-_. "), max_size=100),
)
BEARER_PAYLOAD = st.one_of(st.just(TOKEN), st.just(TOKEN + "x"), st.just(TOKEN[:-1]),
                           st.text(st.characters(min_codepoint=33, max_codepoint=126),
                                   max_size=200))
HEADER = st.one_of(LATIN1,
                   st.tuples(SCHEMES, st.one_of(BASIC_PAYLOAD, BEARER_PAYLOAD, LATIN1)).map(
                       "".join),
                   st.integers(8000, 20000).map(lambda n: "Bearer " + "t" * n))
STACKS = {
    "auth": lambda app: AuthMiddleware(app, auth_backends(), realm="Fuzz"),
    "auth_no_throttle": lambda app: AuthMiddleware(app, auth_backends(), throttle=None),
    "pipeline": full_stack,
    "pipeline_no_throttle": partial(full_stack, throttle=None),
}


@given(header=HEADER, stack=st.sampled_from(sorted(STACKS)),
       accept=st.sampled_from(["text/html", "application/json", "*/*", ""]))
def test_any_authorization_holds_the_properties(header, stack, accept):
    fuzzed("Authorization")
    result = check(STACKS[stack], HTTP_AUTHORIZATION=header, HTTP_ACCEPT=accept,
                   PATH_INFO="/private")
    code = result.status[:3]
    if header in (BASIC, "Bearer " + TOKEN):
        assert code == "200", (header, result.status)
    elif not _loosely_right(header):
        # 303: a browser without valid credentials is sent to the pipeline's login form
        assert code in {"303", "400", "401", "429"}, (header, result.status)
        assert code != "303" or stack.startswith("pipeline")


def _loosely_right(header: str) -> bool:
    """The right credentials with another spelling of the scheme or other white space."""
    return header.lower().lstrip().startswith(("basic", "bearer")) and header.rstrip().endswith(
        (BASIC.split()[1], TOKEN))


@given(header=HEADER)
def test_the_right_credentials_get_in_after_any_garbage(header):
    fuzzed("Authorization")
    app = STACKS["auth"]
    check(app, HTTP_AUTHORIZATION=header, PATH_INFO="/private")
    assert check(app, HTTP_AUTHORIZATION=BASIC, PATH_INFO="/private").status.startswith("200")
