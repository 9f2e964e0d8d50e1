"""The debug page in real headless Chromium: with JavaScript, without it, and the console.

Chromium's ``--dump-dom`` gives the DOM after scripts ran but cannot click. So a test-only
wrapper (:func:`with_probe`) adds a script to the page, under the page's own CSP nonce, that
records errors and CSP violations from the start, clicks through the page after ``load`` and
writes what it saw as JSON into ``<pre id="probe">``.
"""

from __future__ import annotations

import html
import json
import logging
import re

from browser import dump_dom, no_javascript
from middleware.debug import DebugMiddleware
from middleware.wsgi import Response, call_app
from servers import serve_in_thread

QUIET = logging.getLogger("tests.debug.browser")
QUIET.propagate = False
QUIET.addHandler(logging.NullHandler())
PIN = "246-813-579"
HOSTILE = "</textarea><script>document.title='pwned'</script><img src=x onerror=alert(1)>"

PROBE = """
(function () {
  var errors = [], out = {};
  window.addEventListener("error", function (e) {
    errors.push("error: " + (e.message || (e.target && e.target.outerHTML)));
  }, true);
  document.addEventListener("securitypolicyviolation", function (e) {
    errors.push("csp: " + e.violatedDirective + " " + e.blockedURI);
  });
  var original = console.error;
  console.error = function () {
    errors.push("console: " + Array.prototype.join.call(arguments, " "));
    original.apply(console, arguments);
  };
  function state() {
    return Array.prototype.map.call(document.querySelectorAll("details.frame"),
      function (d) { return (d.classList.contains("library") ? "library" : "app") + ":" + d.open; });
  }
  function click(act) { document.querySelector("[data-act=" + act + "]").click(); return state(); }
  function finish() {
    out.errors = errors;
    out.title = document.title;
    var pre = document.createElement("pre");
    pre.id = "probe";
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }
  function steps() {
    out.js = document.documentElement.classList.contains("js");
    out.tools = getComputedStyle(document.getElementById("tools")).display;
    out.initial = state();
    var first = document.querySelector("details.frame.library > summary");
    first.click();
    out.afterSummaryClick = state();
    first.click();
    out.afterSecondClick = state();
    out.collapsed = click("collapse");
    out.expanded = click("expand");
    out.appOnly = click("app");
    CONSOLE
  }
  window.addEventListener("load", function () { setTimeout(steps, 0); });
})();
"""

CONSOLE_STEPS = """
    var tries = 0, form = document.querySelector("details.frame.app form.console");
    out.consoleVisibleLocked = getComputedStyle(form).display;
    var pin = document.getElementById("pin-form");
    pin.elements.pin.value = "PIN";
    pin.requestSubmit();
    (function waitUnlocked() {
      if (!document.body.classList.contains("unlocked")) {
        if (++tries > 200) { out.failed = "never unlocked"; return finish(); }
        return setTimeout(waitUnlocked, 10);
      }
      out.consoleVisibleUnlocked = getComputedStyle(form).display;
      form.elements.cmd.value = "answer * 2";
      form.requestSubmit();
      (function waitOutput() {
        var text = form.querySelector("pre").textContent;
        if (text.indexOf("42") < 0) {
          if (++tries > 400) { out.failed = "no output: " + text; return finish(); }
          return setTimeout(waitOutput, 10);
        }
        out.output = text;
        finish();
      })();
    })();
""".replace("PIN", PIN)


def failing_app(environ, start_response):
    """Fails inside the json module (library frames) with a hostile message on top."""
    if environ["PATH_INFO"] == "/favicon.ico":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b""]
    answer = 21  # noqa: F841 - read through the console
    try:
        json.loads("{not json")
    except ValueError as exc:
        raise RuntimeError(HOSTILE) from exc


def with_probe(app, steps: str = "finish();"):
    """Add :data:`PROBE` to HTML pages of ``app``, first thing in ``<head>``."""

    def wrapped(environ, start_response):
        response = Response(start_response, hold=True)
        app_iter = call_app(app, environ, response)
        if not (response.get("Content-Type") or "").startswith("text/html"):
            return response.send(app_iter)
        page = b"".join(response.written + list(app_iter)).decode()
        nonce = re.search(r'<script nonce="([^"]+)">', page).group(1)
        probe = f'<script nonce="{nonce}">{PROBE.replace("CONSOLE", steps)}</script>'
        page = page.replace("<head>", "<head>" + probe, 1).encode()
        response.set("Content-Length", str(len(page)))
        return response.send_instead([page], app_iter)

    return wrapped


def probe_result(dom: str) -> dict:
    match = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert match, dom[-3000:]
    return json.loads(html.unescape(match.group(1)))


def test_page_renders_frames_toggle_and_no_console_errors_with_javascript():
    app = with_probe(DebugMiddleware(failing_app, logger=QUIET))
    with serve_in_thread(app) as url:
        result = probe_result(dump_dom(url + "/?q=1"))
    assert result["errors"] == []
    assert result["js"] is True and result["tools"] == "flex"
    assert result["title"].startswith("RuntimeError: </textarea><script>")  # text, not markup
    initial = result["initial"]
    assert "app:true" in initial and "library:false" in initial
    assert all(s.endswith(":true") == s.startswith("app") for s in initial)
    first_library = initial.index("library:false")
    assert result["afterSummaryClick"][first_library] == "library:true"
    assert result["afterSecondClick"] == initial
    assert all(s.endswith(":false") for s in result["collapsed"])
    assert all(s.endswith(":true") for s in result["expanded"])
    assert result["appOnly"] == initial


def test_page_works_without_javascript():
    app = no_javascript(DebugMiddleware(failing_app, evalex=True, pin=PIN, logger=QUIET))
    with serve_in_thread(app) as url:
        dom = dump_dom(url + "/")
    assert '<html lang="en">' in dom  # no "js" class: the script did not run
    frames = re.findall(r'<details class="frame (app|library)" id="frame-\d+"( open="")?>', dom)
    assert ("app", ' open=""') in frames and ("library", "") in frames
    assert all((kind == "app") == bool(opened) for kind, opened in frames)
    assert "answer" in dom and "<td><code>21</code></td>" in dom  # locals need no script
    assert "Traceback (most recent call last):" in dom  # the copy-paste text
    assert "json.decoder.JSONDecodeError" in dom  # the chained cause
    assert dom.count("<script") == 1 and "<img" not in dom  # the hostile message stayed text


def test_console_unlocks_with_the_pin_and_evaluates_in_the_frame():
    app = with_probe(DebugMiddleware(failing_app, evalex=True, pin=PIN, logger=QUIET),
                     CONSOLE_STEPS)
    with serve_in_thread(app) as url:
        result = probe_result(dump_dom(url + "/"))
    assert "failed" not in result, result
    assert result["errors"] == []
    assert result["consoleVisibleLocked"] == "none"
    assert result["consoleVisibleUnlocked"] == "block"
    assert result["output"].splitlines() == [">>> answer * 2", "42"]
