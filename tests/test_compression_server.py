"""CompressionMiddleware behind real servers and real clients (requests, http.client, curl,
Chromium), and loaded through PasteDeploy."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
from urllib.parse import urlsplit

import pytest
import requests
from paste.deploy import loadapp

from browser import dump_dom
from middleware.compression import CompressionMiddleware
from servers import free_port, run_server, serve_in_thread
from support.codings import decoder

pytestmark = pytest.mark.slow

PAGE = b"<!doctype html><title>page</title>" + b"<p>served for real</p>\n" * 500
WAIT = 10  # seconds: only a bound against hanging, never reached when the code is right


def page_app(environ, start_response):
    """``/`` answers a list body, ``/stream`` a generator in 10 pieces."""
    if environ["PATH_INFO"] == "/stream":
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return (PAGE[i:i + len(PAGE) // 10] for i in range(0, len(PAGE), len(PAGE) // 10))
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(PAGE))), ("ETag", '"p1"')])
    return [PAGE]


def make_app(global_conf, **local_conf):
    """``paste.app_factory`` for the ini files below."""
    return page_app


@pytest.fixture(scope="module")
def base_url():
    with serve_in_thread(CompressionMiddleware(page_app)) as url:
        yield url


@pytest.mark.parametrize("coding", ["br", "zstd", "gzip"])
@pytest.mark.parametrize("path", ["/", "/stream"])
def test_requests_decodes_one_shot_and_streamed_bodies(base_url, coding, path):
    response = requests.get(base_url + path, headers={"Accept-Encoding": coding})
    assert response.headers["Content-Encoding"] == coding
    assert response.headers["Vary"] == "Accept-Encoding"
    assert response.content == PAGE
    if path == "/":
        assert int(response.headers["Content-Length"]) < len(PAGE)
        assert response.headers["ETag"] == 'W/"p1"'
    else:
        assert "Content-Length" not in response.headers
        assert response.headers["Transfer-Encoding"] == "chunked"


@pytest.mark.parametrize("path", ["/", "/stream"])
def test_curl_compressed_decodes_the_body(base_url, path):
    proc = subprocess.run(["curl", "-sS", "--compressed", "-D", "-", base_url + path],
                          capture_output=True, timeout=WAIT, check=True)
    head, _, body = proc.stdout.partition(b"\r\n\r\n")
    assert b"\r\nContent-Encoding: " in head
    assert body == PAGE


def test_client_without_accept_encoding_gets_the_plain_page(base_url):
    connection = http.client.HTTPConnection(urlsplit(base_url).netloc, timeout=WAIT)
    connection.putrequest("GET", "/", skip_accept_encoding=True)  # no header at all
    connection.endheaders()
    response = connection.getresponse()
    assert response.getheader("Content-Encoding") is None
    assert response.getheader("Vary") == "Accept-Encoding"
    assert response.read() == PAGE
    connection.close()


@pytest.mark.parametrize("coding", ["br", "zstd", "gzip"])
def test_first_event_reaches_the_client_before_the_app_yields_the_second(coding):
    """The app yields one event, then waits until the client says it decoded it."""
    received = threading.Event()
    timed_out = []

    def events(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/event-stream"),
                                  ("Cache-Control", "no-cache")])
        yield b"data: first\n\n"
        if not received.wait(WAIT):
            timed_out.append(True)
        yield b"data: second\n\n"

    with serve_in_thread(CompressionMiddleware(events)) as url:
        connection = http.client.HTTPConnection(urlsplit(url).netloc, timeout=WAIT)
        connection.request("GET", "/", headers={"Accept-Encoding": coding})
        response = connection.getresponse()
        assert response.getheader("Content-Encoding") == coding
        feed, text = decoder(coding), b""
        while b"first" not in text:
            data = response.read1(65536)
            assert data, "the stream ended before the first event arrived"
            text += feed(data)
        assert b"second" not in text  # the app has not produced it yet
        received.set()
        text += feed(response.read())
        connection.close()
    assert text == b"data: first\n\ndata: second\n\n"
    assert not timed_out


SSE_PAGE = b"""<!doctype html><title>sse</title><ul id="log"></ul><script>
const source = new EventSource("/events");
source.onmessage = (event) => {
  const item = document.createElement("li");
  item.textContent = event.data;
  document.getElementById("log").append(item);
  if (event.data === "one") fetch("/ack");
  if (event.data === "two") { source.close(); document.title = "done"; }
};
</script>"""


def test_chromium_event_source_receives_compressed_events_one_by_one():
    acked = threading.Event()
    encodings = []

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/events":
            start_response("200 OK", [("Content-Type", "text/event-stream")])

            def stream():
                encodings.append(environ.get("middleware.compression.encoding"))
                yield b"data: one\n\n"
                # Only a browser that decoded "one" at once can ask for /ack.
                yield b"data: two\n\n" if acked.wait(WAIT) else b"data: late\n\n"
            return stream()
        if path == "/ack":
            acked.set()
            start_response("204 No Content", [])
            return []
        start_response("200 OK", [("Content-Type", "text/html"),
                                  ("Content-Length", str(len(SSE_PAGE)))])
        return [SSE_PAGE]

    with serve_in_thread(CompressionMiddleware(app)) as url:
        dom = dump_dom(url + "/")
    assert "<li>one</li><li>two</li>" in dom
    assert encodings and encodings[0] in ("br", "zstd", "gzip")


INI = """\
[pipeline:main]
pipeline = {filter} app

[filter:compression]
use = egg:wsgi-middleware-suite#compression
encodings = gzip, br
min_size = 100
exclude_paths = /stream

[filter:gzip]
use = egg:wsgi-middleware-suite#gzip
encodings = gzip

[app:app]
use = call:test_compression_server:make_app
"""


@pytest.mark.parametrize("name", ["compression", "gzip"])
def test_pastedeploy_loadapp_builds_the_filter_with_typed_options(tmp_path, name):
    ini = tmp_path / "app.ini"
    ini.write_text(INI.format(filter=name))
    app = loadapp(f"config:{ini}")
    assert isinstance(app, CompressionMiddleware)
    assert app.encodings == (("gzip", "br") if name == "compression" else ("gzip",))
    with serve_in_thread(app) as url:
        response = requests.get(url + "/", headers={"Accept-Encoding": "br, gzip"})
        streamed = requests.get(url + "/stream", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.content == PAGE
    if name == "compression":
        assert app.min_size == 100 and app.exclude_paths == ("/stream",)
        assert "Content-Encoding" not in streamed.headers
    assert streamed.content == PAGE


def test_pastedeploy_rejects_an_unknown_or_invalid_option(tmp_path):
    ini = tmp_path / "app.ini"
    ini.write_text(INI.format(filter="compression").replace("min_size = 100", "min_size = big"))
    with pytest.raises(ValueError, match="min_size"):
        loadapp(f"config:{ini}")
    ini.write_text(INI.format(filter="compression").replace("min_size = 100", "minsize = 1"))
    with pytest.raises(ValueError, match="minsize"):
        loadapp(f"config:{ini}")


def test_gunicorn_serves_the_pastedeploy_pipeline_and_streams(tmp_path):
    ini = tmp_path / "app.ini"
    ini.write_text(INI.format(filter="gzip"))
    port = free_port()
    env = {"PYTHONPATH": os.pathsep.join([os.path.dirname(__file__),
                                          os.environ.get("PYTHONPATH", "")])}
    args = [sys.executable, "-m", "gunicorn", "--paste", str(ini), "--bind",
            f"127.0.0.1:{port}", "--workers", "1", "--log-level", "warning"]
    with run_server(args, port, env=env):
        url = f"http://127.0.0.1:{port}"
        page = requests.get(url + "/", headers={"Accept-Encoding": "gzip"}, timeout=WAIT)
        stream = requests.get(url + "/stream", headers={"Accept-Encoding": "gzip"},
                              timeout=WAIT)
    assert page.headers["Content-Encoding"] == "gzip"
    assert page.content == PAGE
    assert stream.headers["Content-Encoding"] == "gzip"
    assert stream.headers.get("Transfer-Encoding") == "chunked"
    assert stream.content == PAGE
