"""A client that disconnects in the middle of a streamed, compressed response, through every
middleware and a real server (werkzeug's threaded server in this process, gunicorn in its own):
the application's generator is closed exactly once, stops producing, and nothing leaks (the
server's file descriptors and threads come back to where they were)."""

from __future__ import annotations

import os
import socket
import struct
import sys
import threading
import time
from pathlib import Path

import pytest
from fault_stack import full_stack

from harness import TrackedIterable, Tracker
from servers import free_port, run_server, serve_in_thread
from support.gunicorn import gunicorn_options, open_fds, worker_pids

pytestmark = pytest.mark.slow

CHUNKS = 3000
REQUEST = (b"GET /public/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n"
           b"Accept: text/html\r\nConnection: close\r\n\r\n")


def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _read_then_vanish(port: int, want: int = 4096) -> int:
    """Read part of the response, then reset the connection (as a closed browser tab)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(REQUEST)
        received = 0
        while received < want:
            data = sock.recv(65536)
            if not data:
                break
            received += len(data)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return received


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_client_gone_mid_stream_closes_the_generator_once_in_process():
    tracker = Tracker()

    def stream(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])

        def body():
            for i in range(CHUNKS):
                tracker.produced += 1
                yield b"<p>event %d</p>" % i + os.urandom(300).hex().encode()
                time.sleep(0.002)
            tracker.finished = True
        return TrackedIterable(body(), tracker)

    with serve_in_thread(full_stack(stream)) as url:
        port = int(url.rsplit(":", 1)[1])
        fds, threads = _fds(), threading.active_count()
        assert _read_then_vanish(port) >= 4096
        assert _wait(lambda: tracker.closed >= 1), "the generator was never closed"
        assert _wait(lambda: _fds() <= fds and threading.active_count() <= threads)
    assert tracker.closed == 1
    assert not tracker.finished and tracker.produced < CHUNKS
    assert not tracker.iterated_after_close


STREAM_APP = '''
import os, time
from fault_stack import full_stack

MARK = os.environ["FAULT_MARK"]


class Stream:
    def __init__(self):
        self.produced = 0

    def __iter__(self):
        for i in range({chunks}):
            self.produced += 1
            yield b"<p>event %d</p>" % i + os.urandom(300).hex().encode()
            time.sleep(0.002)
        with open(MARK, "a") as f:
            f.write("finished\\n")

    def close(self):
        with open(MARK, "a") as f:
            f.write("closed after %d\\n" % self.produced)


def stream(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return Stream()


application = full_stack(stream)
'''


def test_a_client_gone_mid_stream_closes_the_generator_once_under_gunicorn(tmp_path):
    (tmp_path / "stream_app.py").write_text(STREAM_APP.format(chunks=CHUNKS))
    mark = tmp_path / "closed.log"
    port = free_port()
    path = ",".join([str(tmp_path), str(Path(__file__).parent), os.getcwd()])
    args = [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
            "--pythonpath", path, "--timeout", "30", *gunicorn_options(),
            "stream_app:application"]
    with run_server(args, port, env={"FAULT_MARK": str(mark)}) as server:
        proc = server.proc
        assert _wait(lambda: len(worker_pids(proc.pid)) == 1)
        worker = worker_pids(proc.pid)[0]
        # A first request lets the worker finish booting and importing (a busy machine may
        # still be doing that when the port opens): the baseline is taken after it.
        assert _read_then_vanish(port) >= 4096
        assert _wait(lambda: mark.exists() and mark.read_text().count("\n") >= 1)
        fds = open_fds(worker)
        for _ in range(2):
            assert _read_then_vanish(port) >= 4096
        assert _wait(lambda: mark.read_text().count("\n") >= 3)
        assert _wait(lambda: open_fds(worker) <= fds)
        assert worker_pids(proc.pid) == [worker]
    lines = mark.read_text().splitlines()
    assert len(lines) == 3 and all(line.startswith("closed after") for line in lines), lines
    assert all(int(line.split()[-1]) < CHUNKS for line in lines)
