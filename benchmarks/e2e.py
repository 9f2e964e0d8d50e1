"""End to end: the bare app and both full stacks behind real servers, loaded by ``wrk``.

Each run starts one server on ``127.0.0.1`` (never another interface) on a free port, serving
``benchmarks.e2e_app:application``:

* gunicorn, 2 sync workers (one per core, the usual production setting);
* waitress, one process with 4 threads.

The three apps (bare, our stack, the peers' stack) are served side by side on one server kind
at a time. For each, one request is sent first and checked (status 200, the decoded 2 KB page,
gzip for the stacks) and its session cookie kept; ``wrk`` (1 thread, a few connections, run as
a second process) warms it up; then in each of several rounds every app is loaded for a few
seconds, in a rotating order, every request carrying the same ``Authorization``,
``Accept-Encoding: gzip`` and session cookie (so each one is authenticated, loads and re-saves
the session and is compressed). Interleaving the apps keeps a burst of other work on the
machine from landing on one app only. Each app reports its median round's requests per second
and latencies and its count of non-2xx answers; the report adds the ratio to bare.

Everything is bounded: ``wrk -d`` stops the load, a timeout stops ``wrk`` if it hangs, and the
server's whole process group is terminated (then killed) when the run ends, whatever happened.
Note that the load generator shares the two cores with the server: the absolute rate is lower
than on a separate client machine, the ratio to bare is what to read.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import IO

from benchmarks.cases.stacks import workdir
from benchmarks.cases.workload import BODY_2K, basic_credentials
from benchmarks.e2e_app import APPS, load
from support.codings import decode
from support.net import HOST, accepts, free_port

ROOT = Path(__file__).resolve().parent.parent
APP_SPEC = "benchmarks.e2e_app:application"
COOKIES = {"bare": None, "ours": "session", "peers": "beaker"}


@dataclass(frozen=True)
class Settings:
    """:param duration: seconds of measured load per app per round.
    :param rounds: rounds; each loads every app once.
    :param warmup: seconds of load per app before the first round, discarded.
    :param connections: concurrent ``wrk`` connections.
    :param servers: which servers to run.
    :param apps: which apps (``bare``, ``ours``, ``peers``)."""

    duration: int
    rounds: int
    warmup: int
    connections: int
    servers: tuple[str, ...] = ("gunicorn", "waitress")
    apps: tuple[str, ...] = APPS


FULL = Settings(duration=3, rounds=4, warmup=2, connections=4)
QUICK = Settings(duration=1, rounds=1, warmup=0, connections=2, apps=("bare", "ours"))


@dataclass
class Run:
    """One app's load on one server; latencies in milliseconds by percentile ("50", "90")."""

    server: str
    app: str
    status: str = "ok"
    reason: str = ""
    rps: float = 0.0
    requests: int = 0
    non_2xx: int = 0
    socket_errors: str = ""
    latency_ms: dict[str, float] = field(default_factory=dict)
    encoding: str = ""
    load: str = ""
    rounds_rps: list[float] = field(default_factory=list)


def gunicorn_command(port: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "sync",
            "--bind", f"{HOST}:{port}", "--log-level", "warning", "--graceful-timeout", "2",
            APP_SPEC]


def waitress_command(port: int) -> list[str]:
    return [sys.executable, "-m", "waitress", f"--listen={HOST}:{port}", "--threads=4", APP_SPEC]


SERVERS: dict[str, tuple[str, Callable[[int], list[str]]]] = {
    "gunicorn": ("gunicorn, 2 sync workers", gunicorn_command),
    "waitress": ("waitress, 4 threads", waitress_command),
}


@contextlib.contextmanager
def serving(server: str, app: str, timeout: float = 30.0) -> Iterator[int]:
    """Run ``server`` with ``app`` on a free port of 127.0.0.1; stop its process group after."""
    port = free_port()
    env = {**os.environ, "BENCH_APP": app, "BENCH_WORKDIR": str(workdir())}
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(SERVERS[server][1](port), cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_for_port(port, proc, timeout, log)
            yield port
        finally:
            _stop(proc)


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float, log: IO[str]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read()[-800:]}")
        if accepts(port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {HOST}:{port} after {timeout} s")


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group (master and workers), SIGKILL if it lingers."""
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def prime(port: int, app: str) -> tuple[dict[str, str], str]:
    """Send one checked request; return the headers every load request carries, and the
    ``Content-Encoding`` seen."""
    headers = {"Authorization": basic_credentials(), "Accept-Encoding": "gzip"}
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request("GET", "/", headers=headers)
        response = connection.getresponse()
        raw = response.read()
        encoding = response.getheader("Content-Encoding", "")
        if response.status != 200 or decode(raw, encoding) != BODY_2K:
            raise AssertionError(f"{app}: status {response.status}, {len(raw)} bytes")
        cookie_name = COOKIES[app]
        if cookie_name:
            cookie = _cookie(response.getheader("Set-Cookie", ""), cookie_name)
            headers["Cookie"] = cookie
    finally:
        connection.close()
    return headers, encoding


def _cookie(set_cookie: str, name: str) -> str:
    jar: SimpleCookie = SimpleCookie()
    jar.load(set_cookie)
    if name not in jar:
        raise AssertionError(f"no {name!r} cookie in {set_cookie!r}")
    return f"{name}={jar[name].coded_value}"


def wrk(port: int, headers: dict[str, str], seconds: int, connections: int) -> str:
    """Run ``wrk`` against ``port`` for ``seconds``; return its report text."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://{HOST}:{port}/")
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 20,
                          check=True)
    return done.stdout


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def parse_wrk(text: str, run: Run) -> Run:
    """Fill ``run`` from a ``wrk --latency`` report."""
    run.rps = float(_find(r"Requests/sec:\s+([\d.]+)", text))
    run.requests = int(_find(r"(\d+) requests in", text))
    run.non_2xx = int(_find(r"Non-2xx or 3xx responses:\s+(\d+)", text, "0"))
    run.socket_errors = _find(r"Socket errors:\s+(.*)", text, "").strip()
    for percentile, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$",
                                              text, re.MULTILINE):
        run.latency_ms[percentile] = float(value) * _UNITS[unit]
    return run


def _find(pattern: str, text: str, default: str | None = None) -> str:
    match = re.search(pattern, text)
    if match:
        return match.group(1)
    if default is None:
        raise ValueError(f"wrk output has no match for {pattern!r}:\n{text}")
    return default


Progress = Callable[[str, int], None]


def run(settings: Settings, on_progress: Progress = lambda name, steps: None) -> list[Run]:
    """Every server x app of ``settings``: ``servers x apps x rounds`` progress steps.

    See :func:`run_server` for how one server runs.
    """
    runs = []
    for server in settings.servers:
        if shutil.which("wrk") is None:
            runs += [Run(server, app, "not available", "wrk is not installed")
                     for app in settings.apps]
            on_progress(server, len(settings.apps) * settings.rounds)
            continue
        runs += run_server(server, settings, on_progress)
    return runs


def run_server(server: str, settings: Settings,
               on_progress: Progress = lambda name, steps: None) -> list[Run]:
    """Load each app on ``server`` in interleaved rounds; never raises.

    All the apps' servers are started side by side (an idle server costs nothing), each is
    checked and warmed up, then every round loads each app once for ``duration`` seconds, in
    a rotating order. On a shared machine a burst of other work then hurts one round of every
    app instead of one app's whole measurement; the result per app is the median round.
    """
    runs = {app: Run(server, app, load=f"wrk -t1 -c{settings.connections}, "
                                       f"{settings.rounds} x {settings.duration} s")
            for app in settings.apps}
    rounds: dict[str, list[Run]] = {app: [] for app in settings.apps}
    with contextlib.ExitStack() as stack:
        headers = {app: _start(stack, server, runs[app], settings) for app in settings.apps}
        live = [app for app in settings.apps if runs[app].status == "ok"]
        for app in settings.apps:
            if app not in live:
                on_progress(f"{server}/{app}", settings.rounds)
        for number in range(settings.rounds):
            order = live[number % len(live):] + live[:number % len(live)] if live else []
            for app in order:
                port, app_headers = headers[app]
                try:
                    text = wrk(port, app_headers, settings.duration, settings.connections)
                    rounds[app].append(parse_wrk(text, Run(server, app)))
                except Exception as exc:  # noqa: BLE001 - a failed run is reported, not fatal
                    runs[app].status, runs[app].reason = "error", _describe(exc)
                on_progress(f"{server}/{app}", 1)
    for app, run in runs.items():
        if run.status == "ok":
            _merge(run, rounds[app])
    return list(runs.values())


def _start(stack: contextlib.ExitStack, server: str, run: Run, settings: Settings
           ) -> tuple[int, dict[str, str]] | None:
    """Start, check and warm up one app's server; on failure set ``run``'s status."""
    try:
        load(run.app)  # build it here first: an app that cannot import is "not available"
    except ImportError as exc:
        run.status, run.reason = "not available", f"{type(exc).__name__}: {exc}"
        return None
    try:
        port = stack.enter_context(serving(server, run.app))
        headers, run.encoding = prime(port, run.app)
        if settings.warmup:
            wrk(port, headers, settings.warmup, settings.connections)
    except Exception as exc:  # noqa: BLE001 - a failed start is reported, never fatal
        run.status, run.reason = "error", _describe(exc)
        return None
    return port, headers


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def _merge(run: Run, rounds: list[Run]) -> None:
    """The median round's rate and latencies; totals of requests and failures."""
    if not rounds:
        run.status, run.reason = "error", "no round completed"
        return
    run.rps = statistics.median(r.rps for r in rounds)
    run.rounds_rps = [r.rps for r in rounds]
    run.requests = sum(r.requests for r in rounds)
    run.non_2xx = sum(r.non_2xx for r in rounds)
    run.socket_errors = "; ".join(sorted({r.socket_errors for r in rounds if r.socket_errors}))
    for percentile in ("50", "75", "90", "99"):
        values = [r.latency_ms[percentile] for r in rounds if percentile in r.latency_ms]
        if values:
            run.latency_ms[percentile] = statistics.median(values)
