"""Headless Chromium for tests that check a page as a person sees it.

``make test`` installs Debian's ``chromium``; these helpers fail (not skip) without it.

Usage::

    dom = dump_dom(url)                 # the DOM after scripts ran
    with serve_in_thread(no_javascript(app)) as url:   # the page as a script-less browser sees it
        dom = dump_dom(url)
    screenshot(url, tmp_path / "page.png")
    with Browser() as browser:          # drive a page: type, click, read
        browser.open(url + "/login")
        browser.evaluate("document.querySelector('form').submit()", wait_for_load=True)
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from typing import Any

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


class Browser:
    """A headless Chromium driven over the DevTools protocol on a pipe (no extra package):
    open pages, run JavaScript in them, wait for navigations. Cookies persist for its life.

    ``evaluate`` runs in the page outside its Content-Security-Policy (as DevTools does), so
    it can fill and submit the login form, which allows no scripts of its own.
    """

    def __init__(self, timeout: float = 30) -> None:
        self.timeout = timeout
        self._next_id = 0
        self._buffer = b""
        self._events: list[dict[str, Any]] = []

    def __enter__(self) -> Browser:
        self._profile = tempfile.TemporaryDirectory()
        to_chromium, self._out = os.pipe()   # chromium reads commands on its fd 3
        self._in, from_chromium = os.pipe()  # and writes replies on its fd 4
        # move the child's ends above 4 first, so dup2 cannot overwrite one with the other
        high_r, high_w = os.dup(to_chromium), os.dup(from_chromium)
        while min(high_r, high_w) <= 4:
            high_r, high_w = os.dup(high_r), os.dup(high_w)

        def child_fds():
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self._proc = subprocess.Popen(
            [chromium(), *FLAGS, f"--user-data-dir={self._profile.name}",
             "--remote-debugging-pipe", "about:blank"],
            # close_fds would close 3 and 4 after child_fds; Python's own fds are not
            # inheritable, so nothing else leaks into Chromium
            close_fds=False, preexec_fn=child_fds,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for fd in {to_chromium, from_chromium, high_r, high_w}:
            os.close(fd)
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self._call("Target.attachToTarget",
                                   {"targetId": target, "flatten": True})["sessionId"]
        self._call("Page.enable", session=True)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._call("Browser.close")
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
        os.close(self._out)
        os.close(self._in)
        self._profile.cleanup()

    def open(self, url: str) -> None:
        """Navigate to ``url`` and wait until the page has loaded."""
        self._events.clear()
        self._call("Page.navigate", {"url": url}, session=True)
        self._wait_for_load()

    def evaluate(self, expression: str, wait_for_load: bool = False) -> Any:
        """The value of a JavaScript expression in the page; ``wait_for_load``: the
        expression navigates (a form submit), wait for the next page to load."""
        self._events.clear()
        reply = self._call("Runtime.evaluate", {"expression": expression,
                                                "returnByValue": True}, session=True)
        assert "exceptionDetails" not in reply, reply
        if wait_for_load:
            self._wait_for_load()
        return reply.get("result", {}).get("value")

    def _wait_for_load(self) -> None:
        deadline = time.monotonic() + self.timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self._events):
            self._events.append(self._read(deadline))

    def _call(self, method: str, params: dict[str, Any] | None = None,
              session: bool = False) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method,
                                   "params": params or {}}
        if session:
            message["sessionId"] = self._session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                assert "error" not in reply, (method, reply["error"])
                return reply.get("result", {})
            self._events.append(reply)

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            assert left > 0, "Chromium did not answer in time"
            ready, _, _ = select.select([self._in], [], [], left)
            if ready:
                chunk = os.read(self._in, 65536)
                assert chunk, "Chromium closed its DevTools pipe"
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)
