"""The demo stack as the soak run serves it, and a client that drives it and checks every answer.

:func:`write_stack` writes ``recipes/demo/demo.ini`` with another session store (and the debug
middleware added inside the error pages); :class:`Client` is one user with its own session,
whose requests mix pages (a read-modify-write of a visit counter that must never lose an
acknowledged write), JSON, Basic auth, a 404 and a route that raises; :class:`Tally` adds up
what every client saw.

Usage::

    ini = write_stack(directory, "sqlite:///" + db, log=log)
    with gunicorn(ini, log) as (port, proc):
        tally = Tally()
        user = Client(port, tally, seed=1)
        user.one("page")
        assert tally.acknowledged == 1 and not tally.examples
"""

from __future__ import annotations

import base64
import configparser
import http.client
import json
import os
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

import bcrypt

from support import ROOT
from support.codings import decode
from support.net import HOST

DEMO_INI = ROOT / "recipes" / "demo" / "demo.ini"
USER, PASSWORD = "soak", "soak-password-4f1e9b"
#: strings the /boom error page must never show
LEAKS = (b"must-never-be-shown", b"RuntimeError", b"Traceback", b"raises on purpose")
BOOM = "the demo route /boom raises on purpose"
#: request kinds and their weights in the mix
MIX = {"page": 70, "api": 10, "private": 8, "wrong": 2, "missing": 5, "boom": 5}
ENCODINGS = ("br", "zstd", "gzip", "gzip, br", "identity", "")
_VISITS = re.compile(rb'<strong id="visits">(\d+)</strong>')


def write_htpasswd(path: str | os.PathLike[str], user: str = USER,
                   password: str = PASSWORD) -> None:
    """An htpasswd file with one bcrypt user (cost 5, as ``htpasswd -nbB`` writes)."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
    Path(path).write_text(f"{user}:{hashed}\n")


def write_stack(directory: str | os.PathLike[str], store: str, *,
                throttle_store: str | None = None, log: str | None = None) -> Path:
    """Write the demo stack's ini into ``directory`` with ``store`` as the session store.

    Starts from ``recipes/demo/demo.ini``: the same filters in the same order, plus the debug
    middleware inside the error pages (allowed for no client: 192.0.2.1 is a documentation
    address), the htpasswd file in ``directory`` (see :func:`write_htpasswd`), a throttle
    that allows many failures (the wrong-password requests all come from 127.0.0.1), and the
    log in the file ``log`` (default ``directory/server.log``).
    """
    directory = Path(directory)
    config = configparser.RawConfigParser()
    config.read(DEMO_INI)
    names = config.get("pipeline:main", "pipeline").split()
    names.insert(names.index("errors") + 1, "debug")
    config.set("pipeline:main", "pipeline", "\n" + "\n".join(names))
    config["filter:debug"] = {"use": "egg:wsgi-middleware-suite#debug",
                              "allowed_ips": "192.0.2.1"}
    config.set("filter:session", "store", store)
    htpasswd = str(directory / "users.htpasswd")
    if not os.path.exists(htpasswd):
        write_htpasswd(htpasswd)
    config.set("filter:auth", "htpasswd", htpasswd)
    config.set("filter:auth", "max_failures", "1000000")
    if throttle_store:
        config.set("filter:auth", "throttle_store", throttle_store)
    app = next(s for s in config.sections() if s.startswith("app:"))
    config.set(app, "htpasswd", htpasswd)
    config.set("handler_console", "class", "FileHandler")
    config.set("handler_console", "args", repr((log or str(directory / "server.log"), "a")))
    path = directory / "stack.ini"
    with open(path, "w") as file:
        config.write(file)
    return path



@dataclass
class Tally:
    """What the clients saw, added up under a lock."""

    requests: int = 0
    by_kind: Counter = field(default_factory=Counter)
    unexpected_5xx: int = 0
    unexpected_other: int = 0
    connection_errors: int = 0
    lost_writes: int = 0
    leaks: int = 0
    acknowledged: int = 0
    examples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, problem: str) -> None:
        if len(self.examples) < 10:
            self.examples.append(problem)


class Budget:
    """A shared request budget and deadline."""

    def __init__(self, requests: int, deadline: float) -> None:
        self.left = requests
        self.deadline = deadline
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.left <= 0 or time.monotonic() >= self.deadline:
                return False
            self.left -= 1
            return True




class Client:
    """One user: its own cookie jar, its own counter, requests one after another."""

    def __init__(self, port: int, tally: Tally, seed: int) -> None:
        self.port = port
        self.tally = tally
        self.random = random.Random(seed)
        self.cookie: str | None = None
        self.acked = 0
        self.lost = 0

    def request(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if self.cookie:
            headers["Cookie"] = f"session={self.cookie}"
        conn = http.client.HTTPConnection(HOST, self.port, timeout=15)
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            status = response.status
            found = {k.lower(): v for k, v in response.getheaders() if k.lower() != "set-cookie"}
            for value in response.headers.get_all("Set-Cookie") or []:
                morsel = SimpleCookie(value).get("session")
                if morsel is not None:
                    self.cookie = morsel.value or None
        finally:
            conn.close()
        return status, found, decode(body, found.get("content-encoding"))

    def one(self, kind: str) -> None:
        tally = self.tally
        headers = {"User-Agent": "soak/1.0"}
        encoding = self.random.choice(ENCODINGS)
        if encoding:
            headers["Accept-Encoding"] = encoding
        expected, path = 200, {"page": "/", "api": "/api", "private": "/private",
                               "wrong": "/private", "missing": "/missing", "boom": "/boom"}[kind]
        if kind in ("private", "wrong"):
            password = PASSWORD if kind == "private" else "wrong-" + PASSWORD
            headers["Authorization"] = "Basic " + base64.b64encode(
                f"{USER}:{password}".encode()).decode()
            expected = 200 if kind == "private" else 401
        elif kind == "missing":
            expected = 404
        elif kind == "boom":
            expected = 500
        headers["Accept"] = "application/json" if kind == "api" else "text/html"
        try:
            status, _, body = self.request(path, headers)
        except (OSError, http.client.HTTPException) as exc:
            with tally.lock:
                tally.requests += 1
                tally.connection_errors += 1
                tally.note(f"{kind}: {exc!r}")
            return
        problem = None
        lost = 0
        if status != expected:
            problem = f"{kind}: {status} instead of {expected}"
        elif kind == "page":
            match = _VISITS.search(body)
            visits = int(match.group(1)) if match else -1
            if visits != self.acked + 1:
                lost = 1
                problem = f"page: counter {visits}, expected {self.acked + 1}"
            self.acked += 1
        elif kind == "api":
            json.loads(body)
        elif kind == "boom" and any(leak in body for leak in LEAKS):
            problem = "boom: the error page shows internals"
        with tally.lock:
            tally.requests += 1
            tally.by_kind[kind] += 1
            if kind == "page" and status == 200:
                tally.acknowledged += 1
            if problem:
                tally.note(problem)
                if status != expected and status >= 500:
                    tally.unexpected_5xx += 1
                elif status != expected:
                    tally.unexpected_other += 1
                elif kind == "boom":
                    tally.leaks += 1
            tally.lost_writes += lost

    def run(self, budget: Budget) -> None:
        kinds, weights = list(MIX), list(MIX.values())
        while budget.take():
            self.one(self.random.choices(kinds, weights)[0])

    def final_check(self) -> None:
        """After the load: one more write, which must see every acknowledged one."""
        self.one("page")




def unexpected_tracebacks(log: str) -> list[str]:
    """Tracebacks in a server log whose exception is not the ``/boom`` route's own."""
    found = []
    for block in log.split("Traceback (most recent call last):")[1:]:
        lines = block.splitlines()
        # the exception line: the first line after the frames that is not indented
        final = next((line for line in lines[1:] if line and not line[0].isspace()), "")
        if BOOM not in final:
            found.append("Traceback (most recent call last):" + "\n".join(lines[:40]))
    return found

