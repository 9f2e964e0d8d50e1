"""Error pages: negotiation, custom templates, interception, kept headers, and a leak scan."""

from __future__ import annotations

import json
import logging
import os
import re
from urllib.parse import urlencode

import pytest
from flask import Flask, Response, abort
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import make_environ, serve
from middleware.errors import MESSAGES, ErrorPageMiddleware, negotiate, scrub_query
from middleware.errors.pages import HTML, PROBLEM_JSON, TEXT, PageSet
from middleware.errors.report import secret_pattern

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
QUIET = "tests.errors.quiet"
logging.getLogger(QUIET).propagate = False


class Boom(Exception):
    pass


def failing(environ, start_response):
    raise Boom("boom")


def returning(status, body=b"", content_type="text/plain", headers=()):
    def app(environ, start_response):
        start_response(status, [("Content-Type", content_type), *headers] if content_type
                       else list(headers))
        return [body]
    return app


def get(app, accept=BROWSER, **extra):
    options = {"logger": QUIET, **extra.pop("options", {})}
    return serve(ErrorPageMiddleware(app, **options), make_environ(HTTP_ACCEPT=accept, **extra))


# -- content negotiation ----------------------------------------------------------------------

@pytest.mark.parametrize(("accept", "content_type"), [
    (BROWSER, "text/html; charset=utf-8"),
    ("text/html", "text/html; charset=utf-8"),
    ("application/json", "application/problem+json"),
    ("application/problem+json", "application/problem+json"),
    ("application/json, text/plain;q=0.5", "application/problem+json"),
    ("*/*", "text/plain; charset=utf-8"),
    ("", "text/plain; charset=utf-8"),
    ("image/png", "text/plain; charset=utf-8"),
    ("text/html;q=0, */*", "text/plain; charset=utf-8"),
    (";;;q=x,,,", "text/plain; charset=utf-8"),
    ("\x00\xff garbage", "text/plain; charset=utf-8"),
])
def test_accept_header_picks_the_page_form(accept, content_type):
    assert negotiate(accept) == content_type
    result = get(failing, accept)
    assert result.status == "500 Internal Server Error"
    assert result.header("Content-Type") == content_type
    assert result.header("Content-Length") == str(len(result.body))
    assert result.header("Vary") == "Accept"


def test_missing_accept_header_gives_plain_text():
    environ = make_environ()
    del environ["HTTP_ACCEPT"]
    result = serve(ErrorPageMiddleware(failing, logger=QUIET), environ)
    assert result.header("Content-Type") == "text/plain; charset=utf-8"


def test_problem_json_follows_rfc_9457():
    result = get(failing, "application/json")
    problem = json.loads(result.body)
    assert problem == {"type": "about:blank", "title": "Internal Server Error", "status": 500,
                       "detail": MESSAGES[500], "request_id": result.header("X-Request-ID")}


def test_plain_text_page_names_status_message_and_id():
    result = get(returning("404 Not Found"), "*/*")
    rid = result.header("X-Request-ID")
    assert result.body.decode() == f"404 Not Found\n\n{MESSAGES[404]}\n\nRequest ID: {rid}\n"


def test_html_page_has_safety_headers():
    result = get(failing)
    assert result.header("Cache-Control") == "no-store"
    assert result.header("X-Content-Type-Options") == "nosniff"
    assert "default-src 'none'" in result.header("Content-Security-Policy")
    assert "frame-ancestors 'none'" in result.header("Content-Security-Policy")
    assert get(failing, options={"content_security_policy": None}).header(
        "Content-Security-Policy") is None


# -- custom pages -----------------------------------------------------------------------------

def test_custom_pages_from_template_dir_follow_the_lookup_order(tmp_path):
    (tmp_path / "404.html").write_text("<p>exact $status $title</p>", encoding="utf-8")
    (tmp_path / "4xx.html").write_text("<p>family $status</p>", encoding="utf-8")
    (tmp_path / "default.html").write_text("<p>default $status</p>", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("$ignored")
    (tmp_path / "header.html").write_text("$ignored too")
    options = {"template_dir": tmp_path}
    assert get(returning("404 Not Found"), options=options).body == b"<p>exact 404 Not Found</p>"
    assert get(returning("410 Gone"), options=options).body == b"<p>family 410</p>"
    assert get(failing, options=options).body == b"<p>default 500</p>"


def test_pages_option_wins_over_a_file_and_takes_string_keys(tmp_path):
    (tmp_path / "404.html").write_text("<p>file</p>")
    options = {"template_dir": os.fspath(tmp_path), "pages": {"404": "<p>string</p>",
                                                              "5xx": "<p>five $status</p>"}}
    assert get(returning("404 Not Found"), options=options).body == b"<p>string</p>"
    assert get(returning("503 Service Unavailable"), options=options).body == b"<p>five 503</p>"


def test_custom_templates_only_change_html_pages():
    options = {"pages": {"default": "<p>custom</p>"}}
    assert b"custom" not in get(failing, "application/json", options=options).body
    assert b"custom" not in get(failing, "*/*", options=options).body


def test_placeholders_are_html_escaped_and_dollar_dollar_is_literal():
    environ_id = "a<b>&\"'"  # not a valid header id, so only reachable from an outer layer
    result = get(failing, options={"pages": {500: "<p>$$5 $request_id ${title} $5</p>"}},
                 **{"middleware.request_id": environ_id})
    assert result.body == (b"<p>$5 a&lt;b&gt;&amp;&quot;&#x27; Internal Server Error $5</p>")


@pytest.mark.parametrize("content,reason", [
    (b"\xff\xfe broken", "cannot read 500.html"),
    (b"<p>$request</p>", r"unknown placeholder \$request"),
])
def test_unusable_template_file_is_logged_and_the_built_in_page_stands_in(tmp_path, caplog,
                                                                         content, reason):
    (tmp_path / "500.html").write_bytes(content)
    logger = logging.getLogger("tests.errors.templates")
    with caplog.at_level(logging.ERROR, logger=logger.name):
        app = ErrorPageMiddleware(failing, template_dir=tmp_path, logger=logger)
    assert re.search(reason, caplog.text) and "500.html" in caplog.text
    result = get(app)
    assert result.status.startswith("500") and b"Internal Server Error" in result.body
    assert b"broken" not in result.body and b"$request" not in result.body


@pytest.mark.parametrize("code", sorted({*MESSAGES, 418, 499, 599}))
def test_every_status_gets_a_complete_page_with_standard_title(code):
    result = get(returning(f"{code} Whatever The App Said"))
    assert result.status.startswith(str(code))
    assert "Whatever" not in result.status
    assert result.body.startswith(b"<!doctype html>") and result.body.endswith(b"</html>\n")
    assert f'<p class="status">{code}</p>'.encode() in result.body


# -- interception -----------------------------------------------------------------------------

def test_app_bare_404_gets_the_page():
    result = get(returning("404 Not Found", b"Not Found"))
    assert result.status == "404 Not Found"
    assert b"<h1>Not Found</h1>" in result.body


@pytest.mark.parametrize("content_type", ["application/json", "application/problem+json",
                                          "application/xml", "image/png"])
def test_structured_error_bodies_are_kept(content_type):
    result = get(returning("422 Unprocessable Entity", b'{"field": "name"}', content_type))
    assert result.body == b'{"field": "name"}'
    assert result.header("Content-Type") == content_type
    assert result.header("X-Request-ID")


def test_empty_structured_error_body_is_replaced():
    assert b"Not Found" in get(returning("404 Not Found", b"", "application/json")).body


def test_empty_streamed_error_body_is_replaced_and_closed():
    closed = []

    class Empty:
        def __iter__(self):
            yield b""

        def close(self):
            closed.append(True)

    def app(environ, start_response):
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return Empty()

    assert b"Not Found" in get(app).body
    assert closed == [True]


def test_app_can_opt_out_with_a_header_that_is_not_sent():
    result = get(returning("404 Not Found", b"my own page", "text/html",
                           [("X-Error-Page", "off")]))
    assert result.body == b"my own page"
    assert result.header("X-Error-Page") is None


def test_app_can_opt_out_through_the_environ():
    def app(environ, start_response):
        environ["middleware.error_page"] = False
        return returning("500 Internal Server Error", b"debug page", "text/html")(
            environ, start_response)

    assert get(app).body == b"debug page"


def test_intercept_false_keeps_app_error_bodies_but_still_catches_exceptions():
    assert get(returning("404 Not Found", b"bare"), options={"intercept": False}).body == b"bare"
    assert get(failing, options={"intercept": False}).status.startswith("500")


def test_kept_headers_survive_and_others_are_dropped():
    headers = [("Allow", "GET"), ("WWW-Authenticate", 'Basic realm="x"'), ("Retry-After", "30"),
               ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("Access-Control-Allow-Origin", "*"),
               ("X-Debug-Token", "internal"), ("Server-Timing", "db;dur=53"),
               ("Content-Length", "4"), ("Cache-Control", "public, max-age=60")]
    result = get(returning("503 Service Unavailable", b"oops", "text/html", headers))
    sent = [(k, v) for k, v in result.headers]
    for header in headers[:6]:
        assert header in sent
    assert result.header("X-Debug-Token") is None and result.header("Server-Timing") is None
    assert result.header("Content-Length") == str(len(result.body))
    assert result.header("Cache-Control") == "no-store"


def test_vary_accept_is_merged_once():
    kept = get(returning("404 Not Found", b"", "text/plain", [("Vary", "Cookie, accept")]))
    assert kept.headers.count(("Vary", "Cookie, accept")) == 1
    assert [v for k, v in kept.headers if k == "Vary"] == ["Cookie, accept"]
    added = get(returning("404 Not Found", b"", "text/plain", [("Vary", "Cookie")]))
    assert [v for k, v in added.headers if k == "Vary"] == ["Cookie, Accept"]


def test_keep_headers_option_replaces_the_list_and_supports_prefixes():
    headers = [("Allow", "GET"), ("X-Rate-Limit", "5"), ("X-Rate-Reset", "9")]
    result = get(returning("429 Too Many Requests", b"", "text/plain", headers),
                 options={"keep_headers": ["x-rate-*"]})
    assert result.header("Allow") is None
    assert (result.header("X-Rate-Limit"), result.header("X-Rate-Reset")) == ("5", "9")


def test_flask_errors_get_pages_with_their_headers():
    flask_app = Flask(__name__)

    @flask_app.route("/only-post", methods=["POST"])
    def only_post():
        return "ok"

    @flask_app.route("/auth")
    def auth():
        return Response("login please", 401, {"WWW-Authenticate": 'Bearer realm="api"'})

    @flask_app.route("/crash")
    def crash():
        abort(500)

    @flask_app.route("/api")
    def api():
        return {"error": "invalid"}, 400

    def at(path, accept=BROWSER):
        return get(flask_app, accept, PATH_INFO=path)

    missing = at("/nope")
    assert missing.status == "404 Not Found" and b"<h1>Not Found</h1>" in missing.body
    assert b"requested URL was not found" not in missing.body  # werkzeug's own page is gone
    wrong = at("/only-post")
    assert wrong.status == "405 Method Not Allowed"
    assert set(wrong.header("Allow").replace(" ", "").split(",")) == {"POST", "OPTIONS"}
    assert at("/auth").header("WWW-Authenticate") == 'Bearer realm="api"'
    assert at("/crash").status == "500 Internal Server Error"
    assert json.loads(at("/api", "application/json").body) == {"error": "invalid"}


# -- leak scan --------------------------------------------------------------------------------

MARK = "LEAKMARK"
PAGE_OPTIONS = [{}, {"pages": {"default": "<html><body>$status $title $message $request_id"
                                          "</body></html>"}}]
FORMS = [BROWSER, "application/json", "*/*"]


class Leaky(Exception):
    """Carries the marker in its text, like ``int(request_param)`` echoing its input."""


def leaky_app(kind):
    def app(environ, start_response):
        local_secret = f"{MARK}-local"  # noqa: F841 - a local that must not reach the page
        if kind == "raise":
            raise Leaky(f"{MARK}-exception </textarea><script>alert(1)</script>")
        if kind == "first_chunk":
            start_response("200 OK", [("Content-Type", "text/plain"),
                                      ("X-Internal", f"{MARK}-header")])

            def body():
                raise Leaky(f"{MARK}-exception")
                yield b""
            return body()
        status, body = kind
        start_response(f"{status} {MARK}-reason", [("Content-Type", "text/html"),
                                                   ("X-Internal", f"{MARK}-header")])
        return [f"Traceback {MARK}-body {environ['PATH_INFO']}".encode()]
    return app


LEAK_KINDS = ["raise", "first_chunk", *[(code, "app") for code in (400, 403, 404, 500, 503)]]


@pytest.mark.parametrize("options", PAGE_OPTIONS, ids=["built-in", "custom"])
@pytest.mark.parametrize("accept", FORMS, ids=["html", "json", "text"])
@pytest.mark.parametrize("kind", LEAK_KINDS, ids=str)
def test_no_page_leaks_internals(kind, accept, options):
    environ = {
        "PATH_INFO": f"/{MARK}-path/<script>", "QUERY_STRING": f"q={MARK}-query",
        "HTTP_COOKIE": f"session={MARK}-cookie", "HTTP_AUTHORIZATION": f"Bearer {MARK}-auth",
        "HTTP_USER_AGENT": f"{MARK}-agent", "HTTP_X_REQUEST_ID": f"{MARK}<script>",
        "REMOTE_ADDR": "203.0.113.77", "SERVER_NAME": f"{MARK}-host.example",
        "HTTP_HOST": f"{MARK}-host.example", "app.setting": f"{MARK}-environ",
    }
    result = get(leaky_app(kind), accept, options=options, **environ)
    assert int(result.status[:3]) >= 400
    wire = (result.status + "\n" + "\n".join(f"{k}: {v}" for k, v in result.headers)
            ).encode() + b"\n" + result.body
    for needle in (MARK.encode(), b"Traceback", b"File \"", b".py", b"203.0.113.77", b"Leaky",
                   b"<script", b"textarea", b"PATH_INFO", b"wsgi."):
        assert needle not in wire, f"{needle!r} leaked"


# -- fuzzing the request-facing parsers -------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_accept_header_gets_one_of_the_three_forms(accept):
    assert negotiate(accept) in {"text/html; charset=utf-8", "application/problem+json",
                                 "text/plain; charset=utf-8"}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12)), max_size=6))
def test_scrubbing_any_query_hides_exactly_the_secret_values(pairs):
    query = urlencode(pairs)
    scrubbed = scrub_query(query, secret_pattern())
    assert scrubbed.count("&") == query.count("&")
    for (name, value), part in zip(pairs, scrubbed.split("&") if query else [], strict=True):
        secret = secret_pattern().search(name) and value
        assert part.endswith("=[scrubbed]") if secret else part == urlencode([(name, value)])


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_incoming_request_id_yields_a_safe_id_on_the_page(incoming):
    result = get(returning("404 Not Found"), "*/*", HTTP_X_REQUEST_ID=incoming)
    rid = result.header("X-Request-ID")
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:+=/-]{0,127}", rid)
    assert rid == incoming or re.fullmatch(r"[0-9a-f]{32}", rid)
    assert result.body.endswith(f"Request ID: {rid}\n".encode())


@pytest.mark.parametrize("form", [HTML, PROBLEM_JSON, TEXT])
def test_cached_pages_carry_each_requests_own_id_and_odd_ids_are_still_escaped(form):
    pages = PageSet()
    first = pages.render(404, form, "a" * 32)
    second = pages.render(404, form, "b" * 32)
    assert b"a" * 32 in first.body and b"b" * 32 in second.body and b"a" * 32 not in second.body
    # a page from the cache is the page a fresh PageSet (nothing cached) renders
    assert second.body == PageSet().render(404, form, "b" * 32).body
    odd = pages.render(404, form, "<x>")
    assert odd.body == PageSet().render(404, form, "<x>").body
