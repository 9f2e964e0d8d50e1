"""Plain-text and JSON renderings of a debug report, and content negotiation.

The text follows Python's own traceback layout (chain separators, group boxes), so it can be
pasted into an issue; it is also the copy-paste block of the HTML page. Every string in it was
masked when the model was built (see :mod:`middleware.debug.frames`).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from middleware.debug.frames import ExceptionInfo
from middleware.debug.request import RequestInfo
from middleware.logsafe import for_log

HTML = "text/html"
JSON = "application/json"
TEXT = "text/plain"

CAUSE = "The above exception was the direct cause of the following exception:"
CONTEXT = "During handling of the above exception, another exception occurred:"


def negotiate(accept_header: str) -> str:
    """HTML for browsers (an explicit ``text/html``), else JSON or plain text by ``Accept``.

    curl sends ``*/*`` and gets text; ``Accept: application/json`` gets JSON.
    """
    accept = parse_accept_header(accept_header, MIMEAccept)
    if any(value in (HTML, "application/xhtml+xml") and quality > 0
           for value, quality in accept):
        return HTML
    best = accept.best_match([TEXT, JSON, "application/problem+json"], default=TEXT)
    return JSON if best != TEXT else TEXT


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
