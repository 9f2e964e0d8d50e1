"""Redis killed mid-run under the session store and under the auth throttle, then brought back.

The session store runs in the demo stack under gunicorn (2 workers) against a real
``redis-server`` that fsyncs every write (``appendfsync always``), so a write Redis
acknowledged survives the kill: while Redis is down every request that needs a session gets a
clean 503 page with ``Retry-After`` and a log line, requests that do not need one still work,
and once Redis is back the same workers serve every session with all its acknowledged writes.
"""

from __future__ import annotations

import base64
import logging

import bcrypt
import pytest

from harness import make_environ, serve
from middleware import AuthMiddleware, BasicAuth
from middleware.auth import Throttle
from support.demo_load import PASSWORD, USER, Client, Tally, unexpected_tracebacks, write_stack
from support.gunicorn import gunicorn, worker_pids
from support.redis import RedisServer

pytestmark = pytest.mark.slow

HASH = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()


def test_redis_killed_under_the_session_store_503s_then_recovers_every_write(tmp_path):
    redis = RedisServer(tmp_path, persistent=True).start()
    log = tmp_path / "server.log"
    try:
        ini = write_stack(tmp_path, redis.url, throttle_store=redis.url, log=str(log))
        with gunicorn(ini, log) as (port, proc):
            workers = worker_pids(proc.pid)
            tally = Tally()
            users = [Client(port, tally, seed) for seed in range(4)]
            for _ in range(4):
                for user in users:
                    user.one("page")
            assert tally.acknowledged == 16 and not tally.examples, tally.examples

            redis.kill()
            for user in users:
                status, headers, body = user.request("/", {"Accept": "text/html"})
                assert status == 503, (status, body[:300])
                assert headers.get("retry-after")
                assert b"Traceback" not in body and b"redis" not in body.lower()
                # a request that needs no session store still works while Redis is down
                status, _, _ = user.request("/api", {"Accept": "application/json"})
                assert status == 200
                status, _, _ = user.request("/private", {"Authorization": "Basic " + (
                    base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())})
                assert status == 200  # the throttle fails open and logs
            assert "session store unavailable" in log.read_text()
            assert "login throttle store failed" in log.read_text()

            redis = RedisServer(tmp_path, port=redis.port, persistent=True).start()
            for _ in range(3):
                for user in users:
                    user.one("page")
            assert not tally.examples, tally.examples  # no lost write, no unexpected status
            assert tally.acknowledged == 28 and tally.lost_writes == 0
            assert worker_pids(proc.pid) == workers  # recovered without restarting workers
        assert unexpected_tracebacks(log.read_text()) == []
    finally:
        redis.stop()


def _ok(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def _login(app, user, password):
    credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
    result = serve(app, make_environ(HTTP_AUTHORIZATION="Basic " + credentials,
                                     HTTP_ACCEPT="text/plain", PATH_INFO="/admin"))
    assert result.error is None
    return result.status[:3]


@pytest.mark.parametrize("fail_open", [False, True])
def test_redis_killed_under_the_auth_throttle(tmp_path, caplog, fail_open):
    redis = RedisServer(tmp_path).start()
    try:
        throttle = Throttle(redis.url, max_failures=3, window=60, fail_open=fail_open)
        app = AuthMiddleware(_ok, [BasicAuth(users={"alice": HASH, "bob": HASH}, cache_ttl=0)],
                             throttle=throttle)
        assert [_login(app, "bob", "wrong") for _ in range(4)] == ["401"] * 3 + ["429"]

        redis.kill()
        with caplog.at_level(logging.ERROR, logger="middleware.auth"):
            status = _login(app, "alice", "pw")
        assert "login throttle store failed" in caplog.text
        # closed: a clear 503 rather than unthrottled guessing; open: the password decides
        assert status == ("200" if fail_open else "503")
        assert _login(app, "alice", "wrong") == ("401" if fail_open else "503")

        redis = RedisServer(tmp_path, port=redis.port).start()
        assert _login(app, "alice", "pw") == "200"
        assert [_login(app, "bob", "wrong") for _ in range(4)] == ["401"] * 3 + ["429"]
    finally:
        redis.stop()
