"""Headless Chromium for tests that check a page as a person sees it.

``make test`` installs Debian's ``chromium``; these helpers fail (not skip) without it.

Usage::

    dom = dump_dom(url)                 # the DOM after scripts ran
    with serve_in_thread(no_javascript(app)) as url:   # the page as a script-less browser sees it
        dom = dump_dom(url)
    screenshot(url, tmp_path / "page.png")
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium() -> str:
    """The path of the Chromium binary (an assertion error names the fix when it is missing)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "chromium is not installed: run `make test`, which installs it"
    return path


def _run(args: list[str], timeout: float = 60) -> str:
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def dump_dom(url: str) -> str:
    """Load ``url`` and return the serialised DOM after its scripts ran."""
    return _run(["--dump-dom", "--virtual-time-budget=3000", url])


def no_javascript(app):
    """Wrap a WSGI app so browsers run none of its scripts (a ``script-src 'none'`` CSP).

    Chromium's own switches to disable JavaScript also break ``--dump-dom``; a CSP does not.
    """
    from middleware.wsgi import Response

    def add_csp(response):
        response.set("Content-Security-Policy", "script-src 'none'")

    def wrapped(environ, start_response):
        return app(environ, Response(start_response, add_csp).start_response)

    return wrapped


def screenshot(url: str, path: str | os.PathLike[str], size: str = "1280,900") -> str:
    """Save a PNG of ``url`` to ``path`` and return the path."""
    _run([f"--screenshot={os.fspath(path)}", f"--window-size={size}",
          "--virtual-time-budget=3000", url])
    assert os.path.getsize(path) > 0
    return os.fspath(path)
