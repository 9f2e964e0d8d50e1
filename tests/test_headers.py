"""``Vary`` merging shared by compression, sessions and error pages."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import Headers

from middleware.headers import add_vary


@pytest.mark.parametrize("before,name,after", [
    ([], "Cookie", "Cookie"),
    (["Accept-Encoding"], "Cookie", "Accept-Encoding, Cookie"),
    (["accept-encoding, cookie"], "Cookie", "accept-encoding, cookie"),
    (["*"], "Cookie", "*"),
    (["Accept-Encoding", "Cookie"], "Accept", "Accept-Encoding, Cookie, Accept"),
    (["Cookie", "Accept"], "Accept", "Cookie, Accept"),
])
def test_add_vary_merges_into_one_header_never_twice(before, name, after):
    headers = Headers([("Vary", v) for v in before])
    add_vary(headers, name)
    assert headers.getlist("Vary") == [after]


def test_layers_merge_vary_into_one_header():
    from harness import make_environ, serve
    from middleware import CompressionMiddleware, ErrorPageMiddleware, SessionMiddleware

    def app(environ, start_response):
        environ["middleware.session"]["seen"] = True
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b""]

    stack = ErrorPageMiddleware(CompressionMiddleware(SessionMiddleware(app, secret_key="k" * 32)))
    result = serve(stack, make_environ(HTTP_ACCEPT="text/html"))
    varies = [v for k, v in result.headers if k.lower() == "vary"]
    assert len(varies) == 1
    assert {v.strip().lower() for v in varies[0].split(",")} >= {"cookie", "accept"}
