"""The machine and the versions a run measured, printed at the top of every report.

Absolute times only mean something next to the CPU, the load it was under, the Python and the
exact versions of ours and the peers, so the report records them all. The load average is read
before and after the run: a busy machine (other jobs on the two cores) shows there.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DISTRIBUTIONS = (
    "wsgi-middleware-suite", "werkzeug", "itsdangerous", "brotli", "zstandard", "bcrypt",
    "paste", "pastedeploy", "beaker", "webob", "repoze.who", "flask", "flask-compress",
    "django", "gunicorn", "waitress",
)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load_average() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def versions() -> dict[str, str]:
    """Installed versions of ours and every peer (``missing`` when not installed)."""
    found = {}
    for name in DISTRIBUTIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "missing"
    return found


def wrk_version() -> str:
    if shutil.which("wrk") is None:
        return "missing"
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=10)
    first = (done.stdout or done.stderr).splitlines()
    return first[0].split(" Copyright")[0] if first else "unknown"


def git_revision() -> str:
    """The checkout's commit, with ``+changes`` when the working tree differs (read only)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return "unknown"
    return f"{commit or 'unknown'}{' +changes' if dirty else ''}"


def describe() -> dict[str, object]:
    """Everything above, as one JSON-ready dict."""
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpus": usable_cpus(),
        "load_before": load_average(),
        "executable": sys.executable,
        "revision": git_revision(),
        "wrk": wrk_version(),
        "versions": versions(),
    }
