"""``python -m benchmarks [--quick]``: run the phases, print the table, save the files.

Phases, in order (``--only`` picks some): ``micro`` (in-process timings), ``memory`` (peak RSS
per case and the streaming proof), ``e2e`` (gunicorn and waitress under wrk). A progress bar
per phase runs on stderr; the Markdown report goes to stdout and, with the chart and the raw
JSON, to ``benchmarks/results/`` (or ``--output``).

``--quick`` is the CI smoke check: every case is built, checked and run once or a few times,
the memory phase covers the bare app and both full stacks with a small stream, the e2e phase
serves the bare app and our stack for one second per server. It takes well under a minute
and its numbers are not measurements.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks import e2e, machine, memory, micro, report
from benchmarks.cases import Case, all_cases, select

PHASES = ("micro", "memory", "e2e")
QUICK_MEMORY_CASES = ("bare.list", "stack.ours", "stack.peers")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smoke check: run everything once, fast (for CI)")
    parser.add_argument("--only", action="append", choices=PHASES,
                        help="run only this phase (repeatable)")
    parser.add_argument("--case", action="append", default=[], metavar="TEXT",
                        help="only cases whose id contains TEXT, plus what they compare with")
    parser.add_argument("--processes", type=int, help="micro worker processes (default 3)")
    parser.add_argument("--output", type=Path, default=report.RESULTS_DIR,
                        help="directory for latest.md / .png / .json")
    return parser.parse_args(argv)


@contextmanager
def progress(description: str, total: int) -> Iterator[Callable[..., None]]:
    """A tqdm bar on stderr; yields the callback the phases call once per finished item.

    Without tqdm (the ``test`` extra only), one line per item instead.
    """
    try:
        from tqdm import tqdm
    except ImportError:
        done = 0

        def count(item: str, steps: int = 1) -> None:
            nonlocal done
            done += steps
            print(f"{description}: {done}/{total} {item}", file=sys.stderr)

        yield count
        return
    with tqdm(total=total, desc=description, unit="step", file=sys.stderr,
              dynamic_ncols=True, leave=True) as bar:

        def advance(item: str, steps: int = 1) -> None:
            bar.set_postfix_str(item[:40], refresh=False)
            bar.update(steps)

        yield advance


def timed(results: report.RunResults, phase: str, run: Callable[[], Any]) -> Any:
    started = time.monotonic()
    value = run()
    results.seconds[phase] = time.monotonic() - started
    return value


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    phases = args.only or list(PHASES)
    micro_settings = micro.QUICK if args.quick else micro.FULL
    if args.processes:
        micro_settings = micro.Settings(**{**asdict(micro_settings),
                                           "processes": args.processes})
    memory_settings = memory.QUICK if args.quick else memory.FULL
    e2e_settings = e2e.QUICK if args.quick else e2e.FULL
    cases = select(all_cases(), args.case)
    if not cases:
        print(f"python -m benchmarks: no case id contains {' or '.join(map(repr, args.case))} "
              "(ids look like 'gzip.ours.pass'; see benchmarks/README.md)", file=sys.stderr)
        return 2
    results = report.RunResults(
        mode="quick" if args.quick else "full", machine=machine.describe(),
        settings={"micro": asdict(micro_settings), "memory": asdict(memory_settings),
                  "e2e": asdict(e2e_settings)},
        cases=cases)

    if "micro" in phases:
        total = len(cases) * micro_settings.processes * micro_settings.steps_per_case
        with progress("micro", total) as advance:
            results.micro = timed(results, "micro",
                                  lambda: micro.run(cases, micro_settings, advance))
    if "memory" in phases:
        memory_cases = _memory_cases(cases, args.quick)
        with progress("memory", len(memory_cases) + len(memory.STREAMS)) as advance:
            results.memory, results.streams = timed(results, "memory", lambda: (
                memory.run_cases(memory_cases, memory_settings, advance),
                memory.run_streams(memory_settings, advance)))
    if "e2e" in phases:
        total = len(e2e_settings.servers) * len(e2e_settings.apps) * e2e_settings.rounds
        with progress("e2e", total) as advance:
            results.e2e = timed(results, "e2e", lambda: e2e.run(e2e_settings, advance))

    results.machine["load_after"] = machine.load_average()
    paths = report.save(results, args.output)
    print(report.markdown(results))
    print("saved: " + ", ".join(str(path) for path in paths.values()), file=sys.stderr)
    return 0


def _memory_cases(cases: list[Case], quick: bool) -> list[Case]:
    if not quick:
        return cases
    return [case for case in cases if case.id in QUICK_MEMORY_CASES]


if __name__ == "__main__":
    sys.exit(main())
