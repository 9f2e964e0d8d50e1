"""recipes/django: a real Django project whose wsgi.py wraps get_wsgi_application().

Prepared and served as its README says (``migrate``, ``createsuperuser``, then gunicorn with two
workers and no ``--preload``, so each worker builds its own app). ``request.session`` is the
stack's session, ``request.user`` comes from Django's login or the stack's ``REMOTE_USER``,
and the admin logs in through its own form.
"""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from recipe_support import (
    RECIPES,
    USER,
    basic,
    check_auth,
    check_compression,
    check_error_page,
    check_session,
    free_port,
    get,
    stack_env,
    tool,
)
from servers import run_server

DJANGO = RECIPES / "django"
ENV = {"DJANGO_SECRET_KEY": "django-recipe-test-key-" + "d" * 30}
ADMIN, ADMIN_PASSWORD = "admin", "a long admin password 4 tests"


def manage(*args: str, env: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, "manage.py", *args], cwd=DJANGO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_django_project_passes_its_own_system_checks():
    manage("check", "--deploy", "--fail-level", "ERROR", env={**ENV, "PATH": ""})


@pytest.fixture
def site(tmp_path):
    """The project prepared as the README says, served by ``gunicorn -w 2`` (no preload)."""
    env = {**stack_env(tmp_path), **ENV, "DJANGO_DATABASE": str(tmp_path / "db.sqlite3"),
           "DJANGO_ADMIN_USERS": USER}
    manage("migrate", "--noinput", env=env)
    manage("createsuperuser", "--noinput", "--username", ADMIN, "--email", "admin@example.com",
           env={**env, "DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD})
    port = free_port()
    args = [tool("gunicorn"), "mysite.wsgi:application", "--bind", f"127.0.0.1:{port}",
            "--workers", "2"]
    with run_server(args, port, log_path=tmp_path / "gunicorn.log", env=env,
                    cwd=DJANGO) as server:
        yield server.url


def csrf_token(page: requests.Response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def answers_from_both_workers(url: str, cookies: dict[str, str]) -> list[dict]:
    """GET ``url`` with ``cookies`` until two different worker pids have answered."""
    answers: list[dict] = []
    with ThreadPoolExecutor(4) as pool:
        for _ in range(20):
            batch = pool.map(lambda _: get(url, cookies=cookies).json(), range(8))
            answers.extend(batch)
            if len({a["worker"] for a in answers}) == 2:
                return answers
    raise AssertionError(f"one worker answered every request: {answers[:3]}")


def test_django_project_behind_the_stack(site):
    check_compression(site + "/api/", '"items"')
    check_compression(site + "/", "<h1>mysite</h1>")
    check_session(site + "/", "session")
    check_auth(site + "/account/", "mysite")
    check_error_page(site + "/boom/", leaks=("Traceback", "RuntimeError", "a bug in a view"))


def test_admin_login_uses_the_stack_session_on_both_workers(site):
    browser = requests.Session()
    assert get(site + "/", browser).status_code == 200  # a session before login
    before = browser.cookies["session"]
    assert get(site + "/admin/", browser).headers["Location"].startswith("/admin/login/")

    form = get(site + "/admin/login/?next=/admin/", browser)
    assert form.status_code == 200 and "sessionid" not in form.headers.get("Set-Cookie", "")
    wrong = browser.post(site + "/admin/login/?next=/admin/", timeout=10, data={
        "csrfmiddlewaretoken": csrf_token(form), "username": ADMIN, "password": "nope"})
    assert wrong.status_code == 200 and "correct username and password" in wrong.text
    signed_in = browser.post(site + "/admin/login/?next=/admin/", allow_redirects=False,
                             timeout=10, data={"csrfmiddlewaretoken": csrf_token(wrong),
                                               "username": ADMIN, "password": ADMIN_PASSWORD})
    assert signed_in.status_code == 302, signed_in.text[:500]
    assert signed_in.headers["Location"] == "/admin/"
    # login() cycled the key: the stack's cookie changed, Django set no session cookie
    assert "session" in signed_in.cookies and "sessionid" not in signed_in.cookies
    assert browser.cookies["session"] != before

    dashboard = get(site + "/admin/", browser)
    assert dashboard.status_code == 200 and "Site administration" in dashboard.text
    cookies = {"session": browser.cookies["session"]}
    answers = answers_from_both_workers(site + "/api/", cookies)
    assert {a["user"] for a in answers} == {ADMIN}
    assert {a["visits"] for a in answers} == {1}  # the visit before login, kept by cycle_key

    # the id from before the login is dead on every worker
    stale = get(site + "/admin/", cookies={"session": before})
    assert stale.status_code == 302 and "/admin/login/" in stale.headers["Location"]

    form = get(site + "/admin/", browser)
    logout = browser.post(site + "/admin/logout/", allow_redirects=False, timeout=10,
                          data={"csrfmiddlewaretoken": csrf_token(form)})
    assert logout.status_code == 200, logout.text[:300]
    assert "Max-Age=0" in logout.headers["Set-Cookie"]  # flush() ended the stack's session
    assert get(site + "/api/", cookies=cookies).json()["user"] is None


def test_remote_user_from_the_stack_becomes_an_admin_user(site):
    browser = requests.Session()
    account = get(site + "/account/", browser, headers=basic())
    assert account.status_code == 200 and f"Hello {USER}." in account.text
    # PersistentRemoteUserMiddleware: the login stays where the stack sets no REMOTE_USER
    cookies = {"session": browser.cookies["session"]}
    assert {a["user"] for a in answers_from_both_workers(site + "/api/", cookies)} == {USER}
    dashboard = get(site + "/admin/", cookies=cookies)
    assert dashboard.status_code == 200 and "Site administration" in dashboard.text
