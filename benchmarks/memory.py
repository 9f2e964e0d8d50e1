"""Memory: peak RSS per case, and a 100 MB streamed response through the whole stack.

Two measurements, each in fresh worker processes so one case's heap never inflates another's:

**Peak RSS per case.** A fresh worker per case imports and builds only that case, runs the
collector, resets the kernel's peak-RSS mark (``/proc/self/clear_refs``, Linux), runs a batch of
requests and reads ``VmHWM``. The row shows two numbers: the peak RSS of that process (Python,
the libraries the case imports, its setup and its requests: what a server worker running only
this would weigh) and what the requests added on top of the RSS they started from (memory held
per request). Without ``clear_refs`` (not Linux) only the absolute peak is known.

**Streaming stays flat.** The app streams a large body (100 MB in the full run) in 64 KB
chunks with no ``Content-Length``, through our full stack (errors, gzip, session write, auth)
and through the peers' stack; the client side decompresses as it reads and checks the length.
RSS is sampled every megabyte the client decodes, and the kernel's peak is read at the end:
a middleware that buffers the body shows a peak that grows with the body (and, if it buffers
everything, a client that receives nothing until the end), a streaming one stays level. The
verdict is "flat" when the peak rose less than 4 MB (or 5 % of the body) above the RSS before
the request.

Worker side: ``python -m benchmarks.memory --case ID ...`` / ``--stream NAME``.
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import resource
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.cases import Case, NotAvailable, all_cases, build_case
from benchmarks.cases.workload import (
    basic_credentials,
    make_environ,
    silence_logging,
    stream_app,
)
from benchmarks.workers import Outcome, emit, run_worker, worker_output

MB = 1024 * 1024
CLIENT_BUFFER = 256 * 1024  # what the client decodes at once
STREAMS = ("ours", "peers")


@dataclass(frozen=True)
class Settings:
    """:param requests: requests per case (fewer if ``case_time`` runs out first).
    :param case_time: seconds at most per case.
    :param stream_mb: size of the streamed body.
    :param budget: seconds one worker (one case or one stream) may run before it is killed."""

    requests: int
    case_time: float
    stream_mb: int
    budget: float


FULL = Settings(requests=300, case_time=0.5, stream_mb=100, budget=120.0)
QUICK = Settings(requests=20, case_time=0.2, stream_mb=8, budget=60.0)


@dataclass
class CaseMemory:
    """Peak RSS of one case, in MB, and what its requests added, in KB (None if unknown)."""

    case: str
    status: str = "ok"
    reason: str = ""
    peak_mb: float = 0.0
    added_kb: float | None = None
    requests: int = 0


@dataclass
class StreamMemory:
    """RSS while streaming, in MB: before the request, sampled (MB sent, RSS) pairs, the peak."""

    stack: str
    status: str = "ok"
    reason: str = ""
    body_mb: int = 0
    encoding: str = ""
    seconds: float = 0.0
    rss_before: float = 0.0
    peak: float = 0.0
    samples: list[tuple[float, float]] = field(default_factory=list)

    @property
    def growth_mb(self) -> float:
        """How far RSS rose above where it was before the request, at its highest."""
        highest = max([self.peak, *(rss for _, rss in self.samples)])
        return max(0.0, highest - self.rss_before)

    @property
    def flat(self) -> bool:
        return self.growth_mb < max(4.0, 0.05 * self.body_mb)


# -- reading the kernel's numbers --------------------------------------------------------------


def _status_kb(field_name: str) -> float | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.MULTILINE)
    return float(match.group(1)) if match else None


def rss_mb() -> float:
    """Current resident set size in MB (peak so far where /proc is missing)."""
    kb = _status_kb("VmRSS")
    return (kb if kb is not None else _max_rss_kb()) / 1024


def _max_rss_kb() -> float:
    scale = 1024 if sys.platform == "darwin" else 1  # macOS reports bytes, Linux KB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def reset_peak() -> bool:
    """Reset the peak-RSS mark to the current RSS; False where the kernel cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# -- worker side -------------------------------------------------------------------------------


def measure_case(case: Case, settings: Settings) -> CaseMemory:
    """Peak RSS of ``settings.requests`` requests through ``case`` (setup excluded)."""
    try:
        one_request = build_case(case)
    except NotAvailable as exc:
        return CaseMemory(case.id, "not available", str(exc))
    except Exception as exc:  # noqa: BLE001 - a broken case is reported, never fatal
        return CaseMemory(case.id, "error", f"{type(exc).__name__}: {exc}")
    gc.collect()
    can_reset = reset_peak()
    before = _status_kb("VmRSS")
    deadline = time.perf_counter() + settings.case_time
    done = 0
    while done < settings.requests and (done == 0 or time.perf_counter() < deadline):
        one_request()
        done += 1
    peak = _status_kb("VmHWM") or _max_rss_kb()
    added = peak - before if can_reset and before is not None else None
    return CaseMemory(case.id, peak_mb=peak / 1024, added_kb=added, requests=done)


def stream_through(stack: str, total_mb: int) -> StreamMemory:
    """Stream ``total_mb`` through ``stack`` ("ours" or "peers"), sampling RSS every MB."""
    from benchmarks.cases.stacks import ours_stack, peer_stack

    total = total_mb * MB
    try:
        if stack == "ours":
            app = ours_stack(app=stream_app(total, "middleware.session"))
        else:
            app = peer_stack(app=stream_app(total, "beaker.session", save=True))
    except ImportError as exc:
        return StreamMemory(stack, "not available", f"{type(exc).__name__}: {exc}")
    environ = make_environ(headers={"Authorization": basic_credentials(),
                                    "Accept-Encoding": "gzip"})
    result = StreamMemory(stack, body_mb=total_mb)
    headers: list[tuple[str, str]] = []

    def start_response(status: str, response_headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        headers.extend(response_headers)
        return lambda data: None

    gc.collect()
    can_reset = reset_peak()
    result.rss_before = rss_mb()
    started = time.perf_counter()
    body = app(environ, start_response)
    try:
        decoded = _consume(body, headers, lambda sent: result.samples.append(
            (round(sent / MB, 1), round(rss_mb(), 2))))
        result.encoding = _header(headers, "content-encoding")
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    result.seconds = time.perf_counter() - started
    result.peak = (_status_kb("VmHWM") or 0.0) / 1024 if can_reset else 0.0
    if decoded != total:
        return StreamMemory(stack, "error", f"client decoded {decoded} bytes, expected {total}")
    return result


def _header(headers: list[tuple[str, str]], name: str) -> str:
    return next((value for key, value in headers if key.lower() == name), "")


def _consume(body: Any, headers: list[tuple[str, str]], sample: Callable[[int], None]) -> int:
    """Read ``body`` as a client would, decoding on the fly; call ``sample`` every MB.

    The headers are read at the first chunk: a middleware may start the response only then.
    The client decodes at most :data:`CLIENT_BUFFER` bytes at a time, so its own memory stays
    flat even when a middleware sends the whole body as one chunk; what grows is the server's.
    """
    decoder: Any = None
    decoded = next_sample = 0
    for chunk in body:
        if decoder is None:
            gzipped = _header(headers, "content-encoding") == "gzip"
            decoder = zlib.decompressobj(47) if gzipped else False
        for size in _decoded_sizes(decoder, chunk):
            decoded += size
            while decoded >= next_sample:
                sample(decoded)
                next_sample += MB
    if decoder:
        decoded += len(decoder.flush())
    sample(decoded)
    return decoded


def _decoded_sizes(decoder: Any, chunk: bytes) -> Iterator[int]:
    """The sizes of the pieces ``chunk`` decodes to, each at most ``CLIENT_BUFFER`` bytes."""
    if not decoder:
        yield len(chunk)
        return
    yield len(decoder.decompress(chunk, CLIENT_BUFFER))
    while decoder.unconsumed_tail:
        yield len(decoder.decompress(decoder.unconsumed_tail, CLIENT_BUFFER))


def worker_main(argv: list[str]) -> None:
    """``python -m benchmarks.memory --settings JSON (--case ID ... | --stream NAME)``."""
    parser = argparse.ArgumentParser(prog="benchmarks.memory")
    parser.add_argument("--settings", required=True)
    parser.add_argument("--case", action="append", default=[])
    parser.add_argument("--stream", choices=STREAMS)
    args = parser.parse_args(argv)
    out = worker_output()
    silence_logging()
    settings = Settings(**json.loads(args.settings))
    if args.stream:
        emit(out, asdict(stream_through(args.stream, settings.stream_mb)))
        return
    wanted = set(args.case)
    for case in all_cases():
        if case.id in wanted:
            emit(out, asdict(measure_case(case, settings)))


# -- master side -------------------------------------------------------------------------------


def run_cases(cases: list[Case], settings: Settings,
              on_progress: Callable[[str], None] = lambda case_id: None) -> list[CaseMemory]:
    """Peak RSS of every case, each measured in its own fresh worker process."""
    results = []
    for case in cases:
        outcome = Outcome()
        args = ["--settings", json.dumps(asdict(settings)), "--case", case.id]
        events = list(run_worker("benchmarks.memory", args, settings.budget, outcome))
        results.append(CaseMemory(**events[-1]) if events
                       else CaseMemory(case.id, "error", outcome.describe()))
        on_progress(case.id)
    return results


def run_streams(settings: Settings, on_progress: Callable[[str], None] = lambda name: None
                ) -> list[StreamMemory]:
    """The streaming proof for each stack, each in its own fresh worker process."""
    results = []
    for stack in STREAMS:
        outcome = Outcome()
        args = ["--settings", json.dumps(asdict(settings)), "--stream", stack]
        events = list(run_worker("benchmarks.memory", args, settings.budget, outcome))
        if events:
            data = events[-1]
            data["samples"] = [tuple(sample) for sample in data["samples"]]
            results.append(StreamMemory(**data))
        else:
            results.append(StreamMemory(stack, "error", outcome.describe()))
        on_progress(stack)
    return results


if __name__ == "__main__":
    worker_main(sys.argv[1:])
