"""Smoke test of the benchmark suite: ``python -m benchmarks --quick`` runs and writes its report.

It asserts no timing (CI machines are noisy); only that every phase runs to the end, that the
Markdown table, the chart and the JSON are written, and that no case failed its check: a case
errors when our API or a peer's changed under it, so the suite keeps working as code changes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_benchmark_runs_and_writes_its_report(tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--output",
                           str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=110)
    assert done.returncode == 0, done.stderr[-3000:]

    table = (tmp_path / "latest.md").read_text()
    assert "## Per request, in process (us)" in table
    assert "## Ours vs peers" in table
    assert "## End to end" in table
    assert "## Memory" in table
    assert table in done.stdout  # the same table is printed

    assert (tmp_path / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    data = json.loads((tmp_path / "latest.json").read_text())
    assert data["mode"] == "quick"
    statuses = {case_id: (entry["kind"], entry.get("status"), entry.get("reason"))
                for case_id, entry in data["micro"].items()}
    # A peer whose package is missing (no bench extra) is "not available"; a case that errors
    # (a changed API, a failed check) or a bare / floor row that cannot run is a broken suite.
    broken = {case_id: s for case_id, s in statuses.items()
              if s[1] == "error" or (s[0] in ("bare", "floor") and s[1] != "ok")}
    assert not broken, broken


def test_a_case_filter_that_matches_nothing_is_a_clear_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--only", "micro",
                           "--case", "no-such-case", "--output", str(tmp_path)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2
    assert "no case id contains 'no-such-case'" in done.stderr
