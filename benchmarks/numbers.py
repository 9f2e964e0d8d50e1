"""The numbers of one run, shared by the report, the chart and the baseline comparison.

:class:`RunResults` is everything one ``python -m benchmarks`` run produced (or a saved run
loaded back); :class:`Numbers` looks the micro results up (medians, added costs, spreads, in
us); :class:`Comparison` is our added cost against a peer's for the same job.

A comparison is *within noise* when the gap between the two added costs is no larger than
their combined interquartile ranges: each case runs in its own pyperf worker processes, so the
values of two cases are not paired and only their spreads say how far apart they may drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from benchmarks.cases import Case
from benchmarks.e2e import Run
from benchmarks.memory import CaseMemory, StreamMemory
from benchmarks.micro import Result

if TYPE_CHECKING:
    import pyperf

US = 1e6


@dataclass
class RunResults:
    """Everything one ``python -m benchmarks`` run produced.

    ``suite`` is the pyperf suite of the micro phase (None when it did not run).
    """

    mode: str
    machine: dict[str, Any]
    settings: dict[str, Any]
    cases: list[Case]
    micro: dict[str, Result] = field(default_factory=dict)
    memory: list[CaseMemory] = field(default_factory=list)
    streams: list[StreamMemory] = field(default_factory=list)
    e2e: list[Run] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    suite: pyperf.BenchmarkSuite | None = None

    def e2e_ratio(self, server: str, app: str) -> float | None:
        """``app``'s requests/s over the bare app's on ``server``; None if either is missing."""
        rates = {run.app: run.rps for run in self.e2e
                 if run.server == server and run.status == "ok"}
        if not rates.get("bare") or app not in rates:
            return None
        return rates[app] / rates["bare"]


@dataclass(frozen=True)
class Comparison:
    """Our added cost against one peer's for the same job (us)."""

    ours: Case
    peer: Case
    ours_added: float
    peer_added: float
    noise: float

    @property
    def ratio(self) -> float | None:
        """Ours over the peer's; None when the peer adds nothing measurable."""
        return self.ours_added / self.peer_added if self.peer_added > 0 else None

    @property
    def slower(self) -> bool:
        return self.ours_added > self.peer_added

    @property
    def within_noise(self) -> bool:
        """Whether the gap is no larger than the two rows' combined spread."""
        return abs(self.ours_added - self.peer_added) <= self.noise

    def verdict(self) -> str:
        """E.g. "slower" or "faster, within noise"."""
        return ("slower" if self.slower else "faster") + (
            ", within noise" if self.within_noise else "")


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
        case = self.cases.get(case_id)
        if case is None or not self.ok(case_id):
            return None
        if case.baseline is None:
            return self.median(case_id) if case.kind == "floor" else None
        if not self.ok(case.baseline):
            return None
        return self.median(case_id) - self.median(case.baseline)

    def ratio_to_baseline(self, case_id: str) -> float | None:
        case = self.cases.get(case_id)
        if case is None or not (self.ok(case_id) and self.ok(case.baseline)):
            return None
        assert case.baseline is not None
        return self.median(case_id) / self.median(case.baseline)

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
                                        noise))
        return found
