"""ErrorPageMiddleware under gunicorn, loaded by PasteDeploy from an ini file (``--paste``)."""

from __future__ import annotations

import os
import textwrap

import pytest
import requests

from servers import PYTHON, free_port, run_server

HERE = os.path.dirname(os.path.abspath(__file__))


def app_factory(global_conf, **local_conf):
    """The application gunicorn serves: one route per failure point."""

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/raise":
            raise ValueError("secret-detail-from-the-exception")
        if path == "/missing":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"Not Found"]
        start_response("200 OK", [("Content-Type", "text/plain")])

        def body():
            yield b"x" * 4096
            if path == "/stream-fail":
                raise ValueError("secret-detail-from-the-exception")
            yield b"done"
        return body()

    return app


@pytest.fixture
def gunicorn(tmp_path):
    base = tmp_path
    (base / "errors").mkdir()
    (base / "errors" / "404.html").write_text("<p>lost: $request_id</p>")
    ini = base / "app.ini"
    ini.write_text(textwrap.dedent("""
        [pipeline:main]
        pipeline = errors app

        [filter:errors]
        use = egg:wsgi-middleware-suite#errors
        template_dir = errors

        [app:app]
        paste.app_factory = test_errors_servers:app_factory
    """))
    port = free_port()
    args = [PYTHON, "-m", "gunicorn", "--paste", str(ini), "--bind", f"127.0.0.1:{port}",
            "--workers", "2", "--log-level", "warning"]
    with run_server(args, port, env={"PYTHONPATH": HERE}) as server:
        yield server.url, server


def test_gunicorn_serves_the_500_page_and_logs_the_same_request_id(gunicorn):
    url, server = gunicorn
    response = requests.get(url + "/raise?token=hunter2&page=1",
                            headers={"Accept": "application/json"}, timeout=10)
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "application/problem+json"
    rid = response.json()["request_id"]
    assert response.headers["X-Request-ID"] == rid
    assert "secret-detail" not in response.text
    missing = requests.get(url + "/missing", timeout=10,
                           headers={"X-Request-ID": "edge-123", "Accept": "text/html"})
    assert missing.status_code == 404 and missing.text == "<p>lost: edge-123</p>"
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(url + "/stream-fail", timeout=10).content  # noqa: B018
    assert requests.get(url + "/ok", timeout=10).content == b"x" * 4096 + b"done"
    server.proc.terminate()
    server.proc.wait(15)
    log = server.log()
    line = next(line for line in log.splitlines() if rid in line)
    assert "GET /raise?token=[scrubbed]&page=1" in line and "hunter2" not in log
    assert log.count("while sending the body: GET /stream-fail") == 1
