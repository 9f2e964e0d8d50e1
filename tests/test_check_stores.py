"""``python -m middleware check`` reaches the stores of the stack: a real Redis that is up, and
a port where nothing listens (the password in its URL never printed)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from redis_server import redis_server  # noqa: F401 (fixture)
from servers import free_port

TESTS = os.path.dirname(os.path.abspath(__file__))

INI = textwrap.dedent("""
    [pipeline:main]
    pipeline = session auth hello

    [filter:session]
    use = egg:wsgi-middleware-suite#session
    secret_key = env:CHECK_TEST_SECRET
    store = env:CHECK_TEST_SESSIONS

    [filter:auth]
    use = egg:wsgi-middleware-suite#auth
    bearer_tokens = ci:tttttttttttttttttttttttttttttttttttttttt
    throttle_store = env:CHECK_TEST_THROTTLE

    [app:hello]
    paste.app_factory = paste_fixtures:app_factory
""")


def check(tmp_path, sessions: str, throttle: str = "memory", *options: str):
    ini = tmp_path / "app.ini"
    ini.write_text(INI)
    env = {**os.environ, "PYTHONPATH": TESTS, "CHECK_TEST_SECRET": "s" * 40,
           "CHECK_TEST_SESSIONS": sessions, "CHECK_TEST_THROTTLE": throttle}
    return subprocess.run([sys.executable, "-m", "middleware", "check", str(ini), *options],
                          env=env, capture_output=True, text=True, timeout=60)


def test_a_redis_store_that_answers_is_reported_ok(tmp_path, redis_server):  # noqa: F811
    proc = check(tmp_path, redis_server.url, redis_server.url)
    assert proc.returncode == 0, proc.stderr
    assert f"session: session store {redis_server.url}: ok" in proc.stdout
    assert f"auth: login throttle {redis_server.url}: ok" in proc.stdout


def test_a_session_store_that_is_down_is_one_line_with_the_url_masked(tmp_path):
    url = f"redis://:hunter2-password@127.0.0.1:{free_port()}/0"
    proc = check(tmp_path, url)
    assert proc.returncode == 3
    errors = [line for line in proc.stderr.splitlines() if line]
    assert len(errors) == 1, proc.stderr
    assert errors[0].startswith("error: session: session store redis://:***@127.0.0.1:")
    assert "unreachable (ConnectionError" in errors[0]
    assert "hunter2" not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr


def test_a_redis_throttle_that_is_down_is_reported_too(tmp_path, redis_server):  # noqa: F811
    proc = check(tmp_path, redis_server.url, f"redis://127.0.0.1:{free_port()}/0")
    assert proc.returncode == 3
    assert "session store" in proc.stdout and ": ok" in proc.stdout
    assert proc.stderr.startswith("error: auth: login throttle redis://127.0.0.1:")


def test_offline_skips_the_stores(tmp_path):
    proc = check(tmp_path, f"redis://127.0.0.1:{free_port()}/0", "memory", "--offline")
    assert proc.returncode == 0, proc.stderr
    assert "session(" in proc.stdout and "session store" not in proc.stdout
