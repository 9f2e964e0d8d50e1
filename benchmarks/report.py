"""The report: Markdown tables (printed and saved), a PNG chart, and the run as JSON.

Written to ``benchmarks/results/`` (or ``--output``): ``latest.md``, ``latest.png`` and
``latest.json`` (a pyperf suite plus our results, see :mod:`benchmarks.saved`); all three are
ignored by git. How to read the tables:

* **us/req** is the median time of one request over every value of every pyperf worker
  process, **IQR** the interquartile range of those values (``!`` marks one above 10 % of the
  median: a noisy row), **min** the fastest value (the least disturbed by other work).
* **added** is that median minus the baseline row's median: what the middleware costs on top
  of the bare app (or bare Flask / Django for their extensions). A floor row's added cost is
  its own time.
* **x bare** is the row's median over its baseline's: absolute times move with the machine,
  ratios much less.
* In *Ours vs peers*, **ours / peer** divides our added cost by the peer's for the same job:
  below 1 we are cheaper. A gap no larger than the rows' combined IQR is marked *within
  noise*.
* *Targets* are the ratios of issues 15 and 17 (:mod:`benchmarks.targets`); *Compared with the
  baseline* lists every ratio that got more than 10 % worse than in ``results/baseline.json``.
"""
from __future__ import annotations

import json
import math

from benchmarks.cases import SECTIONS, Case
from benchmarks.e2e import SERVERS, Run
from benchmarks.numbers import US, Numbers, RunResults
from benchmarks.targets import TARGETS

# -- Markdown ----------------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 3) -> str:
    """A number with ``digits`` significant digits (``-`` for none)."""
    if value is None or math.isnan(value):
        return "-"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:,.{decimals}f}"


def markdown(results: RunResults, baseline_section: str = "") -> str:
    """The whole report as Markdown; ``baseline_section`` comes from :mod:`benchmarks.saved`."""
    numbers = Numbers(results.cases, results.micro)
    parts = [_header(results), baseline_section, _targets(results), _goals(results, numbers),
             _micro_tables(results, numbers),
             _comparisons(numbers), _slower(numbers), _e2e_table(results.e2e),
             _memory_tables(results), _unavailable(results)]
    return "\n".join(part for part in parts if part)


def _header(results: RunResults) -> str:
    m = results.machine
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    timing = ", ".join(f"{k} {v:.0f} s" for k, v in results.seconds.items())
    quick = ("\n**Quick mode** (smoke check): in process, one short value per case; the "
             "numbers are not measurements.\n" if results.mode == "quick" else "")
    cpu = f"{m['cpu']}, {m['cpus']} CPUs; " if "cpu" in m else ""
    return (f"# Benchmark results ({results.mode})\n{quick}\n"
            f"- Date: {m['date']}; revision {m['revision']}; phases: {timing}\n"
            f"- Machine: {cpu}{m['platform']}; load average before "
            f"{m['load_before']}, after {m.get('load_after', '?')}\n"
            f"- Python: {m['python']}; wrk: {m['wrk']}\n"
            f"- Versions: {versions}\n"
            f"- Settings: {json.dumps(results.settings)}\n")


E2E_GOAL = 0.75  # our full stack's req/s over bare on gunicorn (issue 8)


def _targets(results: RunResults) -> str:
    """The ratios of issues 15 and 17, one line each."""
    lines = ["## Targets (issues 15 and 17)\n",
             "Ratios within this run; in process they divide added costs (us over the bare "
             "app), end to end requests/s.\n", "| measure | ratio | better |", "|---|---:|---|"]
    for target in TARGETS:
        better = "higher" if target.higher_is_better else "lower"
        lines.append(f"| {target.label} | {fmt(target.ratio(results))} | {better} |")
    return "\n".join(lines) + "\n"


def _goals(results: RunResults, numbers: Numbers) -> str:
    """One line per target of issue 8: the measure, and met or missed."""
    lines = ["## Goals (issue 8)\n", "| case | goal | measured |", "|---|---|---|"]
    for case in results.cases:
        if case.goal is None:
            continue
        added = numbers.added(case.id)
        if added is None:
            lines.append(f"| {case.label} | {case.goal.text} | not measured |")
            continue
        floor = numbers.added(case.floor) if case.floor else None
        lines.append(f"| {case.label} | {case.goal.text} | {_goal(case, added, floor)[1]} |")
    bare = {r.server: r.rps for r in results.e2e if r.app == "bare" and r.status == "ok"}
    for run in results.e2e:
        if run.app == "ours" and run.server == "gunicorn" and run.status == "ok" and \
                bare.get(run.server):
            ratio = run.rps / bare[run.server]
            met = "met" if ratio >= E2E_GOAL else "MISSED"
            lines.append(f"| full stack end to end, {SERVERS[run.server][0]} | "
                         f">= {E2E_GOAL}x bare req/s | {met} ({fmt(ratio)}x) |")
    return "\n".join(lines) + "\n"


def _micro_tables(results: RunResults, numbers: Numbers) -> str:
    lines = ["## Per request, in process (us)\n"]
    for section in SECTIONS:
        rows = [case for case in results.cases if case.section == section]
        if not rows:
            continue
        lines += [f"### {section}\n", "| case | us/req | IQR | min | added | x bare | kind |",
                  "|---|---:|---:|---:|---:|---:|---|"]
        for case in rows:
            lines.append(_micro_row(case, numbers))
        lines.append("")
    return "\n".join(lines)


def _micro_row(case: Case, numbers: Numbers) -> str:
    result = numbers.micro.get(case.id)
    if result is None or result.status != "ok":
        status = result.status if result else "not run"
        return f"| {case.label} | {status} | | | | | {case.kind} |"
    flag = " !" if result.unstable else ""
    return (f"| {case.label} | {fmt(numbers.median(case.id))} | "
            f"{fmt(numbers.iqr(case.id), 2)}{flag} | {fmt(min(result.values) * US)} | "
            f"{fmt(numbers.added(case.id))} | {fmt(numbers.ratio_to_baseline(case.id))} | "
            f"{case.kind} |")


def _comparisons(numbers: Numbers) -> str:
    lines = ["## Ours vs peers (us added per request)\n",
             "| job (ours) | ours | peer | peer's | ours / peer | floor | goal | result |",
             "|---|---:|---|---:|---:|---:|---|---|"]
    shown_goal: set[str] = set()
    for c in numbers.comparisons():
        floor = numbers.added(c.ours.floor) if c.ours.floor else None
        goal = result = ""
        if c.ours.goal and c.ours.id not in shown_goal:
            shown_goal.add(c.ours.id)
            goal, result = _goal(c.ours, c.ours_added, floor)
        verdict = c.verdict()
        lines.append(f"| {c.ours.label} | {fmt(c.ours_added)} | {c.peer.label} | "
                     f"{fmt(c.peer_added)} | {fmt(c.ratio)} ({verdict}) | {fmt(floor)} | "
                     f"{goal} | {result} |")
    return "\n".join(lines) + "\n"


def _goal(case: Case, added: float, floor: float | None) -> tuple[str, str]:
    assert case.goal is not None
    value = case.goal.value(added, floor)
    if value is None:
        return case.goal.text, "no floor"
    unit = "x" if case.goal.measure == "floor_ratio" else " us"
    met = "met" if value <= case.goal.limit else "MISSED"
    return case.goal.text, f"{met} ({fmt(value)}{unit})"


def _slower(numbers: Numbers) -> str:
    slower = [c for c in numbers.comparisons() if c.slower]
    if not slower:
        return "## Where we are slower than a peer\n\nNowhere in this run.\n"
    lines = ["## Where we are slower than a peer\n"]
    for c in slower:
        ratio = f"{fmt(c.ratio)}x" if c.ratio is not None else "peer adds ~0"
        lines.append(f"- {c.ours.label}: +{fmt(c.ours_added)} us vs {c.peer.label} "
                     f"+{fmt(c.peer_added)} us ({ratio}; {c.verdict()})")
    return "\n".join(lines) + "\n"


def _e2e_table(runs: list[Run]) -> str:
    if not runs:
        return ""
    bare = {run.server: run.rps for run in runs if run.app == "bare" and run.status == "ok"}
    lines = ["## End to end (127.0.0.1, wrk on the same machine)\n",
             "| server | app | req/s | x bare | p50 ms | p90 ms | p99 ms | non-2xx | encoding "
             "| load |", "|---|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for run in runs:
        server = SERVERS[run.server][0]
        if run.status != "ok":
            lines.append(f"| {server} | {run.app} | {run.status} | | | | | | | |")
            continue
        ratio = run.rps / bare[run.server] if bare.get(run.server) else None
        lat = run.latency_ms
        lines.append(f"| {server} | {run.app} | {fmt(run.rps, 4)} | {fmt(ratio)} | "
                     f"{fmt(lat.get('50'))} | {fmt(lat.get('90'))} | {fmt(lat.get('99'))} | "
                     f"{run.non_2xx} | {run.encoding or '-'} | {run.load} |")
    lines.append(f"\nGoal (issue 8): our full stack >= {E2E_GOAL}x bare req/s on gunicorn "
                 "(the peers' stack measured 0.34x when the goal was set).\n")
    return "\n".join(lines)


def _memory_tables(results: RunResults) -> str:
    if not results.memory and not results.streams:
        return ""
    labels = {case.id: case.label for case in results.cases}
    lines = ["## Memory\n", "Peak RSS of a fresh process that built and served only this "
             "case; *added* is what its requests raised the peak by.\n",
             "| case | peak RSS MB | added by requests KB | requests |", "|---|---:|---:|---:|"]
    for row in results.memory:
        if row.status != "ok":
            lines.append(f"| {labels.get(row.case, row.case)} | {row.status} | | |")
            continue
        lines.append(f"| {labels.get(row.case, row.case)} | {fmt(row.peak_mb)} | "
                     f"{fmt(row.added_kb)} | {row.requests} |")
    lines += ["", "Streamed response through the whole stack (RSS in MB):\n",
              "| stack | body MB | encoding | RSS before | peak | growth | verdict | seconds |",
              "|---|---:|---|---:|---:|---:|---|---:|"]
    for s in results.streams:
        if s.status != "ok":
            lines.append(f"| {s.stack} | {s.status}: {s.reason[:120]} | | | | | | |")
            continue
        verdict = "flat" if s.flat else "GROWS with the body"
        lines.append(f"| {s.stack} | {s.body_mb} | {s.encoding or '-'} | {fmt(s.rss_before)} "
                     f"| {fmt(s.peak)} | {fmt(s.growth_mb)} | {verdict} | {fmt(s.seconds)} |")
    return "\n".join(lines) + "\n"


def _unavailable(results: RunResults) -> str:
    rows = [r for r in results.micro.values() if r.status != "ok"]
    rows_e2e = [r for r in results.e2e if r.status != "ok"]
    if not rows and not rows_e2e:
        return ""
    lines = ["## Not available or failed\n"]
    lines += [f"- `{r.case}`: {r.status}: {r.reason[:300]}" for r in rows]
    lines += [f"- e2e {r.server}/{r.app}: {r.status}: {r.reason[:300]}" for r in rows_e2e]
    return "\n".join(lines) + "\n"
