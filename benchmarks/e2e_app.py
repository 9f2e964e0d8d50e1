"""The WSGI app the end-to-end servers import: ``benchmarks.e2e_app:application``.

``$BENCH_APP`` picks it: ``bare`` (the 2 KB list app), ``ours`` (our full stack) or ``peers``
(the peers' full stack), all from :mod:`benchmarks.cases.stacks`, so the servers run exactly
what the micro-benchmarks time. ``$BENCH_WORKDIR`` is where the master put the htpasswd files,
so every server worker reads the same ones.
"""

from __future__ import annotations

import os

from benchmarks.cases.stacks import ours_stack, peer_stack
from benchmarks.cases.workload import BODY_2K, WSGIApp, list_app

APPS = ("bare", "ours", "peers")


def load(name: str) -> WSGIApp:
    """Build the app called ``name`` (one of :data:`APPS`)."""
    if name == "bare":
        return list_app(BODY_2K)
    if name == "ours":
        return ours_stack()
    if name == "peers":
        return peer_stack()
    raise ValueError(f"BENCH_APP must be one of {APPS}, got {name!r}")


application = load(os.environ.get("BENCH_APP", "bare"))
