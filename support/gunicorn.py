"""gunicorn serving a PasteDeploy ini on 127.0.0.1, and what its workers hold.

Usage::

    with gunicorn(ini, log) as (port, proc):
        workers = worker_pids(proc.pid)
        requests.get(f"http://127.0.0.1:{port}/")
        print(sum(rss_kib(pid) for pid in workers), [open_fds(pid) for pid in workers])
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from support import ROOT
from support.net import HOST, accepts, free_port


def gunicorn_options() -> list[str]:
    """Options every gunicorn we start gets: no control socket where gunicorn has one (27+
    opens ``~/.gunicorn/gunicorn.ctl`` by default, one path shared by every instance)."""
    from gunicorn.config import KNOWN_SETTINGS

    names = {setting.name for setting in KNOWN_SETTINGS}
    return ["--no-control-socket"] if "control_socket_disable" in names else []


def gunicorn_command(ini: str | os.PathLike[str], port: int, workers: int = 2) -> list[str]:
    """gunicorn serving the PasteDeploy ``ini`` on 127.0.0.1:``port`` with sync workers."""
    return [sys.executable, "-m", "gunicorn", "--paste", str(ini), "--workers", str(workers),
            "--bind", f"{HOST}:{port}", "--pythonpath", str(ROOT), "--timeout", "30",
            "--graceful-timeout", "5", *gunicorn_options()]


@contextlib.contextmanager
def gunicorn(ini: str | os.PathLike[str], log: str | os.PathLike[str], workers: int = 2,
             timeout: float = 30.0) -> Iterator[tuple[int, subprocess.Popen]]:
    """Serve ``ini`` with gunicorn on a free 127.0.0.1 port; yield ``(port, process)``.

    Its output goes to ``log``; the whole process group is terminated afterwards, then killed.
    """
    port = free_port()
    with open(log, "ab") as out:
        proc = subprocess.Popen(gunicorn_command(ini, port, workers), cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n"
                                   f"{Path(log).read_text()[-3000:]}")
            if accepts(port):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"gunicorn not listening on port {port} after {timeout}s")
            time.sleep(0.05)
        while len(worker_pids(proc.pid)) < workers and time.monotonic() < deadline:
            time.sleep(0.05)
        yield port, proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def worker_pids(master: int) -> list[int]:
    """The pids of a process's children (gunicorn's workers), from ``/proc``."""
    try:
        text = Path(f"/proc/{master}/task/{master}/children").read_text()
    except OSError:
        return []
    return sorted(int(pid) for pid in text.split())


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` in KiB (``VmRSS``), 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def open_fds(pid: int) -> int:
    """Number of open file descriptors of ``pid``, 0 when it is gone."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0

