"""The debug page in its three forms: HTML for browsers, plain text and JSON, by ``Accept``
(:func:`middleware.accept.preferred_form` picks it, as for every page of the suite).

Every string in a report was masked when the model was built (see
:mod:`middleware.debug.frames`); this module only lays it out.

Text and JSON
    The text follows Python's own traceback layout (chain separators, group boxes), so it can
    be pasted into an issue; it is also the copy-paste block of the HTML page and (escaped by
    :func:`~middleware.logsafe.for_log`) the log entry. JSON carries the same model.

HTML
    One self-contained document (inline CSS and JS, no outside requests). Frames are
    ``<details>`` elements, so they open and close without JavaScript: application frames
    start open, library frames closed. JavaScript only adds conveniences (expand/collapse all,
    copy, and the console when ``evalex`` is on). Every string is HTML-escaped here, the
    copy-paste text included; the response's Content-Security-Policy allows only this page's
    own nonce-tagged style and script, so an exception message carrying markup stays inert.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from html import escape
from typing import Any

from middleware.debug.frames import ExceptionInfo, FrameInfo
from middleware.debug.request import RequestInfo
from middleware.logsafe import for_log

CAUSE = "The above exception was the direct cause of the following exception:"
CONTEXT = "During handling of the above exception, another exception occurred:"


def headline(exc: ExceptionInfo) -> str:
    """``Type: message`` (just the type when the message is empty)."""
    return f"{exc.type}: {exc.message}" if exc.message else exc.type


def text_lines(exc: ExceptionInfo) -> list[str]:
    """Python's traceback layout for ``exc`` and everything chained to it."""
    lines: list[str] = []
    if exc.cause is not None:
        lines += [*text_lines(exc.cause), "", CAUSE, ""]
    elif exc.context is not None:
        lines += [*text_lines(exc.context), "", CONTEXT, ""]
    if exc.repeated:
        return [*lines, f"{headline(exc)} (shown above: the chain loops)"]
    title = "Exception Group Traceback" if exc.members else "Traceback"
    if exc.frames:
        lines.append(f"{title} (most recent call last):")
    for i, frame in enumerate(exc.frames):
        if exc.frames_omitted and i == len(exc.frames) // 3:
            lines.append(f"  [... {exc.frames_omitted} frames omitted ...]")
        lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.function}')
        current = [code for number, code in frame.source if number == frame.lineno]
        if current and current[0].strip():
            lines.append(f"    {current[0].strip()}")
    lines.append(headline(exc))
    lines += exc.notes
    for n, member in enumerate(exc.members, 1):
        lines.append(f"+---------------- {n} ----------------")
        lines += [f"| {line}" if line else "|" for line in text_lines(member)]
    if exc.members:
        if exc.members_omitted:
            lines.append(f"+---------------- ... ({exc.members_omitted} more) ----------------")
        lines.append("+------------------------------------")
    return lines


def render_text(exc: ExceptionInfo, request: RequestInfo) -> str:
    """The plain-text report: the request line, then the traceback."""
    return "\n".join([f"{request.method} {request.url}", "", *text_lines(exc), ""])


def render_log(exc: ExceptionInfo, request: RequestInfo) -> str:
    """The plain-text report for a log: each line escaped by
    :func:`~middleware.logsafe.for_log`, so a path or an exception message carrying ``\\n``
    cannot forge a log line of its own."""
    lines = [f"{request.method} {request.url}", "", *text_lines(exc)]
    return "\n".join(for_log(line, 4 * 1024) for line in lines)


def render_json(exc: ExceptionInfo, request: RequestInfo, text: str) -> str:
    """The JSON report: ``{"exception": ..., "request": ..., "traceback": text}``."""
    document: dict[str, Any] = {
        "exception": asdict(exc),
        "request": asdict(request),
        "traceback": text,
    }
    return json.dumps(document, indent=1, ensure_ascii=False)


# -- HTML ----------------------------------------------------------------------------------

CSS = """
:root{--fg:#1d2330;--mute:#5b6474;--line:#d9dde5;--bg:#f6f7f9;--app:#fff;--acc:#b3261e}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#2b2f3a;color:#fff;padding:18px 24px}
header h1{margin:0;font-size:22px}header .msg{margin:6px 0 0;font:15px/1.4 monospace;
white-space:pre-wrap;word-break:break-word}header .req{margin:6px 0 0;color:#c9ced8}
main{padding:12px 24px 40px;max-width:1200px}
h2{font-size:17px;margin:22px 0 8px}h3{font-size:15px;margin:14px 0 6px}
.tools,.console,.pin{display:none}
html.js .tools{display:flex;gap:8px;padding:10px 24px;background:#e9ecf1}
html.js body.evalex .pin{display:block}
html.js body.evalex.unlocked .pin{display:none}
html.js body.evalex.unlocked .console{display:block}
button{font:inherit;padding:3px 10px;border:1px solid #aab;border-radius:4px;background:#fff}
.pin{margin:12px 24px;padding:10px;border:1px solid var(--acc);background:#fff}
details.frame{background:var(--app);border:1px solid var(--line);border-radius:4px;
margin:6px 0}
details.frame.library{background:var(--bg)}
details.frame>summary{cursor:pointer;padding:6px 10px;font-family:monospace}
details.frame.library>summary{color:var(--mute)}
.tag{font:11px system-ui;border:1px solid var(--line);border-radius:8px;padding:0 6px}
pre.src{margin:0;padding:6px 0;overflow-x:auto;border-top:1px solid var(--line);
font-size:13px}
pre.src span{display:block;padding:0 10px}pre.src .cur{background:#fde8e6;font-weight:bold}
pre.src i{display:inline-block;width:4em;color:var(--mute);font-style:normal}
table{border-collapse:collapse;width:100%;font-size:13px}
td,th{border-top:1px solid var(--line);padding:3px 10px;text-align:left;vertical-align:top}
th{width:16em;font-family:monospace;font-weight:normal;color:var(--mute)}
td code{white-space:pre-wrap;word-break:break-all}
.final{font:bold 15px monospace;color:var(--acc);white-space:pre-wrap;word-break:break-word}
.note{font-family:monospace;white-space:pre-wrap}
.chain{border-left:3px solid var(--line);padding-left:14px;margin-top:18px}
.members{border-left:3px dashed var(--acc);padding-left:14px}
.console{padding:6px 10px;border-top:1px solid var(--line)}
.console pre{margin:0;white-space:pre-wrap;font-size:13px}
.console input{width:100%;font:13px monospace}
textarea{width:100%;height:18em;font:12px monospace}
"""

JS = """
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var body = document.body;
  var frames = Array.prototype.slice.call(document.querySelectorAll("details.frame"));
  function setAll(test) { frames.forEach(function (d) { d.open = test(d); }); }
  document.getElementById("tools").addEventListener("click", function (ev) {
    var act = ev.target.getAttribute("data-act");
    if (act === "expand") { setAll(function () { return true; }); }
    if (act === "collapse") { setAll(function () { return false; }); }
    if (act === "app") { setAll(function (d) { return !d.classList.contains("library"); }); }
    if (act === "copy") {
      var text = document.getElementById("traceback-text");
      text.select();
      if (navigator.clipboard) { navigator.clipboard.writeText(text.value).catch(function () {}); }
    }
  });
  var base = body.getAttribute("data-base");
  if (!base) { return; }
  var secret = body.getAttribute("data-secret");
  function post(path, data) {
    data.secret = secret;
    return fetch(base + path, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/x-www-form-urlencoded"},
      body: new URLSearchParams(data)}).then(function (r) { return r.json(); });
  }
  post("/status", {}).then(function (r) { if (r.auth) { body.classList.add("unlocked"); } });
  document.getElementById("pin-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var box = document.getElementById("pin-message");
    post("/pin", {pin: ev.target.elements.pin.value}).then(function (r) {
      if (r.auth) { body.classList.add("unlocked"); box.textContent = ""; }
      else { box.textContent = r.error || "Wrong PIN."; }
    });
  });
  document.querySelectorAll("form.console").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var input = form.elements.cmd, out = form.querySelector("pre");
      var cmd = input.value;
      input.value = "";
      post("/console", {tb: body.getAttribute("data-tb"), frame: form.getAttribute("data-frame"),
                        cmd: cmd}).then(function (r) {
        if (!r.auth) { body.classList.remove("unlocked"); return; }
        out.textContent += r.output || r.error || "";
      });
    });
  });
})();
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _frame(frame: FrameInfo, console: bool) -> str:
    kind = "library" if frame.library else "app"
    parts = [f'<details class="frame {kind}" id="frame-{frame.key}"'
             f'{"" if frame.library else " open"}><summary>',
             f'<b>{_e(frame.function)}</b> &middot; {_e(frame.filename)}:{frame.lineno}',
             ' <span class="tag">library</span>' if frame.library else "", "</summary>"]
    if frame.source:
        parts.append('<pre class="src">')
        for number, code in frame.source:
            cls = ' class="cur"' if number == frame.lineno else ""
            parts.append(f"<span{cls}><i>{number}</i>{_e(code)}</span>")
        parts.append("</pre>")
    if frame.locals:
        parts.append('<table class="locals">')
        parts += [f"<tr><th>{_e(k)}</th><td><code>{_e(v)}</code></td></tr>"
                  for k, v in frame.locals]
        if frame.locals_omitted:
            parts.append(f"<tr><th>...</th><td>{frame.locals_omitted} more</td></tr>")
        parts.append("</table>")
    if console:
        parts.append(f'<form class="console" data-frame="{frame.key}"><pre></pre>'
                     '<input name="cmd" autocomplete="off" spellcheck="false" '
                     'aria-label="Python console for this frame" placeholder="&gt;&gt;&gt;">'
                     "</form>")
    parts.append("</details>")
    return "".join(parts)


def _exception(exc: ExceptionInfo, console: bool) -> str:
    if exc.repeated:
        return f'<p class="final">{_e(headline(exc))} (shown above: the chain loops)</p>'
    parts = []
    for i, frame in enumerate(exc.frames):
        if exc.frames_omitted and i == len(exc.frames) // 3:
            parts.append(f"<p>&hellip; {exc.frames_omitted} frames omitted &hellip;</p>")
        parts.append(_frame(frame, console))
    parts.append(f'<p class="final">{_e(headline(exc))}</p>')
    parts += [f'<p class="note">{_e(note)}</p>' for note in exc.notes]
    if exc.members:
        total = len(exc.members) + exc.members_omitted
        parts.append('<div class="members">')
        for n, member in enumerate(exc.members, 1):
            parts.append(f"<h3>Sub-exception {n} of {total}: {_e(headline(member))}</h3>")
            parts.append(_exception(member, console))
        if exc.members_omitted:
            parts.append(f"<p>&hellip; {exc.members_omitted} more not shown</p>")
        parts.append("</div>")
    for link, label in ((exc.cause, "The above exception was directly caused by"),
                        (exc.context, "The above exception happened while handling")):
        if link is not None:
            parts.append(f'<section class="chain"><h2>{label}: {_e(headline(link))}</h2>'
                         f"{_exception(link, console)}</section>")
    return "".join(parts)


def _table(title: str, rows: list[tuple[str, str]], open_: bool = True) -> str:
    if not rows:
        return ""
    body = "".join(f"<tr><th>{_e(k)}</th><td><code>{_e(v)}</code></td></tr>" for k, v in rows)
    return (f'<details{" open" if open_ else ""}><summary><h3>{_e(title)}</h3></summary>'
            f"<table>{body}</table></details>")


def render_html(exc: ExceptionInfo, request: RequestInfo, text: str, nonce: str,
                console: dict[str, str] | None = None) -> str:
    """The page. ``console`` (``base``, ``tb``, ``secret``) switches the per-frame console on."""
    attrs = ""
    if console:
        attrs = (f' class="evalex" data-base="{_e(console["base"])}"'
                 f' data-tb="{_e(console["tb"])}" data-secret="{_e(console["secret"])}"')
    pin = ""
    if console:
        pin = ('<form class="pin" id="pin-form"><label>The console is locked. Enter the PIN '
               'from the server log: <input name="pin" autocomplete="off"></label> '
               '<button>Unlock</button> <span id="pin-message"></span></form>')
    form = [(k, "") for k in request.form]
    return "".join([
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        '<meta name="robots" content="noindex,nofollow">',
        f"<title>{_e(headline(exc))} // debug</title>",
        f'<style nonce="{_e(nonce)}">{CSS}</style></head>',
        f"<body{attrs}><header><h1>{_e(exc.type)}</h1>",
        f'<p class="msg">{_e(exc.message)}</p>',
        f'<p class="req">{_e(request.method)} {_e(request.url)}</p></header>',
        '<nav class="tools" id="tools"><button data-act="expand">Expand all</button>',
        '<button data-act="collapse">Collapse all</button>',
        '<button data-act="app">Application frames only</button>',
        '<button data-act="copy">Copy traceback</button></nav>', pin,
        '<main><section id="traceback"><h2>Traceback <small>(most recent call last)</small>'
        "</h2>", _exception(exc, bool(console)), "</section>",
        '<section id="request"><h2>Request</h2>',
        _table("Headers", request.headers), _table("Cookies", request.cookies),
        _table("Query", request.query), _table("Form keys", form),
        _table("WSGI environ", request.environ, open_=False), "</section>",
        '<section id="text"><h2>Plain-text traceback</h2>',
        f'<textarea id="traceback-text" readonly>{_e(text)}</textarea></section></main>',
        f'<script nonce="{_e(nonce)}">{JS}</script></body></html>',
    ])
