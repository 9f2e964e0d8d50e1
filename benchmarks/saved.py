"""A run on disk, and the comparison of a run with the committed baseline.

A run is saved as one JSON file that **is a pyperf suite** (the micro benchmarks, one pyperf
benchmark per case, so ``python -m pyperf compare_to old.json new.json`` and ``pyperf stats``
read it) with one more top-level key, ``wsgi_middleware_suite``, that pyperf ignores: the mode,
the machine, each case's status and comparison rows, the memory and end-to-end results.

Two such files exist: ``results/latest.json``, rewritten by every run and ignored by git, and
``results/baseline.json``, committed, rewritten only by ``--save``. Every run is compared with
the baseline row by row, **as ratios** (absolute times move with the machine, ratios much
less): each in-process case over its baseline row (x bare), each target of
:mod:`benchmarks.targets`, each end-to-end app over bare. A row whose ratio got more than
:data:`THRESHOLD` worse is printed.

Usage::

    write(results, path)                       # latest.json, or the baseline with --save
    old = load(path)                           # a RunResults again (cases from the code)
    for change in regressions(old, results):   # rows > 10 % worse
        print(change.line())
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyperf

from benchmarks.cases import Case, all_cases
from benchmarks.e2e import Run
from benchmarks.memory import CaseMemory, StreamMemory
from benchmarks.micro import results_from
from benchmarks.numbers import Numbers, RunResults
from benchmarks.report import fmt
from benchmarks.targets import TARGETS

KEY = "wsgi_middleware_suite"
THRESHOLD = 0.10  # a ratio more than 10 % worse than the baseline's is reported


def to_json(results: RunResults) -> dict[str, Any]:
    """The run as a pyperf suite's JSON plus our key."""
    data: dict[str, Any] = {"version": "1.0", "benchmarks": []}
    if results.suite is not None:
        buffer = io.StringIO()
        results.suite.dump(buffer, compact=True)
        data = json.loads(buffer.getvalue())
    numbers = Numbers(results.cases, results.micro)
    cases = {}
    for case in results.cases:
        result = results.micro.get(case.id)
        entry: dict[str, Any] = {"label": case.label, "section": case.section,
                                 "kind": case.kind, "baseline": case.baseline,
                                 "peers": list(case.peers), "floor": case.floor}
        if result is not None:
            entry.update(status=result.status, reason=result.reason)
            if result.status == "ok":
                entry.update(median_us=numbers.median(case.id), iqr_us=numbers.iqr(case.id),
                             added_us=numbers.added(case.id), loops=result.loops)
        cases[case.id] = entry
    data[KEY] = {"mode": results.mode, "machine": results.machine,
                 "settings": results.settings, "seconds": results.seconds, "cases": cases,
                 "targets": {t.key: t.ratio(results) for t in TARGETS},
                 "memory": [asdict(m) for m in results.memory],
                 "streams": [asdict(s) for s in results.streams],
                 "e2e": [asdict(r) for r in results.e2e]}
    return data


def write(results: RunResults, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(results), indent=None, separators=(",", ":"),
                               sort_keys=True) + "\n")
    return path


def load(path: Path, cases: list[Case] | None = None) -> RunResults:
    """A saved run, with the case definitions of the current code (renamed cases drop out)."""
    data = json.loads(path.read_text())
    ours = data.get(KEY, {})
    known = ours.get("cases", {})
    cases = [case for case in (cases or all_cases()) if case.id in known]
    suite = pyperf.BenchmarkSuite.load(str(path)) if data.get("benchmarks") else None
    statuses = {case_id: {"status": entry["status"], "reason": entry.get("reason", "")}
                for case_id, entry in known.items()
                if entry.get("status") not in (None, "ok")}
    return RunResults(
        mode=ours.get("mode", "?"), machine=ours.get("machine", {}),
        settings=ours.get("settings", {}), cases=cases,
        micro=results_from(suite, statuses, cases) if suite is not None else {},
        memory=[CaseMemory(**m) for m in ours.get("memory", [])],
        streams=[StreamMemory(**s) for s in ours.get("streams", [])],
        e2e=[Run(**r) for r in ours.get("e2e", [])],
        seconds=ours.get("seconds", {}), suite=suite)


@dataclass(frozen=True)
class Row:
    """One ratio of a run that the baseline comparison follows."""

    key: str
    label: str
    value: float
    higher_is_better: bool = False


def rows(results: RunResults) -> dict[str, Row]:
    """Every ratio of the run: cases over their baseline row, targets, end to end over bare."""
    numbers = Numbers(results.cases, results.micro)
    found = {}
    for case in results.cases:
        ratio = numbers.ratio_to_baseline(case.id)
        if ratio is not None:
            found[case.id] = Row(case.id, f"{case.label} (x {case.baseline})", ratio)
    for target in TARGETS:
        ratio = target.ratio(results)
        if ratio is not None:
            found["target:" + target.key] = Row("target:" + target.key, target.label, ratio,
                                                target.higher_is_better)
    for run in results.e2e:
        ratio = results.e2e_ratio(run.server, run.app)
        if run.app != "bare" and ratio is not None:
            key = f"e2e:{run.server}/{run.app}"
            found[key] = Row(key, f"end to end, {run.server}, {run.app} (x bare req/s)", ratio,
                             higher_is_better=True)
    return found


@dataclass(frozen=True)
class Change:
    """A row's ratio in the baseline and now; ``worse`` > 1 means it got worse."""

    row: Row
    before: float

    @property
    def worse(self) -> float:
        now, before = self.row.value, self.before
        if self.row.higher_is_better:
            return before / now if now > 0 else float("inf")
        return now / before if before > 0 else float("inf")

    def line(self) -> str:
        return (f"| {self.row.label} | {fmt(self.before)} | {fmt(self.row.value)} | "
                f"{(self.worse - 1) * 100:+.0f} % |")


def regressions(baseline: RunResults, current: RunResults,
                threshold: float = THRESHOLD) -> list[Change]:
    """The rows of ``current`` whose ratio is more than ``threshold`` worse than the baseline's."""
    before = rows(baseline)
    changes = [Change(row, before[key].value) for key, row in rows(current).items()
               if key in before]
    return [change for change in changes if change.worse > 1 + threshold]


def markdown(baseline: RunResults | None, current: RunResults, path: Path) -> str:
    """The report's section on the baseline: what got worse, or why nothing was compared."""
    title = "## Compared with the baseline\n\n"
    if baseline is None:
        return title + f"No baseline at `{path}` (save one with `--save`).\n"
    if baseline.mode != current.mode:
        return (title + f"Not compared: the baseline is a {baseline.mode} run, this one is "
                f"{current.mode} (its numbers are not measurements).\n")
    m = baseline.machine
    intro = (f"Baseline: `{path.name}`, run of {m.get('date', '?')} at revision "
             f"{m.get('revision', '?')} (load average {m.get('load_before', '?')} before, "
             f"{m.get('load_after', '?')} after). Every ratio compared with its value there; "
             f"rows more than {THRESHOLD:.0%} worse:\n\n")
    changes = sorted(regressions(baseline, current), key=lambda c: -c.worse)
    if not changes:
        return title + intro + "None.\n"
    lines = ["| row | baseline | now | worse by |", "|---|---:|---:|---:|"]
    return title + intro + "\n".join(lines + [change.line() for change in changes]) + "\n"

