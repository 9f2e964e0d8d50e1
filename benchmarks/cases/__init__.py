"""The benchmark cases: one request through ours, a peer, a bare app, or a raw floor.

A :class:`Case` is a name, a section, and a ``build()`` that sets the case up, checks it once
(status, decoded body, the header that proves the middleware worked) and returns the timed unit:
a zero-argument callable that runs one request. Everything slow or fallible (imports, files,
priming a session cookie) happens in ``build()``, outside the timed loop; a case whose module
does not import yet is *not available*, never a crash.

Each row knows what to compare it with:

``baseline``
    The case whose time is subtracted to get the *added* cost (the bare app under the same
    request; a Flask or Django peer is measured over bare Flask or Django).
``peers``
    The peers a user would otherwise pick for the same job, on the same workload.
``floor``
    The raw primitive on the same bytes (the compressor, the signer, the hash): what no
    middleware can beat.
``goal``
    The target set in issue 8, checked in the report.

The cases themselves live in :mod:`~benchmarks.cases.baselines`, :mod:`~benchmarks.cases.ours`,
:mod:`~benchmarks.cases.peers` and :mod:`~benchmarks.cases.floors`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from benchmarks.cases.workload import OneRequest

Kind = Literal["bare", "ours", "peer", "floor"]

SECTIONS = (
    "baseline",
    "errors",
    "debug",
    "sessions",
    "auth",
    "compression 2 KB",
    "compression 100 KB",
    "full stack",
)


@dataclass(frozen=True)
class Goal:
    """A target from issue 8, e.g. "added <= 0.3 us" or "<= 1.02x the raw compressor".

    :param text: the goal as the issue states it.
    :param limit: the number the measure must not exceed.
    :param measure: ``"added"`` (us over the baseline), ``"over_floor"`` (us added beyond the
        floor's own time) or ``"floor_ratio"`` (added time / floor time).
    """

    text: str
    limit: float
    measure: Literal["added", "over_floor", "floor_ratio"] = "added"

    def value(self, added: float, floor: float | None) -> float | None:
        """The measure for an ``added`` cost (us) and a ``floor`` time (us, if any)."""
        if self.measure == "added":
            return added
        if floor is None or floor <= 0:
            return None
        return added - floor if self.measure == "over_floor" else added / floor


@dataclass(frozen=True)
class Case:
    """One benchmarked request; see the module docstring for the comparison fields."""

    id: str
    section: str
    label: str
    kind: Kind
    build: Callable[[], OneRequest] = field(repr=False, compare=False)
    baseline: str | None = None
    peers: tuple[str, ...] = ()
    floor: str | None = None
    goal: Goal | None = None


class NotAvailable(Exception):
    """A case cannot run here: its module does not import (yet), or a tool is missing."""


def all_cases() -> list[Case]:
    """Every case, ordered by section, then bare / ours / peer / floor as declared."""
    from benchmarks.cases import baselines, floors, ours, peers

    cases = [*baselines.CASES, *ours.CASES, *peers.CASES, *floors.CASES]
    ids = [case.id for case in cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate case ids: {sorted(duplicates)}")
    known = set(ids)
    for case in cases:
        for ref in (case.baseline, case.floor, *case.peers):
            if ref is not None and ref not in known:
                raise ValueError(f"{case.id} refers to unknown case {ref!r}")
    rank = {section: i for i, section in enumerate(SECTIONS)}
    return sorted(cases, key=lambda case: rank[case.section])


def select(cases: list[Case], patterns: list[str]) -> list[Case]:
    """The cases whose id contains any of ``patterns``, plus the rows they compare with."""
    if not patterns:
        return cases
    by_id = {case.id: case for case in cases}
    chosen = {case.id for case in cases if any(p in case.id for p in patterns)}
    for case_id in list(chosen):
        case = by_id[case_id]
        chosen.update(ref for ref in (case.baseline, case.floor, *case.peers) if ref)
    for case_id in list(chosen):
        baseline = by_id[case_id].baseline
        if baseline:
            chosen.add(baseline)
    return [case for case in cases if case.id in chosen]


def build_case(case: Case) -> OneRequest:
    """Set ``case`` up and check it; :class:`NotAvailable` when its code cannot be imported."""
    try:
        return case.build()
    except ImportError as exc:
        raise NotAvailable(f"{type(exc).__name__}: {exc}") from exc
