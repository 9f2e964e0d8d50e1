"""Reading request cookies never fails on bytes a client sends."""

from __future__ import annotations

import pytest

from harness import make_environ, serve
from middleware import DebugMiddleware, SessionMiddleware
from middleware.cookies import request_cookies


def test_request_cookies_reads_names_and_values():
    assert request_cookies({"HTTP_COOKIE": "a=1; b=two"}).to_dict() == {"a": "1", "b": "two"}


def test_raw_non_utf8_bytes_do_not_raise():
    # WSGI passes header bytes as latin-1 text: "\x80" is the raw byte 0x80
    cookies = request_cookies({"HTTP_COOKIE": "session=\x80; other=ok"})
    assert cookies["other"] == "ok"
    assert cookies["session"] == "\ufffd"


def test_utf8_values_are_decoded():
    raw = "name=é".encode().decode("latin-1")
    assert request_cookies({"HTTP_COOKIE": raw})["name"] == "é"


def failing(environ, start_response):
    raise RuntimeError("boom")


@pytest.mark.parametrize("factory", [
    lambda app: DebugMiddleware(app),
    lambda app: DebugMiddleware(app, evalex=True),
])
def test_debug_page_survives_a_raw_byte_cookie(factory):
    result = serve(factory(failing), make_environ(HTTP_COOKIE="session=\x80",
                                                  HTTP_ACCEPT="text/plain"))
    assert result.status.startswith("500") and b"boom" in result.body


def test_session_survives_a_raw_byte_cookie():
    def app(environ, start_response):
        environ["middleware.session"]["n"] = 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    result = serve(SessionMiddleware(app, secret_key="k" * 32),
                   make_environ(HTTP_COOKIE="session=\x80"))
    assert result.status == "200 OK"
