"""``python -m benchmarks [--quick] [--save]``: run the phases, compare, print, save.

Phases, in order (``--only`` picks some): ``micro`` (in-process timings on pyperf), ``memory``
(peak RSS per case and the streaming proof), ``e2e`` (gunicorn and waitress under wrk). A
progress bar per phase runs on stderr; the Markdown report goes to stdout and, with the chart
and the run's JSON (a pyperf suite), to ``benchmarks/results/latest.*`` (or ``--output``),
which git ignores.

Every run is compared with the committed baseline, ``benchmarks/results/baseline.json`` (or
``--baseline``): the report lists each ratio that got more than 10 % worse. Only ``--save``
rewrites the baseline, so a plain run leaves the working tree clean.

``--quick`` is the CI smoke check: every case is built, checked and timed once in process, the
memory phase covers the bare app and both full stacks with a small stream, the e2e phase
serves the bare app and our stack for one second per server. It takes well under a minute,
its numbers are not measurements, and it is not compared with a full baseline.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from benchmarks import e2e, machine, memory, micro, report, saved
from benchmarks.cases import Case, all_cases, select
from benchmarks.chart import draw
from benchmarks.numbers import Numbers, RunResults

RESULTS_DIR = Path(__file__).resolve().parent / "results"
BASELINE = RESULTS_DIR / "baseline.json"

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
    parser.add_argument("--processes", type=int,
                        help=f"pyperf worker processes per case (default {micro.FULL.processes})")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR,
                        help="directory for latest.md / .png / .json")
    parser.add_argument("--baseline", type=Path, default=BASELINE,
                        help="the saved run to compare with (default: results/baseline.json)")
    parser.add_argument("--save", action="store_true",
                        help="also write this run to the baseline file")
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


def timed(results: RunResults, phase: str, run: Callable[[], Any]) -> Any:
    started = time.monotonic()
    value = run()
    results.seconds[phase] = time.monotonic() - started
    return value


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    phases = args.only or list(PHASES)
    micro_settings = micro.QUICK if args.quick else micro.FULL
    if args.processes:
        micro_settings = replace(micro_settings, processes=args.processes)
    memory_settings = memory.QUICK if args.quick else memory.FULL
    e2e_settings = e2e.QUICK if args.quick else e2e.FULL
    cases = select(all_cases(), args.case)
    if not cases:
        print(f"python -m benchmarks: no case id contains {' or '.join(map(repr, args.case))} "
              "(ids look like 'gzip.ours.pass'; see benchmarks/README.md)", file=sys.stderr)
        return 2
    results = RunResults(
        mode="quick" if args.quick else "full", machine=machine.describe(),
        settings={"micro": asdict(micro_settings), "memory": asdict(memory_settings),
                  "e2e": asdict(e2e_settings)},
        cases=cases)

    args.output.mkdir(parents=True, exist_ok=True)
    if "micro" in phases:
        pyperf_file = args.output / "latest-micro.tmp"
        with progress("micro", 2 * len(cases)) as advance:
            results.suite, results.micro = timed(results, "micro", lambda: micro.run(
                cases, micro_settings, pyperf_file, advance))
        pyperf_file.unlink(missing_ok=True)
        if results.suite is not None:
            results.machine.update(machine.from_pyperf(results.suite.get_metadata()))
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
    baseline = saved.load(args.baseline) if args.baseline.exists() else None
    table = report.markdown(results, saved.markdown(baseline, results, args.baseline))
    paths = save(results, table, args.output)
    if args.save:
        paths.append(saved.write(results, args.baseline))
    print(table)
    print("saved: " + ", ".join(str(path) for path in paths), file=sys.stderr)
    return 0


def save(results: RunResults, table: str, directory: Path) -> list[Path]:
    """Write ``latest.md``, ``latest.json`` and (with matplotlib) ``latest.png``."""
    paths = [directory / "latest.md"]
    paths[0].write_text(table)
    paths.append(saved.write(results, directory / "latest.json"))
    try:
        draw(results, Numbers(results.cases, results.micro), directory / "latest.png")
    except ImportError:  # matplotlib comes with the bench extra only
        return paths
    return [*paths, directory / "latest.png"]


def _memory_cases(cases: list[Case], quick: bool) -> list[Case]:
    if not quick:
        return cases
    return [case for case in cases if case.id in QUICK_MEMORY_CASES]


if __name__ == "__main__":
    sys.exit(main())
