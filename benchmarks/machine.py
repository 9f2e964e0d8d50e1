"""What pyperf does not record about a run: our revision, the peers' versions, wrk, the load.

pyperf stores the machine in every run's metadata (``cpu_model_name``, ``cpu_count``,
``platform``, ``python_version``, ``load_avg_1min``, ``date``, ...); :func:`pyperf_metadata`
adds ours to it, and :func:`describe` is the header of the report, read from the same data
when the micro phase ran. Absolute times only mean something next to the CPU, the load and the
exact versions of ours and the peers, so the report shows them all.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DISTRIBUTIONS = (
    "wsgi-middleware-suite", "werkzeug", "itsdangerous", "brotli", "zstandard", "bcrypt",
    "paste", "pastedeploy", "beaker", "webob", "repoze.who", "flask", "flask-compress",
    "django", "gunicorn", "waitress", "pyperf",
)


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
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True,
                               timeout=10).stdout.strip()
    except OSError:
        return "unknown"
    return f"{commit or 'unknown'}{' +changes' if dirty else ''}"


def pyperf_metadata() -> dict[str, str]:
    """Metadata pyperf adds to every run of the micro phase (it records the machine itself)."""
    return {"revision": git_revision(),
            "peer_versions": ", ".join(f"{k} {v}" for k, v in versions().items())}


def describe() -> dict[str, object]:
    """The report header's facts known before the run; the micro phase adds pyperf's."""
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "load_before": load_average(),
        "revision": git_revision(),
        "wrk": wrk_version(),
        "versions": versions(),
    }


def from_pyperf(common: dict[str, object]) -> dict[str, object]:
    """The machine facts of pyperf's common metadata that the report header shows."""
    names = {"cpu_model_name": "cpu", "cpu_count": "cpus", "cpu_affinity": "cpu_affinity",
             "platform": "platform", "python_version": "python_version"}
    return {ours: common[theirs] for theirs, ours in names.items() if theirs in common}
