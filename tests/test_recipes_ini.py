"""recipes/ini: production.ini and development.ini under gunicorn --paste and our own serve.

production.ini keeps sessions in a real Redis server and reads every secret from the
environment; development.ini uses SQLite and the debug layer. Each file is served as its
README says, from the repository root, and checked end to end over HTTP.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

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
    write_htpasswd,
)
from redis_server import redis_server  # noqa: F401 (fixture)
from servers import run_server

INI = RECIPES / "ini"
REALM = {"production": "example.com", "development": "development"}


def serve_command(runner: str, ini: str, port: int, reload: bool = False) -> list[str]:
    """The README's command for the file, on ``port`` instead of 8000; nothing else added."""
    if runner == "gunicorn":
        command = [tool("gunicorn"), "--paste", ini, "--bind", f"127.0.0.1:{port}"]
        # README: production runs 2 preloaded workers, development one reloading worker
        return [*command, "--reload"] if reload else [*command, "--workers", "2", "--preload"]
    command = [sys.executable, "-m", "middleware", "serve", ini, "--port", str(port)]
    return [*command, "--reload"] if reload else command


@pytest.fixture
def production_env(tmp_path, redis_server):  # noqa: F811 (fixture)
    redis_server.client().flushall()
    return {"SESSION_SECRET": "new-production-key-" + "p" * 24 + ",old-production-key",
            "SESSION_REDIS_URL": redis_server.url,
            "HTPASSWD_FILE": write_htpasswd(tmp_path / "users.htpasswd")}


@pytest.fixture
def development_ini(tmp_path):
    """development.ini copied beside its own var/ (the file puts its data under %(here)s)."""
    path = tmp_path / "development.ini"
    shutil.copy(INI / "development.ini", path)
    write_htpasswd(tmp_path / "var" / "dev-users.htpasswd")
    return str(path)


@pytest.mark.parametrize("name, layers", [
    ("production", ["errors(", "compression(", "session(", "auth(", ") -> "]),
    ("development", ["debug(", "compression(", "session(", "auth(", ") -> "]),
])
def test_check_prints_the_layers_outermost_first(name, layers, production_env, development_ini):
    # development.ini on its copy: loading it creates its htpasswd file under %(here)s/var/
    ini = development_ini if name == "development" else "recipes/ini/production.ini"
    proc = subprocess.run([sys.executable, "-m", "middleware", "check", ini],
                          cwd=ROOT, env={**os.environ, **production_env},
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    positions = [proc.stdout.find(layer) for layer in layers]
    assert -1 not in positions and positions == sorted(positions), proc.stdout
    assert "production-key" not in proc.stdout and "'***'" in proc.stdout


def test_production_ini_refuses_to_start_without_its_secret(production_env):
    env = {**os.environ, **production_env}
    del env["SESSION_SECRET"]
    proc = subprocess.run([sys.executable, "-m", "middleware", "check",
                           "recipes/ini/production.ini"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "SESSION_SECRET" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("runner", ["gunicorn", "middleware-serve"])
def test_production_ini_serves_with_redis_sessions(runner, tmp_path, production_env,
                                                   redis_server):  # noqa: F811 (fixture)
    port = free_port()
    command = serve_command(runner, "recipes/ini/production.ini", port)
    with run_server(command, port, log_path=tmp_path / "server.log", env=production_env,
                 cwd=ROOT) as server:
        check_compression(server.url + "/api", '"items"')
        check_session(server.url + "/", "session")
        assert redis_server.client().keys("*"), "no session was stored in Redis"
        check_auth(server.url + "/private", REALM["production"])
        check_error_page(server.url + "/boom",
                         leaks=("Traceback", "must-never-be-shown", "RuntimeError"))
        # the error is logged through the ini's [loggers], with the request id the page shows
        request_id = get(server.url + "/boom").headers["X-Request-ID"]
        wait_for_text(server, request_id)


@pytest.mark.parametrize("runner", ["gunicorn", "middleware-serve"])
def test_development_ini_serves_with_tracebacks_for_localhost(runner, tmp_path, development_ini):
    port = free_port()
    with run_server(serve_command(runner, development_ini, port, reload=True),
                 port, log_path=tmp_path / "server.log", cwd=ROOT) as server:
        check_compression(server.url + "/", "wsgi-middleware-suite demo")
        check_session(server.url + "/", "session")
        assert (tmp_path / "var" / "dev-sessions.db").exists()
        check_auth(server.url + "/private", REALM["development"])
        page = get(server.url + "/boom", headers={"Accept": "text/html"})
        assert page.status_code == 500
        assert "RuntimeError" in page.text and "the demo route /boom raises" in page.text
        assert "must-never-be-shown" not in page.text
