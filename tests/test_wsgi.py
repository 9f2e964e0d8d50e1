"""The shared plumbing: close() exactly once, exc_info, write(), streaming, file_wrapper."""

from __future__ import annotations

import gc
import sys
from wsgiref.util import FileWrapper

import pytest

from harness import HTML, AppError, TrackedIterable, TrackedList, Tracker, make_environ, serve
from middleware.wsgi import (
    Body,
    Response,
    call_app,
    close_once,
    is_file_wrapper,
    peek,
    resume,
    simple_response,
    status_code,
)


def passthrough(app):
    def wrapped(environ, start_response):
        response = Response(start_response, hold=True)
        return response.send(call_app(app, environ, response))
    return wrapped


def upper(app):
    def wrapped(environ, start_response):
        response = Response(start_response, hold=True)
        app_iter = call_app(app, environ, response)
        response.pop("Content-Length")
        return response.send(app_iter, lambda chunks: (c.upper() for c in chunks))
    return wrapped


def generator_app(tracker, chunks=(b"a", b"b", b"c"), fail_at=None):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])

        def body():
            for i, chunk in enumerate(chunks):
                if i == fail_at:
                    raise AppError("mid-stream")
                tracker.produced += 1
                yield chunk
        return TrackedIterable(body(), tracker)
    return app


def test_status_code_parses_the_status_line():
    assert status_code("404 Not Found") == 404


def test_untouched_body_is_returned_as_is_so_file_wrapper_keeps_its_fast_path():
    wrapper = FileWrapper(open(__file__, "rb"))

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return wrapper

    result = passthrough(app)(make_environ(), lambda *a: None)
    assert result is wrapper
    wrapper.close()


@pytest.mark.parametrize("middleware", [passthrough, upper])
def test_close_is_called_once_on_normal_end(middleware):
    tracker = Tracker()
    result = serve(middleware(generator_app(tracker)), make_environ())
    assert result.error is None
    assert tracker.closed == 1


@pytest.mark.parametrize("middleware", [passthrough, upper])
def test_close_is_called_once_when_iteration_raises(middleware):
    tracker = Tracker()
    result = serve(middleware(generator_app(tracker, fail_at=1)), make_environ())
    assert isinstance(result.error, AppError)
    assert tracker.closed == 1


@pytest.mark.parametrize("middleware", [passthrough, upper])
def test_close_is_called_once_when_the_client_goes_away(middleware):
    tracker = Tracker()
    result = serve(middleware(generator_app(tracker)), make_environ(), stop_after=1)
    assert result.body.lower() == b"a"
    assert tracker.closed == 1 and tracker.produced == 1


def test_an_abandoned_transform_generator_still_closes_the_app_body():
    tracker = Tracker()
    body = upper(generator_app(tracker))(make_environ(), lambda *a: None)
    iterator = iter(body)
    assert next(iterator) == b"A"
    body.close()
    del iterator, body
    gc.collect()
    assert tracker.closed == 1


def test_streaming_is_not_buffered():
    tracker = Tracker()
    body = upper(generator_app(tracker))(make_environ(), lambda *a: None)
    iterator = iter(body)
    next(iterator)
    assert tracker.produced == 1
    body.close()


def test_late_start_response_in_a_generator_is_captured():
    tracker = Tracker()

    def app(environ, start_response):
        def body():
            start_response("201 Created", [("Content-Type", "text/plain")])
            tracker.produced += 1
            yield b"first"
            yield b"second"
        return TrackedIterable(body(), tracker)

    result = serve(upper(app), make_environ())
    assert result.status == "201 Created"
    assert result.body == b"FIRSTSECOND"
    assert tracker.closed == 1


def test_app_returning_without_start_response_is_an_error_and_still_closed():
    tracker = Tracker()

    def app(environ, start_response):
        return TrackedList([b"x"], tracker)

    with pytest.raises(RuntimeError, match="start_response"):
        passthrough(app)(make_environ(), lambda *a: None)
    assert tracker.closed == 1


def test_write_callable_data_comes_first_and_in_order():
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"one ")
        write(b"two ")
        return [b"three"]

    for middleware in (passthrough, upper):
        assert serve(middleware(app), make_environ()).body.lower() == b"one two three"


def restarting_app(environ, start_response):
    """Starts a success, fails before any body, and restarts as a 500 with ``exc_info``."""
    start_response("200 OK", [("Content-Type", "text/html")])
    try:
        raise AppError("x")
    except AppError:
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")],
                       sys.exc_info())
    return [b"failed"]


def test_exc_info_before_anything_was_sent_replaces_the_headers():
    app = restarting_app
    result = serve(passthrough(app), make_environ())
    assert result.status.startswith("500")
    assert result.header("Content-Type") == "text/plain"


def test_exc_info_after_headers_were_sent_reraises_the_app_exception():
    tracker = Tracker()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])

        def body():
            yield b"sent"
            try:
                raise AppError("after send")
            except AppError:
                start_response("500 Internal Server Error", [], sys.exc_info())
            yield b"never"
        return TrackedIterable(body(), tracker)

    result = serve(upper(app), make_environ())
    assert isinstance(result.error, AppError)
    assert result.body == b"SENT"
    assert tracker.closed == 1


def test_start_response_twice_without_exc_info_is_refused():
    def app(environ, start_response):
        start_response("200 OK", [])
        start_response("200 OK", [])
        return []

    with pytest.raises(AssertionError, match="second time"):
        passthrough(app)(make_environ(), lambda *a: None)


@pytest.mark.parametrize("status", ["200 OK", "404 Not Found"])
def test_error_pages_refuse_a_second_start_response_without_exc_info(status):
    """The error layer wraps start_response itself (no Response): the same PEP 3333 rule."""
    from middleware import ErrorPageMiddleware

    def app(environ, start_response):
        start_response(status, [("Content-Type", "text/plain")])
        start_response(status, [("Content-Type", "text/plain")])
        return [b"x"]

    sent = []
    body = ErrorPageMiddleware(app)(make_environ(), lambda *a: sent.append(a))
    # the app's second call raised inside it: the layer answers with its 500 page
    assert sent[-1][0].startswith("500") and b"".join(body)


def test_on_start_edits_headers_and_keeps_write_streaming():
    sent = []

    def server_start_response(status, headers, exc_info=None):
        sent.append((status, headers))
        return lambda data: sent.append(data)

    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"streamed at once")
        assert sent[-1] == b"streamed at once"
        return []

    def add(response):
        response.add("X-Added", "yes")
        response.replace_headers("202 Accepted", response.headers)

    app(make_environ(), Response(server_start_response, add).start_response)
    assert sent[0][0] == "202 Accepted"
    assert ("X-Added", "yes") in sent[0][1]


def test_held_write_data_is_kept_and_sent_first():
    def wrapped(environ, start_response):
        response = Response(start_response, hold=True)
        app_iter = call_app(app, environ, response)
        assert response.known_body(app_iter) == [b"one ", b"two"]
        return response.send(app_iter)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])(b"one ")
        return [b"two"]

    assert serve(wrapped, make_environ()).body == b"one two"


def test_peek_pulls_up_to_the_first_non_empty_chunk_and_resume_sends_all_in_order():
    tracker = Tracker()

    def wrapped(environ, start_response):
        app_iter = generator_app(tracker, chunks=(b"", b"a", b"b"))(environ, start_response)
        head, rest = peek(app_iter)
        assert head == [b"", b"a"] and tracker.produced == 2
        return resume(head, rest, app_iter)

    result = serve(wrapped, make_environ())
    assert result.body == b"ab"
    assert tracker.closed == 1


def test_resume_reports_a_mid_stream_failure_and_reraises():
    tracker = Tracker()
    seen = []

    def wrapped(environ, start_response):
        app_iter = generator_app(tracker, fail_at=1)(environ, start_response)
        head, rest = peek(app_iter)
        return resume(head, rest, app_iter, lambda: seen.append(sys.exc_info()[0]))

    result = serve(wrapped, make_environ())
    assert isinstance(result.error, AppError) and seen == [AppError]
    assert tracker.closed == 1


def test_send_instead_sends_new_chunks_and_closes_the_original():
    tracker = Tracker()

    def wrapped(environ, start_response):
        response = Response(start_response, hold=True)
        app_iter = call_app(generator_app(tracker), environ, response)
        return response.send_instead([b"replaced"], app_iter)

    result = serve(wrapped, make_environ())
    assert result.body == b"replaced"
    assert tracker.closed == 1 and tracker.produced == 0


def test_known_body_is_the_list_an_app_returned():
    def app(environ, start_response):
        start_response("200 OK", [])
        return [HTML]

    response = Response(lambda *a: None, hold=True)
    app_iter = call_app(app, make_environ(), response)
    assert response.known_body(app_iter) is app_iter
    assert response.known_body(iter([HTML])) is None


def test_close_once_closes_everything_and_reraises_the_first_error():
    calls = []

    class Bad:
        def close(self):
            calls.append("bad")
            raise AppError("close failed")

    class Good:
        def close(self):
            calls.append("good")

    close = close_once(Bad(), Good())
    with pytest.raises(AppError):
        close()
    close()
    assert calls == ["bad", "good"]


def test_body_delegates_iteration_and_closes_each_part_once():
    tracker = Tracker()
    inner = TrackedList([b"x"], tracker)
    body = Body(iter([b"y"]), inner)
    assert list(body) == [b"y"]
    body.close()
    body.close()
    assert tracker.closed == 1


def test_simple_response_sets_length_and_type():
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen.update(status=status, headers=dict(headers))

    assert simple_response(start_response, "403 Forbidden", b"no") == [b"no"]
    assert seen["headers"]["Content-Length"] == "2"
    assert seen["status"] == "403 Forbidden"


def test_untouched_headers_are_the_apps_own_list():
    sent = []
    original = [("Content-Type", "text/plain")]

    def server_start_response(status, headers, exc_info=None):
        sent.append(headers)

    Response(server_start_response, lambda response: response.get("Vary")).start_response(
        "200 OK", original)
    assert sent[0] is original


def test_response_restarted_tells_a_transform_the_app_restarted_with_exc_info():
    seen = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])

        def body():
            try:
                raise AppError("before the first byte")
            except AppError:
                start_response("500 Internal Server Error", [("Content-Type", "text/plain")],
                               sys.exc_info())
            yield b"error"
        return body()

    def watching(app):
        def wrapped(environ, start_response):
            response = Response(start_response, hold=True)
            app_iter = call_app(app, environ, response)

            def transform(chunks):
                for chunk in chunks:
                    seen.append(response.restarted)
                    yield chunk
            return response.send(app_iter, transform)
        return wrapped

    result = serve(watching(app), make_environ())
    assert result.status.startswith("500") and seen == [True]


def test_header_edits_copy_the_apps_list_and_work_by_name_in_any_case():
    sent = []
    original = [("content-type", "text/plain"), ("Vary", "Accept"), ("X-Old", "1")]

    def edit(response):
        assert response.get("Content-Type") == "text/plain"
        response.vary("Cookie")
        response.vary("accept")
        assert response.pop("x-old") == "1" and response.pop("X-Old") is None
        response.set("Content-Type", "text/html")

    Response(lambda status, headers, exc_info=None: sent.append(headers), edit).start_response(
        "200 OK", original)
    assert sent == [[("Content-Type", "text/html"), ("Vary", "Accept, Cookie")]]
    assert original == [("content-type", "text/plain"), ("Vary", "Accept"), ("X-Old", "1")]


def test_a_restart_with_exc_info_runs_on_start_again_on_the_new_headers():
    app = restarting_app
    def wrapped(environ, start_response):
        response = Response(start_response, lambda r: r.add("X-Seen", r.status[:3]), hold=True)
        return response.send(call_app(app, environ, response))

    result = serve(wrapped, make_environ())
    assert result.status.startswith("500") and result.header("X-Seen") == "500"


def test_is_file_wrapper_recognises_only_the_servers_wrapper():
    environ = make_environ()
    with open(__file__, "rb") as file:
        assert is_file_wrapper(FileWrapper(file), environ)
        assert not is_file_wrapper([b"x"], environ)
        assert not is_file_wrapper(FileWrapper(file), {**environ, "wsgi.file_wrapper": None})
