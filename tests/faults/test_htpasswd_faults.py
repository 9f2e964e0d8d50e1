"""The htpasswd file deleted, garbled or half-written while a real server is serving: the last
good users keep working and the problem is logged; a good file is picked up again at once."""

from __future__ import annotations

import logging
import os
import subprocess

import pytest
import requests

from middleware import AuthMiddleware, BasicAuth
from servers import serve_in_thread

pytestmark = pytest.mark.slow


def _ok(environ, start_response):
    body = f"hello {environ['REMOTE_USER']}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


def _htpasswd(path, user, password, create=False):
    """Add a user with Apache's own tool (bcrypt, cost 5)."""
    flags = "-cbB" if create else "-bB"
    subprocess.run(["htpasswd", flags, "-C", "5", str(path), user, password], check=True,
                   capture_output=True, timeout=30)


def test_a_deleted_or_garbled_htpasswd_keeps_the_last_good_users(tmp_path, caplog):
    path = tmp_path / "users.htpasswd"
    _htpasswd(path, "alice", "alice-pw", create=True)
    # no verification cache: every request really looks the user up in the table
    app = AuthMiddleware(_ok, [BasicAuth(htpasswd=str(path), reload_interval=0, cache_ttl=0)],
                         throttle=None)
    with serve_in_thread(app) as url, requests.Session() as http:
        def status(user, password):
            return http.get(url + "/", auth=(user, password), timeout=10).status_code

        assert status("alice", "alice-pw") == 200
        # (an emptied file is not among them: it is a valid table with no users, as in Apache)
        garbage = [b"\xff\xfe\x00garbage\n", b"alice\n", b"alice:plaintext\n",
                   path.read_bytes()[:20]]  # the last: a half-written file
        with caplog.at_level(logging.ERROR, logger="middleware.auth"):
            os.unlink(path)
            assert status("alice", "alice-pw") == 200
            assert status("alice", "wrong") == 401
            assert "not reloaded, keeping the previous users" in caplog.text
            for content in garbage:
                caplog.clear()
                path.write_bytes(content)
                assert status("alice", "alice-pw") == 200, content
                assert status("mallory", "x") == 401
                assert "not reloaded" in caplog.text, content
        path.unlink()
        _htpasswd(path, "bob", "bob-pw", create=True)
        assert status("bob", "bob-pw") == 200
        assert status("alice", "alice-pw") == 401
