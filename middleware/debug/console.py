"""The ``evalex`` console: run Python in a frame of a failed request, behind a PIN.

Only with ``DebugMiddleware(evalex=True)``. The console itself is werkzeug's
(:class:`werkzeug.debug.console.Console`); the gate around it is ours and stricter:

* The PIN is random per process (``secrets``), never derived from host facts (werkzeug's is
  computable from the machine id, MAC address and user name once a file-read bug exists).
  It is logged at WARNING at start-up. ``pin=`` fixes it, e.g. from ``env:DEBUG_PIN``.
* After the PIN is entered, an HMAC-signed cookie (``HttpOnly``, ``SameSite=Strict``, path
  limited to the console endpoints, 8 hours) stands in for it.
* Ten wrong PINs lock the console until the process restarts; a locked console also refuses
  the cookie.
* Every call is a ``POST`` carrying the per-process token embedded in debug pages, with a
  same-origin ``Origin``/``Sec-Fetch-Site`` when the browser sends them. The middleware checks
  the client address and the Host header before a request reaches this module at all.
* Frames are kept only here and only for the last ``max_tracebacks`` errors (werkzeug keeps
  every frame of every error forever: 95 MiB after 20 errors with big locals).

A multi-process server cannot work with a console: the frames live in the process that
failed. The JSON error says so.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
from collections import OrderedDict
from types import FrameType
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException
from werkzeug.http import dump_cookie
from werkzeug.wrappers import Request

from middleware.cookies import request_cookies
from middleware.wsgi import simple_response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

MAX_FAILURES = 10
COOKIE_MAX_AGE = 8 * 3600
MAX_BODY = 64 * 1024
_TAG = re.compile(r"<[^>]*>")


def random_pin() -> str:
    """A random nine-digit PIN grouped for reading: ``"123-456-789"``."""
    digits = f"{secrets.randbelow(10**9):09d}"
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


def _digits(pin: str) -> str:
    return "".join(c for c in pin if c in "0123456789")


def _number(text: str) -> int | None:
    """``text`` as a non-negative int when it is ASCII digits only, else ``None``.

    ``str.isdigit`` also accepts "²" and "٣", and ``int("²")`` raises: request data must never
    reach either unchecked.
    """
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 20 else None


def _equal(given: str, expected: str) -> bool:
    """Constant-time comparison of request text with our ASCII secret.

    ``hmac.compare_digest`` raises ``TypeError`` for a non-ASCII ``str``; compared as bytes,
    such a value is simply different.
    """
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("ascii"))


class Console:
    """PIN gate, kept frames and the ``POST`` endpoints under ``path``.

    :param pin: the PIN (digits, dashes allowed); ``None`` for a random one.
    :param max_tracebacks: how many failed requests keep their frames for the console.
    :param path: where the endpoints live (``<path>/status``, ``/pin``, ``/console``).
    """

    def __init__(self, pin: str | None, max_tracebacks: int, path: str) -> None:
        self.pin = pin or random_pin()
        self.max_tracebacks = max_tracebacks
        self.path = path
        self.token = secrets.token_urlsafe(24)  # CSRF token, embedded in debug pages
        self.cookie_name = "__debug_pin"
        self.failures = 0
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._tracebacks: OrderedDict[str, dict[int, Any]] = OrderedDict()

    @property
    def locked(self) -> bool:
        """Whether too many wrong PINs locked the console."""
        return self.failures >= MAX_FAILURES

    def keep(self, frames: list[FrameType]) -> str:
        """Keep the frames of one error; return its id. The oldest error is forgotten."""
        tb_id = secrets.token_urlsafe(12)
        with self._lock:
            self._tracebacks[tb_id] = dict(enumerate(frames))
            while len(self._tracebacks) > self.max_tracebacks:
                self._tracebacks.popitem(last=False)
        return tb_id

    def _sign(self, issued: int) -> str:
        mac = hmac.new(self._key, str(issued).encode(), hashlib.sha256).hexdigest()
        return f"{issued}.{mac}"

    def authenticated(self, environ: WSGIEnvironment) -> bool:
        """Whether the request carries a valid, unexpired PIN cookie (and we are not locked)."""
        value = request_cookies(environ).get(self.cookie_name, "")
        issued = _number(value.partition(".")[0])
        if self.locked or issued is None:
            return False
        fresh = time.time() - issued < COOKIE_MAX_AGE
        return fresh and _equal(value, self._sign(issued))

    def _check_pin(self, entered: str) -> bool:
        with self._lock:
            if self.locked:
                return False
            ok = _equal(_digits(entered), _digits(self.pin))
            if not ok:
                self.failures += 1
            return ok

    def _run(self, tb_id: str, frame_key: str, command: str) -> tuple[int, dict[str, Any]]:
        from werkzeug.debug.console import Console as WerkzeugConsole

        frames = self._tracebacks.get(tb_id)
        if frames is None:
            return 404, {"auth": True, "error": "This traceback is gone (only the last "
                         f"{self.max_tracebacks} are kept, in the process that failed)."}
        key = _number(frame_key)
        frame = frames.get(key) if key is not None else None
        if frame is None or key is None:
            return 404, {"auth": True, "error": "No such frame."}
        if not isinstance(frame, WerkzeugConsole):
            frame = frames[key] = WerkzeugConsole(frame.f_globals, frame.f_locals)
        output = html.unescape(_TAG.sub("", frame.eval(command)))
        return 200, {"auth": True, "output": output}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        """Serve ``<path>/status``, ``<path>/pin`` and ``<path>/console`` (JSON)."""
        action = environ.get("PATH_INFO", "")[len(self.path) + 1:]
        if action not in ("status", "pin", "console"):
            return self._json(start_response, 404, {"error": "Not found."})
        if environ.get("REQUEST_METHOD") != "POST":
            return self._json(start_response, 405, {"error": "Use POST."}, [("Allow", "POST")])
        if not self._same_origin(environ):
            return self._json(start_response, 403, {"error": "Cross-site request refused."})
        request = Request(environ)
        request.max_content_length = MAX_BODY
        try:
            form = request.form
        except HTTPException as exc:
            return self._json(start_response, exc.code or 400, {"error": "Bad request body."})
        if not _equal(form.get("secret", ""), self.token):
            return self._json(start_response, 403, {"error": "Missing or wrong page token."})
        if action == "pin":
            if self._check_pin(form.get("pin", "")):
                cookie = dump_cookie(self.cookie_name, self._sign(int(time.time())),
                                     max_age=COOKIE_MAX_AGE, httponly=True,
                                     path=environ.get("SCRIPT_NAME", "") + self.path,
                                     samesite="Strict")
                return self._json(start_response, 200, {"auth": True}, [("Set-Cookie", cookie)])
            error = ("Too many wrong PINs: restart the server." if self.locked
                     else "Wrong PIN.")
            return self._json(start_response, 403, {"auth": False, "error": error})
        authenticated = self.authenticated(environ)
        if action == "status":
            return self._json(start_response, 200, {"auth": authenticated})
        if not authenticated:
            return self._json(start_response, 401, {"auth": False, "error": "PIN required."})
        status, document = self._run(form.get("tb", ""), form.get("frame", ""),
                                     form.get("cmd", ""))
        return self._json(start_response, status, document)

    @staticmethod
    def _same_origin(environ: WSGIEnvironment) -> bool:
        site = environ.get("HTTP_SEC_FETCH_SITE")
        if site is not None and site not in ("same-origin", "none"):
            return False
        origin = environ.get("HTTP_ORIGIN")
        if origin is None:
            return True
        host = environ.get("HTTP_HOST", "")
        return origin in (f"http://{host}", f"https://{host}")

    @staticmethod
    def _json(start_response: StartResponse, status: int, document: dict[str, Any],
              headers: list[tuple[str, str]] | None = None) -> list[bytes]:
        reasons = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
                   404: "Not Found", 405: "Method Not Allowed", 413: "Content Too Large"}
        body = json.dumps(document).encode()
        return simple_response(start_response, f"{status} {reasons.get(status, 'Error')}", body,
                               "application/json", [("Cache-Control", "no-store"),
                                                    *(headers or [])])
