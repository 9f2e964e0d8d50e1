"""One rule for the form of a page (HTML, JSON or text) by ``Accept``, and every page that the
suite makes follows it: the error page, the debug page and authentication's 401 body."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.security import generate_password_hash

from harness import make_environ, serve
from middleware import AuthMiddleware, BasicAuth, DebugMiddleware, ErrorPageMiddleware
from middleware.accept import HTML, JSON, TEXT, preferred_form

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
QUIET = logging.getLogger("test.accept")
QUIET.propagate = False
QUIET.addHandler(logging.NullHandler())

CASES = [
    (BROWSER, HTML),
    ("text/html", HTML),
    ("application/xhtml+xml", HTML),
    ("application/json", JSON),
    ("application/problem+json", JSON),
    ("application/json, text/plain;q=0.5", JSON),
    ("text/html;q=0.5, application/json", JSON),  # quality counts, even against HTML
    ("application/json;q=0.5, text/html", HTML),
    ("application/*", JSON),
    ("text/*", TEXT),  # a tie: the server's order, plain text first
    ("*/*", TEXT),
    ("text/plain", TEXT),
    ("", TEXT),
    (None, TEXT),
    ("image/png", TEXT),  # nothing acceptable: still a page, never a 406
    ("text/html;q=0, */*", TEXT),
    ("text/html;q=0", TEXT),
    ("*/*;q=0.1, text/html", HTML),  # the specific entry wins a lower-quality wildcard
    (";;;q=x,,,", TEXT),
    ("\x00\xff garbage", TEXT),
]


@pytest.mark.parametrize(("accept", "form"), CASES)
def test_the_form_follows_quality_then_specificity_then_server_order(accept, form):
    assert preferred_form(accept) == form


def test_each_header_is_parsed_once():
    preferred_form.cache_clear()
    for _ in range(3):
        preferred_form("application/json, text/plain;q=0.5")
    assert preferred_form.cache_info().hits == 2


def failing(environ, start_response):
    raise RuntimeError("boom")


def page_forms(accept):
    """The form each of the three pages took for ``accept``."""
    def environ(**extra):
        made = make_environ(**extra)  # it sends "Accept: text/html" by default
        if accept is None:
            del made["HTTP_ACCEPT"]
        else:
            made["HTTP_ACCEPT"] = accept
        return made

    media = {"text/html": HTML, "application/problem+json": JSON, "application/json": JSON,
             "text/plain": TEXT}

    def form_of(app, **extra):
        result = serve(app, environ(**extra))
        return media[result.header("Content-Type").split(";")[0]]

    errors = form_of(ErrorPageMiddleware(failing, logger=QUIET))
    debug = form_of(DebugMiddleware(failing, logger=QUIET), REMOTE_ADDR="127.0.0.1")
    auth = AuthMiddleware(failing, [BasicAuth(users={"a": generate_password_hash("x")})],
                          throttle=None)
    unauthorized = form_of(auth, PATH_INFO="/private")
    return errors, debug, unauthorized


@pytest.mark.parametrize(("accept", "form"), CASES)
def test_every_page_takes_the_same_form(accept, form):
    errors, debug, unauthorized = page_forms(accept)
    assert errors == debug == form
    # authentication answers in JSON or text (its 401 has no HTML form)
    assert unauthorized == (JSON if form == JSON else TEXT)


TYPES = ["text/html", "application/json", "application/problem+json", "text/plain", "*/*",
         "text/*", "application/*", "image/png", "application/xhtml+xml", ""]
PARAMS = ["", ";q=0", ";q=1", ";q=0.5", ";q=0.9", ";q=abc"]
HEADERS = st.lists(st.tuples(st.sampled_from(TYPES), st.sampled_from(PARAMS)).map("".join),
                   max_size=5).map(", ".join)


@given(HEADERS)
def test_any_header_gives_the_same_form_on_every_page(accept):
    errors, debug, unauthorized = page_forms(accept)
    form = preferred_form(accept)
    assert errors == debug == form
    assert unauthorized == (JSON if form == JSON else TEXT)
