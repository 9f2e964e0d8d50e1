"""Any ``Accept``: the error page, the auth challenge and the debug page negotiate a form without
raising; a page never shows internals, except the debug page to an allowed client."""

from __future__ import annotations

from functools import partial

from fuzz_checks import (
    DEBUG_LOG,
    ERRORS_LOG,
    SECRETS,
    auth_backends,
    check,
    full_stack,
    fuzzed,
    not_found_app,
    raising_app,
    touching_app,
)
from hypothesis import given
from hypothesis import strategies as st

from middleware import AuthMiddleware, DebugMiddleware, ErrorPageMiddleware

TYPES = ["text/html", "application/json", "application/problem+json", "text/plain", "*/*",
         "text/*", "application/*", "image/png", "application/xhtml+xml", "", "*", "/",
         "text/html/extra", "application/json;charset=utf-8"]
PARAMS = ["", ";q=0", ";q=1", ";q=0.9", ";q=abc", ";q=-3", ";level=1", ";q=1;q=0", ";"]
STRUCTURED = st.lists(st.tuples(st.sampled_from(TYPES), st.sampled_from(PARAMS)).map("".join),
                      max_size=8).map(", ".join)
LATIN1 = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=200)
HEADER = st.one_of(STRUCTURED, LATIN1, st.just("text/html;q=0.1, " * 400))
APPS = {"raises": raising_app, "404": not_found_app, "200": touching_app}
STACKS = {
    "errors": partial(ErrorPageMiddleware, logger=ERRORS_LOG),
    "auth": lambda app: AuthMiddleware(app, auth_backends(), login_url="/login", throttle=None,
                                       secret_key="fuzz-auth-key-0123456789abcdef"),
    "pipeline": full_stack,
}


@given(header=HEADER, stack=st.sampled_from(sorted(STACKS)), app=st.sampled_from(sorted(APPS)),
       path=st.sampled_from(["/private", "/public/x"]))
def test_any_accept_holds_the_properties(header, stack, app, path):
    fuzzed("Accept")
    result = check(STACKS[stack], APPS[app], expect_5xx=app == "raises", HTTP_ACCEPT=header,
                   PATH_INFO=path)
    if app == "raises" and (stack == "errors" or path.startswith("/public/")) and (
            stack != "auth"):
        assert result.status.startswith("500")


@given(header=HEADER, allowed=st.booleans())
def test_the_debug_page_negotiates_any_accept_and_shows_only_to_allowed_clients(header, allowed):
    fuzzed("Accept")
    factory = partial(DebugMiddleware, logger=DEBUG_LOG)
    if allowed:  # the page shows the traceback on purpose: only the plumbing properties apply
        result = check(factory, raising_app, expect_5xx=True, secrets=(), HTTP_ACCEPT=header,
                       REMOTE_ADDR="127.0.0.1")
        assert result.status.startswith("500")
        assert len(result.body) > 100
    else:
        result = check(factory, raising_app, expect_5xx=True, secrets=SECRETS,
                       HTTP_ACCEPT=header)
        assert result.body == b"Internal Server Error\n"
