"""``python -m middleware serve|check``: loads an ini through PasteDeploy and serves it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import requests

from servers import free_port, run_server

TESTS = os.path.dirname(os.path.abspath(__file__))

INI = textwrap.dedent("""
    [pipeline:main]
    pipeline = outer hello

    [filter:outer]
    paste.filter_app_factory = paste_fixtures:tag_factory
    name = outer
    secret_key = env:SERVE_TEST_SECRET

    [app:hello]
    paste.app_factory = paste_fixtures:app_factory
""")


def write_ini(tmp_path, text=INI):
    path = tmp_path / "app.ini"
    path.write_text(text)
    return str(path)


def env():
    return {**os.environ, "PYTHONPATH": TESTS, "SERVE_TEST_SECRET": "top-secret-value"}


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "middleware", *args], env=env(),
                          capture_output=True, text=True, timeout=60)


def test_check_prints_the_layers_with_secrets_masked(tmp_path):
    proc = run_cli("check", write_ini(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "outer(" in proc.stdout and "paste_fixtures" not in proc.stderr
    assert "top-secret-value" not in proc.stdout and "'***'" in proc.stdout


def test_check_fails_clearly_on_a_bad_option(tmp_path):
    bad = write_ini(tmp_path, INI.replace("name = outer", "name = outer\nloud = perhaps"))
    proc = run_cli("check", bad)
    assert proc.returncode == 2
    assert "option 'loud'" in proc.stderr and "Traceback" not in proc.stderr


def test_check_fails_clearly_on_a_missing_file(tmp_path):
    proc = run_cli("check", str(tmp_path / "nope.ini"))
    assert proc.returncode == 2 and "no such ini file" in proc.stderr


def test_serve_answers_real_http_requests(tmp_path):
    port = free_port()
    args = [sys.executable, "-m", "middleware", "serve", write_ini(tmp_path), "--port", str(port)]
    with run_server(args, port, env=env()):
        response = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
    assert response.status_code == 200
    assert response.text == "hello outer"
