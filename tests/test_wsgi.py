"""The shared plumbing: close() exactly once, exc_info, write(), streaming, file_wrapper."""

from __future__ import annotations

import gc
import sys
from wsgiref.util import FileWrapper

import pytest

from harness import HTML, AppError, TrackedIterable, TrackedList, Tracker, make_environ, serve
from middleware.wsgi import (
    Body,
    BodyTooLarge,
    call_app,
    close_once,
    hook_start_response,
    is_file_wrapper,
    rewrite_start_response,
    simple_response,
    status_code,
)


def passthrough(app):
    def wrapped(environ, start_response):
        return call_app(app, environ, start_response).send()
    return wrapped


def upper(app):
    def wrapped(environ, start_response):
        response = call_app(app, environ, start_response)
        response.headers.pop("Content-Length", None)
        return response.send(lambda chunks: (c.upper() for c in chunks))
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


def test_exc_info_before_anything_was_sent_replaces_the_headers():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html")])
        try:
            raise AppError("x")
        except AppError:
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")],
                           sys.exc_info())
        return [b"failed"]

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


def test_hook_start_response_edits_headers_and_keeps_write_streaming():
    sent = []

    def server_start_response(status, headers, exc_info=None):
        sent.append((status, headers))
        return lambda data: sent.append(data)

    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"streamed at once")
        assert sent[-1] == b"streamed at once"
        return []

    def add(status, headers):
        headers.add("X-Added", "yes")
        return "202 Accepted"

    app(make_environ(), hook_start_response(server_start_response, add))
    assert sent[0][0] == "202 Accepted"
    assert ("X-Added", "yes") in sent[0][1]


def test_read_bounded_reads_a_small_generator_and_keeps_it_for_sending():
    tracker = Tracker()

    def wrapped(environ, start_response):
        response = call_app(generator_app(tracker), environ, start_response)
        assert response.read_bounded(100) == [b"a", b"b", b"c"]
        assert response.known_body() == [b"a", b"b", b"c"]
        return response.send()

    result = serve(wrapped, make_environ())
    assert result.body == b"abc"
    assert tracker.closed == 1


def test_read_bounded_past_the_limit_raises_and_the_body_still_streams_unchanged():
    tracker = Tracker()

    def wrapped(environ, start_response):
        response = call_app(generator_app(tracker, chunks=(b"aa", b"bb", b"cc")), environ,
                            start_response)
        with pytest.raises(BodyTooLarge):
            response.read_bounded(3)
        assert tracker.produced == 2
        return response.send()

    result = serve(wrapped, make_environ())
    assert result.body == b"aabbcc"
    assert tracker.closed == 1


def test_replace_body_sends_new_chunks_and_closes_the_original():
    tracker = Tracker()

    def wrapped(environ, start_response):
        response = call_app(generator_app(tracker), environ, start_response)
        response.replace_body([b"replaced"])
        return response.send()

    result = serve(wrapped, make_environ())
    assert result.body == b"replaced"
    assert tracker.closed == 1 and tracker.produced == 0


def test_known_body_is_the_list_an_app_returned():
    def app(environ, start_response):
        start_response("200 OK", [])
        return [HTML]

    response = call_app(app, make_environ(), lambda *a: None)
    assert response.known_body() == [HTML]


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


def test_hook_start_response_forwards_untouched_when_the_hook_is_not_needed():
    sent = []
    original = [("Content-Type", "text/plain")]

    def server_start_response(status, headers, exc_info=None):
        sent.append(headers)

    def hook(status, headers):
        raise AssertionError("the hook must not run")

    hook_start_response(server_start_response, hook, when=lambda: False)("200 OK", original)
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
            response = call_app(app, environ, start_response)

            def transform(chunks):
                for chunk in chunks:
                    seen.append(response.restarted)
                    yield chunk
            return response.send(transform)
        return wrapped

    result = serve(watching(app), make_environ())
    assert result.status.startswith("500") and seen == [True]


def test_rewrite_start_response_appends_without_touching_the_apps_list():
    sent = []
    original = [("Content-Type", "text/plain")]

    def server_start_response(status, headers, exc_info=None):
        sent.append((status, headers))

    def rewrite(status, headers):
        return "201 Created", [*headers, ("Vary", "Cookie")]

    rewrite_start_response(server_start_response, rewrite)("200 OK", original)
    assert sent == [("201 Created", [("Content-Type", "text/plain"), ("Vary", "Cookie")])]
    assert original == [("Content-Type", "text/plain")]


def test_is_file_wrapper_recognises_only_the_servers_wrapper():
    environ = make_environ()
    with open(__file__, "rb") as file:
        assert is_file_wrapper(FileWrapper(file), environ)
        assert not is_file_wrapper([b"x"], environ)
        assert not is_file_wrapper(FileWrapper(file), {**environ, "wsgi.file_wrapper": None})
