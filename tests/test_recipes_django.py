"""recipes/django: a real Django project whose wsgi.py wraps get_wsgi_application().

Served by gunicorn from the project folder as its README says; Django's own sessions, auth
and gzip are off, and the views use the suite's session and REMOTE_USER.
"""

from __future__ import annotations

import subprocess
import sys

from recipe_support import (
    RECIPES,
    check_auth,
    check_compression,
    check_error_page,
    check_session,
    free_port,
    stack_env,
    tool,
)
from servers import run_server

DJANGO = RECIPES / "django"
ENV = {"DJANGO_SECRET_KEY": "django-recipe-test-key-" + "d" * 30}


def test_django_project_passes_its_own_system_checks():
    proc = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level",
                           "ERROR"], cwd=DJANGO, env={**ENV, "PATH": ""},
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


def test_django_project_behind_the_stack(tmp_path):
    port = free_port()
    args = [tool("gunicorn"), "mysite.wsgi:application", "--bind", f"127.0.0.1:{port}",
            "--workers", "2", "--preload"]
    env = {**stack_env(tmp_path), **ENV}
    with run_server(args, port, log_path=tmp_path / "gunicorn.log", env=env, cwd=DJANGO) as server:
        check_compression(server.url + "/api/", '"items"')
        check_compression(server.url + "/", "<h1>mysite</h1>")
        check_session(server.url + "/", "session")
        check_auth(server.url + "/account/", "mysite")
        check_error_page(server.url + "/boom/", leaks=("Traceback", "RuntimeError",
                                                      "a bug in a view"))
