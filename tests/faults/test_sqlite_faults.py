"""The SQLite session store with its database locked by another process, made read-only, and
removed while serving: a clean 503 page and a log line while the store cannot do its job,
never a 500, and no acknowledged write lost once it can again."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest
from fault_stack import counter_stack
from werkzeug.test import Client

pytestmark = pytest.mark.slow

LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


def _visit(client: Client) -> tuple[int, int | None]:
    response = client.get("/", headers={"Accept": "text/html"})
    match = re.search(rb"visits=(\d+)", response.data)
    return response.status_code, int(match.group(1)) if match else None


def test_a_database_locked_by_another_process_gives_503_then_recovers(tmp_path, caplog):
    db = str(tmp_path / "sessions.db")
    client = Client(counter_stack(f"sqlite:///{db}", timeout=0.2))
    assert [_visit(client) for _ in range(3)] == [(200, 1), (200, 2), (200, 3)]
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, db], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout.readline().strip() == "locked"
        with caplog.at_level(logging.ERROR, logger="middleware.sessions"):
            status, _ = _visit(client)
        assert status == 503
        assert "session store unavailable" in caplog.text
    finally:
        locker.communicate("\n", timeout=10)
    assert [_visit(client) for _ in range(2)] == [(200, 4), (200, 5)]


READ_ONLY_VISIT = """
import json, logging, os, sys
sys.path[:0] = sys.argv[3].split(os.pathsep)
logging.basicConfig(level=logging.ERROR, stream=sys.stdout, format="LOG %(message)s")
from werkzeug.test import Client
from fault_stack import counter_stack
client = Client(counter_stack("sqlite:///" + sys.argv[1], timeout=0.2))
client.set_cookie("session", sys.argv[2])
if os.geteuid() == 0:  # root ignores file modes: visit as nobody (everything imported first)
    os.setgid(65534)
    os.setuid(65534)
response = client.get("/", headers={"Accept": "text/html"})
print(json.dumps({"status": response.status_code, "body": response.get_data(as_text=True)}))
"""


def test_a_read_only_database_gives_503_then_recovers(caplog):
    # a world-traversable directory: the visit may run as nobody (see READ_ONLY_VISIT)
    directory = tempfile.mkdtemp(prefix="ro-sessions-")
    try:
        os.chmod(directory, 0o755)
        db = os.path.join(directory, "sessions.db")
        client = Client(counter_stack(f"sqlite:///{db}"))
        assert [_visit(client) for _ in range(2)] == [(200, 1), (200, 2)]
        cookie = client.get_cookie("session").value
        files = [db + suffix for suffix in ("", "-wal", "-shm") if os.path.exists(db + suffix)]
        for path in files:
            os.chmod(path, 0o444)
        os.chmod(directory, 0o555)
        path = os.pathsep.join([os.path.dirname(__file__), os.getcwd()])
        done = subprocess.run([sys.executable, "-c", READ_ONLY_VISIT, db, cookie, path],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        result = json.loads(lines[-1])
        assert result["status"] == 503, result
        assert any("session store unavailable" in line for line in lines[:-1]), lines
        assert "Traceback" not in result["body"]
        os.chmod(directory, 0o755)
        for path in files:
            os.chmod(path, 0o644)
        assert _visit(client) == (200, 3)
    finally:
        os.chmod(directory, 0o755)
        shutil.rmtree(directory)


def test_a_removed_database_file_never_swallows_acknowledged_writes(tmp_path, caplog):
    """After the file is removed, a write the store acknowledges must be one a new worker (or
    the same one after a restart) can read back; otherwise it must not be acknowledged."""
    db = str(tmp_path / "sessions.db")
    worker = Client(counter_stack(f"sqlite:///{db}"))
    assert [_visit(worker) for _ in range(2)] == [(200, 1), (200, 2)]
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    with caplog.at_level(logging.ERROR, logger="middleware.sessions"):
        status, visits = _visit(worker)
    assert status in (200, 503)
    assert "removed or replaced" in caplog.text or "unavailable" in caplog.text
    other = Client(counter_stack(f"sqlite:///{db}"))  # another worker, or a restart
    other.set_cookie("session", worker.get_cookie("session").value)
    if status == 200:
        # acknowledged: the write must be durable, so the other worker sees it
        assert _visit(other) == (200, visits + 1), json.dumps({"acknowledged": visits})
    else:
        assert _visit(other)[0] in (200, 503)
