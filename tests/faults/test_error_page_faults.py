"""A ``template_dir`` page missing, unreadable, malformed or removed while serving: the error
page falls back to the built-in one (or the deployment fails at start-up with an error naming
the file), and never serves a broken or blank page."""

from __future__ import annotations

import logging
import os
import shutil

import pytest

from harness import make_environ, serve
from middleware import ErrorPageMiddleware

QUIET = logging.getLogger("tests.faults.template_dir")
QUIET.propagate = False
CUSTOM = "<!doctype html><title>$status</title><p>custom $title, id $request_id</p>"
BUILT_IN_MARK = b'<meta name="viewport"'  # a line of middleware/templates/error.html


def _app(status):
    def app(environ, start_response):
        if status == 500:
            raise RuntimeError("internal detail")
        start_response(f"{status} X", [("Content-Type", "text/plain"), ("Content-Length", "1")])
        return [b"x"]
    return app


def _page(template_dir, status):
    app = ErrorPageMiddleware(_app(status), template_dir=str(template_dir), logger=QUIET)
    result = serve(app, make_environ(HTTP_ACCEPT="text/html"))
    assert result.error is None
    assert result.status.startswith(str(status))
    return result.body


@pytest.fixture
def pages(tmp_path):
    directory = tmp_path / "pages"
    directory.mkdir()
    (directory / "5xx.html").write_text(CUSTOM)
    return directory


def test_a_missing_page_falls_back_to_the_built_in_one(pages):
    assert b"custom Internal Server Error" in _page(pages, 500)
    body = _page(pages, 404)  # there is no 404.html, 4xx.html or default.html
    assert BUILT_IN_MARK in body and b"Not Found" in body


@pytest.mark.parametrize("kind", ["directory", "dangling_symlink"])
def test_a_page_that_is_not_a_readable_file_falls_back_to_the_built_in_one(pages, kind):
    target = pages / "404.html"
    if kind == "directory":
        target.mkdir()
    else:
        os.symlink(pages / "nowhere.html", target)
    body = _page(pages, 404)
    assert BUILT_IN_MARK in body and b"Not Found" in body


@pytest.mark.parametrize("content", [b"<p>$stauts</p>", b"\xff\xfe<p>$status</p>",
                                     bytes(range(256)), b"", b"  \n\t\n"])
def test_a_malformed_or_empty_page_is_logged_and_falls_back_to_the_built_in_one(pages, content,
                                                                            caplog):
    (pages / "404.html").write_bytes(content)
    QUIET.addHandler(caplog.handler)  # QUIET does not propagate to caplog's root handler
    try:
        app = ErrorPageMiddleware(_app(404), template_dir=str(pages), logger=QUIET)
    finally:
        QUIET.removeHandler(caplog.handler)
    assert "404.html" in caplog.text and "built-in page stands in" in caplog.text
    result = serve(app, make_environ(HTTP_ACCEPT="text/html"))
    assert result.status.startswith("404")
    assert BUILT_IN_MARK in result.body and b"Not Found" in result.body


def test_pages_removed_while_serving_change_nothing(pages):
    app = ErrorPageMiddleware(_app(500), template_dir=str(pages), logger=QUIET)
    before = serve(app, make_environ(HTTP_ACCEPT="text/html"))
    shutil.rmtree(pages)
    after = serve(app, make_environ(HTTP_ACCEPT="text/html"))
    assert after.error is None and after.status.startswith("500")
    assert b"custom Internal Server Error" in before.body
    assert b"custom Internal Server Error" in after.body
