"""ErrorPageMiddleware: exceptions at every point, logging, request ids, notify, options."""

from __future__ import annotations

import io
import logging
import os
import re
import sys
import textwrap

import pytest
import requests
from paste.deploy import loadapp

from harness import make_environ, serve
from middleware import ErrorPageMiddleware
from middleware.errors import current_request_id, filter_factory, scrub_query
from servers import serve_in_thread

LOGGER = "middleware.errors"
HEX_ID = re.compile(r"[0-9a-f]{32}")


class Boom(Exception):
    """The application's failure."""


class Closing:
    """A body that counts ``close()`` and may fail at a chosen chunk."""

    def __init__(self, chunks, fail_at=None, start=None):
        self.chunks, self.fail_at, self.start, self.closed = chunks, fail_at, start, 0

    def __iter__(self):
        for i, chunk in enumerate(self.chunks):
            if i == 0 and self.start is not None:
                self.start()
            if i == self.fail_at:
                raise Boom("secret-detail-from-the-exception")
            yield chunk
        if self.fail_at == len(self.chunks):
            raise Boom("secret-detail-from-the-exception")

    def close(self):
        self.closed += 1


def make_app(body, status="200 OK", headers=(("Content-Type", "text/plain"),)):
    def app(environ, start_response):
        start_response(status, list(headers))
        return body
    return app


def run(app, accept="text/html", **options):
    """Serve one GET through the middleware; return the harness result."""
    environ = make_environ(HTTP_ACCEPT=accept, QUERY_STRING="page=2&token=hunter2")
    return serve(ErrorPageMiddleware(app, **options), environ)


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    return caplog


def errors_logged(caplog):
    return [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.ERROR]


# -- exceptions at each point -------------------------------------------------------------------

def test_exception_before_start_response_gives_500_page_and_one_log(log):
    def app(environ, start_response):
        raise Boom("secret-detail-from-the-exception")

    result = run(app)
    assert result.status == "500 Internal Server Error"
    assert result.header("Content-Type") == "text/html; charset=utf-8"
    assert b"Internal Server Error" in result.body
    assert b"secret-detail" not in result.body
    [record] = errors_logged(log)
    assert record.exc_info[0] is Boom
    assert "before the response started" in record.getMessage()


def test_exception_in_first_chunk_after_start_response_gives_500_not_200(log):
    body = Closing([b"never"], fail_at=0)
    result = run(make_app(body))
    assert result.status.startswith("500")
    assert b"never" not in result.body
    assert body.closed == 1
    assert len(errors_logged(log)) == 1


def test_exception_after_empty_first_chunks_still_gives_500(log):
    body = Closing([b"", b"", b"late"], fail_at=2)
    result = run(make_app(body))
    assert result.status.startswith("500")
    assert body.closed == 1


def test_exception_in_lazy_generator_before_start_response_gives_500(log):
    def app(environ, start_response):
        raise Boom("secret-detail-from-the-exception")
        yield b"unreachable"

    result = run(app)
    assert result.status.startswith("500")
    assert len(errors_logged(log)) == 1


def test_failure_after_write_is_a_mid_stream_failure(log):
    # write() data is on its way to the client (PEP 3333): the headers are out, so the page
    # cannot replace them; the server gets the exception (and cuts the response) and the log
    # says it happened while sending the body.
    sent = []

    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"half-written")

        def body():
            raise Boom("secret-detail-from-the-exception")
            yield b""
        return body()

    def start_response(status, headers, exc_info=None):
        if exc_info is not None and sent:
            raise exc_info[1].with_traceback(exc_info[2])
        return sent.append

    with pytest.raises(Boom):
        ErrorPageMiddleware(app)(make_environ(), start_response)
    assert sent == [b"half-written"]
    [record] = errors_logged(log)
    assert "while sending the body" in record.getMessage()


def test_exception_mid_stream_ends_response_and_reraises_without_second_headers(log):
    body = Closing([b"first ", b"second"], fail_at=1)
    result = run(make_app(body))
    # the harness server refuses a second start_response without exc_info after sending
    assert result.status == "200 OK"
    assert result.body == b"first "
    assert isinstance(result.error, Boom)
    assert body.closed == 1
    [record] = errors_logged(log)
    assert "while sending the body" in record.getMessage()
    assert record.exc_info[1] is result.error


def test_mid_stream_failure_drops_the_connection_on_a_real_server(log):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])

        def body():
            yield b"x" * 1000
            raise Boom("secret-detail-from-the-exception")
        return body()

    with serve_in_thread(ErrorPageMiddleware(app)) as url:
        response = requests.get(url + "/stream", stream=True, timeout=10)
        assert response.status_code == 200
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            response.content  # noqa: B018 - reading the body is the point
    assert len(errors_logged(log)) == 1


def test_app_restart_with_exc_info_gets_the_page_and_is_logged(log):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise Boom("secret-detail-from-the-exception")
        except Boom:
            start_response("500 Oops", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"Traceback: secret-detail-from-the-exception"]

    result = run(app)
    assert result.status == "500 Internal Server Error"
    assert b"secret-detail" not in result.body
    [record] = errors_logged(log)
    assert record.exc_info[0] is Boom


def test_close_failure_after_an_app_failure_is_logged_and_the_page_still_sent(log):
    class BadClose(Closing):
        def close(self):
            super().close()
            raise OSError("close failed")

    body = BadClose([b"x"], fail_at=0)
    result = run(make_app(body))
    assert result.status.startswith("500")
    assert body.closed == 1
    assert [r.exc_info[0] for r in errors_logged(log)] == [OSError, Boom]


def test_error_page_is_started_with_exc_info_as_pep_3333_asks(log):
    calls = []

    def start_response(status, headers, exc_info=None):
        calls.append((status, exc_info))

    ErrorPageMiddleware(failing)(make_environ(), start_response)
    [(status, exc_info)] = calls
    assert status.startswith("500") and exc_info[0] is Boom


def test_base_exceptions_are_not_swallowed():
    def app(environ, start_response):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(app)


def test_unhandled_werkzeug_http_exception_becomes_its_page_with_its_headers(log):
    from werkzeug.exceptions import MethodNotAllowed

    def app(environ, start_response):
        raise MethodNotAllowed(valid_methods=["GET", "POST"])

    result = run(app)
    assert result.status == "405 Method Not Allowed"
    assert result.header("Allow") == "GET, POST"
    assert errors_logged(log) == []


# -- success path ------------------------------------------------------------------------------

def test_list_body_is_returned_untouched():
    body = [b"ok"]
    mw = ErrorPageMiddleware(make_app(body))
    assert mw(make_environ(), lambda *a: None) is body


def test_file_wrapper_body_is_returned_untouched():
    environ = make_environ()
    wrapper = environ["wsgi.file_wrapper"](open(__file__, "rb"))
    try:
        mw = ErrorPageMiddleware(make_app(wrapper))
        assert mw(environ, lambda *a: None) is wrapper
    finally:
        wrapper.close()


def test_redirects_and_not_modified_pass_through():
    result = run(make_app([b""], "304 Not Modified", [("ETag", '"v1"')]))
    assert result.status == "304 Not Modified"
    assert result.header("ETag") == '"v1"'


# -- request ids ------------------------------------------------------------------------------

def failing(environ, start_response):
    raise Boom("secret-detail-from-the-exception")


def test_request_id_is_on_page_header_and_log(log):
    result = run(failing)
    rid = result.header("X-Request-ID")
    assert HEX_ID.fullmatch(rid)
    assert rid.encode() in result.body
    [record] = errors_logged(log)
    assert record.request_id == rid
    assert rid in record.getMessage()


def test_valid_incoming_request_id_is_used():
    environ = make_environ(HTTP_X_REQUEST_ID="req-42.abc:def")
    seen = {}

    def app(environ, start_response):
        seen["id"] = current_request_id(environ)
        raise Boom("x")

    result = serve(ErrorPageMiddleware(app, logger="tests.errors.quiet"), environ)
    assert seen["id"] == "req-42.abc:def"
    assert result.header("X-Request-ID") == "req-42.abc:def"
    assert b"req-42.abc:def" in result.body


NOT_FOUND = ("404 Not Found", [("Content-Type", "text/plain")])


def missing(environ, start_response):
    start_response(*NOT_FOUND)
    return [b"Not Found"]


@pytest.mark.parametrize("bad", ["", " ", "a" * 129, "<script>", "id\r\nX-Evil: 1", "-lead",
                                 "ümlaut", "a b"])
def test_invalid_incoming_request_id_is_replaced_by_a_generated_one(bad):
    environ = make_environ(HTTP_X_REQUEST_ID=bad)
    result = serve(ErrorPageMiddleware(missing), environ)
    assert HEX_ID.fullmatch(result.header("X-Request-ID"))
    assert HEX_ID.fullmatch(environ["middleware.request_id"])


def test_request_id_is_drawn_only_when_asked_and_echoed_only_on_errors():
    seen = {}

    def app(environ, start_response):
        seen["before"] = environ.get("middleware.request_id")
        seen["id"] = current_request_id(environ)
        seen["again"] = environ["middleware.request_id"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    result = run(app)
    assert seen["before"] is None
    assert HEX_ID.fullmatch(seen["id"]) and seen["again"] == seen["id"]
    assert result.header("X-Request-ID") is None


def test_a_success_nobody_asked_about_draws_no_request_id():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    environ = make_environ()
    assert serve(ErrorPageMiddleware(app), environ).status == "200 OK"
    assert "middleware.request_id" not in environ


def test_the_id_the_app_asked_for_is_the_one_on_its_error_page():
    seen = {}

    def app(environ, start_response):
        seen["id"] = current_request_id(environ)
        raise Boom("x")

    result = run(app)
    assert result.header("X-Request-ID") == seen["id"]


def test_kept_error_response_also_carries_the_request_id():
    result = run(make_app([b'{"e": 1}'], "400 Bad Request", [("Content-Type", "application/json"),
                                                              ("X-Request-ID", "app-set")]))
    assert result.body == b'{"e": 1}'
    assert HEX_ID.fullmatch(result.header("X-Request-ID"))


def test_request_id_from_an_outer_layer_is_kept():
    environ = make_environ(**{"middleware.request_id": "outer-id"})
    result = serve(ErrorPageMiddleware(missing), environ)
    assert result.header("X-Request-ID") == "outer-id"


def test_custom_request_id_header_and_none():
    environ = make_environ(HTTP_X_CORRELATION_ID="corr-1", HTTP_X_REQUEST_ID="ignored")
    result = serve(ErrorPageMiddleware(missing, request_id_header="X-Correlation-ID"),
                   dict(environ))
    assert result.header("X-Correlation-ID") == "corr-1"
    assert result.header("X-Request-ID") is None
    result = serve(ErrorPageMiddleware(missing, request_id_header=None), dict(environ))
    assert result.header("X-Request-ID") is None
    assert HEX_ID.search(result.body.decode())


def test_two_requests_get_different_ids():
    ids = {run(missing).header("X-Request-ID") for _ in range(5)}
    assert len(ids) == 5


def test_forked_child_generates_different_ids_than_its_parent():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report two ids and leave without running pytest's exit handlers
        os.write(write, "".join(run(missing).header("X-Request-ID") for _ in range(2)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        child = pipe.read()
    parent = "".join(run(missing).header("X-Request-ID") for _ in range(2))
    assert len(child) == 64 and child != parent


# -- logging and notify -----------------------------------------------------------------------

def test_log_has_method_path_scrubbed_query_client_and_traceback(log):
    environ = make_environ(PATH_INFO="/orders/7", QUERY_STRING="page=2&api_key=sekrit&Token=t0k",
                           REMOTE_ADDR="203.0.113.9", REQUEST_METHOD="POST")
    serve(ErrorPageMiddleware(failing), environ)
    [record] = errors_logged(log)
    message = record.getMessage()
    assert "POST /orders/7?page=2&api_key=[scrubbed]&Token=[scrubbed]" in message
    assert "203.0.113.9" in message
    assert "sekrit" not in log.text and "t0k" not in message
    assert (record.http_method, record.http_path, record.client_addr) == (
        "POST", "/orders/7", "203.0.113.9")
    assert "Traceback" in log.text and "secret-detail-from-the-exception" in log.text


def test_logged_traceback_is_formatted_once_with_the_chain_and_without_caret_lines(log):
    def lookup(table):
        return table["missing"] + 1  # 3.11 would underline this expression with ~~~^^^

    def app(environ, start_response):
        try:
            lookup({})
        except KeyError as exc:
            raise Boom("secret-detail-from-the-exception") from exc

    formatted = []

    class Counting(logging.Formatter):
        def formatException(self, ei):
            formatted.append(ei)
            return super().formatException(ei)

    logger = logging.getLogger("tests.errors.formatted")
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(Counting())
    logger.addHandler(handler)
    try:
        serve(ErrorPageMiddleware(app, logger=logger), make_environ())
    finally:
        logger.removeHandler(handler)
    [record] = [r for r in log.records if r.name == logger.name]
    assert record.exc_info[0] is Boom  # handlers that read exc_info still get it
    text = handler.stream.getvalue()
    assert formatted == []  # exc_text was set: the formatter did not format again
    assert 'return table["missing"] + 1' in text and "KeyError: 'missing'" in text
    assert "direct cause of the following exception" in text and "Boom: secret-detail" in text
    assert not any(line.strip() and set(line.strip()) <= set("^~") for line in text.splitlines())


def test_a_logger_adapter_gets_the_record_with_its_extra(log):
    adapter = logging.LoggerAdapter(logging.getLogger(LOGGER), {"service": "shop"})
    serve(ErrorPageMiddleware(failing, logger=adapter), make_environ())
    [record] = errors_logged(log)
    assert record.service == "shop" and record.exc_info[0] is Boom
    assert "secret-detail-from-the-exception" in log.text


def test_log_line_escapes_control_characters_in_the_path(log):
    environ = make_environ(PATH_INFO="/a\nFAKE LOG LINE", QUERY_STRING="")
    serve(ErrorPageMiddleware(failing), environ)
    [record] = errors_logged(log)
    assert "\n" not in record.getMessage()
    assert "/a\\x0aFAKE LOG LINE" in record.getMessage()  # middleware.logsafe.for_log


def test_utf8_path_is_logged_as_the_client_sent_it(log):
    environ = make_environ(PATH_INFO="/café".encode().decode("latin-1"))
    serve(ErrorPageMiddleware(failing), environ)
    assert "/café" in errors_logged(log)[0].getMessage()


def test_scrub_query_keeps_harmless_values_and_option_adds_words(log):
    assert scrub_query("q=shoes&password=x&session_id=y&n", re.compile("pass|session")) == (
        "q=shoes&password=[scrubbed]&session_id=[scrubbed]&n")
    environ = make_environ(QUERY_STRING="iban=DE00123&q=ok")
    serve(ErrorPageMiddleware(failing, scrub=["iban"]), environ)
    assert "iban=[scrubbed]&q=ok" in errors_logged(log)[0].getMessage()


def test_nested_error_layers_log_a_mid_stream_exception_once(log):
    body = Closing([b"a", b"b"], fail_at=1)
    result = run(ErrorPageMiddleware(make_app(body)))
    assert isinstance(result.error, Boom)
    assert len(errors_logged(log)) == 1


def test_nested_error_layers_log_an_exception_once_and_share_the_id(log):
    result = run(ErrorPageMiddleware(failing))
    assert result.status.startswith("500")
    [record] = [r for r in log.records if r.name == LOGGER]
    assert record.request_id == result.header("X-Request-ID")
    assert result.header("X-Request-ID").encode() in result.body


@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
def test_app_returned_5xx_is_logged_as_a_warning_without_traceback(log, content_type):
    result = run(make_app([b"oops"], "502 Bad Gateway", [("Content-Type", content_type)]))
    [record] = [r for r in log.records if r.name == LOGGER]
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert record.request_id == result.header("X-Request-ID")
    assert "returned 502" in record.getMessage()


def test_app_returned_4xx_is_not_logged(log):
    run(missing)
    assert [r for r in log.records if r.name == LOGGER] == []


def test_notify_gets_exc_info_scrubbed_environ_and_request_id():
    calls = []
    environ = make_environ(HTTP_COOKIE="session=abc", HTTP_AUTHORIZATION="Bearer xyz",
                           QUERY_STRING="token=t&q=1", **{"paste.config": {"secret": "s"}})
    result = serve(ErrorPageMiddleware(failing, notify=lambda *a: calls.append(a),
                                       logger="tests.errors.quiet"), environ)
    [(exc_info, env, rid)] = calls
    assert exc_info[0] is Boom
    assert rid == result.header("X-Request-ID")
    assert env["HTTP_COOKIE"] == env["HTTP_AUTHORIZATION"] == env["paste.config"] == "[scrubbed]"
    assert env["QUERY_STRING"] == "token=[scrubbed]&q=1"
    assert env["PATH_INFO"] == "/"
    assert environ["HTTP_COOKIE"] == "session=abc"  # the request's own environ is untouched


def test_notify_environ_is_scrubbed_in_any_case_with_urls_and_request_uris_masked():
    """Upper-case keys were skipped: under CGI, SESSION_SECRET reached the hook in clear."""
    calls = []
    environ = make_environ(
        QUERY_STRING="api_key=k1&q=1", REQUEST_URI="/x?api_key=k1&q=1", RAW_URI="/x?api_key=k1",
        HTTP_REFERER="https://shop.example/reset?reset_token=k2", SESSION_SECRET="s1",
        DB_PASSWORD="s2", Db_Password="s3", DEBUG_PIN="123456", HTPASSWD_FILE="users.htpasswd",
        DATABASE_URL="postgres://app:s4@db/app", HOME="/home/app")
    serve(ErrorPageMiddleware(failing, notify=lambda *a: calls.append(a),
                              logger="tests.errors.quiet"), environ)
    [(_, env, _)] = calls
    for key in ("SESSION_SECRET", "DB_PASSWORD", "Db_Password", "DEBUG_PIN"):
        assert env[key] == "[scrubbed]", key
    assert env["DATABASE_URL"] == "postgres://app:***@db/app"
    assert env["REQUEST_URI"] == "/x?api_key=[scrubbed]&q=1"
    assert env["RAW_URI"] == "/x?api_key=[scrubbed]"
    assert env["HTTP_REFERER"] == "https://shop.example/reset?reset_token=[scrubbed]"
    assert env["HTPASSWD_FILE"] == "users.htpasswd" and env["HOME"] == "/home/app"
    assert env["REQUEST_METHOD"] == "GET" and env["PATH_INFO"] == "/"


def test_failing_notify_never_breaks_the_page_and_is_logged(log):
    def notify(exc_info, environ, request_id):
        raise RuntimeError("reporter down")

    result = run(failing, notify=notify)
    assert result.status.startswith("500")
    messages = [r.getMessage() for r in errors_logged(log)]
    assert any("notify hook failed" in m for m in messages)


def test_notify_given_as_import_string():
    mw = ErrorPageMiddleware(failing, notify="test_errors:collected_notify")
    assert mw.notify is collected_notify


def collected_notify(exc_info, environ, request_id):
    """A notify hook importable by name."""


def test_logger_option_accepts_a_name_and_a_logger(caplog):
    caplog.set_level(logging.INFO)
    run(failing, logger="tests.errors.named")
    assert [r.name for r in caplog.records if r.levelno >= logging.ERROR] == ["tests.errors.named"]
    adapter = logging.LoggerAdapter(logging.getLogger("tests.errors.adapted"), {})
    assert ErrorPageMiddleware(failing, logger=adapter).logger is adapter


# -- options ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("options", "error", "option"), [
    ({"intercept": "yes"}, TypeError, "intercept"),
    ({"logger": 3}, TypeError, "logger"),
    ({"logger": " "}, ValueError, "logger"),
    ({"notify": 3}, TypeError, "notify"),
    ({"notify": "no.such.module:fn"}, ValueError, "notify"),
    ({"request_id_header": "X Bad"}, ValueError, "request_id_header"),
    ({"request_id_header": 5}, TypeError, "request_id_header"),
    ({"keep_headers": "Allow"}, TypeError, "keep_headers"),
    ({"keep_headers": [""]}, ValueError, "keep_headers"),
    ({"scrub": [None]}, TypeError, "scrub"),
    ({"content_security_policy": "a\r\nb"}, ValueError, "content_security_policy"),
    ({"pages": ["x"]}, TypeError, "pages"),
    ({"pages": {200: "x"}}, ValueError, "pages"),
    ({"pages": {True: "x"}}, TypeError, "pages"),
    ({"pages": {404: b"x"}}, TypeError, "pages"),
    ({"pages": {404: "$titel"}}, ValueError, "pages"),
    ({"template_dir": "/no/such/dir"}, ValueError, "template_dir"),
    ({"template_dir": 3}, TypeError, "template_dir"),
])
def test_bad_options_fail_at_construction_naming_the_option(options, error, option):
    with pytest.raises(error, match=option):
        ErrorPageMiddleware(failing, **options)


def test_app_must_be_callable():
    with pytest.raises(TypeError, match="app"):
        ErrorPageMiddleware(None)


def test_options_are_plain_attributes():
    mw = ErrorPageMiddleware(failing, intercept=False, request_id_header="X-Trace-ID")
    assert (mw.intercept, mw.request_id_header) == (False, "X-Trace-ID")


# -- PasteDeploy ------------------------------------------------------------------------------

def test_paste_deploy_loadapp_builds_the_filter_with_typed_options(tmp_path):
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "404.html").write_text("<p>custom $status for $request_id</p>")
    ini = tmp_path / "app.ini"
    ini.write_text(textwrap.dedent("""
        [pipeline:main]
        pipeline = errors hello

        [filter:errors]
        use = egg:wsgi-middleware-suite#errors
        template_dir = pages
        intercept = true
        logger = tests.errors.paste
        request_id_header = X-Trace-ID
        keep_headers = Allow, Set-Cookie
        scrub = iban, pin

        [app:hello]
        paste.app_factory = paste_fixtures:app_factory
    """))
    app = loadapp(f"config:{ini}")
    assert isinstance(app, ErrorPageMiddleware)
    assert app.template_dir == str(tmp_path / "pages")
    assert app.keep_headers == ("Allow", "Set-Cookie") and app.scrub == ("iban", "pin")
    assert app.logger.name == "tests.errors.paste"
    assert app.request_id_header == "X-Trace-ID" and app.intercept is True
    result = serve(ErrorPageMiddleware(make_app([b""], "404 Not Found"),
                                       template_dir=app.template_dir), make_environ())
    assert result.body.startswith(b"<p>custom 404 for ")
    assert serve(app, make_environ(PATH_INFO="/x", HTTP_X_TRACE_ID="t-1")).body.startswith(
        b"hello")


def test_paste_factory_refuses_a_bad_boolean():
    with pytest.raises(ValueError, match="intercept"):
        filter_factory(failing, {}, intercept="maybe")


def test_write_on_a_success_reaches_the_server_before_the_app_returns(log):
    # PEP 3333: write() data is sent (or queued) before write() returns, never held back.
    sent = []

    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"first")
        assert sent == [b"first"], "write() data was held back"
        return [b" second"]

    def start_response(status, headers, exc_info=None):
        return sent.append

    body = ErrorPageMiddleware(app)(make_environ(), start_response)
    assert [*sent, *body] == [b"first", b" second"]
