"""recipes/flask: an existing Flask app behind the full stack, both ways of wrapping it.

``wsgi.py`` (``app.wsgi_app = ...``) keeps the Flask object, so ``flask run`` and gunicorn serve
the stack; ``wsgi_outer.py`` wraps the whole app. Both are started from the recipe folder as
its README says, gunicorn with two workers and no ``--preload`` (each worker builds its own
app). ``flask.session`` is the stack's session, used by the views, Flask-Login and Flask-WTF.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from recipe_support import (
    PASSWORD,
    RECIPES,
    USER,
    check_auth,
    check_compression,
    check_error_page,
    free_port,
    get,
    stack_env,
    tool,
)
from servers import run_server

FLASK = RECIPES / "flask"
FLASK_KEY = {"FLASK_SECRET_KEY": "flask-recipe-test-key-" + "f" * 30}


def commands(way: str, port: int) -> list[str]:
    if way == "flask run":
        return [tool("flask"), "--app", "wsgi", "run", "--host", "127.0.0.1",
                "--port", str(port)]
    module = "wsgi:app" if way == "wsgi_app" else "wsgi_outer:application"
    return [tool("gunicorn"), module, "--bind", f"127.0.0.1:{port}", "--workers", "2"]


def notes(response: requests.Response) -> list[str]:
    return re.findall(r"<li>(.*?)</li>", response.text)


def csrf_token(page: requests.Response) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)


@pytest.mark.parametrize("way", ["flask run", "outer"])
def test_flask_app_behind_the_stack(way, tmp_path):
    port = free_port()
    with run_server(commands(way, port), port, log_path=tmp_path / "server.log",
                    env={**stack_env(tmp_path, store="cookie"), **FLASK_KEY},
                    cwd=FLASK) as server:
        base = server.url
        check_compression(base + "/", "<h1>Notes</h1>")

        # the view writes flask.session; the stack sets its cookie and reads it back
        browser = requests.Session()
        page = get(base + "/", browser)
        assert notes(page) == []
        added = browser.post(base + "/notes", data={"text": "buy milk",
                                                    "csrf_token": csrf_token(page)},
                             timeout=10, allow_redirects=False)
        assert added.status_code == 303
        assert list(added.cookies.keys()) == ["session"], added.headers
        browser.post(base + "/notes", data={"text": "call <Bob>", "csrf_token": csrf_token(page)},
                     timeout=10)
        assert notes(get(base + "/", browser)) == ["buy milk", "call &lt;Bob&gt;"]
        assert get(base + "/api/notes", browser).json()["notes"] == ["buy milk", "call <Bob>"]
        assert notes(get(base + "/")) == []

        check_auth(base + "/account", "Notes")
        check_error_page(base + "/boom", leaks=("Traceback", "RuntimeError", "a bug in a view"))


def api_from_both_workers(url: str, cookies: dict[str, str]) -> list[dict]:
    """GET ``url`` with ``cookies`` until two different worker pids have answered."""
    answers: list[dict] = []
    with ThreadPoolExecutor(4) as pool:
        for _ in range(20):
            answers.extend(pool.map(lambda _: get(url, cookies=cookies).json(), range(8)))
            if len({a["worker"] for a in answers}) == 2:
                return answers
    raise AssertionError(f"one worker answered every request: {answers[:3]}")


def test_flask_login_and_flask_wtf_on_the_stack_session_across_workers(tmp_path):
    port = free_port()
    with run_server(commands("wsgi_app", port), port, log_path=tmp_path / "server.log",
                    env={**stack_env(tmp_path), **FLASK_KEY}, cwd=FLASK) as server:
        base = server.url
        browser = requests.Session()
        page = get(base + "/", browser)
        anonymous = browser.cookies["session"]  # Flask-WTF's token lives in the session
        assert browser.post(base + "/notes", data={"text": "forged"}, timeout=10,
                            allow_redirects=False).status_code == 400
        assert browser.post(base + "/notes", data={"text": "kept", "csrf_token": "x" * 40},
                            timeout=10, allow_redirects=False).status_code == 400
        added = browser.post(base + "/notes", timeout=10, allow_redirects=False,
                             data={"text": "kept", "csrf_token": csrf_token(page)})
        assert added.status_code == 303

        form = get(base + "/login", browser)
        wrong = browser.post(base + "/login", timeout=10, data={
            "username": USER, "password": "wrong", "csrf_token": csrf_token(form)})
        assert wrong.status_code == 200 and 'id="error"' in wrong.text
        signed_in = browser.post(base + "/login", allow_redirects=False, timeout=10, data={
            "username": USER, "password": PASSWORD, "csrf_token": csrf_token(form)})
        assert signed_in.status_code == 303, signed_in.text[:500]
        assert list(signed_in.cookies.keys()) == ["session"]  # no cookie of Flask's own
        assert browser.cookies["session"] != anonymous

        home = get(base + "/", browser)
        assert f'id="user">{USER}<' in home.text and f"Signed in as {USER}." in home.text
        assert 'class="flash"' not in get(base + "/", browser).text  # flash() shown once
        cookies = {"session": browser.cookies["session"]}
        answers = api_from_both_workers(base + "/api/notes", cookies)
        assert {(a["user"], tuple(a["notes"])) for a in answers} == {(USER, ("kept",))}

        # login_user() regenerated the id: the anonymous one is dead on every worker
        stale = get(base + "/api/notes", cookies={"session": anonymous}).json()
        assert stale["user"] is None and stale["notes"] == []

        assert browser.post(base + "/logout", timeout=10,
                            allow_redirects=False).status_code == 400  # CSRF-protected
        out = browser.post(base + "/logout", allow_redirects=False, timeout=10,
                           data={"csrf_token": csrf_token(home)})
        assert out.status_code == 303
        after = get(base + "/api/notes", browser).json()
        assert after["user"] is None and after["notes"] == ["kept"]
        assert browser.cookies["session"] != cookies["session"]  # a new id at logout too
        assert get(base + "/api/notes", cookies=cookies).json()["user"] is None
