"""Any ``X-Request-ID``: the error page echoes a valid id, replaces any other one with a fresh
id, and never lets a byte of an invalid one reach a header or the page."""

from __future__ import annotations

import re
from functools import partial

from fuzz_checks import ERRORS_LOG, check, full_stack, fuzzed, not_found_app, raising_app
from hypothesis import given
from hypothesis import strategies as st

from middleware import ErrorPageMiddleware

VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+=/-]{0,127}")
LATIN1 = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=300)
ID_LIKE = st.text(st.sampled_from("abcXYZ019._:+=/- \t\r\n\x00<>\"'&;%é"), max_size=200)
HEADER = st.one_of(LATIN1, ID_LIKE, st.uuids().map(str),
                   st.text(st.sampled_from("abc123"), min_size=120, max_size=140))
STACKS = {"errors": partial(ErrorPageMiddleware, logger=ERRORS_LOG), "pipeline": full_stack}
APPS = {"raises": raising_app, "404": not_found_app}


@given(rid=HEADER, stack=st.sampled_from(sorted(STACKS)), app=st.sampled_from(sorted(APPS)),
       accept=st.sampled_from(["text/html", "application/json", "text/plain"]))
def test_any_request_id_holds_the_properties(rid, stack, app, accept):
    fuzzed("X-Request-ID")
    result = check(STACKS[stack], APPS[app], expect_5xx=app == "raises", HTTP_X_REQUEST_ID=rid,
                   HTTP_ACCEPT=accept, PATH_INFO="/public/x")
    echoed = result.header("X-Request-ID")
    assert echoed is not None and VALID.fullmatch(echoed), echoed
    if VALID.fullmatch(rid):
        assert echoed == rid
    else:
        assert echoed != rid and re.fullmatch(r"[0-9a-f]{32}", echoed)
        if len(rid.strip()) >= 12:  # shorter strings may well occur in the page itself
            assert rid.encode("latin-1") not in result.body
