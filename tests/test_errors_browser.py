"""Error pages in real headless Chromium, served by a real server: they render, no console errors."""

from __future__ import annotations

import re
import subprocess
import tempfile

from PIL import Image, ImageStat

from browser import FLAGS, chromium, screenshot
from middleware.errors import ErrorPageMiddleware
from servers import serve_in_thread

QUIET = "tests.errors.quiet"
CONSOLE = re.compile(r":CONSOLE[:(\]].*")


def load(url: str) -> tuple[str, list[str]]:
    """The DOM after load and every console message Chromium logged (errors, CSP violations)."""
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr",
             "--v=0", "--dump-dom", "--virtual-time-budget=3000", url],
            capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, [m.group(0) for m in CONSOLE.finditer(proc.stderr)]


class Counted:
    """Records every path the browser asks for."""

    def __init__(self, app):
        self.app, self.paths = app, []

    def __call__(self, environ, start_response):
        self.paths.append(environ["PATH_INFO"])
        return self.app(environ, start_response)


def crashing(environ, start_response):
    raise ValueError("invalid literal for int() with base 10: '</p><script>alert(1)</script>'")


def test_500_page_renders_in_chromium_without_console_errors(tmp_path):
    app = Counted(ErrorPageMiddleware(crashing, logger=QUIET))
    with serve_in_thread(app) as url:
        dom, console = load(url + "/orders/7")
        png = screenshot(url + "/orders/7", tmp_path / "500.png", size="800,600")
    assert console == []
    assert "<title>500 Internal Server Error</title>" in dom
    assert "<h1>Internal Server Error</h1>" in dom
    assert re.search(r"Request ID: <code>[0-9a-f]{32}</code>", dom)
    assert "<script" not in dom and "alert" not in dom
    assert set(app.paths) == {"/orders/7"}  # no favicon or other sub-request
    picture = Image.open(png).convert("RGB")
    assert max(ImageStat.Stat(picture).stddev) > 2.5  # not a blank page
    accent = (0x09, 0x69, 0xDA)
    data = picture.tobytes()
    near = sum(1 for i in range(0, len(data), 3)
               if sum(abs(c - a) for c, a in zip(data[i:i + 3], accent, strict=True)) < 13)
    assert near > 100  # the large status number is drawn in the accent colour


def test_custom_404_page_from_a_file_renders_in_chromium(tmp_path):
    (tmp_path / "404.html").write_text(
        "<!doctype html><html lang=en><meta charset=utf-8><link rel=icon href='data:,'>"
        "<title>Lost ($status)</title><style>h1{color:teal}</style>"
        "<h1>$title</h1><p id=rid>$request_id</p></html>", encoding="utf-8")

    def missing(environ, start_response):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found"]

    app = ErrorPageMiddleware(missing, template_dir=tmp_path, logger=QUIET)
    with serve_in_thread(app) as url:
        dom, console = load(url + "/nowhere")
    assert console == []
    assert "<title>Lost (404)</title>" in dom and "<h1>Not Found</h1>" in dom
    assert re.search(r'<p id="rid">[0-9a-f]{32}</p>', dom)


def test_console_check_sees_a_template_script_blocked_by_the_policy(tmp_path):
    # Proves the console check above can fail: the default CSP blocks scripts in templates.
    app = ErrorPageMiddleware(crashing, logger=QUIET, pages={
        500: "<!doctype html><title>x</title><link rel=icon href='data:,'>"
             "<script>document.title = 'ran'</script><p>$title</p>"})
    with serve_in_thread(app) as url:
        dom, console = load(url + "/")
    assert "<title>x</title>" in dom  # the script did not run
    assert any("Content Security Policy" in message for message in console)
