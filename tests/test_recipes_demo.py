"""recipes/demo: ``make demo`` on a fresh clone, end to end, and in a real browser; the login
form across two gunicorn workers started as the README says (no ``--preload``).

The tests start the demo exactly as ``make demo`` does (``python -m middleware serve
demo.ini --host 127.0.0.1 --port N`` from the repository root) or as the README's gunicorn
line does, on a copy of demo.ini in a temporary folder so its ``var/`` (sessions database,
htpasswd) starts empty like a fresh clone.
"""

from __future__ import annotations

import re
import shutil
import sys

import pytest
import requests

from browser import Browser, screenshot
from recipe_support import (
    RECIPES,
    ROOT,
    check_auth,
    check_compression,
    check_error_page,
    check_session,
    free_port,
    get,
    tool,
    wait_for_text,
)
from servers import from_every_worker, run_server

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


BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8", "Connection": "close"}
CSRF = r'name="csrf_token" value="([^"]+)"'


def demo_page(url: str, **kwargs) -> tuple[str, int, str]:
    """Who the demo's home page says is signed in, which process served it, and the page."""
    page = get(url + "/", headers=BROWSER, **kwargs)
    assert page.status_code == 200, page.text[:500]
    user = re.search(r'id="user">([^<]*)<', page.text).group(1)
    return user, int(re.search(r'id="process">(\d+)<', page.text).group(1)), page.text


def on_both_workers(url: str, **kwargs) -> dict[int, set[str]]:
    """Ask the home page until two processes answered; who each one said is signed in."""
    def ask() -> tuple[int, str]:
        user, pid, _ = demo_page(url, **kwargs)
        return pid, user

    return from_every_worker(ask)


def test_login_form_holds_and_logout_ends_it_on_both_gunicorn_workers(demo_ini, tmp_path):
    port = free_port()
    # the README's command: two workers, no --preload (each worker builds its own stack)
    args = [tool("gunicorn"), "--paste", str(demo_ini), "--bind", f"127.0.0.1:{port}",
            "--workers", "2"]
    with run_server(args, port, log_path=tmp_path / "gunicorn.log", cwd=ROOT) as server:
        password = wait_for_text(server, PASSWORD_LINE).group(1)
        base = server.url
        browser = requests.Session()
        user, _, home = demo_page(base, session=browser)
        assert user == "nobody" and 'href="/login?next=/">Sign in<' in home
        form = get(base + "/login?next=/", browser, headers=BROWSER)
        assert form.status_code == 200 and 'name="password"' in form.text
        done = browser.post(base + "/login", headers=BROWSER, allow_redirects=False, timeout=10,
                            data={"username": "demo", "password": password, "next": "/",
                                  "csrf_token": re.search(CSRF, form.text).group(1)})
        assert done.status_code == 303 and done.headers["Location"] == "/", done.text[:300]
        cookie = browser.cookies["session"]

        # both workers, each with its own stack built from the ini, see the login
        signed_in = on_both_workers(base, session=browser)
        assert all(users == {"demo"} for users in signed_in.values()), signed_in
        _, _, home = demo_page(base, session=browser)
        assert 'id="sign-out"' in home
        out = browser.post(base + "/logout", headers=BROWSER, allow_redirects=False, timeout=10,
                           data={"csrf_token": re.search(CSRF, home).group(1)})
        assert out.status_code == 303, out.text[:300]

        # the browser dropped its cookie; and the old cookie replayed is dead on every worker
        signed_out = on_both_workers(base, session=browser)
        assert all(users == {"nobody"} for users in signed_out.values()), signed_out
        replayed = on_both_workers(base, cookies={"session": cookie})
        assert all(users == {"nobody"} for users in replayed.values()), replayed
        assert server.log().count("Demo login created") == 1


def test_a_real_browser_signs_in_through_the_form_and_sees_it_on_the_home_page(demo_ini,
                                                                                 tmp_path):
    port = free_port()
    with run_server(make_demo(demo_ini, port), port, log_path=tmp_path / "demo.log",
                    cwd=ROOT) as server, Browser() as chromium:
        password = wait_for_text(server, PASSWORD_LINE).group(1)
        chromium.open(server.url + "/")
        assert chromium.evaluate("document.getElementById('user').textContent") == "nobody"
        chromium.evaluate("document.getElementById('sign-in').click()", wait_for_load=True)
        assert chromium.evaluate("location.pathname") == "/login"
        chromium.evaluate(f"""
            document.getElementById('username').value = 'demo';
            document.getElementById('password').value = {password!r};
            document.querySelector('button[type=submit]').click()""", wait_for_load=True)
        assert chromium.evaluate("location.pathname") == "/"
        assert chromium.evaluate("document.getElementById('user').textContent") == "demo"
        chromium.open(server.url + "/private")
        assert "Hello demo." in chromium.evaluate("document.body.textContent")
        chromium.open(server.url + "/")
        chromium.evaluate("document.getElementById('sign-out').click()", wait_for_load=True)
        chromium.open(server.url + "/")
        assert chromium.evaluate("document.getElementById('user').textContent") == "nobody"
