"""Benchmarks: what each middleware costs per request, beside the peer a user would pick.

Run ``python -m benchmarks`` (``make bench``) for the full run, or ``--quick`` (``make
bench-quick``) for the smoke check CI runs. Three phases, each in its own module:

:mod:`benchmarks.micro`
    In-process timings of one request through each case, on pyperf (a pyperf script: its
    worker processes, calibration and JSON).
:mod:`benchmarks.memory`
    Peak RSS per case, and a 100 MB streamed response through the whole stack.
:mod:`benchmarks.e2e`
    The bare app and the full stacks served by gunicorn and waitress on 127.0.0.1, loaded by
    ``wrk`` from a second process for a bounded time.

The workloads themselves (ours, the peers' and the raw floors) live in :mod:`benchmarks.cases`;
:mod:`benchmarks.report` turns the results into ``benchmarks/results/latest.md`` and
:mod:`benchmarks.chart` into ``latest.png``; :mod:`benchmarks.saved` writes ``latest.json`` (a
pyperf suite) and compares the run with the committed ``results/baseline.json``;
:mod:`benchmarks.targets` holds the ratios of issues 15 and 17. ``benchmarks/README.md``
explains every case and reads the latest numbers.
"""
