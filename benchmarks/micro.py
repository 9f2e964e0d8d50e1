"""In-process micro-benchmarks on pyperf: the cost of one request through each case.

This module is a pyperf script. Run alone, it is pyperf's command line plus ``--case``::

    python -m benchmarks.micro --case gzip -o gzip.json      # pyperf's defaults (20 processes)
    python -m pyperf compare_to old.json gzip.json           # pyperf's own comparison

``python -m benchmarks`` (``make bench``) runs it with the settings of :data:`FULL` or
:data:`QUICK` and reads the JSON it writes. What pyperf does for each case: a calibration
worker process finds the loop count that makes one value last ``--min-time``; then
``--processes`` fresh worker processes (each its own hash seed and heap layout), one after
another, each discard ``--warmups`` values and keep ``--values``; the result is every value of
every process (the report uses the median).

What this module adds:

* **checked cases**: before anything is timed, the master builds every case once and checks
  it (status, decoded body, the header that proves the middleware did its job). A case whose
  code does not import is *not available*, one that fails its check an *error*; both are left
  out of the pyperf run and listed in the ``--status`` file, so neither stops the run. A worker
  that dies later (a case that breaks mid-run) is recorded the same way.
* **setup outside the timing**: a worker builds its one case on the first call of the timed
  function, before the clock starts; the collector runs before each value, then the case's
  long-lived objects are frozen (``gc.freeze``) so each collection scans only what requests
  allocated, and it stays enabled while timing, as in production.
* **one request** is the case's driver: copy a prebuilt environ, call the app, consume the
  body, ``close()`` it (see :mod:`benchmarks.cases.workload`).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyperf

from benchmarks import machine
from benchmarks.cases import Case, NotAvailable, all_cases, build_case, select
from benchmarks.cases.workload import OneRequest, silence_logging

ROOT = Path(__file__).resolve().parent.parent
UNSTABLE = 0.10  # interquartile range, relative to the median, above which a row is marked


@dataclass(frozen=True)
class Settings:
    """How hard to measure (pyperf's options of the same names).

    :param processes: worker processes per case, run one after another.
    :param values: timed values per process.
    :param warmups: values discarded first, per process.
    :param min_time: seconds one value must last (sets the loop count).
    :param in_process: run in the master process, no workers (the quick smoke check).
    :param timeout: seconds one worker may run before pyperf kills it.
    """

    processes: int
    values: int
    warmups: int
    min_time: float
    in_process: bool = False
    timeout: int = 300

    def pyperf_args(self) -> list[str]:
        args = ["--processes", str(self.processes), "--values", str(self.values),
                "--warmups", str(self.warmups), "--min-time", str(self.min_time),
                "--timeout", str(self.timeout)]
        return args + (["--in-process"] if self.in_process else [])


FULL = Settings(processes=3, values=5, warmups=1, min_time=0.03)
QUICK = Settings(processes=1, values=1, warmups=0, min_time=0.002, in_process=True)


@dataclass
class Result:
    """One case's outcome; ``values`` are seconds per request, every value of every process."""

    case: str
    status: str = "pending"  # "ok", "not available" or "error"
    reason: str = ""
    values: list[float] = field(default_factory=list)
    loops: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def iqr(self) -> float:
        """The interquartile range: the spread of the middle half of the values.

        Unlike the standard deviation it ignores the few values a burst of other work on the
        machine inflates, so it says how repeatable the case itself is.
        """
        if len(self.values) < 2:
            return 0.0
        low, _, high = statistics.quantiles(self.values, n=4)
        return high - low

    @property
    def unstable(self) -> bool:
        return self.median > 0 and self.iqr / self.median > UNSTABLE


def results_from(suite: pyperf.BenchmarkSuite | None, statuses: dict[str, dict[str, str]],
                 cases: list[Case]) -> dict[str, Result]:
    """The per-case results of a pyperf suite plus the cases it left out (``statuses``)."""
    benches = {bench.get_name(): bench for bench in suite} if suite is not None else {}
    results = {}
    for case in cases:
        result = Result(case.id)
        bench = benches.get(case.id)
        status = statuses.get(case.id)
        if status is not None:
            result.status, result.reason = status["status"], status["reason"]
        elif bench is None:
            result.status, result.reason = "error", "not measured"
        else:
            result.status = "ok"
            result.values = list(bench.get_values())
            result.loops = sorted({run.get_loops() for run in bench.get_runs()})
        results[case.id] = result
    return results


# -- the pyperf script (master and workers) ----------------------------------------------------

_built: dict[str, OneRequest] = {}


def request_timer(case: Case) -> Callable[[int], float]:
    """pyperf's time function for ``case``: seconds taken by ``loops`` requests in a row."""

    def time_requests(loops: int) -> float:
        one_request = _built.get(case.id)
        if one_request is None:
            one_request = _built[case.id] = build_case(case)
            gc.collect()
            gc.freeze()
        gc.collect()  # the previous value's garbage is not this one's cost
        iterations = range(loops)
        start = time.perf_counter()
        for _ in iterations:
            one_request()
        return time.perf_counter() - start

    return time_requests


def check(cases: list[Case]) -> tuple[list[Case], dict[str, dict[str, str]]]:
    """Build and check every case once; return the runnable ones and the others' statuses."""
    ready, statuses = [], {}
    for case in cases:
        try:
            _built[case.id] = build_case(case)
        except NotAvailable as exc:
            statuses[case.id] = {"status": "not available", "reason": str(exc)}
        except Exception as exc:  # noqa: BLE001 - a broken case is reported, never fatal
            statuses[case.id] = {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}
        else:
            ready.append(case)
        print(f"checked {case.id}", flush=True)
    gc.collect()
    gc.freeze()  # what the cases built lives on: keep it out of every later collection
    return ready, statuses


def main(argv: list[str] | None = None) -> None:
    """The pyperf script: ``python -m benchmarks.micro [pyperf options] [--case TEXT ...]``."""
    runner = pyperf.Runner(program_args=("-m", "benchmarks.micro"),
                           add_cmdline_args=_worker_args)
    parser = runner.argparser
    parser.add_argument("--case", action="append", default=[], metavar="TEXT",
                        help="only cases whose id contains TEXT, plus what they compare with")
    parser.add_argument("--case-id", action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--run-metadata", help=argparse.SUPPRESS)
    parser.add_argument("--status", metavar="FILE",
                        help="write the cases left out (not available, error) to FILE as JSON")
    args = runner.parse_args(argv)
    silence_logging()
    # Computed once by the master (it runs git), handed to the workers, which store it.
    args.run_metadata = args.run_metadata or json.dumps(machine.pyperf_metadata())
    runner.metadata.update(json.loads(args.run_metadata))
    if args.worker:
        # The master passes the exact list it registered: pyperf numbers tasks by call order.
        by_id = {case.id: case for case in all_cases()}
        for case_id in args.case_id:
            runner.bench_time_func(case_id, request_timer(by_id[case_id]),
                                   metadata={"description": by_id[case_id].label})
        return
    chosen = all_cases()
    if args.case_id:  # exact ids, as ``python -m benchmarks`` passes them
        chosen = [case for case in chosen if case.id in set(args.case_id)]
    cases, statuses = check(select(chosen, args.case))
    args.case_id = [case.id for case in cases]
    for case in cases:
        try:
            runner.bench_time_func(case.id, request_timer(case),
                                   metadata={"description": case.label})
        except (RuntimeError, SystemExit) as exc:
            # A worker died (RuntimeError) or overran --timeout (pyperf exits): record the
            # case as failed and go on; pyperf numbers the next task after this one.
            why = (f"a worker ran over {args.timeout} s" if isinstance(exc, SystemExit)
                   else f"a worker died: {exc}")
            statuses[case.id] = {"status": "error", "reason": why}
            runner._worker_task += 1
    if args.status:
        Path(args.status).write_text(json.dumps(statuses, indent=1))


def _worker_args(cmd: list[str], args: Any) -> None:
    cmd.extend(("--run-metadata", args.run_metadata))
    for case_id in args.case_id:
        cmd.extend(("--case-id", case_id))


# -- driven from ``python -m benchmarks`` ------------------------------------------------------


def run(cases: list[Case], settings: Settings, output: Path,
        on_progress: Callable[[str, int], None] = lambda case_id, steps: None
        ) -> tuple[pyperf.BenchmarkSuite | None, dict[str, Result]]:
    """Run the pyperf script on ``cases``; write its JSON to ``output``; return the results.

    ``on_progress(case_id, steps)`` is called once when a case is checked and once when it is
    measured (``2 * len(cases)`` steps).
    """
    ids = {case.id for case in cases}
    with tempfile.TemporaryDirectory(prefix="bench-micro-") as tmp:
        status_path = Path(tmp) / "status.json"
        command = [sys.executable, "-m", "benchmarks.micro", *settings.pyperf_args(),
                   "--quiet", "--status", str(status_path), "--output", str(output)]
        for case in cases:
            command += ["--case-id", case.id]
        output.unlink(missing_ok=True)  # pyperf refuses to overwrite
        log = []
        with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                log.append(line)
                word = line.split(":", 1)[0].removeprefix("checked ").strip()
                if word in ids:
                    on_progress(word, 1)
        if proc.returncode != 0:
            raise RuntimeError(f"the micro benchmarks failed (exit {proc.returncode}):\n"
                               + "".join(log[-40:]))
        statuses = json.loads(status_path.read_text()) if status_path.exists() else {}
    suite = pyperf.BenchmarkSuite.load(str(output)) if output.exists() else None
    return suite, results_from(suite, statuses, cases)


if __name__ == "__main__":
    main()
