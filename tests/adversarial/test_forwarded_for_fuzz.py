"""Any ``X-Forwarded-For`` (and a spoofed user header): a traceback page only for a client the
rules allow, never an identity from a peer that is not a trusted proxy."""

from __future__ import annotations

from functools import partial

from fuzz_checks import (
    DEBUG_LOG,
    REMOTE,
    SECRETS,
    auth_backends,
    check,
    decoded_body,
    full_stack,
    fuzzed,
    raising_app,
)
from hypothesis import given
from hypothesis import strategies as st

from middleware import AuthMiddleware, DebugMiddleware
from middleware.debug.access import client_address
from middleware.options import check_networks

HOPS = st.sampled_from(["127.0.0.1", "::1", "[::1]:80", "127.0.0.1:8080", "10.1.2.3",
                        "203.0.113.9", "::ffff:127.0.0.1", "unknown", "", " ", "localhost",
                        "127.0.0.1%eth0", "999.1.1.1", "fe80::1%lo", "_hidden", "[::1"])
CHAIN = st.one_of(st.lists(HOPS, max_size=6).map(", ".join),
                  st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=200))
PROXY = "10.9.8.7"


def debug(app):
    return DebugMiddleware(app, allowed_ips=["127.0.0.1", "::1"],
                           trusted_proxies=["10.0.0.0/8"], logger=DEBUG_LOG)


@given(chain=CHAIN, peer=st.sampled_from([REMOTE, "198.51.100.1", "::2", "not-an-ip", ""]))
def test_forwarded_for_from_an_untrusted_peer_never_shows_a_traceback(chain, peer):
    fuzzed("X-Forwarded-For")
    result = check(debug, raising_app, expect_5xx=True, HTTP_X_FORWARDED_FOR=chain,
                   REMOTE_ADDR=peer)
    assert result.body == b"Internal Server Error\n"


@given(chain=CHAIN, last=st.sampled_from(["203.0.113.9", "198.51.100.77", "2001:db8::1"]))
def test_a_trusted_proxy_forwarding_an_outside_client_never_shows_a_traceback(chain, last):
    fuzzed("X-Forwarded-For")
    result = check(debug, raising_app, expect_5xx=True,
                   HTTP_X_FORWARDED_FOR=f"{chain}, {last}, 10.0.0.1", REMOTE_ADDR=PROXY)
    assert result.body == b"Internal Server Error\n"


@given(chain=CHAIN, peer=st.sampled_from([PROXY, REMOTE]))
def test_any_forwarded_for_holds_the_properties_through_the_pipeline(chain, peer):
    fuzzed("X-Forwarded-For")
    environ = {"HTTP_X_FORWARDED_FOR": chain, "REMOTE_ADDR": peer}
    client = client_address(environ, check_networks("proxies", ["10.0.0.0/8"]))
    allowed = client is not None and client in check_networks("ips", ["127.0.0.1"])[0]
    # an allowed client sees the traceback on purpose: only the plumbing properties apply
    result = check(full_stack, raising_app, expect_5xx=True, secrets=() if allowed else SECRETS,
                   PATH_INFO="/public/x", **environ)
    assert result.status.startswith("500")
    assert (b"AppError" in decoded_body(result)) == allowed


@given(chain=CHAIN, user=st.text(max_size=50).map(lambda s: s.encode().decode("latin-1")))
def test_a_spoofed_user_header_from_an_untrusted_peer_is_refused(chain, user):
    fuzzed("X-Forwarded-For")
    factory = partial(AuthMiddleware, backends=auth_backends(), throttle=None,
                      trusted_proxies=["10.0.0.0/8"], remote_user_header="X-Remote-User")
    result = check(factory, HTTP_X_FORWARDED_FOR=chain, HTTP_X_REMOTE_USER=user,
                   PATH_INFO="/private")
    assert result.status.startswith("401")
