"""The memory phase's worker processes: run ``python -m benchmarks.memory ...``, read its JSON
lines, bound its time (the timings run on pyperf's own workers, see :mod:`benchmarks.micro`).

Memory is measured in fresh processes (a clean heap, a new hash seed, no state left by an earlier
case), started one at a time so they never compete for the two cores. A worker writes one JSON
object per line on its stdout; :func:`worker_output` makes the worker's own stdout a copy of
stderr, so a case that prints cannot corrupt that stream. The worker's stderr goes to a
temporary log, kept for the error message when the worker dies. A worker still running after
its budget (or a few seconds after its last line) is killed: a run always ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
EXIT_GRACE = 15.0  # seconds a worker has to exit after its last line


@dataclass
class Outcome:
    """How a worker ended: its exit code (negative: killed) and the tail of its stderr."""

    returncode: int | None = None
    log_tail: str = ""
    timed_out: bool = False

    def describe(self) -> str:
        why = "timed out" if self.timed_out else f"exit {self.returncode}"
        return f"worker stopped ({why}): {self.log_tail[-600:].strip()}"


def run_worker(module: str, args: list[str], budget: float, outcome: Outcome,
               env: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """Yield the JSON events of ``python -m module *args``; fill ``outcome`` when it ends."""
    command = [sys.executable, "-m", module, *args]
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})},
                                stdout=subprocess.PIPE, stderr=log, text=True)
        started = time.monotonic()
        timer = threading.Timer(budget, proc.kill)
        timer.daemon = True
        timer.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.strip():
                    yield json.loads(line)
        finally:
            timer.cancel()
            # The worker closes its pipe before it exits: let it run its exit handlers (which
            # stop helper servers) before it is killed.
            try:
                outcome.returncode = proc.wait(EXIT_GRACE)
            except subprocess.TimeoutExpired:
                proc.kill()
                outcome.returncode = proc.wait()
            outcome.timed_out = time.monotonic() - started >= budget
            log.seek(0)
            outcome.log_tail = log.read()[-4000:]


def worker_output() -> TextIO:
    """In a worker: return the stream for JSON events, and send ``print`` output to stderr."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return out


def emit(out: TextIO, event: dict[str, Any]) -> None:
    """Write one event line and flush it, so the master sees progress at once."""
    out.write(json.dumps(event) + "\n")
    out.flush()
