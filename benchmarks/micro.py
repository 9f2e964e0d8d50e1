"""In-process micro-benchmarks: the cost of one request through each case.

The harness follows pyperf's method, run in one pass over all cases so ``make bench`` stays
within minutes on two cores:

* **several processes**: the master runs ``--processes`` fresh worker processes one after
  another (never in parallel: they would steal each other's core). Each has its own hash seed,
  address layout and allocator state, so one lucky or unlucky process cannot decide a result.
* **setup outside the timing**: a worker first builds and checks every case (imports, files, a
  primed session cookie), so nothing of that is timed.
* **calibrated loops**: the loop count is raised until one value (one timed loop) lasts at least
  ``min_time`` (50 ms in the full run), so the timer's resolution and the loop's own cost are
  negligible; the per-request time is the loop time divided by the count.
* **interleaved rounds**: each round times one value of every case, in a fresh shuffled order.
  On a shared two-core machine a burst of someone else's work then hits one round of every
  case alike, instead of every value of the unlucky case that was running; ours, the peer and
  the bare app are measured minutes apart in no case. The collector runs before each value (so
  a case does not pay for another's garbage) and stays enabled while timing, as in production.
* **warm-up**: the first ``warmups`` rounds are discarded (caches, lazily built state).
* **median and spread**: every value of every process goes into the result; the report shows
  the median, the interquartile range (robust to the few values a burst of load inflates; the
  standard deviation is kept in the JSON) and the minimum, and marks a spread above 10 %.

Workers are started through :mod:`benchmarks.workers`: JSON lines on a dedicated pipe, a log
shown only if the worker fails, and a time budget after which the worker is killed and its
remaining cases are reported as errors, so the run always ends.

Usage from code: ``run(cases, QUICK or FULL, on_progress)``; the worker side is
``python -m benchmarks.micro --worker``.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

from benchmarks.cases import Case, NotAvailable, all_cases, build_case
from benchmarks.cases.workload import OneRequest, silence_logging
from benchmarks.workers import Outcome, emit, run_worker, worker_output

UNSTABLE = 0.10  # interquartile range, relative to the median, above which a row is marked


@dataclass(frozen=True)
class Settings:
    """How hard to measure.

    :param processes: worker processes, run one after another.
    :param values: timed values per case per process.
    :param warmups: values discarded first, per case per process.
    :param min_time: seconds one value must last (sets the loop count).
    :param budget: seconds a worker may run before it is killed.
    """

    processes: int
    values: int
    warmups: int
    min_time: float
    budget: float

    @property
    def steps_per_case(self) -> int:
        """Progress steps per case per process: calibration, then each warm-up and value."""
        return 1 + self.warmups + self.values


FULL = Settings(processes=3, values=8, warmups=1, min_time=0.05, budget=900.0)
QUICK = Settings(processes=1, values=1, warmups=0, min_time=0.002, budget=120.0)


@dataclass
class Result:
    """What the processes measured for one case; times are seconds per request."""

    case: str
    status: str = "pending"  # "ok", "not available" or "error"
    reason: str = ""
    values: list[float] = field(default_factory=list)
    loops: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def stdev(self) -> float:
        return statistics.stdev(self.values) if len(self.values) > 1 else 0.0

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


# -- worker side -------------------------------------------------------------------------------


def time_loops(one_request: OneRequest, loops: int) -> float:
    """Seconds taken by ``loops`` requests in a row."""
    iterations = range(loops)
    start = time.perf_counter()
    for _ in iterations:
        one_request()
    return time.perf_counter() - start


def calibrate(one_request: OneRequest, min_time: float) -> int:
    """The smallest loop count (roughly) whose run lasts ``min_time``: grow, re-measure."""
    loops = 1
    while True:
        elapsed = time_loops(one_request, loops)
        if elapsed >= min_time:
            return loops
        estimate = math.ceil(loops * min_time / max(elapsed, 1e-9) * 1.1)
        loops = max(loops * 2, min(estimate, loops * 100))


def prepare(cases: list[Case], settings: Settings, out: TextIO
            ) -> dict[str, tuple[OneRequest, int]]:
    """Build, check and calibrate every case; return the runnable ones with their loop count."""
    ready = {}
    for case in cases:
        try:
            one_request = build_case(case)
            gc.collect()
            loops = calibrate(one_request, settings.min_time)
        except NotAvailable as exc:
            _skip(out, case.id, "not available", str(exc), settings.steps_per_case)
            continue
        except Exception as exc:  # noqa: BLE001 - a broken case is reported, never fatal
            _skip(out, case.id, "error", f"{type(exc).__name__}: {exc}", settings.steps_per_case)
            continue
        ready[case.id] = (one_request, loops)
        emit(out, {"event": "ready", "case": case.id, "loops": loops})
    return ready


def work(cases: list[Case], settings: Settings, seed: int, out: TextIO) -> None:
    """Measure ``cases`` in interleaved rounds, one JSON event per value to ``out``.

    Each round times one value of every case, in a fresh seeded order: a burst of load from
    elsewhere hits the cases of that round alike instead of all the values of one case.
    """
    rng = random.Random(seed)
    order = list(cases)
    rng.shuffle(order)
    ready = prepare(order, settings, out)
    # Everything built so far lives for the whole run: freezing it keeps each collection
    # below cheap (it scans only what the requests allocated).
    gc.collect()
    gc.freeze()
    rounds = settings.warmups + settings.values
    for round_number in range(rounds):
        ids = list(ready)
        rng.shuffle(ids)
        for case_id in ids:
            one_request, loops = ready[case_id]
            gc.collect()  # the previous case's garbage is not this one's cost
            try:
                value = time_loops(one_request, loops) / loops
            except Exception as exc:  # noqa: BLE001 - a case that breaks mid-run is reported
                del ready[case_id]
                _skip(out, case_id, "error", f"{type(exc).__name__}: {exc}", rounds - round_number)
                continue
            warmup = round_number < settings.warmups
            emit(out, {"event": "warmup" if warmup else "value", "case": case_id,
                       "value": value})


def _skip(out: TextIO, case_id: str, event: str, reason: str, steps: int) -> None:
    emit(out, {"event": event, "case": case_id, "reason": reason, "steps": steps})


def worker_main(argv: list[str]) -> None:
    """``python -m benchmarks.micro --worker --seed N --settings JSON [--case ID ...]``."""
    parser = argparse.ArgumentParser(prog="benchmarks.micro")
    parser.add_argument("--worker", action="store_true", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--settings", required=True)
    parser.add_argument("--case", action="append", default=[])
    args = parser.parse_args(argv)
    out = worker_output()
    silence_logging()
    wanted = set(args.case)
    cases = [case for case in all_cases() if not wanted or case.id in wanted]
    work(cases, Settings(**json.loads(args.settings)), args.seed, out)


# -- master side -------------------------------------------------------------------------------


def run(cases: list[Case], settings: Settings,
        on_progress: Callable[[str, int], None] = lambda case_id, steps: None
        ) -> dict[str, Result]:
    """Measure ``cases`` in ``settings.processes`` workers, one after another.

    ``on_progress(case_id, steps)`` is called as the work advances; a run has
    ``len(cases) * settings.processes * settings.steps_per_case`` steps.
    """
    results = {case.id: Result(case.id) for case in cases}
    for process in range(settings.processes):
        _run_worker(cases, settings, process, results, on_progress)
    for result in results.values():
        if result.status == "pending" and result.values:
            result.status = "ok"
    return results


def _run_worker(cases: list[Case], settings: Settings, seed: int, results: dict[str, Result],
                on_progress: Callable[[str, int], None]) -> None:
    args = ["--worker", "--seed", str(seed), "--settings", json.dumps(asdict(settings))]
    for case in cases:
        args += ["--case", case.id]
    remaining = {case.id: settings.steps_per_case for case in cases}
    outcome = Outcome()
    events = run_worker("benchmarks.micro", args, settings.budget, outcome,
                        env={"PYTHONHASHSEED": str(seed + 1)})
    for event in events:
        case_id = event["case"]
        _record(results[case_id], event)
        steps = event.get("steps", 1)
        remaining[case_id] -= steps
        on_progress(case_id, steps)
    for case_id, steps in remaining.items():
        if steps > 0:
            _record(results[case_id], {"event": "error", "reason": outcome.describe()})
            on_progress(case_id, steps)


def _record(result: Result, event: dict[str, Any]) -> None:
    kind = event["event"]
    if kind == "value":
        result.values.append(event["value"])
    elif kind == "ready":
        result.loops.append(event["loops"])
    elif kind in ("not available", "error") and result.status != "error":
        # A case that failed anywhere is reported as failed, not averaged over what ran.
        result.status, result.reason = kind, event["reason"]


if __name__ == "__main__":
    worker_main(sys.argv[1:])
