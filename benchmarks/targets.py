"""The ratios that judge the fast-path work (issues 15 and 17), computed from one run.

Each :class:`Target` is one line of the issue's table: a ratio of two measured quantities of
the same run (added costs in process, or requests/s end to end), so a machine's speed cancels
out. ``higher_is_better`` is true only for the end-to-end rows (a share of bare throughput);
everywhere else a ratio below 1 means ours costs less than what it is divided by.

Usage::

    for target in TARGETS:
        ratio = target.ratio(results)      # None when a row it needs did not run
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.numbers import Numbers, RunResults

# The layers of ``stack.ours`` (see benchmarks/cases/stacks.py), each measured alone on the
# same kind of request: errors pass-through, gzip of the 2 KB page, the signed-cookie session
# read+write and valid Basic credentials against a 1-user htpasswd.
STACK_LAYERS = ("errors.ours.list", "gzip.ours.2k", "sessions.ours.cookie", "auth.ours.basic1")


@dataclass(frozen=True)
class Target:
    """One ratio: ``numerator / denominator`` of a run, described by ``label``."""

    key: str
    label: str
    parts: Callable[[RunResults], tuple[float | None, float | None]]
    higher_is_better: bool = False

    def ratio(self, results: RunResults) -> float | None:
        top, bottom = self.parts(results)
        if top is None or bottom is None or bottom <= 0:
            return None
        return top / bottom


def added(numerator: str, denominator: str) -> Callable[[RunResults], tuple[float | None,
                                                                             float | None]]:
    """Added cost of one case over another's (us over us)."""

    def parts(results: RunResults) -> tuple[float | None, float | None]:
        numbers = Numbers(results.cases, results.micro)
        return numbers.added(numerator), numbers.added(denominator)

    return parts


def stack_over_layers(results: RunResults) -> tuple[float | None, float | None]:
    numbers = Numbers(results.cases, results.micro)
    layers = [numbers.added(case_id) for case_id in STACK_LAYERS]
    total = None if any(value is None for value in layers) else sum(layers)  # type: ignore[arg-type]
    return numbers.added("stack.ours"), total


def end_to_end(server: str) -> Callable[[RunResults], tuple[float | None, float | None]]:
    def parts(results: RunResults) -> tuple[float | None, float | None]:
        return results.e2e_ratio(server, "ours"), 1.0

    return parts


TARGETS = (
    Target("stack.peers", "full stack, ours ÷ peer stack (added cost)",
           added("stack.ours", "stack.peers")),
    Target("stack.layers", "full stack, ours ÷ sum of our layers measured alone (added cost)",
           stack_over_layers),
    Target("errors.list", "error pages pass-through, list body, ours ÷ Paste ErrorMiddleware",
           added("errors.ours.list", "errors.paste.list")),
    Target("errors.generator",
           "error pages pass-through, generator body, ours ÷ Paste ErrorMiddleware",
           added("errors.ours.generator", "errors.paste.generator")),
    Target("errors.404", "404 replaced by a page, ours ÷ Paste errordocument",
           added("errors.ours.404", "errors.paste.404")),
    Target("errors.500", "exception -> logged 500, ours ÷ Paste ErrorMiddleware",
           added("errors.ours.500", "errors.paste.500")),
    Target("gzip.pass", "compression, client accepts nothing, ours ÷ Paste gzipper (added cost)",
           added("gzip.ours.pass", "gzip.paste.pass")),
    Target("gzip.floor", "gzip 2 KB, ours ÷ raw zlib floor (added cost)",
           added("gzip.ours.2k", "floor.gzip.2k")),
    Target("sessions.cookie", "signed-cookie session read+write 1 key, ours ÷ Beaker cookie",
           added("sessions.ours.cookie", "sessions.beaker.cookie")),
    Target("sessions.memory", "memory store session read+write, ours ÷ Beaker memory",
           added("sessions.ours.memory", "sessions.beaker.memory")),
    Target("sessions.redis", "Redis session read+write, ours ÷ Beaker ext:redis (same server)",
           added("sessions.ours.redis", "sessions.beaker.redis")),
    Target("e2e.gunicorn", "end to end, gunicorn 2 sync workers, ours ÷ bare req/s",
           end_to_end("gunicorn"), higher_is_better=True),
    Target("e2e.waitress", "end to end, waitress, ours ÷ bare req/s",
           end_to_end("waitress"), higher_is_better=True),
)
