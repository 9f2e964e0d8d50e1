"""Helpers for the recipe tests: run a recipe's server as a user would, then drive it over HTTP.

* :func:`running` starts a command in its own process group with its output in a log file,
  waits (bounded) for its TCP port or Unix socket, and always kills the whole group.
* :func:`write_htpasswd` creates a user file (bcrypt, low cost so the tests stay fast).
* ``check_*`` functions are the end-to-end checks every recipe passes: compression, the session
  cookie, Basic auth and the error page, each through real HTTP.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import sys
import time
from pathlib import Path

import bcrypt
import requests

from servers import Running, free_port

ROOT = Path(__file__).resolve().parent.parent
RECIPES = ROOT / "recipes"
BIN = Path(sys.executable).parent
USER, PASSWORD = "alice", "correct horse battery staple"
TIMEOUT = 10


def tool(name: str) -> str:
    """A command's path: the virtualenv's scripts, then ``PATH`` and ``/usr/sbin``; fail if missing."""
    candidate = BIN / name
    path = str(candidate) if candidate.exists() else shutil.which(
        name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    assert path, f"{name} is not installed (see the Makefile's system-deps and test extras)"
    return path


def copy_sources(dest: Path) -> Path:
    """Copy what a release holds (metadata and the package) to ``dest``, for ``pip install``:
    building from the copy never writes into the checkout."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "setup.cfg", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(ROOT / "middleware", dest / "middleware",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def wait_for_text(server: Running, pattern: str, timeout: float = 10.0) -> re.Match[str]:
    """Wait until the server's log matches ``pattern``; return the match."""
    deadline = time.monotonic() + timeout
    while True:
        match = re.search(pattern, server.log())
        if match:
            return match
        assert time.monotonic() < deadline, f"{pattern!r} not in the log:\n{server.log()}"
        time.sleep(0.05)


def write_htpasswd(path: str | os.PathLike[str], user: str = USER,
                   password: str = PASSWORD) -> str:
    """Write an htpasswd file with one bcrypt user; return its path."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(f"{user}:{hashed}\n")
    return os.fspath(path)


def stack_env(tmp_path: Path, store: str | None = None) -> dict[str, str]:
    """The environment the code-built stacks read: a secret, a store and an htpasswd file."""
    env = {"SESSION_SECRET": "recipe-test-secret-" + "x" * 24,
           "HTPASSWD_FILE": write_htpasswd(tmp_path / "users.htpasswd")}
    env["SESSION_STORE"] = store or f"sqlite:///{tmp_path / 'sessions.db'}"
    return env


def basic(user: str = USER, password: str = PASSWORD) -> dict[str, str]:
    """An ``Authorization: Basic`` header."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def get(url: str, session: requests.Session | None = None, **kwargs) -> requests.Response:
    """GET with a bounded timeout and no redirects followed."""
    kwargs.setdefault("timeout", TIMEOUT)
    kwargs.setdefault("allow_redirects", False)
    return (session or requests).get(url, **kwargs)


def check_compression(url: str, expected: str) -> None:
    """The page is gzip-compressed for a gzip client, brotli for a br client, plain otherwise."""
    for accept, encoding in (("gzip", "gzip"), ("br;q=1, gzip;q=0.5", "br"),
                             ("identity", None)):
        response = get(url, headers={"Accept-Encoding": accept})
        assert response.status_code == 200, (accept, response.status_code, response.text[:500])
        assert response.headers.get("Content-Encoding") == encoding, (accept, response.headers)
        assert "Accept-Encoding" in response.headers.get("Vary", ""), response.headers
        assert expected in response.text


def check_session(url: str, cookie_name: str, counter: str = r'id=["\']visits["\']>(\d+)<') -> None:
    """A first visit sets the session cookie (HttpOnly); the count goes up with it, not without."""
    browser = requests.Session()
    first = get(url, browser)
    assert first.status_code == 200, first.text[:500]
    set_cookie = first.headers.get("Set-Cookie", "")
    assert set_cookie.startswith(cookie_name + "="), first.headers
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie, set_cookie
    counts = [int(re.search(counter, r.text).group(1))
              for r in (first, get(url, browser), get(url, browser))]
    assert counts == [1, 2, 3], counts
    assert int(re.search(counter, get(url).text).group(1)) == 1


def check_auth(url: str, realm: str, user: str = USER, password: str = PASSWORD) -> None:
    """No login or a wrong password: 401 with a Basic challenge; the right one: 200 as the user."""
    anonymous = get(url)
    assert anonymous.status_code == 401, anonymous.text[:500]
    assert anonymous.headers["WWW-Authenticate"].startswith(f'Basic realm="{realm}"')
    assert get(url, headers=basic(user, "wrong password")).status_code == 401
    signed_in = get(url, headers=basic(user, password))
    assert signed_in.status_code == 200, signed_in.text[:500]
    assert f"Hello {user}." in signed_in.text


def check_error_page(url: str, leaks: tuple[str, ...] = ("Traceback", "RuntimeError")) -> None:
    """An exception in a view: a 500 page (HTML or problem JSON) with a request id, no internals."""
    page = get(url, headers={"Accept": "text/html"})
    assert page.status_code == 500
    assert page.headers["Content-Type"].startswith("text/html")
    for secret in leaks:
        assert secret not in page.text, secret
    problem = get(url, headers={"Accept": "application/json"})
    assert problem.status_code == 500
    assert problem.headers["Content-Type"].startswith("application/problem+json")
    assert problem.json()["status"] == 500
    for secret in leaks:
        assert secret not in problem.text, secret


def check_demo_stack(base: str, cookie_name: str = "session",
                     realm: str = "wsgi-middleware-suite demo") -> None:
    """Every check, against the demo app behind the full stack at ``base``."""
    check_compression(base + "/", "wsgi-middleware-suite demo")
    check_session(base + "/", cookie_name)
    check_auth(base + "/private", realm)
    check_error_page(base + "/boom", leaks=("Traceback", "must-never-be-shown", "RuntimeError"))


__all__ = [
    "PASSWORD",
    "RECIPES",
    "ROOT",
    "USER",
    "basic",
    "check_auth",
    "check_compression",
    "check_demo_stack",
    "check_error_page",
    "check_session",
    "copy_sources",
    "free_port",
    "get",
    "stack_env",
    "tool",
    "wait_for_text",
    "write_htpasswd",
]
