"""recipes/servers: the same stack under gunicorn, waitress, werkzeug, CGI and FastCGI.

Each test starts the server the way its README says, from the repository root, and drives
real HTTP requests through it: compression, the session cookie, Basic auth, the error page.
"""

from __future__ import annotations

import subprocess
import sys

import bcrypt

from recipe_support import (
    RECIPES,
    ROOT,
    check_demo_stack,
    free_port,
    stack_env,
    tool,
)
from servers import run_server

SERVERS = RECIPES / "servers"


def test_gunicorn_serves_the_stack(tmp_path):
    port = free_port()
    args = [tool("gunicorn"), "recipes.servers.stack:application", "--bind",
            f"127.0.0.1:{port}", "--workers", "2", "--preload"]
    with run_server(args, port, log_path=tmp_path / "gunicorn.log", env=stack_env(tmp_path),
                 cwd=ROOT) as server:
        check_demo_stack(server.url)


def test_waitress_serves_the_stack(tmp_path):
    port = free_port()
    args = [tool("waitress-serve"), f"--listen=127.0.0.1:{port}",
            "recipes.servers.stack:application"]
    with run_server(args, port, log_path=tmp_path / "waitress.log", env=stack_env(tmp_path),
                 cwd=ROOT) as server:
        check_demo_stack(server.url)


def test_werkzeug_dev_server_serves_the_stack(tmp_path):
    port = free_port()
    args = [sys.executable, "-m", "recipes.servers.werkzeug_dev", "--port", str(port)]
    with run_server(args, port, log_path=tmp_path / "werkzeug.log", env=stack_env(tmp_path),
                 cwd=ROOT) as server:
        check_demo_stack(server.url)


def test_cgi_script_under_lighttpd_serves_the_stack(tmp_path):
    port = free_port()
    env = {**stack_env(tmp_path), "PORT": str(port), "PYTHON": sys.executable,
           "RECIPE": str(SERVERS)}
    args = [tool("lighttpd"), "-D", "-f", str(SERVERS / "lighttpd-cgi.conf")]
    with run_server(args, port, log_path=tmp_path / "lighttpd.log", env=env, cwd=ROOT) as server:
        check_demo_stack(server.url)


def test_fastcgi_with_flup_behind_lighttpd_serves_the_stack(tmp_path):
    port = free_port()
    fcgi_socket = str(tmp_path / "stack.sock")
    (tmp_path / "docroot").mkdir()
    flup = [sys.executable, "-m", "recipes.servers.fastcgi", "--socket", fcgi_socket]
    front = [tool("lighttpd"), "-D", "-f", str(SERVERS / "lighttpd-fastcgi.conf")]
    front_env = {"PORT": str(port), "FCGI_SOCKET": fcgi_socket,
                 "DOCROOT": str(tmp_path / "docroot")}
    with run_server(flup, log_path=tmp_path / "flup.log", unix_socket=fcgi_socket,
                 env=stack_env(tmp_path), cwd=ROOT), \
            run_server(front, port, log_path=tmp_path / "lighttpd.log", env=front_env,
                    cwd=ROOT) as server:
        check_demo_stack(server.url)


def test_adduser_writes_bcrypt_lines_and_replaces_a_user(tmp_path):
    path = tmp_path / "users.htpasswd"
    for password in ("first password", "second password"):
        proc = subprocess.run([sys.executable, "-m", "middleware.adduser", str(path),
                               "alice", "--password-stdin", "--rounds", "4"],
                              input=password + "\n", cwd=ROOT, capture_output=True, text=True,
                              timeout=30)
        assert proc.returncode == 0, proc.stderr
    user, hashed = path.read_text().strip().split(":", 1)
    assert user == "alice" and hashed.startswith("$2b$")
    assert bcrypt.checkpw(b"second password", hashed.encode())
