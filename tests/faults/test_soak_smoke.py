"""A short run of ``python -m benchmarks.soak`` (the full one is ``make soak``): the script
serves the demo stack under gunicorn, drives it, checks everything and prints its table."""

from __future__ import annotations

import subprocess
import sys

import pytest

from support import ROOT

pytestmark = pytest.mark.slow


def test_a_short_soak_on_sqlite_holds_every_check():
    done = subprocess.run([sys.executable, "-m", "benchmarks.soak", "--seconds", "4",
                           "--stores", "sqlite", "--clients", "4"], cwd=ROOT,
                          capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| store | seconds | requests |" in done.stdout
    assert "| sqlite |" in done.stdout
    assert "soak: all checks held" in done.stdout
