"""Hypothesis profiles: a modest budget for ``make test``, a deep one for ``make fuzz``.

``HYPOTHESIS_PROFILE=deep`` (set by ``make fuzz``) runs many more examples per property.
At the end of a run that fuzzed anything, the number of cases tried per input is printed
(the table in docs/reliability.md).
"""

from __future__ import annotations

import os
import sys

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=3000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_terminal_summary(terminalreporter):
    checks = sys.modules.get("fuzz_checks")
    if checks is None or not checks.CASES:
        return
    profile = os.environ.get("HYPOTHESIS_PROFILE", "default")
    write = terminalreporter.write_line
    terminalreporter.section(f"fuzzed cases per input (hypothesis profile {profile!r})")
    write("| input | cases tried |")
    write("|---|---:|")
    for name, count in sorted(checks.CASES.items()):
        write(f"| {name} | {count} |")
    write(f"| **total** | {sum(checks.CASES.values())} |")
