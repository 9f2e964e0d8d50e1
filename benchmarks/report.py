"""The report: a Markdown table (printed and saved), a PNG chart, and the raw numbers as JSON.

Written to ``benchmarks/results/`` (or ``--output``): ``latest.md``, ``latest.png`` and
``latest.json``. How to read the tables:

* **us/req** is the median time of one request over every value of every process, **IQR** the
  interquartile range of those values (``!`` marks one above 10 % of the median: a noisy row),
  **min** the fastest value (the least disturbed by other work on the machine).
* **added** is that median minus the baseline row's median: what the middleware costs on top
  of the bare app (or bare Flask / Django for their extensions). A floor row's added cost is
  its own time.
* **x bare** is the row's median over its baseline's: absolute times move with the machine,
  ratios much less.
* In *Ours vs peers*, **ours / peer** divides our added cost by the peer's for the same job:
  below 1 we are cheaper. The verdict is also checked round by round: the i-th values of all
  cases were measured in the same round of the same process, so the report counts in how many
  rounds ours added more than the peer. Unless more than 80 % of the rounds agree, the row is
  marked *within noise* (when rounds cannot be paired, a gap below the combined IQR is).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.cases import SECTIONS, Case
from benchmarks.e2e import SERVERS, Run
from benchmarks.memory import CaseMemory, StreamMemory
from benchmarks.micro import Result

RESULTS_DIR = Path(__file__).resolve().parent / "results"
US = 1e6
SIGN_NOISE = 0.2  # within noise unless more than 80 % of the paired rounds agree


@dataclass
class RunResults:
    """Everything one ``python -m benchmarks`` run produced."""

    mode: str
    machine: dict[str, Any]
    settings: dict[str, Any]
    cases: list[Case]
    micro: dict[str, Result] = field(default_factory=dict)
    memory: list[CaseMemory] = field(default_factory=list)
    streams: list[StreamMemory] = field(default_factory=list)
    e2e: list[Run] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Comparison:
    """Our added cost against one peer's for the same job (us)."""

    ours: Case
    peer: Case
    ours_added: float
    peer_added: float
    noise: float
    agreement: float | None = None

    @property
    def ratio(self) -> float | None:
        """Ours over the peer's; None when the peer adds nothing measurable."""
        return self.ours_added / self.peer_added if self.peer_added > 0 else None

    @property
    def slower(self) -> bool:
        return self.ours_added > self.peer_added

    @property
    def within_noise(self) -> bool:
        """Whether the rounds disagree on which is cheaper (or, unpaired, the gap is small)."""
        if self.agreement is not None:
            return min(self.agreement, 1 - self.agreement) > SIGN_NOISE
        return abs(self.ours_added - self.peer_added) <= self.noise

    def verdict(self) -> str:
        """E.g. "slower in 96% of rounds" or "faster, within noise"."""
        word = "slower" if self.slower else "faster"
        if self.agreement is not None:
            share = self.agreement if self.slower else 1 - self.agreement
            word += f" in {share:.0%} of rounds"
        return word + (", within noise" if self.within_noise else "")


class Numbers:
    """Lookups over the micro results: medians, added costs, spreads (all in us)."""

    def __init__(self, cases: list[Case], micro: dict[str, Result]) -> None:
        self.cases = {case.id: case for case in cases}
        self.micro = micro

    def ok(self, case_id: str | None) -> bool:
        result = self.micro.get(case_id or "")
        return result is not None and result.status == "ok"

    def median(self, case_id: str) -> float:
        return self.micro[case_id].median * US

    def iqr(self, case_id: str) -> float:
        return self.micro[case_id].iqr * US

    def added(self, case_id: str) -> float | None:
        """Median minus the baseline's; a floor's own time; None if a row is missing."""
        case = self.cases[case_id]
        if not self.ok(case_id):
            return None
        if case.baseline is None:
            return self.median(case_id) if case.kind == "floor" else None
        if not self.ok(case.baseline):
            return None
        return self.median(case_id) - self.median(case.baseline)

    def ratio_to_baseline(self, case_id: str) -> float | None:
        baseline = self.cases[case_id].baseline
        if not (self.ok(case_id) and self.ok(baseline)):
            return None
        return self.median(case_id) / self.median(baseline)

    def spread_of_added(self, case_id: str) -> float:
        baseline = self.cases[case_id].baseline
        parts = [self.iqr(case_id)] + ([self.iqr(baseline)] if self.ok(baseline) else [])
        return math.sqrt(sum(p * p for p in parts))

    def comparisons(self) -> list[Comparison]:
        found = []
        for case in self.cases.values():
            if case.kind != "ours":
                continue
            for peer_id in case.peers:
                ours_added, peer_added = self.added(case.id), self.added(peer_id)
                if ours_added is None or peer_added is None:
                    continue
                noise = math.hypot(self.spread_of_added(case.id), self.spread_of_added(peer_id))
                found.append(Comparison(case, self.cases[peer_id], ours_added, peer_added,
                                        noise, self.agreement(case.id, peer_id)))
        return found

    def agreement(self, ours_id: str, peer_id: str) -> float | None:
        """The share of rounds in which ours added more than the peer, paired round by round.

        The i-th value of every case comes from the same process and round (minutes apart at
        most, under the same load), so comparing ``ours_i - bare_i`` with ``peer_i - base_i``
        cancels the load both saw. None when the rows are not aligned (a case failed midway).
        """
        ids = [ours_id, self.cases[ours_id].baseline, peer_id, self.cases[peer_id].baseline]
        if not all(self.ok(i) for i in ids):
            return None
        series = [self.micro[i].values for i in ids if i is not None]
        if len(series) != 4 or len({len(values) for values in series}) != 1:
            return None
        ours, ours_base, peer, peer_base = series
        wins = [o - ob > p - pb for o, ob, p, pb in zip(ours, ours_base, peer, peer_base,
                                                        strict=True)]
        return sum(wins) / len(wins) if wins else None


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


def markdown(results: RunResults) -> str:
    """The whole report as Markdown."""
    numbers = Numbers(results.cases, results.micro)
    parts = [_header(results), _goals(results, numbers), _micro_tables(results, numbers),
             _comparisons(numbers), _slower(numbers), _e2e_table(results.e2e),
             _memory_tables(results), _unavailable(results)]
    return "\n".join(part for part in parts if part)


def _header(results: RunResults) -> str:
    m = results.machine
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    timing = ", ".join(f"{k} {v:.0f} s" for k, v in results.seconds.items())
    quick = ("\n**Quick mode** (smoke check): one process, one short value per case; the "
             "numbers are not measurements.\n" if results.mode == "quick" else "")
    return (f"# Benchmark results ({results.mode})\n{quick}\n"
            f"- Date: {m['date']}; revision {m['revision']}; phases: {timing}\n"
            f"- Machine: {m['cpu']}, {m['cpus']} CPUs; {m['platform']}; load average before "
            f"{m['load_before']}, after {m.get('load_after', '?')}\n"
            f"- Python: {m['python']}; wrk: {m['wrk']}\n"
            f"- Versions: {versions}\n"
            f"- Settings: {json.dumps(results.settings)}\n")


E2E_GOAL = 0.75  # our full stack's req/s over bare on gunicorn (issue 8)


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


# -- files -------------------------------------------------------------------------------------


def save(results: RunResults, directory: Path = RESULTS_DIR) -> dict[str, Path]:
    """Write ``latest.md``, ``latest.json`` and (with matplotlib) ``latest.png``."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"md": directory / "latest.md", "json": directory / "latest.json"}
    paths["md"].write_text(markdown(results))
    paths["json"].write_text(json.dumps(to_json(results), indent=1))
    try:
        from benchmarks.chart import draw

        draw(results, Numbers(results.cases, results.micro), directory / "latest.png")
        paths["png"] = directory / "latest.png"
    except ImportError:  # matplotlib comes with the bench extra only
        pass
    return paths


def to_json(results: RunResults) -> dict[str, Any]:
    numbers = Numbers(results.cases, results.micro)
    micro = {}
    for case in results.cases:
        result = results.micro.get(case.id)
        entry: dict[str, Any] = {"label": case.label, "section": case.section,
                                 "kind": case.kind, "baseline": case.baseline,
                                 "peers": list(case.peers), "floor": case.floor}
        if result is not None:
            entry.update(asdict(result))
            if result.status == "ok":
                entry.update(median_us=numbers.median(case.id), iqr_us=numbers.iqr(case.id),
                             stdev_us=result.stdev * US, added_us=numbers.added(case.id))
        micro[case.id] = entry
    return {"mode": results.mode, "machine": results.machine, "settings": results.settings,
            "seconds": results.seconds, "micro": micro,
            "memory": [asdict(m) for m in results.memory],
            "streams": [asdict(s) for s in results.streams],
            "e2e": [asdict(r) for r in results.e2e]}
