"""recipes/demo: ``make demo`` on a fresh clone, end to end, and once in a real browser.

The test starts the demo exactly as ``make demo`` does (``python -m middleware serve
demo.ini --host 127.0.0.1 --port N`` from the repository root), on a copy of demo.ini in a
temporary folder so its ``var/`` (sessions database, htpasswd) starts empty like a fresh clone.
"""

from __future__ import annotations

import shutil
import sys

import pytest

from browser import screenshot
from recipe_support import (
    RECIPES,
    ROOT,
    check_auth,
    check_compression,
    check_error_page,
    check_session,
    free_port,
    get,
    wait_for_text,
)
from servers import run_server

PASSWORD_LINE = r"Demo login created: user 'demo', password '([^']+)'"


@pytest.fixture
def demo_ini(tmp_path):
    path = tmp_path / "demo.ini"
    shutil.copy(RECIPES / "demo" / "demo.ini", path)
    return path


def make_demo(ini, port):
    return [sys.executable, "-m", "middleware", "serve", str(ini), "--host", "127.0.0.1",
            "--port", str(port)]


def test_make_demo_works_on_a_fresh_clone(demo_ini, tmp_path):
    port = free_port()
    with run_server(make_demo(demo_ini, port), port, log_path=tmp_path / "demo.log",
                 cwd=ROOT) as server:
        password = wait_for_text(server, PASSWORD_LINE).group(1)
        base = server.url
        check_compression(base + "/", "wsgi-middleware-suite demo")
        check_compression(base + "/api", '"items"')
        streamed = get(base + "/stream", headers={"Accept-Encoding": "gzip"})
        assert streamed.headers.get("Content-Encoding") == "gzip"
        assert streamed.text.count("data: event") == 10
        check_session(base + "/", "session")
        check_auth(base + "/private", "wsgi-middleware-suite demo", user="demo",
                   password=password)
        check_error_page(base + "/boom",
                         leaks=("Traceback", "must-never-be-shown", "RuntimeError"))
        assert get(base + "/missing").status_code == 404

        screenshot(base + "/", tmp_path / "demo.png")
        assert (tmp_path / "demo.png").read_bytes().startswith(b"\x89PNG")
        first_log = server.log()
    assert (tmp_path / "var" / "users.htpasswd").exists()
    assert (tmp_path / "var" / "sessions.db").exists()
    assert first_log.count("Demo login created") == 1

    # a second start keeps the login: the password is printed only on the first run
    port = free_port()
    with run_server(make_demo(demo_ini, port), port, log_path=tmp_path / "demo2.log",
                 cwd=ROOT) as server:
        check_auth(server.url + "/private", "wsgi-middleware-suite demo", user="demo",
                   password=password)
        assert "Demo login created" not in server.log()
