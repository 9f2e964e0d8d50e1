"""``python -m benchmarks.soak``: the demo stack under sustained load, with every check it must pass.

For each session store (cookie, SQLite, Redis) the demo stack of ``recipes/demo/demo.ini``
(errors -> compression -> session -> auth -> the demo app), with the debug middleware added
inside the error pages in its production-safe form (no client is allowed to see tracebacks,
so every request still passes through it), is served by gunicorn with 2 sync workers on
127.0.0.1 only. Concurrent clients, each with its own session (its own cookie jar), then run
for ``--seconds`` (default 60) or until ``--max-requests`` have been sent, whichever comes
first. Each client mixes:

* ``GET /`` (most requests): a read-modify-write of the session's visit counter, with a random
  ``Accept-Encoding`` (br, zstd, gzip or none): the page must show exactly the number of
  writes the client had acknowledged (a 200) plus one;
* ``GET /api`` (compressed JSON), ``GET /private`` with the right Basic credentials (200) and
  with a wrong password (401), ``GET /missing`` (404), and ``GET /boom``, which raises on
  purpose: the 500 page must not show the exception, the traceback or the route's locals.

The run fails (exit status 1) on any unexpected 5xx or other unexpected status, a connection
error, a lost write (a counter that does not match), a worker that was restarted, or a
traceback in the server log that is not the ``/boom`` route's own exception. Worker RSS and
open file descriptors are sampled twice a second; the growth from the end of the warm-up (the
first third of the run, at least 3 s) to the end is reported, with the RSS at seven moments of
the run (the cookie store's workers take about 50 s to reach their plateau).

Usage::

    python -m benchmarks.soak                       # 60 s per store, cookie, sqlite, redis
    python -m benchmarks.soak --seconds 5 --stores cookie

Everything is bounded: each phase stops at its deadline or request budget, every client
request has a timeout, and gunicorn and redis-server are terminated (then killed) whatever
happens. The clients share the two cores with the server, so the request rate is a floor,
not a throughput figure (``python -m benchmarks`` measures that).
"""

from __future__ import annotations

import argparse
import base64
import configparser
import contextlib
import gzip
import http.client
import json
import os
import platform
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.cookies import SimpleCookie
from pathlib import Path

import bcrypt
import brotli

from benchmarks.redis_process import HOST, RedisProcess, free_port

ROOT = Path(__file__).resolve().parent.parent
DEMO_INI = ROOT / "recipes" / "demo" / "demo.ini"
STORES = ("cookie", "sqlite", "redis")
USER, PASSWORD = "soak", "soak-password-4f1e9b"
#: strings the /boom error page must never show
LEAKS = (b"must-never-be-shown", b"RuntimeError", b"Traceback", b"raises on purpose")
BOOM = "the demo route /boom raises on purpose"
#: request kinds and their weights in the mix
MIX = {"page": 70, "api": 10, "private": 8, "wrong": 2, "missing": 5, "boom": 5}
ENCODINGS = ("br", "zstd", "gzip", "gzip, br", "identity", "")
_VISITS = re.compile(rb'<strong id="visits">(\d+)</strong>')


# -- the stack -----------------------------------------------------------------------------

def write_htpasswd(path: str | os.PathLike[str], user: str = USER,
                   password: str = PASSWORD) -> None:
    """An htpasswd file with one bcrypt user (cost 5, as ``htpasswd -nbB`` writes)."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
    Path(path).write_text(f"{user}:{hashed}\n")


def write_stack(directory: str | os.PathLike[str], store: str, *,
                throttle_store: str | None = None, log: str | None = None) -> Path:
    """Write the demo stack's ini into ``directory`` with ``store`` as the session store.

    Starts from ``recipes/demo/demo.ini``: the same filters in the same order, plus the debug
    middleware inside the error pages (allowed for no client: 192.0.2.1 is a documentation
    address), the htpasswd file in ``directory`` (see :func:`write_htpasswd`), a throttle
    that allows many failures (the wrong-password requests all come from 127.0.0.1), and the
    log in the file ``log`` (default ``directory/server.log``).
    """
    directory = Path(directory)
    config = configparser.RawConfigParser()
    config.read(DEMO_INI)
    names = config.get("pipeline:main", "pipeline").split()
    names.insert(names.index("errors") + 1, "debug")
    config.set("pipeline:main", "pipeline", "\n" + "\n".join(names))
    config["filter:debug"] = {"use": "egg:wsgi-middleware-suite#debug",
                              "allowed_ips": "192.0.2.1"}
    config.set("filter:session", "store", store)
    htpasswd = str(directory / "users.htpasswd")
    if not os.path.exists(htpasswd):
        write_htpasswd(htpasswd)
    config.set("filter:auth", "htpasswd", htpasswd)
    config.set("filter:auth", "max_failures", "1000000")
    if throttle_store:
        config.set("filter:auth", "throttle_store", throttle_store)
    app = next(s for s in config.sections() if s.startswith("app:"))
    config.set(app, "htpasswd", htpasswd)
    config.set("handler_console", "class", "FileHandler")
    config.set("handler_console", "args", repr((log or str(directory / "server.log"), "a")))
    path = directory / "stack.ini"
    with open(path, "w") as file:
        config.write(file)
    return path


def gunicorn_options() -> list[str]:
    """Options every gunicorn we start gets: no control socket where gunicorn has one (27+
    opens ``~/.gunicorn/gunicorn.ctl`` by default, one path shared by every instance)."""
    from gunicorn.config import KNOWN_SETTINGS

    names = {setting.name for setting in KNOWN_SETTINGS}
    return ["--no-control-socket"] if "control_socket_disable" in names else []


def gunicorn_command(ini: str | os.PathLike[str], port: int, workers: int = 2) -> list[str]:
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
            with socket.socket() as sock:
                if sock.connect_ex((HOST, port)) == 0:
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


# -- the clients ---------------------------------------------------------------------------

@dataclass
class Tally:
    """What the clients saw, added up under a lock."""

    requests: int = 0
    by_kind: Counter = field(default_factory=Counter)
    unexpected_5xx: int = 0
    unexpected_other: int = 0
    connection_errors: int = 0
    lost_writes: int = 0
    leaks: int = 0
    acknowledged: int = 0
    examples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, problem: str) -> None:
        if len(self.examples) < 10:
            self.examples.append(problem)


class Budget:
    """A shared request budget and deadline."""

    def __init__(self, requests: int, deadline: float) -> None:
        self.left = requests
        self.deadline = deadline
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.left <= 0 or time.monotonic() >= self.deadline:
                return False
            self.left -= 1
            return True


def decode(body: bytes, coding: str | None) -> bytes:
    coding = (coding or "").strip()
    if coding == "gzip":
        return gzip.decompress(body)
    if coding == "br":
        return brotli.decompress(body)
    if coding == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    return body


class Client:
    """One user: its own cookie jar, its own counter, requests one after another."""

    def __init__(self, port: int, tally: Tally, seed: int) -> None:
        self.port = port
        self.tally = tally
        self.random = random.Random(seed)
        self.cookie: str | None = None
        self.acked = 0
        self.lost = 0

    def request(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if self.cookie:
            headers["Cookie"] = f"session={self.cookie}"
        conn = http.client.HTTPConnection(HOST, self.port, timeout=15)
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            status = response.status
            found = {k.lower(): v for k, v in response.getheaders() if k.lower() != "set-cookie"}
            for value in response.headers.get_all("Set-Cookie") or []:
                morsel = SimpleCookie(value).get("session")
                if morsel is not None:
                    self.cookie = morsel.value or None
        finally:
            conn.close()
        return status, found, decode(body, found.get("content-encoding"))

    def one(self, kind: str) -> None:
        tally = self.tally
        headers = {"User-Agent": "soak/1.0"}
        encoding = self.random.choice(ENCODINGS)
        if encoding:
            headers["Accept-Encoding"] = encoding
        expected, path = 200, {"page": "/", "api": "/api", "private": "/private",
                               "wrong": "/private", "missing": "/missing", "boom": "/boom"}[kind]
        if kind in ("private", "wrong"):
            password = PASSWORD if kind == "private" else "wrong-" + PASSWORD
            headers["Authorization"] = "Basic " + base64.b64encode(
                f"{USER}:{password}".encode()).decode()
            expected = 200 if kind == "private" else 401
        elif kind == "missing":
            expected = 404
        elif kind == "boom":
            expected = 500
        headers["Accept"] = "application/json" if kind == "api" else "text/html"
        try:
            status, _, body = self.request(path, headers)
        except (OSError, http.client.HTTPException) as exc:
            with tally.lock:
                tally.requests += 1
                tally.connection_errors += 1
                tally.note(f"{kind}: {exc!r}")
            return
        problem = None
        lost = 0
        if status != expected:
            problem = f"{kind}: {status} instead of {expected}"
        elif kind == "page":
            match = _VISITS.search(body)
            visits = int(match.group(1)) if match else -1
            if visits != self.acked + 1:
                lost = 1
                problem = f"page: counter {visits}, expected {self.acked + 1}"
            self.acked += 1
        elif kind == "api":
            json.loads(body)
        elif kind == "boom" and any(leak in body for leak in LEAKS):
            problem = "boom: the error page shows internals"
        with tally.lock:
            tally.requests += 1
            tally.by_kind[kind] += 1
            if kind == "page" and status == 200:
                tally.acknowledged += 1
            if problem:
                tally.note(problem)
                if status != expected and status >= 500:
                    tally.unexpected_5xx += 1
                elif status != expected:
                    tally.unexpected_other += 1
                elif kind == "boom":
                    tally.leaks += 1
            tally.lost_writes += lost

    def run(self, budget: Budget) -> None:
        kinds, weights = list(MIX), list(MIX.values())
        while budget.take():
            self.one(self.random.choices(kinds, weights)[0])

    def final_check(self) -> None:
        """After the load: one more write, which must see every acknowledged one."""
        self.one("page")


# -- one run -------------------------------------------------------------------------------

@dataclass
class Outcome:
    """One store's soak results."""

    store: str
    seconds: float = 0.0
    tally: Tally = field(default_factory=Tally)
    rss_start_kib: int = 0
    rss_end_kib: int = 0
    fds_start: int = 0
    fds_end: int = 0
    worker_restarts: int = 0
    tracebacks: int = 0
    log_excerpt: str = ""
    #: ``(seconds since start, worker RSS KiB, open fds)`` every half second
    samples: list[tuple[float, int, int]] = field(default_factory=list)

    @property
    def rss_growth_pct(self) -> float:
        return 100.0 * (self.rss_end_kib - self.rss_start_kib) / max(self.rss_start_kib, 1)

    @property
    def ok(self) -> bool:
        t = self.tally
        return not (t.unexpected_5xx or t.unexpected_other or t.connection_errors
                    or t.lost_writes or t.leaks or self.worker_restarts or self.tracebacks)


def unexpected_tracebacks(log: str) -> list[str]:
    """Tracebacks in a server log whose exception is not the ``/boom`` route's own."""
    found = []
    for block in log.split("Traceback (most recent call last):")[1:]:
        lines = block.splitlines()
        # the exception line: the first line after the frames that is not indented
        final = next((line for line in lines[1:] if line and not line[0].isspace()), "")
        if BOOM not in final:
            found.append("Traceback (most recent call last):" + "\n".join(lines[:40]))
    return found


def store_url(store: str, directory: str, redis: RedisProcess | None) -> str:
    if store == "cookie":
        return "cookie"
    if store == "sqlite":
        return f"sqlite:///{os.path.join(directory, 'sessions.db')}"
    assert redis is not None
    return redis.url


def soak(store: str, seconds: float, clients: int, max_requests: int) -> Outcome:
    """Run the load against one store; return what happened."""
    outcome = Outcome(store)
    with tempfile.TemporaryDirectory(prefix=f"soak-{store}-") as directory, \
            contextlib.ExitStack() as stack:
        redis = None
        if store == "redis":
            redis = RedisProcess(directory).start()
            stack.callback(redis.stop)
        log = os.path.join(directory, "server.log")
        ini = write_stack(directory, store_url(store, directory, redis),
                          throttle_store=redis.url if redis else None, log=log)
        port, proc = stack.enter_context(gunicorn(ini, log))
        workers = worker_pids(proc.pid)
        tally = outcome.tally
        users = [Client(port, tally, seed) for seed in range(clients)]
        started = time.monotonic()
        budget = Budget(max_requests, started + seconds)
        threads = [threading.Thread(target=user.run, args=(budget,), daemon=True)
                   for user in users]
        for thread in threads:
            thread.start()
        warmup = started + max(3.0, seconds / 3)
        samples: list[tuple[int, int]] = []
        baseline: tuple[int, int] | None = None
        while any(thread.is_alive() for thread in threads):
            time.sleep(0.5)
            pids = worker_pids(proc.pid)
            sample = (sum(rss_kib(p) for p in pids), sum(open_fds(p) for p in pids))
            samples.append(sample)
            outcome.samples.append((time.monotonic() - started, *sample))
            if baseline is None and time.monotonic() >= warmup:
                baseline = sample
            if time.monotonic() > budget.deadline + 30:
                break  # a hung client: its request has a timeout, so this is a safety net
        for thread in threads:
            thread.join(20)
        outcome.seconds = time.monotonic() - started
        for user in users:
            user.final_check()
        end = samples[-1] if samples else (0, 0)
        baseline = baseline or (samples[0] if samples else (0, 0))
        outcome.rss_start_kib, outcome.fds_start = baseline
        outcome.rss_end_kib, outcome.fds_end = end
        outcome.worker_restarts = len(set(workers) - set(worker_pids(proc.pid)))
        text = Path(log).read_text(errors="replace")
        bad = unexpected_tracebacks(text)
        outcome.tracebacks = len(bad)
        if bad:
            outcome.log_excerpt = bad[0][:3000]
    return outcome


# -- report --------------------------------------------------------------------------------

def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{cpu}, {cpus} CPUs, {platform.system()} {platform.release()}, "
            f"{platform.python_implementation()} {platform.python_version()}")


def table(outcomes: list[Outcome]) -> str:
    """The Markdown table printed at the end (and kept in docs/reliability.md)."""
    lines = [
        "| store | seconds | requests | req/s | acknowledged writes | unexpected 5xx | other "
        "errors | lost writes | worker RSS after warm-up -> end | open fds | worker restarts "
        "| tracebacks from our code |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|",
    ]
    for o in outcomes:
        t = o.tally
        lines.append(
            f"| {o.store} | {o.seconds:.0f} | {t.requests} | {t.requests / max(o.seconds, 1e-9):.0f}"
            f" | {t.acknowledged} | {t.unexpected_5xx} | "
            f"{t.unexpected_other + t.connection_errors + t.leaks} | {t.lost_writes} | "
            f"{o.rss_start_kib / 1024:.1f} -> {o.rss_end_kib / 1024:.1f} MiB "
            f"({o.rss_growth_pct:+.1f}%) | {o.fds_start} -> {o.fds_end} | {o.worker_restarts} "
            f"| {o.tracebacks} |")
    return "\n".join(lines)


def memory_series(outcome: Outcome, points: int = 7) -> str:
    """Worker RSS at a few evenly spaced moments of the run, to tell growth from warm-up."""
    samples = outcome.samples
    if not samples:
        return f"{outcome.store}: no samples"
    picked = [samples[round(i * (len(samples) - 1) / (points - 1))] for i in range(points)]
    return f"{outcome.store}: " + ", ".join(f"{t:.0f}s {rss / 1024:.1f} MiB/{fds} fds"
                                            for t, rss, fds in picked)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="load time per store (default 60)")
    parser.add_argument("--stores", default=",".join(STORES),
                        help="comma-separated: cookie, sqlite, redis (default all three)")
    parser.add_argument("--clients", type=int, default=8,
                        help="concurrent clients, each with its own session (default 8)")
    parser.add_argument("--max-requests", type=int, default=200_000,
                        help="request budget per store (default 200000)")
    args = parser.parse_args(argv)
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    unknown = set(stores) - set(STORES)
    if unknown or not stores:
        parser.error(f"--stores: choose from {', '.join(STORES)}")
    if args.seconds <= 0 or args.clients < 1 or args.max_requests < 1:
        parser.error("--seconds, --clients and --max-requests must be positive")
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"soak: {date}; {machine()}", flush=True)
    print(f"soak: gunicorn 2 sync workers on {HOST}, {args.clients} clients, "
          f"{args.seconds:g} s per store, at most {args.max_requests} requests", flush=True)
    outcomes = []
    for store in stores:
        print(f"soak: {store} ...", file=sys.stderr, flush=True)
        outcomes.append(soak(store, args.seconds, args.clients, args.max_requests))
    print()
    print(table(outcomes))
    print("\nworker RSS (both workers) and open fds over the run:")
    for outcome in outcomes:
        print("  " + memory_series(outcome))
    failed = [o for o in outcomes if not o.ok]
    for o in failed:
        print(f"\nFAILED {o.store}:", *o.tally.examples, sep="\n  ")
        if o.log_excerpt:
            print(o.log_excerpt)
    print("\nsoak: " + ("FAILED" if failed else "all checks held"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
