"""DebugMiddleware: exception points, the traceback model, negotiation, access and options."""

from __future__ import annotations

import builtins
import io
import json
import logging
import re
import sys
from dataclasses import dataclass
from wsgiref.util import FileWrapper

import pytest

from harness import check_conformance, make_environ, serve
from middleware.debug import DebugMiddleware

QUIET = logging.getLogger("tests.debug")
QUIET.propagate = False
QUIET.addHandler(logging.NullHandler())
PLAIN_500 = b"Internal Server Error\n"


class Boom(Exception):
    """The application's error in these tests."""


def debug(app, **options):
    options.setdefault("logger", QUIET)
    return DebugMiddleware(app, **options)


def get(app, accept="text/plain", **environ):
    """Serve one request through ``app`` and return the harness result."""
    return serve(app, make_environ(HTTP_ACCEPT=accept, **environ))


def fails(message="it broke"):
    def app(environ, start_response):
        raise Boom(message)
    return app


# --- exception points -------------------------------------------------------------------------

def raise_before_start(environ, start_response):
    raise Boom("before start_response")


def raise_after_start(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    raise Boom("after start_response")


def raise_at_first_chunk(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])

    def body():
        raise Boom("at the first chunk")
        yield b"never"
    return body()


def raise_after_empty_chunk(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])

    def body():
        yield b""
        raise Boom("after an empty chunk")
    return body()


def raise_in_late_start_generator(environ, start_response):
    def body():
        raise Boom("in a generator before start_response")
        yield b"never"
    return body()


@pytest.mark.parametrize("app", [raise_before_start, raise_after_start, raise_at_first_chunk,
                                 raise_after_empty_chunk, raise_in_late_start_generator])
def test_exception_before_anything_was_sent_becomes_the_debug_page(app):
    result = get(debug(app))
    assert result.error is None
    assert result.status == "500 Internal Server Error"
    assert result.header("Content-Type") == "text/plain; charset=utf-8"
    assert int(result.header("Content-Length")) == len(result.body)
    assert b"Boom: " in result.body and app.__name__.encode() in result.body


def test_exception_after_the_first_chunk_cuts_the_response_and_reaches_the_server():
    closed = []

    class Stream:
        def __iter__(self):
            yield b'{"part": 1,'
            raise Boom("mid-stream")

        def close(self):
            closed.append(True)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return Stream()

    result = get(debug(app))
    assert result.status == "200 OK"
    assert result.body == b'{"part": 1,'  # nothing appended to a body already on the wire
    assert isinstance(result.error, Boom)
    assert closed == [True]


def test_exception_after_write_was_used_is_reraised_by_the_server():
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"partial")
        raise Boom("after write()")

    with pytest.raises(Boom, match="after write"):
        get(debug(app))


def test_exception_in_close_propagates_after_the_body_was_sent():
    class Body:
        def __iter__(self):
            yield b"complete"

        def close(self):
            raise Boom("in close()")

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Body()

    with pytest.raises(Boom, match="in close"):
        get(debug(app))


@pytest.mark.parametrize("behaviour", ["raise_before_start", "raise_mid_iteration",
                                       "exc_info_before_send", "exc_info_after_send"])
def test_conformance_of_the_error_behaviours_from_a_remote_and_a_local_client(behaviour):
    for remote in ("127.0.0.1", "203.0.113.9"):
        check_conformance(debug, behaviour, {"REMOTE_ADDR": remote})


# --- pass-through -----------------------------------------------------------------------------

def test_list_body_and_server_start_response_pass_through_untouched():
    body = [b"ok"]
    seen = {}

    def app(environ, start_response):
        seen["start_response"] = start_response
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body

    def start_response(status, headers, exc_info=None):
        return None

    assert debug(app)(make_environ(), start_response) is body
    assert seen["start_response"] is start_response


def test_file_wrapper_body_is_returned_untouched(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(b"file body")

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return environ["wsgi.file_wrapper"](open(path, "rb"))

    body = debug(app)(make_environ(), lambda *a: None)
    assert isinstance(body, FileWrapper)
    body.close()


def test_generator_body_streams_unchanged():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (b"chunk %d" % i for i in range(5))

    result = get(debug(app))
    assert result.status == "200 OK" and result.chunks == [b"chunk %d" % i for i in range(5)]


# --- the model: chain, groups, notes, frames ------------------------------------------------

def test_chained_exceptions_show_cause_and_context_in_every_format():
    def app(environ, start_response):
        try:
            try:
                {}["missing"]
            except KeyError:
                raise ValueError("second") from None
        except ValueError as exc:
            try:
                raise OSError("third") from exc
            except OSError:
                raise Boom("fourth")  # noqa: B904 - an implicit __context__ on purpose

    text = get(debug(app)).body.decode()
    assert "KeyError" not in text  # `from None` suppresses that context, as in Python
    assert text.index("ValueError: second") < text.index("OSError: third") < text.index(
        "Boom: fourth")
    assert "The above exception was the direct cause" in text
    assert "During handling of the above exception" in text
    html = get(debug(app), "text/html").body.decode()
    assert "directly caused by: ValueError: second" in html
    assert "while handling: OSError: third" in html
    document = json.loads(get(debug(app), "application/json").body)
    assert document["exception"]["context"]["type"] == "OSError"
    assert document["exception"]["context"]["cause"]["message"] == "second"


def test_a_cycle_in_the_chain_is_shown_once():
    def app(environ, start_response):
        first, second = ValueError("one"), ValueError("two")
        first.__context__, second.__context__ = second, first
        raise first

    text = get(debug(app)).body.decode()
    assert "chain loops" in text and text.count("ValueError: one") == 2


def test_exception_group_members_and_notes_are_shown():
    def app(environ, start_response):
        def fail(n):
            raise ValueError(f"member {n}")
        errors = []
        for n in range(3):
            try:
                fail(n)
            except ValueError as exc:
                errors.append(exc)
        inner = builtins.ExceptionGroup("inner group", [TypeError("nested member")])
        group = builtins.ExceptionGroup("outer group", [*errors, inner])
        group.add_note("a note on the group")
        raise group

    text = get(debug(app)).body.decode()
    for n in range(3):
        assert f"| ValueError: member {n}" in text
    assert "| ExceptionGroup: inner group (1 sub-exception)\n| +----" in text
    assert "\n| | TypeError: nested member\n" in text
    assert "a note on the group" in text
    html = get(debug(app), "text/html").body.decode()
    assert "Sub-exception 4 of 4: ExceptionGroup: inner group" in html
    assert "Sub-exception 1 of 1: TypeError: nested member" in html
    members = json.loads(get(debug(app), "application/json").body)["exception"]["members"]
    assert [m["message"] for m in members[:3]] == ["member 0", "member 1", "member 2"]
    assert members[0]["frames"][-1]["function"].endswith("fail")


def test_app_frames_are_open_library_frames_collapsed_and_hidden_frames_left_out():
    def hidden_helper():
        __traceback_hide__ = True  # the frame-hiding protocol under test
        json.loads("{not json")

    def app(environ, start_response):
        hidden_helper()

    html = get(debug(app), "text/html").body.decode()
    frames = re.findall(r'<details class="frame (\w+)" id="frame-\d+"( open)?>'
                        r"<summary><b>([^<]+)</b>", html)
    assert frames[0] == ("app", " open", "test_app_frames_are_open_library_frames_collapsed_"
                         "and_hidden_frames_left_out.&lt;locals&gt;.app")
    assert all(kind == "library" and not opened for kind, opened, _ in frames[1:])
    assert any(name.endswith("raw_decode") for _, _, name in frames)
    assert "hidden_helper" not in "".join(name for _, _, name in frames)
    assert "DebugMiddleware" not in html.split("<textarea")[0]  # our own frame is hidden


def test_source_context_marks_the_failing_line():
    def app(environ, start_response):
        before = 1  # noqa: F841 - context line
        raise Boom("marked line")

    html = get(debug(app), "text/html").body.decode()
    marked = re.findall(r'<span class="cur"><i>\d+</i>([^<]*)</span>', html)
    assert marked == ["        raise Boom(&quot;marked line&quot;)"]
    assert "before = 1" in html


def test_deep_recursion_keeps_both_ends_and_a_bounded_page():
    def recurse(n):
        return recurse(n + 1)

    def app(environ, start_response):
        recurse(0)

    result = get(debug(app), "text/html")
    assert b"RecursionError" in result.body and b"frames omitted" in result.body
    assert len(result.body) < 400_000


def test_huge_locals_keep_the_page_small():
    def app(environ, start_response):
        numbers = list(range(100_000))  # noqa: F841 - shown as a local
        text = "x" * 1_000_000  # noqa: F841
        blob = b"\0" * 1_000_000  # noqa: F841
        nested = {f"k{i}": list(range(1000)) for i in range(1000)}  # noqa: F841
        error = Boom("m" * 1_000_000)
        error.add_note("n" * 1_000_000)
        raise error

    for accept in ("text/html", "application/json"):
        body = get(debug(app), accept).body
        assert len(body) < 40_000, accept
    html = get(debug(app), "text/html").body.decode()
    assert "(1000000 characters)" in html and "(1000000 bytes)" in html
    assert "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, ...]" in html


def test_a_long_secret_is_masked_in_truncated_copies_too():
    key = "".join(f"{i:04x}" for i in range(2000))  # 8000 characters, no repetition

    def app(environ, start_response):
        private_key = key  # noqa: F841 - masked by name
        copy = key[:6000]  # noqa: F841 - masked piece by piece, shown truncated
        same = key  # noqa: F841 - equal to a secret: masked whole
        raise Boom("key rejected")

    html = get(debug(app), "text/html").body.decode()
    assert not [i for i in range(0, 8000, 16) if key[i:i + 16] in html]
    assert "<th>copy</th><td><code>&#x27;********" in html
    assert "<th>same</th><td><code>********</code>" in html


def test_a_local_with_a_broken_repr_does_not_break_the_page():
    class Broken:
        def __repr__(self):
            raise RuntimeError("no repr")

    def app(environ, start_response):
        thing = Broken()  # noqa: F841 - shown as a local
        raise Boom("with a broken local")

    html = get(debug(app), "text/html").body.decode()
    assert "repr() raised RuntimeError" in html and "Boom" in html


# --- negotiation ----------------------------------------------------------------------------

@pytest.mark.parametrize("accept, content_type", [
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
    ("*/*", "text/plain"),
    ("", "text/plain"),
    ("application/json", "application/json"),
    ("application/problem+json, text/plain;q=0.5", "application/json"),
    ("text/plain", "text/plain"),
])
def test_page_is_negotiated_by_accept(accept, content_type):
    result = get(debug(fails()), accept)
    assert result.header("Content-Type").split(";")[0] == content_type
    assert result.header("Vary") == "Accept"
    assert result.header("Cache-Control") == "no-store"
    if content_type == "application/json":
        document = json.loads(result.body)
        assert document["exception"]["type"].endswith("Boom")
        assert "Traceback (most recent call last)" in document["traceback"]
        assert document["request"]["method"] == "GET"


def test_html_page_is_self_contained_and_locked_down():
    result = get(debug(fails()), "text/html")
    html = result.body.decode()
    csp = result.header("Content-Security-Policy")
    nonce = re.search(r"script-src 'nonce-([^']+)'", csp).group(1)
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert re.findall(r"<script[^>]*>", html) == [f'<script nonce="{nonce}">']
    assert not re.search(r"(src|href)=", html)  # nothing loaded from anywhere
    assert result.header("X-Frame-Options") == "DENY"


def test_hostile_exception_text_is_escaped_everywhere():
    payload = "</textarea><script>alert(1)</script><img src=x onerror=alert(2)>"
    html = get(debug(fails(payload)), "text/html").body.decode()
    assert "<script>alert" not in html and "<img" not in html
    assert html.count("&lt;/textarea&gt;&lt;script&gt;alert(1)") >= 3  # title, header, text


@pytest.mark.parametrize("accept, environ, page", [
    ("text/html;q=abc, */*;;q=", {"HTTP_COOKIE": "=;;a=\"unterminated"}, True),
    ("text/html", {"QUERY_STRING": "a=%ZZ&token=%E2%28&=&&",
                   "PATH_INFO": "/caf\xc3\xa9/\xff"}, True),
    ("text/html", {"HTTP_AUTHORIZATION": "Basic !!!not-base64", "CONTENT_LENGTH": "-5"}, True),
    ("text/html", {"HTTP_HOST": "[::1", "HTTP_X_FORWARDED_FOR": ",,,"}, False),
])
def test_malformed_request_data_never_crashes_the_error_path(accept, environ, page):
    result = get(debug(fails()), accept, **environ)
    assert result.status == "500 Internal Server Error"
    assert (b"test_debug.Boom" in result.body) is page
    assert (result.body == PLAIN_500) is not page


def test_a_failure_while_building_the_report_still_answers_500_and_logs_both(monkeypatch,
                                                                              caplog):
    import middleware.debug.middleware as debug_middleware

    def broken(*args, **kwargs):
        raise RuntimeError("report bug")

    monkeypatch.setattr(debug_middleware, "collect", broken)
    with caplog.at_level(logging.ERROR, logger="middleware.debug"):
        result = get(DebugMiddleware(fails("the app's error")), "text/html")
    assert result.status == "500 Internal Server Error" and result.body == PLAIN_500
    logged = "\n".join(r.getMessage() + str(r.exc_info and r.exc_info[1]) for r in caplog.records)
    assert "report bug" in logged and "the app's error" in logged


# --- who sees the page ------------------------------------------------------------------------

@pytest.mark.parametrize("environ", [
    {"REMOTE_ADDR": "203.0.113.9"},
    {"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": "127.0.0.1"},
    {"REMOTE_ADDR": "203.0.113.9", "HTTP_X_REAL_IP": "127.0.0.1",
     "HTTP_FORWARDED": "for=127.0.0.1"},
    {"REMOTE_ADDR": ""},
    {"REMOTE_ADDR": "not-an-ip"},
    {"REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "attacker.example"},
    {"REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "localhost.attacker.example"},
])
def test_other_clients_get_a_plain_500_with_nothing_inside(environ):
    for accept in ("text/html", "application/json", "*/*"):
        result = get(debug(fails("s3cret detail")), accept, **environ)
        assert result.status == "500 Internal Server Error"
        assert result.body == PLAIN_500
        assert result.header("Content-Type") == "text/plain; charset=utf-8"


@pytest.mark.parametrize("remote, allowed", [
    ("10.1.2.3", True), ("10.255.255.255", True), ("11.0.0.1", False),
    ("192.168.1.77", True), ("192.168.2.1", False),
    ("fd00::1234", True), ("fe80::1", False), ("::ffff:10.0.0.9", True),
])
def test_allowed_ips_accept_cidr_ranges(remote, allowed):
    app = debug(fails(), allowed_ips=["10.0.0.0/8", "192.168.1.0/24", "fd00::/8"])
    result = get(app, REMOTE_ADDR=remote)
    assert (result.body != PLAIN_500) is allowed


@pytest.mark.parametrize("forwarded_for, allowed", [
    ("127.0.0.1", True),
    ("127.0.0.1, 203.0.113.9", False),  # the client prepended a loopback address: ignored
    ("203.0.113.9, 127.0.0.1", True),
    ("127.0.0.1, 10.0.0.3", True),  # a second trusted proxy in the chain is skipped
    ("", True),  # no header: the proxy is the client, and loopback isn't the proxy here
    ("garbage", False),
])
def test_forwarded_for_counts_only_from_trusted_proxies(forwarded_for, allowed):
    app = debug(fails(), allowed_ips=["127.0.0.1", "10.0.0.2"], trusted_proxies=["10.0.0.0/29"])
    result = get(app, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded_for)
    assert (result.body != PLAIN_500) is allowed


@pytest.mark.parametrize("host, allowed", [
    ("localhost", True), ("localhost:5000", True), ("app.localhost:8000", True),
    ("127.0.0.1:8000", True), ("[::1]:8000", True), ("dev.example.test", True),
    ("sub.dev.example.test", False), ("example.test", False),
])
def test_host_must_be_an_ip_literal_or_trusted(host, allowed):
    app = debug(fails(), trusted_hosts=["localhost", ".localhost", "dev.example.test"])
    assert (get(app, HTTP_HOST=host).body != PLAIN_500) is allowed


# --- scrubbing --------------------------------------------------------------------------------

@dataclass
class Settings:
    debug: bool
    secret_key: str


# what must never appear; far from the app below, whose source context is on the page
SECRETS = ["hunter2-local", "nested-pw-1", "attr-secret-9", "url-pw-77",
           "DE89370400440532013000", "tok-aaaa-bbbb", "Bearer-abc-123", "sess-cookie-v",
           "apikey-header-v", "query-token-v", "environ-secret-v"]


def app_with_secrets(environ, start_response):
    password = "hunter2-local"
    config = {"db": {"user": "app", "password": "nested-pw-1"}, "name": "x"}  # noqa: F841
    settings = Settings(debug=True, secret_key="attr-secret-9")  # noqa: F841
    database_url = "postgres://app:url-pw-77@db.internal/app"  # noqa: F841
    iban = "DE89370400440532013000"  # noqa: F841 - masked through scrub=["iban"]
    message = f"login failed for {password}"  # noqa: F841 - the secret under another name
    raise Boom("rejected token tok-aaaa-bbbb")


def test_secrets_are_masked_in_locals_nested_values_headers_cookies_query_and_environ():
    environ = {
        "HTTP_AUTHORIZATION": "Bearer Bearer-abc-123",
        "HTTP_COOKIE": "sid=sess-cookie-v; theme=dark",
        "HTTP_X_API_KEY": "apikey-header-v",
        "QUERY_STRING": "page=2&access_token=query-token-v",
        "myapp.signing_secret": "environ-secret-v",
        "myapp.token_hint": "tok-aaaa-bbbb",
    }
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    logger = logging.getLogger("tests.debug.collect")
    logger.propagate = False
    logger.addHandler(Collect())
    app_ = debug(app_with_secrets, scrub=["iban"], logger=logger)
    for accept in ("text/html", "application/json", "text/plain"):
        body = get(app_, accept, **environ).body.decode()
        leaked = [s for s in SECRETS if s in body]
        assert not leaked, (accept, leaked)
    html = get(app_, "text/html", **environ).body.decode()
    assert "page=2" in html and "theme" in html and "postgres://app:********@db.internal" in html
    assert "Authorization" in html and "********" in html
    assert not [s for s in SECRETS if any(s in r for r in records)]  # the log is masked too


def test_form_keys_are_shown_when_the_app_parsed_the_form_and_secret_fields_masked():
    from werkzeug.wrappers import Request

    def app(environ, start_response):
        form = Request(environ).form
        pw = form["password"]  # noqa: F841 - a secret under an innocent name
        raise Boom("login failed")

    secret = "form-pw-" + "123"  # split: the test's own source is on the page as context
    body = f"user=ann&password={secret}"
    environ = make_environ(REQUEST_METHOD="POST", CONTENT_TYPE="application/x-www-form-urlencoded",
                           CONTENT_LENGTH=str(len(body)), HTTP_ACCEPT="text/html")
    environ["wsgi.input"] = io.BytesIO(body.encode())
    html = serve(debug(app), environ).body.decode()
    assert "<h3>Form keys</h3>" in html and "<th>user</th>" in html and "<th>password</th>" in html
    assert secret not in html
    assert "<th>pw</th><td><code>********</code>" in html  # equal to a secret: masked whole


def test_request_body_is_never_read_by_the_page():
    def app(environ, start_response):
        raise Boom("body untouched")

    environ = make_environ(REQUEST_METHOD="POST", CONTENT_TYPE="application/x-www-form-urlencoded",
                           CONTENT_LENGTH="7", HTTP_ACCEPT="text/html")
    environ["wsgi.input"] = stream = io.BytesIO(b"a=b&c=d")
    assert b"Boom" in serve(debug(app), environ).body
    assert stream.tell() == 0


# --- options ----------------------------------------------------------------------------------

@pytest.mark.parametrize("options, error, match", [
    ({"allowed_ips": ["127.0.0.1", "not an ip"]}, ValueError, "allowed_ips"),
    ({"allowed_ips": "127.0.0.1"}, TypeError, "allowed_ips"),
    ({"trusted_proxies": ["10.0.0.0/33"]}, ValueError, "trusted_proxies"),
    ({"trusted_hosts": "localhost"}, TypeError, "trusted_hosts"),
    ({"evalex": "yes"}, TypeError, "evalex"),
    ({"scrub": "iban"}, TypeError, "scrub"),
    ({"scrub": [""]}, ValueError, "scrub"),
    ({"evalex": True, "pin": "12ab"}, ValueError, "pin"),
    ({"max_tracebacks": 0}, ValueError, "max_tracebacks"),
    ({"console_path": "debug"}, ValueError, "console_path"),
    ({"logger": "middleware.debug"}, TypeError, "logger"),
])
def test_invalid_options_fail_at_construction_naming_the_option(options, error, match):
    with pytest.raises(error, match=match):
        DebugMiddleware(fails(), **options)


def test_options_are_stored_as_plain_attributes():
    app = debug(fails(), allowed_ips=["10.0.0.0/8"], scrub=["IBAN"], evalex=True, pin="123456")
    assert app.allowed_ips == ("10.0.0.0/8",)
    assert app.scrub == ("iban",) and app.evalex is True and app.console.pin == "123456"


def test_a_loud_warning_is_logged_at_start_up_and_the_pin_with_evalex(caplog):
    with caplog.at_level(logging.WARNING, logger="middleware.debug"):
        DebugMiddleware(fails())
        DebugMiddleware(fails(), evalex=True, pin="111-222-333")
    messages = [r.getMessage() for r in caplog.records]
    assert sum("Never enable it in production" in m for m in messages) == 2
    assert any("111-222-333" in m for m in messages)


def test_paste_deploy_filter_builds_the_middleware(tmp_path, monkeypatch):
    from paste.deploy import loadapp

    monkeypatch.setenv("TEST_DEBUG_PIN", "987-654-321")
    ini = tmp_path / "app.ini"
    ini.write_text(
        "[pipeline:main]\npipeline = debug app\n\n"
        "[filter:debug]\nuse = egg:wsgi-middleware-suite#debug\n"
        "allowed_ips = 127.0.0.1, 10.0.0.0/8\nevalex = true\npin = env:TEST_DEBUG_PIN\n"
        "scrub = iban, bic\nmax_tracebacks = 3\n\n"
        "[app:app]\npaste.app_factory = test_debug:app_factory\n")
    sys.path.insert(0, str(tmp_path))
    app = loadapp(f"config:{ini}")
    assert isinstance(app, DebugMiddleware)
    assert app.allowed_ips == ("127.0.0.1/32", "10.0.0.0/8") and app.evalex is True
    assert app.console.pin == "987-654-321" and app.scrub == ("iban", "bic")
    assert app.max_tracebacks == 3
    assert b"Boom: from paste" in get(app).body


def app_factory(global_conf, **local_conf):
    return fails("from paste")


def test_an_error_page_layer_outside_keeps_the_debug_page():
    from harness import make_environ, serve
    from middleware import DebugMiddleware, ErrorPageMiddleware

    def failing(environ, start_response):
        raise RuntimeError("visible to the developer")

    app = ErrorPageMiddleware(DebugMiddleware(failing))
    result = serve(app, make_environ(HTTP_ACCEPT="text/plain"))
    assert result.status.startswith("500")
    assert b"visible to the developer" in result.body


def test_logged_request_data_cannot_forge_log_lines(caplog):
    """Every value from the request is escaped in the debug log (middleware.logsafe.for_log)."""
    forged = "2026-01-01 00:00:00 CRITICAL admin logged in"
    logger = logging.getLogger("tests.debug.forge")
    with caplog.at_level(logging.WARNING, logger="tests.debug.forge"):
        get(debug(fails(f"bad id\n{forged}"), logger=logger),
            REQUEST_METHOD=f"GET\n{forged}", PATH_INFO=f"/x\r\n{forged}\x1b[2J")
        get(debug(fails(), logger=logger, trusted_hosts=()),
            HTTP_HOST=f"evil.example\n{forged}")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "Exception on" in text and "Debug page withheld" in text
    assert not [line for line in text.splitlines() if line.startswith(forged[:10])], text
    assert "\x1b" not in text and "\r" not in text
    assert "\\x0a2026-01-01" in text  # escaped, still readable
