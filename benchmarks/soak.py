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
import contextlib
import os
import platform
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from support.demo_load import Budget, Client, Tally, unexpected_tracebacks, write_stack
from support.gunicorn import gunicorn, open_fds, rss_kib, worker_pids
from support.net import HOST
from support.redis import RedisServer

STORES = ("cookie", "sqlite", "redis")


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



def store_url(store: str, directory: str, redis: RedisServer | None) -> str:
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
            redis = RedisServer(directory).start()
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
