"""recipes/flask: an existing Flask app behind the full stack, both ways of wrapping it.

``wsgi.py`` (``app.wsgi_app = ...``) keeps the Flask object, so ``flask run`` serves the stack;
``wsgi_outer.py`` wraps the whole app for gunicorn. Both are started from the recipe folder
as its README says, and the notes view shares the suite's session through the environ.
"""

from __future__ import annotations

import re

import pytest
import requests

from recipe_support import (
    RECIPES,
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


def commands(way: str, port: int) -> list[str]:
    if way == "wsgi_app":
        return [tool("flask"), "--app", "wsgi", "run", "--host", "127.0.0.1",
                "--port", str(port)]
    return [tool("gunicorn"), "wsgi_outer:application", "--bind", f"127.0.0.1:{port}",
            "--workers", "2", "--preload"]


def notes(response: requests.Response) -> list[str]:
    return re.findall(r"<li>(.*?)</li>", response.text)


@pytest.mark.parametrize("way", ["wsgi_app", "outer"])
def test_flask_app_behind_the_stack(way, tmp_path):
    port = free_port()
    with run_server(commands(way, port), port, log_path=tmp_path / "server.log",
                 env=stack_env(tmp_path, store="cookie"), cwd=FLASK) as server:
        base = server.url
        check_compression(base + "/", "<h1>Notes</h1>")

        # the view writes the suite's session; the middleware sets the cookie and reads it back
        browser = requests.Session()
        assert notes(get(base + "/", browser)) == []
        added = browser.post(base + "/notes", data={"text": "buy milk"}, timeout=10,
                             allow_redirects=False)
        assert added.status_code == 303
        assert added.headers["Set-Cookie"].startswith("notes_session="), added.headers
        browser.post(base + "/notes", data={"text": "call <Bob>"}, timeout=10)
        assert notes(get(base + "/", browser)) == ["buy milk", "call &lt;Bob&gt;"]
        assert get(base + "/api/notes", browser).json()["notes"] == ["buy milk", "call <Bob>"]
        assert notes(get(base + "/")) == []

        check_auth(base + "/account", "Notes")
        check_error_page(base + "/boom", leaks=("Traceback", "RuntimeError", "a bug in a view"))
