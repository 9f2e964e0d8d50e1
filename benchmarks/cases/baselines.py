"""The bare apps every middleware row is measured against.

A bare row is the same request with no middleware at all, so it contains the app and the
driver's own cost (copying the environ, consuming and closing the body); subtracting it leaves
what the middleware adds. Flask and Django have their own bare rows because their peers
(flask-compress, Django's ``GZipMiddleware``) cannot run outside them.
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.cases import Case
from benchmarks.cases.frameworks import django_app, flask_app
from benchmarks.cases.workload import (
    BODY_2K,
    BODY_100K,
    NOT_FOUND_BODY,
    OneRequest,
    WSGIApp,
    driver,
    fetch,
    generator_app,
    list_app,
    make_environ,
    not_found_app,
)


def _bare(app: WSGIApp, body: bytes, path: str = "/", status: int = 200) -> OneRequest:
    environ = make_environ(path)
    fetch(app, environ).expect(status, body)
    return driver(app, environ)


def _case(case_id: str, label: str, build: Callable[[], OneRequest]) -> Case:
    return Case(case_id, "baseline", label, "bare", build)


CASES = [
    _case("bare.list", "bare app, 2 KB list body", lambda: _bare(list_app(BODY_2K), BODY_2K)),
    _case("bare.generator", "bare app, 2 KB generator body",
          lambda: _bare(generator_app(BODY_2K), BODY_2K)),
    _case("bare.100k", "bare app, 100 KB list body",
          lambda: _bare(list_app(BODY_100K), BODY_100K)),
    _case("bare.404", "bare app answering 404",
          lambda: _bare(not_found_app, NOT_FOUND_BODY, "/missing", 404)),
    _case("bare.flask.2k", "bare Flask, 2 KB", lambda: _bare(flask_app(BODY_2K), BODY_2K)),
    _case("bare.flask.100k", "bare Flask, 100 KB",
          lambda: _bare(flask_app(BODY_100K), BODY_100K)),
    _case("bare.django.2k", "bare Django, 2 KB", lambda: _bare(django_app(), BODY_2K)),
]
